from datetime import UTC, datetime

import pytest

from newsletter.cadence import is_due, last_slot, parse_cadence
from newsletter.errors import ConfigError


def test_parse_forms():
    assert parse_cadence("every run").kind == "every"
    daily = parse_cadence("Daily at 07:30")
    assert (daily.kind, daily.at.hour, daily.at.minute) == ("daily", 7, 30)
    weekly = parse_cadence("weekly on Friday at 18:00")
    assert (weekly.kind, weekly.weekday, weekly.at.hour) == ("weekly", 4, 18)


@pytest.mark.parametrize("text", ["hourly", "daily at 25:00", "weekly on funday at 07:00", ""])
def test_bad_cadence(text):
    with pytest.raises(ConfigError, match="every run"):
        parse_cadence(text)


def test_daily_slot_in_list_timezone():
    cadence = parse_cadence("daily at 07:00")
    now = datetime(2026, 6, 1, 5, 30, tzinfo=UTC)  # 06:30 in London (BST): before the slot
    slot = last_slot(cadence, now, "Europe/London")
    assert slot.isoformat() == "2026-05-31T07:00:00+01:00"


def test_weekly_slot():
    cadence = parse_cadence("weekly on monday at 07:00")
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday
    assert last_slot(cadence, now, "UTC") == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def test_is_due_once_per_slot():
    cadence = parse_cadence("daily at 07:00")
    sent = datetime(2026, 11, 25, 7, 0, 5, tzinfo=UTC)
    assert not is_due(cadence, datetime(2026, 11, 25, 23, 0, tzinfo=UTC), "UTC", sent)
    assert is_due(cadence, datetime(2026, 11, 26, 7, 0, tzinfo=UTC), "UTC", sent)
    assert is_due(parse_cadence("every run"), datetime(2026, 11, 25, tzinfo=UTC), "UTC", sent)
