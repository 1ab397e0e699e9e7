"""Feed health: per configured feed, how its fetches have been going (`newsletter feeds`).

Every `newsletter run` fetches each due feed once, so the store's count of consecutive
failed fetches is also a count of consecutive failed runs that asked it (a feed waiting
out a `Retry-After` is not asked, and does not fail again meanwhile).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from newsletter.commands import config_name
from newsletter.config import Config
from newsletter.ingest.freshness import Hints, due_at
from newsletter.store import Store

RECENT_DAYS = 7


@dataclass(frozen=True)
class FeedHealth:
    """How one feed is doing."""

    url: str
    title: str = ""
    lists: tuple[str, ...] = ()  # the lists that read it
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str = ""  # empty once a fetch succeeds again
    last_status: int | None = None  # HTTP status of the last fetch; None for files
    recent_items: int = 0  # items published (else first seen) in the last RECENT_DAYS days
    # works (304s seen) | offered (validators, no 304 yet) | no | n/a (a file) | unknown
    conditional_get: str = "no"
    not_modified: int = 0  # 304s (or unchanged files) seen so far
    failures: int = 0  # consecutive failed fetches, that is failed runs
    failing: bool = False  # failures >= [run] failing_feed_runs
    last_decision: str = ""  # what the last run did with it and why ("not requested: fresh…")
    next_fetch: datetime | None = None  # not requested before this; None: at the next run
    next_fetch_reason: str = ""  # what said so (Cache-Control, Expires, ttl, Retry-After)

    @property
    def state(self) -> str:
        """never fetched | ok | failing (past the threshold) | error (a recent failure)."""
        if self.last_attempt is None:
            return "never fetched"
        if self.failing:
            return "failing"
        return "error" if self.failures else "ok"

    def problem(self, config_file: str | Path | None = None) -> str:
        """One line for the operator about a failing feed, naming what to check (and the
        config file to edit)."""
        since = (
            f"since its last success at {_when(self.last_success)}"
            if self.last_success
            else "and has never worked"
        )
        status = ""
        if self.last_status and str(self.last_status) not in self.last_error:
            status = f" (HTTP {self.last_status})"
        return (
            f"feed {self.url} has failed {self.failures} runs in a row {since}{status}: "
            f"{self.last_error or 'no reason recorded'}; check the URL in a browser, or "
            f"remove it from {config_name(config_file)}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (times as ISO 8601 UTC)."""
        return {
            "url": self.url,
            "title": self.title,
            "lists": list(self.lists),
            "state": self.state,
            "last_attempt": _iso(self.last_attempt),
            "last_success": _iso(self.last_success),
            "last_error": self.last_error,
            "last_status": self.last_status,
            "recent_items": self.recent_items,
            "conditional_get": self.conditional_get,
            "not_modified": self.not_modified,
            "failures": self.failures,
            "failing": self.failing,
            "last_decision": self.last_decision,
            "next_fetch": _iso(self.next_fetch),
            "next_fetch_reason": self.next_fetch_reason,
        }


def _iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when else None


def _when(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else "never"


def _is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def feed_health(config: Config, store: Store, now: datetime) -> list[FeedHealth]:
    """The health of every configured feed, in config order."""
    threshold = max(1, config.run.failing_feed_runs)
    readers: dict[str, list[str]] = {}
    for lst in config.lists:
        for feed in config.feeds_for(lst.name):
            readers.setdefault(feed.url, []).append(lst.name)
    recent = store.recent_item_counts(now - timedelta(days=RECENT_DAYS))
    out = []
    for feed in config.feeds:
        state = store.feed_state(feed.url)
        if not _is_http(feed.url):
            conditional = "n/a"
        elif state.fetched_at is None:
            conditional = "unknown"
        elif state.not_modified_count > 0:
            conditional = "works"
        elif state.etag or state.last_modified:
            conditional = "offered"
        else:
            conditional = "no"
        hints = Hints.from_json(state.hints)
        next_fetch = due_at(state.next_fetch_at, hints, now) if _is_http(feed.url) else None
        reason = (
            state.next_fetch_reason if next_fetch == state.next_fetch_at else "skipHours/skipDays"
        )
        out.append(
            FeedHealth(
                url=feed.url,
                title=feed.name or state.title,
                lists=tuple(readers.get(feed.url, ())),
                last_attempt=state.fetched_at,
                last_success=state.last_success_at,
                last_error=state.last_error,
                last_status=state.last_status,
                recent_items=recent.get(feed.url, 0),
                conditional_get=conditional,
                not_modified=state.not_modified_count,
                failures=state.failures,
                failing=state.failures >= threshold,
                last_decision=state.last_decision,
                next_fetch=next_fetch,
                next_fetch_reason=reason if next_fetch else "",
            )
        )
    return out


def should_remind(failures: int, threshold: int) -> bool:
    """Whether a quiet run mentions a failing feed: when it reaches the threshold, then at
    2x, 4x, 8x... that many failed runs, so a dead feed is not mailed every 15 minutes."""
    threshold = max(1, threshold)
    if failures < threshold or failures % threshold:
        return False
    ratio = failures // threshold
    return ratio & (ratio - 1) == 0  # a power of two


def format_feed_health(
    health: list[FeedHealth], verbose: bool = False, config_file: str | Path | None = None
) -> str:
    """A table for `newsletter feeds`: state, failures, items/7d, conditional GET, last
    success; with `verbose`, the last error and the lists under each feed. The config file
    to edit is named as `config_file` (newsletter.toml when not given)."""
    if not health:
        return f"no feeds configured: add [[feeds]] to {config_name(config_file)}"
    header = ("state", "fails", f"{RECENT_DAYS}d", "cond. GET", "last success", "feed")
    rows = [
        (
            h.state,
            str(h.failures),
            str(h.recent_items),
            h.conditional_get,
            _when(h.last_success),
            h.url if not h.title else f"{h.title} <{h.url}>",
        )
        for h in health
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for h, row in zip([None, *health], [header, *rows], strict=True):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
        if h is None or not (verbose or h.failures):
            continue
        if h.last_error:
            status = ""
            if h.last_status and str(h.last_status) not in h.last_error:
                status = f"HTTP {h.last_status}: "
            lines.append(f"    last error: {status}{h.last_error}")
        if verbose:
            lines.append(
                f"    lists: {', '.join(h.lists) or '(none)'}; last attempt: "
                f"{_when(h.last_attempt)}; 304s seen: {h.not_modified}"
            )
            if h.last_decision:
                lines.append(f"    last run: {h.last_decision}")
            if h.next_fetch is not None:
                lines.append(f"    next fetch: {_when(h.next_fetch)} ({h.next_fetch_reason})")
            elif h.last_attempt is not None:
                lines.append("    next fetch: at the next run")
    failing = [h for h in health if h.failing]
    if failing:
        lines.append(
            f"{len(failing)} feed{'s' if len(failing) != 1 else ''} failing: fix or remove "
            f"them in {config_name(config_file)}"
        )
    return "\n".join(lines)
