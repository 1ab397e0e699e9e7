"""When a list's digest is due: "every run", "daily at 07:00", "weekly on monday at 07:00"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from newsletter.errors import ConfigError

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PATTERN = re.compile(
    r"^(?:(?P<every>every run)|daily at (?P<dh>\d{1,2}):(?P<dm>\d{2})"
    r"|weekly on (?P<day>[a-z]+) at (?P<wh>\d{1,2}):(?P<wm>\d{2}))$"
)


@dataclass(frozen=True)
class Cadence:
    kind: str  # every | daily | weekly
    at: time = time(0, 0)
    weekday: int = 0  # 0 = Monday


def parse_cadence(text: str) -> Cadence:
    """Parse a cadence string, or raise ConfigError naming the accepted forms."""
    m = _PATTERN.match(text.strip().lower())
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


def last_slot(cadence: Cadence, now: datetime, tz: str) -> datetime | None:
    """The most recent scheduled moment at or before `now` (None for "every run")."""
    if cadence.kind == "every":
        return None
    local = now.astimezone(ZoneInfo(tz))
    slot = local.replace(hour=cadence.at.hour, minute=cadence.at.minute, second=0, microsecond=0)
    if cadence.kind == "daily":
        if slot > local:
            slot -= timedelta(days=1)
    else:
        slot -= timedelta(days=(slot.weekday() - cadence.weekday) % 7)
        if slot > local:
            slot -= timedelta(days=7)
    return slot


def is_due(cadence: Cadence, now: datetime, tz: str, last_sent: datetime | None) -> bool:
    """True when a digest should go out now: no digest since the latest slot."""
    slot = last_slot(cadence, now, tz)
    if slot is None or last_sent is None:
        return True
    return last_sent < slot
