"""`newsletter build` and `newsletter init`."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

import click

from newsletter.cli import (
    UsageError,
    _config_after_group,
    _hint,
    _load,
    _open_store,
    _progress,
    cli,
    config_option,
    errors_to_exit,
)
from newsletter.commands import command
from newsletter.config import INIT_TEMPLATE, MAKE_SECRET, with_output
from newsletter.errors import EXIT_FAILED, EXIT_FEEDS_FAILED, EXIT_NOTHING_DONE

# How long a build waits for a run or another build of the same store to finish: two
# builds at once would record two unsent digests of the same stories; waiting, the second
# finds the first's digest up to date.
BUILD_LOCK_WAIT = 300


@cli.command()
@click.option(
    "--path", type=click.Path(dir_okay=False), default="newsletter.toml", show_default=True
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str, force: bool) -> None:
    """Write a commented newsletter.toml to edit, and print a fresh NEWSLETTER_SECRET_KEY.

    \b
    Example:
      newsletter init && $EDITOR newsletter.toml
    """
    target = Path(path)
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; pass --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(INIT_TEMPLATE, encoding="utf-8")
    click.echo(
        f"wrote {target}: edit [site], [list] and [[feeds]], then run "
        f"`{command(str(target), 'build')}`"
    )
    # a key is needed to send or serve; offering a good one beats a user inventing a weak one
    click.echo(
        "sending and serving need a secret key that signs every link; keep it out of the "
        f"config and set it in the environment, e.g.:\n"
        f"  export NEWSLETTER_SECRET_KEY={secrets.token_urlsafe(32)}\n"
        f"(make another any time with `{MAKE_SECRET}`)"
    )


@cli.command()
@config_option
@click.option(
    "--feed",
    "feeds",
    multiple=True,
    metavar="URL",
    help="A feed URL or path (repeatable); replaces the configured feeds.",
)
@click.option("--list", "list_name", help="Which list to build (default: the first).")
@click.option(
    "--since", type=click.DateTime(), help="Only items published on or after this date (UTC)."
)
@click.option("--max-items", type=click.IntRange(min=1), help="At most this many stories.")
@click.option(
    "--force",
    is_flag=True,
    help="Rebuild even when nothing changed since the last unsent digest, or from the "
    "stories already stored when every feed failed.",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False),
    help="Output folder (default: from the config, ./output).",
)
@click.option(
    "--refetch", is_flag=True, help="Request every feed, even one its server says is still fresh."
)
@click.pass_context
def build(
    ctx: click.Context,
    config_path: str | None,
    feeds: tuple[str, ...],
    list_name: str | None,
    since: datetime | None,
    max_items: int | None,
    force: bool,
    output: str | None,
    refetch: bool,
) -> None:
    """Fetch the feeds and write an HTML + text digest to output/.

    Waits (up to 5 minutes) while a run or another build of the same store holds its lock;
    exit 6 if it still does.

    \b
    Examples:
      newsletter build
      newsletter build -c newsletter.toml --max-items 30
      newsletter build --feed https://example.org/feed --feed ./other.xml
    """
    from newsletter.run.digest import build as build_digest
    from newsletter.run.lock import LockHolder, lock_for, lock_path

    _config_after_group(ctx, config_path)
    config = _load(ctx, feeds)
    if output:
        config = with_output(config, output)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    with errors_to_exit():
        total = len(config.feeds_for(list_name))  # an unknown --list is a usage error
    store = _open_store(config)

    def waiting(holder: LockHolder | None) -> None:
        holder = holder or LockHolder()
        click.echo(
            f"waiting for {holder.what()} ({holder.who()}) to finish: it holds the lock "
            f"({lock.where}; up to {BUILD_LOCK_WAIT // 60} minutes)",
            err=True,
        )

    lock = lock_for(store, lock_path(config), command="build")
    with errors_to_exit():
        lock.acquire(wait=BUILD_LOCK_WAIT, waiting=waiting)
    try:
        with errors_to_exit(), _progress("fetching", total) as tick:
            report, result = build_digest(
                config,
                store,
                list_name,
                since,
                max_items,
                fetch_progress=lambda r: tick(1),
                force=force,
                refetch=refetch,
            )
    finally:
        lock.release()
    failed = list(getattr(report, "failed", []) or [])
    feeds_part = _feeds_summary(failed, total)
    if failed and len(failed) == total and result is None:
        url, reason = failed[0]
        where = f" in {_short(config.source)}" if config.source and not feeds else ""
        click.echo(
            f"no digest: every feed failed ({len(failed)} of {total}; first: {url}: {reason}); "
            f"check the feed URLs{where} (`{_hint(ctx, 'feeds -v')}` shows each feed's last error"
            + ("" if force else "; --force builds from the stories already stored")
            + ")",
            err=True,
        )
        ctx.exit(EXIT_NOTHING_DONE)
    if result is None:
        hint = (
            f"nothing published since {since:%Y-%m-%d}"
            if since
            else "every story is already in a sent digest of the list"
        )
        click.echo(f"no digest: no stories to show {feeds_part} ({hint})", err=True)
        ctx.exit(EXIT_FAILED)
    code = EXIT_FEEDS_FAILED if failed else 0
    if result.plan is None:
        click.echo(
            f"nothing new {feeds_part}: digest {result.digest_id} is up to date -> "
            f"{_short(result.folder)}/digest.html (--force rebuilds it)"
        )
        ctx.exit(code)
    digest = result.plan.digest
    n_sections = len(digest.sections)
    click.echo(
        f"{_stories(len(digest.entries))} {feeds_part} in {n_sections} "
        f"section{'s' if n_sections != 1 else ''} -> {_short(result.folder)}/digest.html"
    )
    ctx.exit(code)


def _stories(n: int) -> str:
    return f"{n:,} stor{'y' if n == 1 else 'ies'}"


def _feeds_summary(failed: list[tuple[str, str]], total: int) -> str:
    text = f"from {total} feed{'s' if total != 1 else ''}"
    if failed:
        shown = "; ".join(f"{url}: {reason}" for url, reason in failed[:3])
        more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
        text += f" ({len(failed)} failed: {shown}{more})"
    return text


def _short(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
