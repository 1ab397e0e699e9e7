"""`newsletter subscribers …`, `send`, `deliveries` and `digests`.

The list and mail modules are imported inside the commands that use them, so other
commands (a cron `build`) start without loading them."""

from __future__ import annotations

import sys

import click

from newsletter.cli import (
    UsageError,
    _config_after_group,
    _hint,
    _load_any,
    _open_store,
    cli,
    config_option,
    errors_to_exit,
    stopped_cleanly,
)
from newsletter.config import Config, ListConfig
from newsletter.errors import EXIT_DELIVERY, EXIT_FAILED

STATUSES = ("pending", "confirmed", "unsubscribed", "bounced")
list_option = click.option("--list", "list_name", help="Which list (default: the first).")


@cli.group("subscribers")
def subscribers_group() -> None:
    """Manage a list's subscribers.

    \b
    Examples:
      newsletter subscribers add ada@example.org --name "Ada" --status confirmed
      newsletter subscribers import old-list.csv --status confirmed
      newsletter subscribers export > backup.csv
    """


@subscribers_group.command("add")
@config_option
@list_option
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.option("--status", type=click.Choice(STATUSES), default="pending", show_default=True)
@click.pass_context
def subscribers_add(
    ctx: click.Context,
    config_path: str | None,
    list_name: str | None,
    email: str,
    name: str,
    status: str,
) -> None:
    """Add one address (validated and normalized).

    \b
    Example:
      newsletter subscribers add ada@example.org --status confirmed
    """
    from newsletter.audience import subscribers

    _config_after_group(ctx, config_path)
    config = _load_any(ctx, note_sample=True)
    store = _open_store(config)
    with errors_to_exit():
        sub = subscribers.add(
            store, config.list(list_name).name, email, name=name, status=status, source="cli"
        )
    click.echo(f"added {sub.email} ({sub.status}) to {sub.list_name}")


@subscribers_group.command("remove")
@config_option
@list_option
@click.argument("email")
@click.pass_context
def subscribers_remove(
    ctx: click.Context, config_path: str | None, list_name: str | None, email: str
) -> None:
    """Delete an address and its delivery history (to stop mail only, prefer unsubscribing).

    \b
    Example:
      newsletter subscribers remove ada@example.org
    """
    from newsletter.audience import subscribers

    _config_after_group(ctx, config_path)
    config = _load_any(ctx, note_sample=True)
    store = _open_store(config)
    with errors_to_exit():
        removed = subscribers.remove(store, config.list(list_name).name, email)
    if not removed:
        click.echo(
            f"{email} is not on the list {config.list(list_name).name!r}; "
            f"see the addresses with `{_hint(ctx, 'subscribers list')}`",
            err=True,
        )
        ctx.exit(EXIT_FAILED)
    click.echo(f"removed {email}")


@subscribers_group.command("list")
@config_option
@list_option
@click.option("--status", type=click.Choice(STATUSES), help="Only this status.")
@click.pass_context
def subscribers_list(
    ctx: click.Context, config_path: str | None, list_name: str | None, status: str | None
) -> None:
    """Print subscribers, one per line: email, status, name.

    \b
    Example:
      newsletter subscribers list --status pending
    """
    _config_after_group(ctx, config_path)
    config = _load_any(ctx)
    store = _open_store(config)
    with errors_to_exit():
        name = config.list(list_name).name
        rows = store.list_subscribers(name, status=status)
    if not rows:
        which = f" with status {status}" if status else ""
        click.echo(
            f"list {name!r} has no subscribers{which}; add some with "
            f"`{_hint(ctx, 'subscribers add ADDRESS')}` or "
            f"`{_hint(ctx, 'subscribers import FILE.csv')}`",
            err=True,
        )
    for sub in rows:
        click.echo(f"{sub.email}\t{sub.status}\t{sub.name}")


@subscribers_group.command("show")
@config_option
@list_option
@click.argument("email")
@click.pass_context
def subscribers_show(
    ctx: click.Context, config_path: str | None, list_name: str | None, email: str
) -> None:
    """Print one subscriber: status and why, dates, deliveries, bounces and complaints.

    \b
    Example:
      newsletter subscribers show ada@example.org
    """
    from newsletter.audience import subscribers

    _config_after_group(ctx, config_path)
    config = _load_any(ctx)
    store = _open_store(config)
    with errors_to_exit():
        name = config.list(list_name).name
        sub = subscribers.find(store, name, email)
        if sub is None:
            click.echo(f"{email} is not on the list {name!r}", err=True)
            ctx.exit(EXIT_FAILED)
        deliveries = store.subscriber_deliveries(sub.id)
        events = store.bounce_events(sub.id)
    click.echo(f"{sub.email} on {sub.list_name}")
    why = next((e for e in reversed(events) if e.action), None)
    status = sub.status
    if why is not None and why.action == sub.status:
        reason = "complained" if why.kind == "complaint" else f"{why.severity} bounces"
        status += f" ({reason}, {_when(why.received_at)})"
    sent = sum(1 for d in deliveries if d.status == "sent")
    for label, value in (
        ("status", status),
        ("name", sub.name),
        ("source", sub.source),
        ("created", _when(sub.created_at)),
        ("confirmed", _when(sub.confirmed_at)),
        ("unsubscribed", _when(sub.unsubscribed_at)),
        ("deliveries", f"{len(deliveries)} ({sent} sent)"),
    ):
        if value:
            click.echo(f"  {label:<13}{value}")
    if not events:
        click.echo("  no bounces or complaints")
        return
    click.echo("bounces and complaints:")
    for e in events:
        what = "complaint" if e.kind == "complaint" else f"{e.severity} bounce"
        line = f"  {_when(e.received_at)}  {what}"
        line += f"  digest {e.digest_id or '-'}  delivery {e.delivery_id or '-'}"
        line += f"  {e.status or '-'}  {e.matched}"
        if e.action:
            line += f"  -> {e.action}"
        click.echo(line)
        detail = " ".join(e.diagnostic.split())[:160]
        click.echo(f"      {e.source}" + (f": {detail}" if detail else ""))


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


@subscribers_group.command("count")
@config_option
@list_option
@click.pass_context
def subscribers_count(ctx: click.Context, config_path: str | None, list_name: str | None) -> None:
    """Print how many subscribers each status has.

    \b
    Example:
      newsletter subscribers count
    """
    _config_after_group(ctx, config_path)
    config = _load_any(ctx)
    store = _open_store(config)
    with errors_to_exit():
        counts = store.subscriber_counts(config.list(list_name).name)
    total = sum(counts.values())
    parts = ", ".join(f"{counts.get(s, 0):,} {s}" for s in STATUSES)
    click.echo(f"{total:,} subscriber{'s' if total != 1 else ''}: {parts}")


@subscribers_group.command("import")
@config_option
@list_option
@click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
@click.option(
    "--status",
    type=click.Choice(("confirmed", "pending")),
    default="confirmed",
    show_default=True,
    help="Status for rows without a status column value.",
)
@click.pass_context
def subscribers_import(
    ctx: click.Context, config_path: str | None, list_name: str | None, csv_file, status: str
) -> None:
    """Import a CSV with a header row `email,name[,status]` (- reads stdin).

    Addresses that unsubscribed or bounced are never resubscribed by an import; each such
    row is named on stderr (only the person can end an opt-out, by confirming again).

    \b
    Example:
      newsletter subscribers import members.csv --status confirmed
    """
    from newsletter.audience import subscribers

    _config_after_group(ctx, config_path)
    config = _load_any(ctx, note_sample=True)
    store = _open_store(config)
    with errors_to_exit():
        report = subscribers.import_csv(store, config.list(list_name).name, csv_file, status=status)
    for line, email, reason in report.rejected:
        click.echo(f"line {line}: {email}: {reason}", err=True)
    for text in report.kept_lines():
        click.echo(text, err=True)
    click.echo(report.summary_line())


@subscribers_group.command("export")
@config_option
@list_option
@click.option("--status", type=click.Choice(STATUSES), help="Only this status.")
@click.pass_context
def subscribers_export(
    ctx: click.Context, config_path: str | None, list_name: str | None, status: str | None
) -> None:
    """Write the list as CSV (`email,name,status`) to stdout.

    \b
    Example:
      newsletter subscribers export --status confirmed > confirmed.csv
    """
    from newsletter.audience import subscribers

    _config_after_group(ctx, config_path)
    config = _load_any(ctx)
    store = _open_store(config)
    with errors_to_exit():
        subscribers.export_csv(store, config.list(list_name).name, sys.stdout, status=status)


@cli.command()
@config_option
@list_option
@click.option(
    "--digest",
    "digest",
    metavar="ID|latest",
    help="Which digest (default: unfinished ones, then the latest if unsent).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Write each message as .eml under the digest's folder (dry-run/); never connects "
    "to the SMTP server, changes nothing.",
)
@click.option(
    "--to",
    "to",
    metavar="ADDRESS",
    help="Send the digest (default: the latest) to this one address only; recorded "
    "nowhere. With --dry-run, write that one message as .eml instead.",
)
@click.option(
    "--resend-uncertain",
    is_flag=True,
    help="Also resend uncertain deliveries (their DATA ended when a send died, no reply "
    "recorded), of any digest; may duplicate.",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Try the failed deliveries of the latest digest that has some again.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 32),
    default=1,
    show_default=True,
    help="Processes sending the digest at once, each with [smtp] connections of its own.",
)
@click.pass_context
def send(
    ctx: click.Context,
    config_path: str | None,
    list_name: str | None,
    digest: str | None,
    dry_run: bool,
    to: str | None,
    resend_uncertain: bool,
    retry_failed: bool,
    workers: int,
) -> None:
    """Send a built digest to every confirmed subscriber, exactly once.

    Several senders may work one digest at once (--workers N on this host, or `newsletter
    send` on other hosts with a PostgreSQL store): each claims a few pending deliveries at
    a time, so every subscriber gets one copy; a sender that dies leaves its deliveries to
    the others once its lease lapses (at once, when no other sender is alive).

    A rerun finishes an interrupted send: only deliveries still pending are sent, and a
    message a killed send had not finished (its DATA never ended) is pending again.
    One whose DATA ended with no reply recorded is uncertain: named on every send until
    resent (--resend-uncertain) or dismissed (`newsletter deliveries --dismiss`).
    Needs NEWSLETTER_SECRET_KEY (signed links) and, for an SMTP login,
    NEWSLETTER_SMTP_PASSWORD. Exit 4 when deliveries failed, the send stopped early, or
    uncertain deliveries remain.

    \b
    Examples:
      newsletter send --dry-run
      newsletter send --dry-run --to me@example.org
      newsletter send --to me@example.org
      newsletter send
      newsletter send --workers 4
    """
    from newsletter.mail import deliver

    _config_after_group(ctx, config_path)
    if to is not None and (resend_uncertain or retry_failed):
        raise UsageError(
            "--to sends one copy to one address and records nothing; --resend-uncertain "
            "and --retry-failed act on the list's deliveries: use them without --to"
        )
    if workers > 1 and (to is not None or dry_run):
        raise UsageError("--workers shares out a real send: use it without --to and --dry-run")
    config = _load_any(ctx, note_sample=True)
    store = _open_store(config)
    list_config = _list(config, list_name)
    # no run lock: senders share a digest through their claims, and a run may send too
    with stopped_cleanly(ctx, "the send", "send"), errors_to_exit():
        config.require_secret()
        name = config.list(list_name).name
        if to is None and _nobody_to_send_to(store, name, digest):
            click.echo(_empty_list_message(ctx, name, dry_run), err=True)
            ctx.exit(EXIT_FAILED)
        if workers > 1:
            from newsletter.mail.workers import send_in_parallel

            reports = send_in_parallel(
                config,
                store,
                list_name,
                digest,
                workers,
                resend_uncertain=resend_uncertain,
                retry_failed=retry_failed,
            )
        else:
            reports = deliver.send(
                config,
                store,
                list_name,
                digest,
                dry_run=dry_run,
                to=to,
                resend_uncertain=resend_uncertain,
                retry_failed=retry_failed,
            )
        doubts = [] if dry_run or to else store.uncertain_deliveries(list_config.name)
    if to is not None:
        if dry_run:
            click.echo(
                f"dry run: wrote digest {reports[0].digest_id} for {to} to "
                f"{reports[0].folder} (nothing sent)"
            )
        else:
            click.echo(f"sent digest {reports[0].digest_id} to {to} (not recorded)")
        return
    if not reports:
        click.echo(
            "nothing to send: the latest digest was already sent; build a new one with "
            f"`{_hint(ctx, 'build')}`, or send yourself a copy with `--to ADDRESS`"
        )
    for report in reports:
        line = report.summary_line(config.source)
        if report.dry_run and not report.written:
            line += (
                f" (digest {report.digest_id} has no delivery left to send; "
                f"`{_hint(ctx, 'deliveries --digest ' + str(report.digest_id))}` lists them)"
            )
        click.echo(line)
    for line in deliver.uncertain_lines(list_config.name, doubts, config.source):
        click.echo(line)
    if doubts or any(r.failed or r.stopped for r in reports):
        ctx.exit(EXIT_DELIVERY)


def _nobody_to_send_to(store, list_name: str, digest: str | None) -> bool:
    """No confirmed subscriber, and no chosen digest with delivery rows to finish."""
    from newsletter.mail import deliver

    if store.subscriber_counts(list_name).get("confirmed", 0):
        return False
    chosen = deliver.digests_to_send(store, list_name, digest)
    return not any(store.has_deliveries(record.id) for record in chosen)


def _empty_list_message(ctx: click.Context, list_name: str, dry_run: bool) -> str:
    done = "no message written" if dry_run else "nothing sent, the digest stays unsent"
    flags = "--dry-run --to" if dry_run else "--to"
    return (
        f"list {list_name!r} has no confirmed subscribers: {done}. Try it on yourself with "
        f"`{_hint(ctx, f'send {flags} you@example.org')}`, or add subscribers with "
        f"`{_hint(ctx, 'subscribers add ADDRESS --status confirmed')}` or "
        f"`{_hint(ctx, 'subscribers import FILE.csv')}`"
    )


@cli.command()
@config_option
@list_option
@click.option("--digest", "digest_id", type=int, help="Digest id (default: the latest).")
@click.option("--failed", is_flag=True, help="Only failed deliveries.")
@click.option(
    "--uncertain",
    is_flag=True,
    help="Deliveries in doubt, of every digest (or --digest): DATA ended, no reply recorded.",
)
@click.option(
    "--dismiss",
    metavar="ADDRESS|all",
    help="Settle uncertain deliveries without resending (of every digest, or --digest).",
)
@click.option("--reason", help="Why they are dismissed (required with --dismiss; recorded).")
@click.pass_context
def deliveries(
    ctx: click.Context,
    config_path: str | None,
    list_name: str | None,
    digest_id: int | None,
    failed: bool,
    uncertain: bool,
    dismiss: str | None,
    reason: str | None,
) -> None:
    """List the deliveries of a digest: address, status, attempts, last error.

    An uncertain delivery's DATA ended when a send died, before the server's reply: it
    may have been delivered. It is reported by every `send` and `run` (exit 4) until it
    is resent (`newsletter send --resend-uncertain`) or dismissed here, with a reason
    kept in the store. Rows a dead sender left claimed are settled first (when no send
    is running, or once their lease lapsed), so a send killed a moment ago shows here.

    \b
    Examples:
      newsletter deliveries --failed
      newsletter deliveries --uncertain
      newsletter deliveries --dismiss ada@example.org --reason "in the server's log"
    """
    from newsletter.mail import deliver

    _config_after_group(ctx, config_path)
    config = _load_any(ctx)
    store = _open_store(config)
    name = _list(config, list_name).name
    with errors_to_exit():
        # a send killed a moment ago left its rows claimed: settle them as the next send
        # would, so the rows in doubt are listed (and can be dismissed) now
        deliver.recover(store)
    if dismiss is not None:
        if not reason or not reason.strip():
            raise UsageError('--dismiss needs --reason "..." (it is kept with the delivery)')
        with errors_to_exit():
            email = None if dismiss == "all" else dismiss
            count = store.dismiss_uncertain(name, reason.strip(), email, digest_id)
        if not count:
            click.echo(f"no uncertain delivery to {dismiss} in list {name!r}", err=True)
            ctx.exit(EXIT_FAILED)
        click.echo(f"dismissed {count} uncertain deliver{'y' if count == 1 else 'ies'}")
        return
    if uncertain:
        with errors_to_exit():
            doubts = store.uncertain_deliveries(name, digest_id)
        for u in doubts:
            ended = u.data_ended_at.isoformat(timespec="seconds") if u.data_ended_at else "?"
            click.echo(f"{u.email}\tuncertain\tdigest {u.digest_id}\tDATA ended {ended}")
        return
    with errors_to_exit():
        if digest_id is None:
            latest = store.latest_digest(name)
            if latest is None:
                raise UsageError(f"no digest yet; build one with `{_hint(ctx, 'build')}`")
            digest_id = latest.id
        rows = store.deliveries(digest_id, status="failed" if failed else None)
    for row in rows:
        click.echo(f"{row.email}\t{row.status}\t{row.attempts}\t{row.last_error}")


def _list(config: Config, list_name: str | None) -> ListConfig:
    """The list `--list` names (default: the first); an unknown name is a usage error."""
    with errors_to_exit():
        return config.list(list_name)


@cli.command()
@config_option
@list_option
@click.pass_context
def digests(ctx: click.Context, config_path: str | None, list_name: str | None) -> None:
    """List built digests, newest first: id, built, sent, stories, folder.

    Stories are counted as `build` counts them: a story carried by several feeds is one.

    \b
    Example:
      newsletter digests
    """
    from newsletter.cli.build import _short
    from newsletter.render.archive import stories_in

    _config_after_group(ctx, config_path)
    config = _load_any(ctx)
    store = _open_store(config)
    with errors_to_exit():
        name = config.list(list_name).name
        records = store.list_digests(name)
    if not records:
        click.echo(
            f"list {name!r} has no digest yet; build one with `{_hint(ctx, 'build')}`", err=True
        )
        return
    click.echo("id\tbuilt\tsent\tstories\tfolder")
    for d in records:
        sent = d.sent_at.isoformat(timespec="minutes") if d.sent_at else "not sent"
        if d.path:
            folder = config.resolve(d.path)
            where = _short(folder)
            stories = d.story_count if d.story_count is not None else stories_in(folder)
        else:
            where = "baseline (backlog marked as seen, nothing sent)"
            stories = d.story_count
        shown = d.item_count if stories is None else stories
        click.echo(f"{d.id}\t{d.built_at.isoformat(timespec='minutes')}\t{sent}\t{shown}\t{where}")
