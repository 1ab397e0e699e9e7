"""When a list's digest is due: "every run", "daily at 07:00", "weekly on monday at 07:00".

Slots are wall-clock times in the list's time zone, so "daily at 07:00" stays at 07:00 across
daylight-saving changes. A slot that falls in a spring-forward gap happens at the moment the
clocks jump (02:30 becomes 03:30); in an autumn overlap it is the first of the two 01:30s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from newsletter.errors import ConfigError

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PATTERN = re.compile(
    r"^(?:(?P<every>every run)|daily at (?P<dh>\d{1,2}):(?P<dm>\d{2})"
    r"|weekly on (?P<day>[a-z]+) at (?P<wh>\d{1,2}):(?P<wm>\d{2}))$"
)


@dataclass(frozen=True)
class Cadence:
    """When a list is mailed: at every run, or daily or weekly at a time."""

    kind: str  # every | daily | weekly
    at: time = time(0, 0)
    weekday: int = 0  # 0 = Monday

    def describe(self) -> str:
        """The cadence as the config spells it ("weekly on monday at 07:00")."""
        if self.kind == "every":
            return "every run"
        at = f"{self.at.hour:02d}:{self.at.minute:02d}"
        if self.kind == "daily":
            return f"daily at {at}"
        return f"weekly on {DAYS[self.weekday]} at {at}"


def parse_cadence(text: str) -> Cadence:
    """Parse a cadence string, or raise ConfigError naming the accepted forms."""
    m = _PATTERN.match(" ".join(text.strip().lower().split()))
    bad = ConfigError(
        f"cadence {text!r} not understood; use 'every run', 'daily at HH:MM' or "
        "'weekly on monday at HH:MM'"
    )
    if not m:
        raise bad
    if m["every"]:
        return Cadence("every")
    try:
        if m["dh"]:
            return Cadence("daily", time(int(m["dh"]), int(m["dm"])))
        if m["day"] not in DAYS:
            raise bad
        return Cadence("weekly", time(int(m["wh"]), int(m["wm"])), DAYS.index(m["day"]))
    except ValueError as e:
        raise bad from e


def _localize(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall-clock time in `zone` as an aware one, gaps and overlaps resolved
    (round-tripping through UTC moves a time in a gap past the jump)."""
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)


def _step(cadence: Cadence) -> timedelta:
    return timedelta(days=7 if cadence.kind == "weekly" else 1)


def last_slot(cadence: Cadence, now: datetime, tz: str) -> datetime | None:
    """The most recent scheduled moment at or before `now` (None for "every run")."""
    if cadence.kind == "every":
        return None
    zone = ZoneInfo(tz)
    # work on naive wall-clock times: aware datetimes sharing a tzinfo compare by wall
    # clock, which is wrong in the autumn overlap; each candidate is compared in UTC
    wall = now.astimezone(zone).replace(tzinfo=None)
    # fold=0: in the autumn overlap a slot is the first of the two equal wall times
    candidate = wall.replace(
        hour=cadence.at.hour, minute=cadence.at.minute, second=0, microsecond=0, fold=0
    )
    if cadence.kind == "weekly":
        candidate -= timedelta(days=(candidate.weekday() - cadence.weekday) % 7)
    slot = _localize(candidate, zone)
    while slot > now:
        candidate -= _step(cadence)
        slot = _localize(candidate, zone)
    return slot


def next_slot(cadence: Cadence, now: datetime, tz: str) -> datetime | None:
    """The first scheduled moment after `now` (None for "every run")."""
    slot = last_slot(cadence, now, tz)
    if slot is None:
        return None
    zone = ZoneInfo(tz)
    wall = slot.astimezone(zone).replace(
        tzinfo=None, hour=cadence.at.hour, minute=cadence.at.minute, fold=0
    )
    following = _localize(wall + _step(cadence), zone)
    while following <= now:  # only after a gap pushed the last slot forward
        wall += _step(cadence)
        following = _localize(wall + _step(cadence), zone)
    return following


def is_due(cadence: Cadence, now: datetime, tz: str, last_sent: datetime | None) -> bool:
    """True when a digest should go out now: none since the latest slot.

    `last_sent` is when the list last had a digest (or last decided it had nothing to
    send); None means never, which is due.
    """
    slot = last_slot(cadence, now, tz)
    if slot is None or last_sent is None:
        return True
    return last_sent < slot
