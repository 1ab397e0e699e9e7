"""`newsletter bounces parse` and `newsletter bounces process`."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from newsletter.cli import (
    _config_after_group,
    _load_any,
    _open_store,
    cli,
    config_option,
    errors_to_exit,
)
from newsletter.errors import EXIT_FAILED

if TYPE_CHECKING:
    from newsletter.bounces import BounceReport
    from newsletter.bounces.apply import Tally


@cli.group("bounces")
def bounces_group() -> None:
    """Read bounces and spam complaints, and apply them to the list.

    \b
    Examples:
      newsletter bounces parse ~/Maildir/.Bounces        # what is there, changes nothing
      newsletter bounces parse --json report.eml
      newsletter bounces process                         # the [bounces] mailbox
      newsletter bounces process saved-bounces.mbox
    """


@bounces_group.command("parse")
@click.argument("files", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message, per line.")
@click.pass_context
def bounces_parse(ctx: click.Context, files: tuple[str, ...], as_json: bool) -> None:
    """Say what each message is and who it is about; reads .eml files, maildir folders,
    mbox files and - (standard input). Never touches the store.

    Exit 1 when a file could not be read (the others are still parsed).

    \b
    Example:
      newsletter bounces parse --json bounce.eml
      {"file": "bounce.eml", "kind": "bounce", "recipients": [{"address": "ann@example.com",
       "class": "hard", "status": "5.1.1", "diagnostic": "550 5.1.1 user unknown"}]}
    """
    from newsletter.bounces import ReadError, parse_message, read_messages

    failed = False
    for name, data in read_messages(files, sys.stdin.buffer):
        if isinstance(data, ReadError):
            click.echo(f"{name}: cannot read: {data.message}", err=True)
            failed = True
            continue
        report = parse_message(data)
        if as_json:
            click.echo(json.dumps(report.to_json(name), ensure_ascii=False))
        else:
            click.echo(_describe(name, report))
    if failed:
        ctx.exit(EXIT_FAILED)


def _describe(name: str, report: BounceReport) -> str:
    what = {"not-bounce": "not a bounce", "auto-reply": "automatic reply"}.get(
        report.kind, report.kind
    )
    count = len(report.recipients)
    head = f"{name}: {what}"
    if report.kind in ("bounce", "complaint"):
        head += f", {count} recipient{'s' if count != 1 else ''}"
    if report.verp_token or report.original_headers.delivery:
        head += f" (delivery token {report.verp_token or report.original_headers.delivery})"
    lines = [head]
    for r in report.recipients:
        cls = "delay" if r.delayed else (r.cls or "complaint")
        diagnostic = " ".join((r.diagnostic or "").split())[:120]
        lines.append(f"  {r.address}\t{cls}\t{r.status or '-'}\t{diagnostic}".rstrip())
    return "\n".join(lines)


@bounces_group.command("process")
@config_option
@click.argument("files", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.pass_context
def bounces_process(
    ctx: click.Context, config_path: str | None, files: tuple[str, ...], as_json: bool
) -> None:
    """Apply bounces and complaints to the store: from FILES (as for `parse`), else from
    the [bounces] mailbox (password in NEWSLETTER_BOUNCES_PASSWORD).

    A hard bounce makes an address "bounced" (after bounces.hard_after), soft bounces do
    after bounces.soft_after within bounces.soft_days, a spam complaint unsubscribes at
    once. Processed mailbox messages are flagged (or moved to bounces.move_to), deleted
    only with bounces.delete_processed. Reading the same report again changes nothing.
    Needs NEWSLETTER_SECRET_KEY (it checks the signed delivery tokens).

    Exit 1 when a message could not be read (it is kept) or the mailbox failed.

    \b
    Examples:
      newsletter bounces process
      newsletter bounces process ~/Maildir/.Bounces
    """
    from newsletter.bounces.process import process_files, process_mailbox

    _config_after_group(ctx, config_path)
    config = _load_any(ctx)
    with errors_to_exit():
        config.require_secret()  # before the store is opened (or created)
    store = _open_store(config)
    with errors_to_exit():
        if files:
            tally = process_files(config, store, files, sys.stdin.buffer)
        else:
            tally = process_mailbox(config, store)
    _print_tally(tally, as_json, ctx.obj.get("verbose", 0))
    if tally.unreadable:
        ctx.exit(EXIT_FAILED)


def _print_tally(tally: Tally, as_json: bool, verbose: int) -> None:
    for name, why in tally.unreadable:
        click.echo(f"{name}: cannot read, kept: {why}", err=True)
    if as_json:
        click.echo(json.dumps(tally.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(tally.summary_line())
    if verbose or tally.changed <= 20:
        for address in tally.bounced:
            click.echo(f"  bounced: {address}")
        for address in tally.unsubscribed:
            click.echo(f"  unsubscribed (complained): {address}")
