"""`newsletter build` and `newsletter init`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from newsletter.cli import (
    EXIT_FAILED,
    UsageError,
    _config_after_group,
    _load,
    _open_store,
    _progress,
    cli,
    config_option,
    errors_to_exit,
)
from newsletter.config import INIT_TEMPLATE


@cli.command()
@click.option(
    "--path", type=click.Path(dir_okay=False), default="newsletter.toml", show_default=True
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str, force: bool) -> None:
    """Write a commented newsletter.toml to edit.

    \b
    Example:
      newsletter init && $EDITOR newsletter.toml
    """
    target = Path(path)
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; pass --force to overwrite it")
    target.write_text(INIT_TEMPLATE, encoding="utf-8")
    click.echo(
        f"wrote {target}: edit [site], [list] and [[feeds]], then run `newsletter build -c {target}`"
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
    "--force", is_flag=True, help="Rebuild even when nothing changed since the last unsent digest."
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

    \b
    Examples:
      newsletter build
      newsletter build -c newsletter.toml --max-items 30
      newsletter build --feed https://example.org/feed --feed ./other.xml
    """
    from dataclasses import replace

    from newsletter.run.digest import build as build_digest

    _config_after_group(ctx, config_path)
    config = _load(ctx, feeds)
    if output:
        config = replace(config, output_dir=Path(output).resolve())
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    store = _open_store(config)
    total = len(config.feeds_for(list_name))
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
    feeds_part = _feeds_summary(report, total)
    if result is None:
        click.echo(f"no digest: no items {feeds_part}", err=True)
        ctx.exit(EXIT_FAILED)
    if result.plan is None:
        click.echo(
            f"nothing new {feeds_part}: digest {result.digest_id} is up to date -> "
            f"{_short(result.folder)}/digest.html (--force rebuilds it)"
        )
        return
    digest = result.plan.digest
    n_sections = len(digest.sections)
    click.echo(
        f"{len(digest.entries)} items {feeds_part} in {n_sections} "
        f"section{'s' if n_sections != 1 else ''} -> {_short(result.folder)}/digest.html"
    )


def _feeds_summary(report: object, total: int) -> str:
    failed = getattr(report, "failed", []) if report else []
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
