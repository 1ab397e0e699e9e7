"""What one `newsletter run` did: the report, its exit code (see newsletter.errors:
when several apply, the highest wins, 6 stands alone), its text and JSON forms."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from newsletter.bounces.apply import Tally
from newsletter.errors import (
    EXIT_DELIVERY,
    EXIT_FEEDS_FAILED,
    EXIT_LOCKED,
    EXIT_NOTHING_DONE,
    EXIT_OK,
)
from newsletter.ingest.health import FeedHealth, should_remind
from newsletter.mail.deliver import uncertain_lines
from newsletter.mail.sendloop import SendReport
from newsletter.store import UncertainDelivery
from newsletter.store.runs import Adoption


@dataclass
class IngestSummary:
    """The fetch of every feed at the start of the run."""

    feeds: int = 0
    not_modified: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    new: int = 0
    changed: int = 0
    seconds: float = 0.0
    fresh: int = 0  # not requested: still fresh by their server's or their own word

    @property
    def all_failed(self) -> bool:
        return bool(self.feeds) and len(self.failed) == self.feeds

    def line(self) -> str:
        """`feeds: 12 fetched (10 unchanged, 1 failed); 3 new items, 1 edited`"""
        parts = [f"{self.not_modified} unchanged"]
        if self.fresh:
            parts.append(f"{self.fresh} still fresh, not requested")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return (
            f"feeds: {self.feeds} fetched ({', '.join(parts)}); {self.new} new "
            f"item{'s' if self.new != 1 else ''}, {self.changed} edited, in {self.seconds:.1f} s"
        )


@dataclass
class ListRun:
    """What the run did for one list."""

    list_name: str
    cadence: str = ""
    first_run: bool = False
    due: bool = False
    next_due: datetime | None = None
    adopted: list[Adoption] = field(default_factory=list)
    resumed: list[SendReport] = field(default_factory=list)
    stories: int = 0  # new stories found (when due)
    digest_id: int | None = None
    folder: str = ""
    sent: SendReport | None = None
    note: str = ""  # why no digest was built
    uncertain: list[UncertainDelivery] = field(default_factory=list)  # in doubt, any digest
    error: str = ""
    error_stage: str = ""  # build | send

    @property
    def sends(self) -> list[SendReport]:
        return [*self.resumed, *([self.sent] if self.sent else [])]

    @property
    def delivery_problem(self) -> bool:
        return (
            self.error_stage == "send"
            or bool(self.uncertain)
            or any(r.failed or r.pending or r.stopped for r in self.sends)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "list": self.list_name,
            "cadence": self.cadence,
            "first_run": self.first_run,
            "due": self.due,
            "next_due": self.next_due.isoformat() if self.next_due else None,
            "adopted": [
                {
                    "feeds": list(a.feeds),
                    "backlog": a.policy,
                    "held_back": a.held_back,
                    "baseline_digest": a.baseline_digest_id,
                }
                for a in self.adopted
            ],
            "resumed": [_send_dict(r) for r in self.resumed],
            "stories": self.stories,
            "digest": self.digest_id,
            "folder": self.folder,
            "sent": _send_dict(self.sent) if self.sent else None,
            "note": self.note,
            "uncertain": [
                {
                    "digest": u.digest_id,
                    "email": u.email,
                    "data_ended_at": u.data_ended_at.isoformat() if u.data_ended_at else None,
                }
                for u in self.uncertain
            ],
            "error": self.error,
            "error_stage": self.error_stage,
        }


def _send_dict(report: SendReport) -> dict[str, Any]:
    return {
        "digest": report.digest_id,
        "sent": report.sent,
        "failed": report.failed,
        "skipped_unsubscribed": report.skipped_unsubscribed,
        "skipped_other": report.skipped_other,
        "uncertain": report.uncertain,
        "bounced": report.bounced,
        "pending": report.pending,
        "stopped": report.stopped,
        "totals": dict(report.totals),
        "seconds": round(report.elapsed, 3),
    }


@dataclass
class RunReport:
    """Everything one run did, for the CLI's output, exit code and --json."""

    started_at: datetime
    finished_at: datetime | None = None
    lock_file: str = ""
    locked: str = ""  # the message when another run holds the lock
    config_file: str = ""  # the config the run read: commands in the report name it
    error: str = ""  # what stopped the whole run (the store)
    ingest: IngestSummary | None = None
    lists: list[ListRun] = field(default_factory=list)
    failing_feeds: list[FeedHealth] = field(default_factory=list)
    failing_threshold: int = 3
    elapsed: float = 0.0  # wall-clock seconds the run took
    bounces: Tally | None = None  # the bounce mailbox, when configured
    bounces_error: str = ""  # why the bounce mailbox could not be processed

    @property
    def digests_sent(self) -> int:
        """Digests whose sending ran in this run (new and resumed)."""
        return sum(len(lr.sends) for lr in self.lists)

    @property
    def exit_code(self) -> int:
        """0 done, 3 feeds failed, 4 delivery problems, 5 nothing done, 6 locked."""
        if self.locked:
            return EXIT_LOCKED
        if self.error or any(lr.error_stage == "build" for lr in self.lists):
            return EXIT_NOTHING_DONE
        if self.ingest is not None and self.ingest.all_failed and not self.digests_sent:
            return EXIT_NOTHING_DONE
        if any(lr.delivery_problem for lr in self.lists):
            return EXIT_DELIVERY
        if self.ingest is not None and self.ingest.failed:
            return EXIT_FEEDS_FAILED
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of the report."""
        ingest = self.ingest
        return {
            "exit_code": self.exit_code,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "seconds": round(self.elapsed, 3),
            "lock_file": self.lock_file,
            "locked": self.locked,
            "error": self.error,
            "feeds": None
            if ingest is None
            else {
                "fetched": ingest.feeds,
                "not_modified": ingest.not_modified,
                "fresh": ingest.fresh,
                "failed": [{"url": u, "reason": r} for u, r in ingest.failed],
                "new_items": ingest.new,
                "edited_items": ingest.changed,
                "seconds": round(ingest.seconds, 3),
            },
            "lists": [lr.to_dict() for lr in self.lists],
            "bounces": self.bounces.to_dict() if self.bounces else None,
            "bounces_error": self.bounces_error,
            "failing_feeds": [h.to_dict() for h in self.failing_feeds],
        }

    def to_json(self) -> str:
        """The report as indented JSON (`newsletter run --json`)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip() if moment else "?"


def _stories(n: int) -> str:
    return f"{n} stor{'y' if n == 1 else 'ies'}"


def format_run_report(report: RunReport, verbose: bool = False) -> str:
    """The run as text: empty when nothing happened (cron mails any output), one line per
    digest sent or problem; with `verbose`, every step and decision."""
    if report.locked:
        return report.locked
    lines: list[str] = []
    if report.error:
        lines.append(f"run stopped: {report.error}")
    if report.bounces_error:
        lines.append(f"WARNING bounces not processed: {report.bounces_error}")
    bounces = report.bounces
    if bounces is not None and (verbose or bounces.changed or bounces.unreadable):
        lines.append(f"bounces: {bounces.summary_line()}")
    ingest = report.ingest
    if ingest is not None:
        if verbose:
            lines.append(ingest.line())
            lines.extend(f"  failed: {url}: {reason}" for url, reason in ingest.failed)
        elif ingest.all_failed:
            url, reason = ingest.failed[0]
            more = f" (first: {url}: {reason})"
            lines.append(f"every feed failed: {len(ingest.failed)} of {ingest.feeds}{more}")
    for lr in report.lists:
        lines.extend(_list_lines(lr, verbose, report.config_file))
    for h in report.failing_feeds:
        if verbose or should_remind(h.failures, report.failing_threshold):
            lines.append(f"WARNING {h.problem(report.config_file)}")
    if verbose:
        lines.append(f"done in {report.elapsed:.1f} s, exit code {report.exit_code}")
    return "\n".join(lines)


def _list_lines(lr: ListRun, verbose: bool, config_file: str) -> list[str]:
    name = lr.list_name
    lines = []
    for adoption in lr.adopted:
        n = len(adoption.feeds)
        held = (
            f"{_stories(adoption.held_back)} already there held back"
            if adoption.held_back
            else "nothing held back"
        )
        lines.append(
            f"{name}: now reading {n} new feed{'s' if n != 1 else ''} "
            f"(backlog = {adoption.policy}): {held}"
        )
    for resumed in lr.resumed:
        lines.append(
            f"{name}: resumed interrupted digest {resumed.digest_id}: "
            f"{resumed.summary_line(config_file)}"
        )
    if lr.error:
        lines.append(f"{name}: ERROR ({lr.error_stage}): {lr.error}")
    if lr.sent is not None:
        lines.append(
            f"{name}: digest {lr.digest_id} ({_stories(lr.stories)}): "
            f"{lr.sent.summary_line(config_file)}"
        )
    elif verbose and not lr.error:
        if lr.first_run and not lr.due:
            lines.append(f"{name}: first run: the first digest goes out at {_when(lr.next_due)}")
        elif not lr.due and lr.note:
            lines.append(f"{name}: {lr.note}")
        elif lr.note:
            lines.append(f"{name}: due ({lr.cadence}); {lr.note}")
    elif lr.note and lr.delivery_problem:
        lines.append(f"{name}: {lr.note}")
    lines.extend(uncertain_lines(name, lr.uncertain, config_file))
    return lines
