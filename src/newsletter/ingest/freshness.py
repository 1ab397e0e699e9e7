"""When a feed may be requested again, from what its server and the feed itself say.

* HTTP: `Cache-Control: max-age` (less the `Age` a cache reports; `no-store`/`no-cache`
  mean "ask every time"), else `Expires` (against the server's `Date`); `Retry-After`
  (seconds or a date) on any answer, notably 429 Too Many Requests and 503.
* The feed: RSS `<ttl>` (minutes the channel may be cached) and `<skipHours>` /
  `<skipDays>` (GMT hours and weekdays when aggregators should not read it).

A run does not request a feed that is still fresh, or that asks not to be read at this
hour; `--refetch` requests every feed anyway. No promise lasts beyond MAX_FRESH, so a
misconfigured header never silences a feed for long. Every decision comes with a one-line
reason that `newsletter feeds -v` shows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_FRESH = timedelta(hours=24)  # the longest any header or hint may keep a feed unread
MIN_FRESH = timedelta(seconds=60)  # shorter promises are not worth remembering
HEAD_BYTES = 65_536  # channel elements come before the first item
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_FIRST_ENTRY = re.compile(rb"<(?:\w+:)?(?:item|entry)[\s>/]", re.I)
_TTL = re.compile(rb"<ttl>\s*(\d{1,7})\s*</ttl>", re.I)
_SKIP_HOURS = re.compile(rb"<skipHours>(.*?)</skipHours>", re.I | re.S)
_SKIP_DAYS = re.compile(rb"<skipDays>(.*?)</skipDays>", re.I | re.S)
_HOUR = re.compile(rb"<hour>\s*(\d{1,2})\s*</hour>", re.I)
_DAY = re.compile(rb"<day>\s*([A-Za-z]+)\s*</day>", re.I)
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?([0-9]+)\"?\s*(?:,|$)", re.I)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\s*(?:[,=]|$)", re.I)


@dataclass(frozen=True)
class Hints:
    """What a feed document says about reading it (RSS channel elements)."""

    ttl: int = 0  # minutes the channel may be cached
    skip_hours: tuple[int, ...] = ()  # GMT hours, 0-23
    skip_days: tuple[str, ...] = ()  # "Monday", ...

    def to_json(self) -> str:
        if not (self.ttl or self.skip_hours or self.skip_days):
            return ""
        data = {"ttl": self.ttl, "skip_hours": list(self.skip_hours)}
        return json.dumps({**data, "skip_days": list(self.skip_days)})

    @classmethod
    def from_json(cls, text: str) -> Hints:
        try:
            data = json.loads(text) if text else {}
            return cls(
                ttl=int(data.get("ttl", 0)),
                skip_hours=tuple(int(h) for h in data.get("skip_hours", ())),
                skip_days=tuple(str(d) for d in data.get("skip_days", ())),
            )
        except (ValueError, TypeError, AttributeError):
            return cls()  # a damaged value is only a lost hint


def feed_hints(body: bytes) -> Hints:
    """`<ttl>`, `<skipHours>` and `<skipDays>` from the channel (before the first item)."""
    head = body[:HEAD_BYTES]
    first = _FIRST_ENTRY.search(head)
    if first:
        head = head[: first.start()]
    ttl_match = _TTL.search(head)
    ttl = int(ttl_match.group(1)) if ttl_match else 0
    hours: set[int] = set()
    for block in _SKIP_HOURS.findall(head):
        for h in _HOUR.findall(block):
            value = int(h)
            if 0 <= value <= 24:  # some feeds count 1-24: 24 is midnight
                hours.add(value % 24)
    days: set[str] = set()
    for block in _SKIP_DAYS.findall(head):
        for d in _DAY.findall(block):
            name = d.decode("ascii").capitalize()
            if name in DAYS:
                days.add(name)
    if len(hours) >= 24 or len(days) >= 7:  # "never read me" is a mistake, not a wish
        hours, days = (set(), days) if len(hours) >= 24 else (hours, set())
    return Hints(ttl=ttl, skip_hours=tuple(sorted(hours)), skip_days=_in_week_order(days))


def _in_week_order(days: set[str]) -> tuple[str, ...]:
    return tuple(d for d in DAYS if d in days)


def next_fetch(
    now: datetime, status: int | None, headers: Mapping[str, str], hints: Hints, ok: bool
) -> tuple[datetime | None, str]:
    """When the feed may be requested again after this answer, and what said so; (None, "")
    when the next run should ask again."""
    found: list[tuple[datetime, str]] = []
    value = headers.get("retry-after", "").strip()
    retry = retry_after(value, now)
    if retry is not None:
        said = _span(retry - now) if _seconds(value) is not None else f"{_clock(retry)}"
        why = f"Retry-After {said}"
        found.append((retry, why + (f" (HTTP {status})" if status in (429, 503) else "")))
    if ok:
        fresh = http_freshness(headers, now)
        if fresh is not None:
            found.append((now + fresh[0], fresh[1]))
        if hints.ttl:
            ttl = timedelta(minutes=min(hints.ttl, _FOREVER // 60))
            found.append((now + ttl, f"RSS ttl {hints.ttl} min"))
    found = [(when, why) for when, why in found if when - now >= MIN_FRESH]
    if not found:
        return None, ""
    when, why = max(found)
    if when - now > MAX_FRESH:
        return now + MAX_FRESH, f"{why}, capped at {_span(MAX_FRESH)}"
    return when, why


def http_freshness(headers: Mapping[str, str], now: datetime) -> tuple[timedelta, str] | None:
    """How long a response stays fresh by Cache-Control max-age or Expires (None: no word,
    or "ask every time")."""
    control = headers.get("cache-control", "")
    if _NO_CACHE.search(control):
        return None
    age = _seconds(headers.get("age", "")) or 0
    match = _MAX_AGE.search(control)
    if match:
        left = (_seconds(match.group(1)) or 0) - age
        return (timedelta(seconds=left), f"Cache-Control max-age={match.group(1)}")
    expires = _date(headers.get("expires", ""))
    if expires is None:
        return None
    served = _date(headers.get("date", "")) or now
    left_td = expires - served - timedelta(seconds=age)
    if left_td <= timedelta(0):
        return None
    return min(left_td, timedelta(seconds=_FOREVER)), f"Expires {_clock(expires)}"


def retry_after(value: str, now: datetime) -> datetime | None:
    """The time a Retry-After header names (seconds from now, or an HTTP date)."""
    value = value.strip()
    if not value:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return now + timedelta(seconds=seconds)
    when = _date(value)
    return when if when is not None and when > now else None


def skip_until(now: datetime, hints: Hints) -> datetime | None:
    """The end of the skipHours/skipDays window `now` falls in (None: not in one)."""
    t = now.astimezone(UTC)
    end = None
    for _ in range(24 * 7):
        if t.hour not in hints.skip_hours and DAYS[t.weekday()] not in hints.skip_days:
            return end
        t = t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        end = t
    return None  # every hour skipped: ignored (feed_hints drops such hints anyway)


def decide(
    now: datetime,
    fetched_before: bool,
    next_at: datetime | None,
    next_reason: str,
    hints: Hints,
    refetch: bool = False,
) -> tuple[bool, str]:
    """Whether this run requests the feed, and a one-line reason for `newsletter feeds -v`."""
    if refetch:
        return True, "fetched: forced (--refetch)"
    if not fetched_before:
        return True, "fetched: first fetch"
    if next_at is not None and now < next_at:
        return False, f"not requested: fresh until {_clock(next_at)} ({next_reason})"
    window = skip_until(now, hints)
    if window is not None:
        return False, f"not requested: the feed asks not to be read until {_clock(window)} " + (
            "(skipHours/skipDays)"
        )
    if next_at is not None:
        return True, f"fetched: due since {_clock(next_at)} ({next_reason})"
    return True, "fetched: no freshness given (asked every run)"


def due_at(next_at: datetime | None, hints: Hints, now: datetime) -> datetime | None:
    """When the feed will next be requested (None: at the next run)."""
    start = next_at if next_at is not None and next_at > now else now
    window = skip_until(start, hints)
    if window is not None:
        return window
    return start if start > now else None


_FOREVER = 10 * 365 * 86400  # any longer promise means the same (it is capped anyway)


def _seconds(value: str) -> int | None:
    value = value.strip()
    if not (value.isascii() and value.isdigit()):
        return None
    return _FOREVER if len(value) > 12 else min(int(value), _FOREVER)


def _date(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _clock(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
