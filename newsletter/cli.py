"""The `newsletter` command line: thin click commands over the library.

Exit codes: 0 success, 1 the work could not be done (e.g. no digest), 2 usage or config
errors. `newsletter run` adds its own codes (see its --help and the README).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from newsletter import __version__
from newsletter.config import INIT_TEMPLATE, Config, load_config, with_feeds
from newsletter.errors import ConfigError, NewsletterError
from newsletter.store import Store

EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(click.ClickException):
    exit_code = EXIT_USAGE


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Library errors become one clear line on stderr and an exit code."""
    try:
        yield
    except ConfigError as e:
        raise UsageError(str(e)) from e
    except NewsletterError as e:
        raise click.ClickException(str(e)) from e


def _load(ctx: click.Context, feeds: tuple[str, ...] = ()) -> Config:
    path = ctx.obj.get("config")
    if path is None and Path("newsletter.toml").is_file():
        path = "newsletter.toml"
    with errors_to_exit():
        config = load_config(path, env=os.environ)
        if feeds:
            config = with_feeds(config, feeds)
    if not config.feeds:
        raise UsageError("no feeds configured: add [[feeds]] to the config or pass --feed URL")
    return config


def _open_store(config: Config) -> Store:
    with errors_to_exit():
        return Store(config.store_path)


@contextmanager
def _progress(label: str, length: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal, nothing otherwise (logs say what happens)."""
    if sys.stderr.isatty() and length > 1:
        with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
            yield bar.update
    else:
        yield lambda n: None


config_option = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Path to newsletter.toml (default: ./newsletter.toml if present, else the bundled sample).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newsletter")
@config_option
@click.option("-v", "--verbose", count=True, help="More detail on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, quiet: bool) -> None:
    """Turn RSS/Atom feeds into summarized, themed email digests.

    \b
    Example:
      newsletter build                      # the bundled sample feeds -> output/latest.html
      newsletter init && newsletter build   # your own feeds, from newsletter.toml
    """
    level = logging.ERROR if quiet else [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.ensure_object(dict)
    ctx.obj["config"] = config_path
    ctx.obj["verbose"] = verbose
    ctx.obj["quiet"] = quiet


def _config_after_group(ctx: click.Context, config_path: str | None) -> None:
    """`-c` is accepted before or after the command name."""
    if config_path:
        ctx.obj["config"] = config_path


@cli.command()
@click.option("--path", type=click.Path(dir_okay=False), default="newsletter.toml", show_default=True)
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
    click.echo(f"wrote {target}: edit [site], [list] and [[feeds]], then run `newsletter build -c {target}`")


@cli.command()
@config_option
@click.option("--feed", "feeds", multiple=True, metavar="URL", help="A feed URL or path (repeatable); replaces the configured feeds.")
@click.option("--list", "list_name", help="Which list to build (default: the first).")
@click.option("--since", type=click.DateTime(), help="Only items published on or after this date (UTC).")
@click.option("--max-items", type=click.IntRange(min=1), help="At most this many stories.")
@click.option("--output", type=click.Path(file_okay=False), help="Output folder (default: from the config, ./output).")
@click.pass_context
def build(
    ctx: click.Context,
    config_path: str | None,
    feeds: tuple[str, ...],
    list_name: str | None,
    since: datetime | None,
    max_items: int | None,
    output: str | None,
) -> None:
    """Fetch the feeds and write an HTML + text digest to output/.

    \b
    Examples:
      newsletter build
      newsletter build -c newsletter.toml --max-items 30
      newsletter build --feed https://example.org/feed --feed ./other.xml
    """
    from dataclasses import replace

    from newsletter.digest import build as build_digest

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
            config, store, list_name, since, max_items, fetch_progress=lambda r: tick(1)
        )
    feeds_part = _feeds_summary(report, total)
    if result is None:
        click.echo(f"no digest: no items {feeds_part}", err=True)
        ctx.exit(EXIT_FAILED)
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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="newsletter")
