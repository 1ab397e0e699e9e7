from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from newsletter.cadence import is_due, last_slot, next_slot, parse_cadence
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


def test_describe_round_trips():
    for text in ("every run", "daily at 07:05", "weekly on sunday at 18:30"):
        assert parse_cadence(text).describe() == text
    assert parse_cadence("  Daily   at 7:05 ").describe() == "daily at 07:05"


def test_next_slot():
    daily = parse_cadence("daily at 07:00")
    now = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # exactly at a slot: the next is tomorrow
    assert next_slot(daily, now, "UTC") == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    weekly = parse_cadence("weekly on monday at 07:00")
    assert next_slot(weekly, now, "UTC") == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    assert next_slot(parse_cadence("every run"), now, "UTC") is None
    assert last_slot(parse_cadence("every run"), now, "UTC") is None


def test_slots_keep_their_wall_clock_time_across_daylight_saving():
    daily = parse_cadence("daily at 07:00")
    # London moves to BST on 29 March 2026: 07:00 local is 07:00 UTC before, 06:00 after
    before = last_slot(daily, datetime(2026, 3, 28, 12, 0, tzinfo=UTC), "Europe/London")
    after = last_slot(daily, datetime(2026, 3, 29, 12, 0, tzinfo=UTC), "Europe/London")
    assert before.astimezone(UTC) == datetime(2026, 3, 28, 7, 0, tzinfo=UTC)
    assert after.astimezone(UTC) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    assert next_slot(daily, datetime(2026, 3, 28, 12, 0, tzinfo=UTC), "Europe/London") == after


def test_a_slot_in_the_spring_gap_happens_when_the_clocks_jump():
    cadence = parse_cadence("daily at 01:30")  # 01:00-02:00 does not exist on 29 March
    slot = last_slot(cadence, datetime(2026, 3, 29, 3, 0, tzinfo=UTC), "Europe/London")
    assert slot.isoformat() == "2026-03-29T02:30:00+01:00"
    assert slot.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_a_slot_in_the_autumn_overlap_fires_once():
    cadence = parse_cadence("daily at 01:30")  # 01:30 happens twice on 25 October 2026
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    assert last_slot(cadence, first, "Europe/London").astimezone(UTC) == first
    later = datetime(2026, 10, 25, 1, 45, tzinfo=UTC)  # after the second 01:30 (GMT)
    assert last_slot(cadence, later, "Europe/London").astimezone(UTC) == first
    assert not is_due(cadence, later, "Europe/London", first + timedelta(minutes=1))


@pytest.mark.parametrize("tz", ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata"])
def test_every_15_minutes_for_ten_days_across_a_dst_change_is_one_digest_a_day(tz):
    cadence = parse_cadence("daily at 07:00")
    now = datetime(2026, 3, 24, 0, 0, tzinfo=UTC)
    last_sent = now  # as if the list started now
    sent = []
    while now < datetime(2026, 4, 3, 0, 0, tzinfo=UTC):
        if is_due(cadence, now, tz, last_sent):
            sent.append(now.astimezone(ZoneInfo(tz)))
            last_sent = now
        now += timedelta(minutes=15)
    assert len(sent) == len({s.date() for s in sent}) in (9, 10)
    assert all((s.hour, s.minute) == (7, 0) for s in sent)
