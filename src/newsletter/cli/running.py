"""`newsletter run` (the cron entry point) and `newsletter feeds` (feed health)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import click

from newsletter.cli import (
    _config_after_group,
    _load_any,
    _open_store,
    cli,
    config_option,
    errors_to_exit,
    stopped_cleanly,
)
from newsletter.errors import EXIT_NOTHING_DONE, StoreError


@cli.command()
@config_option
@click.option("--list", "list_name", help="Only this list (default: every list).")
@click.option("-v", "--verbose", "run_verbose", is_flag=True, help="Explain every decision.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable run report.")
@click.option(
    "--refetch", is_flag=True, help="Request every feed, even one its server says is still fresh."
)
@click.pass_context
def run(
    ctx: click.Context,
    config_path: str | None,
    list_name: str | None,
    run_verbose: bool,
    as_json: bool,
    refetch: bool,
) -> None:
    """Fetch, then build and send each list's digest when it is due and has news.

    Meant for cron or a systemd timer: silent when nothing happened. Exit codes:
    0 done or nothing to do, 2 usage/config error, 3 some feeds failed,
    4 deliveries did not all go out (or some are uncertain), 5 nothing could be done,
    6 another run holds the lock.

    \b
    Example:
      */15 * * * *  cd /srv/news && newsletter run -c newsletter.toml
    """
    from newsletter.run.runner import format_run_report
    from newsletter.run.runner import run as run_lists
    from newsletter.store import open_store

    _config_after_group(ctx, config_path)
    verbose = run_verbose or ctx.obj.get("verbose", 0) > 0
    if not verbose:
        # per-feed warnings would make cron mail every run; the report says what matters
        logging.getLogger("newsletter").setLevel(logging.ERROR)
    config = _load_any(ctx, note_sample=True)
    try:
        store = open_store(config)
    except StoreError as e:
        click.echo(f"error: {e}", err=True)
        ctx.exit(EXIT_NOTHING_DONE)
    ctx.call_on_close(store.close)
    with stopped_cleanly(ctx, "the run", "run"), errors_to_exit():
        report = run_lists(config, store, list_name, refetch=refetch)
    text = report.to_json() if as_json else format_run_report(report, verbose)
    if text:
        click.echo(text)
    ctx.exit(report.exit_code)


@cli.command()
@config_option
@click.option(
    "-v",
    "--verbose",
    "feeds_verbose",
    is_flag=True,
    help="Add the last error, the lists reading each feed, what the last run did with it "
    "and why, and when it will next be requested.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def feeds(ctx: click.Context, config_path: str | None, feeds_verbose: bool, as_json: bool) -> None:
    """Show each feed's health: last success, last error, stories in the last 7 days,
    HTTP status, and whether conditional GET works.

    \b
    Example:
      newsletter feeds -v
    """
    from newsletter.ingest.health import feed_health, format_feed_health

    _config_after_group(ctx, config_path)
    config = _load_any(ctx)
    store = _open_store(config)
    with errors_to_exit():
        health = feed_health(config, store, datetime.now(UTC))
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in health], indent=2))
    else:
        click.echo(format_feed_health(health, feeds_verbose, config.source))
