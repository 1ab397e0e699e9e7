"""A feed still fresh is not requested: Cache-Control, Expires, RSS ttl/skipHours/skipDays,
Retry-After (429/503), --refetch, and every decision shown by `newsletter feeds -v`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.feedserver import FeedServer

from newsletter.cli import cli
from newsletter.config import Config, FeedConfig, FetchConfig, SiteConfig
from newsletter.ingest.feeds import ingest
from newsletter.ingest.freshness import (
    MAX_FRESH,
    Hints,
    decide,
    feed_hints,
    http_freshness,
    next_fetch,
    skip_until,
)
from newsletter.ingest.health import feed_health, format_feed_health
from newsletter.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def rss(channel_extra: str = "", items: int = 2) -> str:
    body = "".join(
        f"<item><title>Ferry {n} sails</title><link>https://harbour.example.org/{n}</link>"
        f"<guid>ferry-{n}</guid><description>The ferry number {n} leaves at noon.</description>"
        "</item>"
        for n in range(items)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour</title>'
        f"<link>https://harbour.example.org/</link>{channel_extra}{body}</channel></rss>"
    )


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Store:
    return Store(tmp_path / "store.sqlite", clock=clock)


def config(tmp_path: Path, *urls: str) -> Config:
    return Config(
        base_dir=tmp_path,
        site=SiteConfig(url="https://digest.example.org"),
        feeds=tuple(FeedConfig(url=u) for u in urls),
        fetch=FetchConfig(timeout=2.0, connect_timeout=2.0),
        store_path=tmp_path / "store.sqlite",
    )


# -- what the server and the feed say ---------------------------------------------------------
def test_cache_control_max_age_less_age_and_no_cache() -> None:
    assert http_freshness({"cache-control": "public, max-age=600"}, T0) == (
        timedelta(seconds=600),
        "Cache-Control max-age=600",
    )
    fresh = http_freshness({"cache-control": "max-age=600", "age": "100"}, T0)
    assert fresh is not None and fresh[0] == timedelta(seconds=500)
    assert http_freshness({"cache-control": "no-cache, max-age=600"}, T0) is None
    assert http_freshness({"cache-control": "private, no-store"}, T0) is None
    assert http_freshness({}, T0) is None


def test_expires_counts_from_the_servers_date() -> None:
    headers = {
        "date": format_datetime(T0 - timedelta(hours=1), usegmt=True),  # a slow clock there
        "expires": format_datetime(T0 - timedelta(minutes=30), usegmt=True),
    }
    fresh = http_freshness(headers, T0)
    assert fresh is not None and fresh[0] == timedelta(minutes=30)
    assert http_freshness({"expires": "0"}, T0) is None  # "already expired"
    assert http_freshness({"expires": format_datetime(T0, usegmt=True)}, T0) is None


def test_channel_hints_ttl_skip_hours_and_days_not_from_items() -> None:
    doc = rss(
        "<ttl>45</ttl><skipHours><hour>0</hour><hour>24</hour><hour>3</hour></skipHours>"
        "<skipDays><day>sunday</day><day>Saturday</day><day>Caturday</day></skipDays>"
    ).replace("</description></item>", "<ttl>999</ttl></description></item>", 1)
    hints = feed_hints(doc.encode())
    assert hints == Hints(ttl=45, skip_hours=(0, 3), skip_days=("Saturday", "Sunday"))
    assert Hints.from_json(hints.to_json()) == hints
    assert feed_hints(rss().encode()) == Hints() and Hints().to_json() == ""
    every_hour = "".join(f"<hour>{h}</hour>" for h in range(24))
    assert feed_hints(rss(f"<skipHours>{every_hour}</skipHours>").encode()).skip_hours == ()


def test_next_fetch_takes_the_longest_promise_capped() -> None:
    hints = Hints(ttl=60)
    when, why = next_fetch(T0, 200, {"cache-control": "max-age=300"}, hints, ok=True)
    assert (when, why) == (T0 + timedelta(minutes=60), "RSS ttl 60 min")
    when, why = next_fetch(T0, 200, {"cache-control": "max-age=31536000"}, Hints(), ok=True)
    assert when == T0 + MAX_FRESH and "capped" in why
    assert next_fetch(T0, 200, {"cache-control": "max-age=30"}, Hints(), ok=True) == (None, "")
    # an error is never "fresh", but its Retry-After is honoured
    when, why = next_fetch(
        T0, 429, {"retry-after": "120", "cache-control": "max-age=900"}, hints, False
    )
    assert (when, why) == (T0 + timedelta(seconds=120), "Retry-After 2 min (HTTP 429)")
    date = format_datetime(T0 + timedelta(hours=2), usegmt=True)
    when, why = next_fetch(T0, 503, {"retry-after": date}, Hints(), ok=False)
    assert when == T0 + timedelta(hours=2) and why == "Retry-After 2026-03-02 11:00 UTC (HTTP 503)"


def test_absurd_headers_and_hints_are_capped_never_a_crash() -> None:
    for headers in (
        {"cache-control": "max-age=99999999999999999999"},
        {"cache-control": "max-age=" + "9" * 5000},
        {"retry-after": "99999999999999999999"},
        {"retry-after": "Wed, 21 Oct 9999 07:28:00 GMT"},
        {"expires": "Fri, 31 Dec 9999 23:59:59 GMT", "date": "Thu, 01 Jan 1970 00:00:00 GMT"},
    ):
        when, why = next_fetch(T0, 429, headers, Hints(ttl=9_999_999), ok=True)
        assert when == T0 + MAX_FRESH and "capped" in why, headers
    for junk in ("max-age=-5", "max-age=abc", "max-age=٣٠"):
        assert http_freshness({"cache-control": junk}, T0) is None
    assert next_fetch(T0, 200, {"retry-after": "soon", "expires": "garbage"}, Hints(), True) == (
        None,
        "",
    )


def test_skip_window_and_decisions() -> None:
    night = Hints(skip_hours=(9, 10))
    assert skip_until(T0, night) == T0 + timedelta(hours=2)
    assert skip_until(T0, Hints(skip_days=("Monday",))) == T0 + timedelta(hours=15)
    assert skip_until(T0, Hints(skip_hours=(3,))) is None
    go, why = decide(T0, True, T0 + timedelta(minutes=5), "Cache-Control max-age=600", Hints())
    assert not go and why == (
        "not requested: fresh until 2026-03-02 09:05 UTC (Cache-Control max-age=600)"
    )
    assert decide(T0, True, T0 + timedelta(minutes=5), "x", Hints(), refetch=True) == (
        True,
        "fetched: forced (--refetch)",
    )
    assert decide(T0, False, None, "", night)[0]  # never fetched: fetch, whatever the hour
    go, why = decide(T0, True, None, "", night)
    assert not go and "until 2026-03-02 11:00 UTC (skipHours/skipDays)" in why
    go, why = decide(T0, True, T0 - timedelta(minutes=1), "RSS ttl 30 min", Hints())
    assert go and why == "fetched: due since 2026-03-02 08:59 UTC (RSS ttl 30 min)"


# -- through ingest, over loopback --------------------------------------------------------------
def test_fresh_feed_is_not_requested_until_it_expires(tmp_path, store, clock) -> None:
    with FeedServer() as server:
        server.set("/a.xml", rss(), headers=(("Cache-Control", "max-age=600"),))
        server.set("/b.xml", rss())  # says nothing: asked every run (a 304 then)
        cfg = config(tmp_path, server.url("/a.xml"), server.url("/b.xml"))
        first = ingest(cfg, store)
        clock.advance(minutes=5)
        second = ingest(cfg, store)
        clock.advance(minutes=6)
        third = ingest(cfg, store)
        forced = ingest(cfg, store, refetch=True)
        assert server.statuses("/a.xml") == [200, 304, 304]
        assert server.statuses("/b.xml") == [200, 304, 304, 304]
    assert first.new == 4 and second.fresh == 1 and second.not_modified == 1
    assert second.results[0].skipped and second.new == 0
    assert third.fresh == 0 and forced.fresh == 0
    state = store.feed_state(server.url("/a.xml"))
    # the 304 renewed the promise: its Cache-Control counts from the last answer
    assert state.next_fetch_at == clock.now + timedelta(minutes=10)
    assert state.last_decision == "fetched: forced (--refetch)"


def test_ttl_from_the_body_holds_across_304s(tmp_path, store, clock) -> None:
    with FeedServer() as server:
        server.set("/ttl.xml", rss("<ttl>30</ttl>"))
        cfg = config(tmp_path, server.url("/ttl.xml"))
        ingest(cfg, store)
        for _ in range(3):  # every 31 minutes: due each time; the 304 has no body
            clock.advance(minutes=31)
            ingest(cfg, store)
        clock.advance(minutes=10)
        skipped = ingest(cfg, store)
        assert server.statuses("/ttl.xml") == [200, 304, 304, 304]
    assert skipped.fresh == 1
    state = store.feed_state(server.url("/ttl.xml"))
    assert state.next_fetch_reason == "RSS ttl 30 min"
    assert "fresh until" in state.last_decision


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_on_429_and_503_is_honoured(tmp_path, store, clock, status) -> None:
    with FeedServer() as server:
        server.set_status("/busy.xml", status, headers=(("Retry-After", "300"),))
        cfg = config(tmp_path, server.url("/busy.xml"))
        failed = ingest(cfg, store)
        clock.advance(minutes=2)
        waiting = ingest(cfg, store)
        server.set("/busy.xml", rss())
        clock.advance(minutes=4)
        back = ingest(cfg, store)
        assert server.statuses("/busy.xml") == [status, 200]
    assert failed.failed and waiting.fresh == 1 and not waiting.failed
    assert back.new == 2
    state = store.feed_state(server.url("/busy.xml"))
    assert state.failures == 0 and state.next_fetch_at is None


def test_skip_hours_keep_the_feed_unread_at_those_hours(tmp_path, store, clock) -> None:
    with FeedServer() as server:
        server.set("/night.xml", rss("<skipHours><hour>10</hour></skipHours>"))
        cfg = config(tmp_path, server.url("/night.xml"))
        ingest(cfg, store)  # 09:00: read
        clock.advance(hours=1, minutes=15)  # 10:15: a skip hour
        quiet = ingest(cfg, store)
        clock.advance(hours=1)  # 11:15
        ingest(cfg, store)
        assert server.statuses("/night.xml") == [200, 304]
    assert quiet.fresh == 1


def test_feeds_verbose_shows_each_decision_and_the_next_fetch(tmp_path, store, clock) -> None:
    with FeedServer() as server:
        server.set("/a.xml", rss(), headers=(("Cache-Control", "max-age=3600"),))
        server.set("/b.xml", rss())
        cfg = config(tmp_path, server.url("/a.xml"), server.url("/b.xml"))
        ingest(cfg, store)
        clock.advance(minutes=10)
        ingest(cfg, store)
    text = format_feed_health(feed_health(cfg, store, clock.now), verbose=True)
    assert (
        "last run: not requested: fresh until 2026-03-02 10:00 UTC (Cache-Control max-age=3600)"
        in text
    )
    assert "next fetch: 2026-03-02 10:00 UTC (Cache-Control max-age=3600)" in text
    assert "last run: fetched: no freshness given (asked every run)" in text
    assert "next fetch: at the next run" in text
    data = feed_health(cfg, store, clock.now)[0].to_dict()
    assert data["next_fetch"] == "2026-03-02T10:00:00+00:00"
    assert data["last_decision"].startswith("not requested: fresh until")


def test_cli_build_refetch_and_feeds_verbose(tmp_path: Path) -> None:
    """The flags as an operator types them: a fresh feed is skipped by `build`, asked by
    `build --refetch`, and `feeds -v` says so."""
    with FeedServer() as server:
        server.set("/a.xml", rss(items=3), headers=(("Cache-Control", "max-age=3600"),))
        toml = tmp_path / "newsletter.toml"
        toml.write_text(
            '[site]\nname = "T"\nurl = "https://t.example.org"\n\n[[feeds]]\n'
            f'url = "{server.url("/a.xml")}"\n\n[store]\npath = "s.sqlite"\n\n'
            '[output]\ndir = "out"\n',
            encoding="utf-8",
        )
        runner = CliRunner()
        first = runner.invoke(cli, ["build", "-c", str(toml)])
        again = runner.invoke(cli, ["build", "-c", str(toml), "--force"])
        forced = runner.invoke(cli, ["build", "-c", str(toml), "--force", "--refetch"])
        shown = runner.invoke(cli, ["feeds", "-c", str(toml), "-v"])
        assert server.statuses("/a.xml") == [200, 304]
    assert first.exit_code == 0 and again.exit_code == 0 and forced.exit_code == 0, (
        first.output + again.output + forced.output
    )
    assert "last run: fetched: forced (--refetch)" in shown.output
    assert "(Cache-Control max-age=3600)" in shown.output


def test_run_report_counts_fresh_feeds() -> None:
    from newsletter.run.report import IngestSummary

    line = IngestSummary(feeds=5, not_modified=2, fresh=3, new=0).line()
    assert "3 still fresh, not requested" in line


def test_fetch_all_closed_early_stops_its_workers() -> None:
    """A caller that stops reading (an error, Ctrl-C) leaves no fetches running behind."""
    import threading
    import time

    from newsletter.ingest.hosts import fetch_all

    calls: list[int] = []

    def slow(n: int) -> int:
        calls.append(n)
        time.sleep(0.05)
        return n

    results = fetch_all(list(range(40)), slow, lambda n: f"h{n % 4}", concurrency=2, per_host=1)
    feed, outcome = next(results)
    results.close()
    assert feed == outcome and feed in range(40)
    assert len(calls) < 40
    assert not [t for t in threading.enumerate() if t.name.startswith("newsletter-fetch")]


def test_fetch_all_keeps_per_host_and_global_limits() -> None:
    import threading
    import time

    from newsletter.ingest.hosts import fetch_all

    lock = threading.Lock()
    now: dict[str, int] = {}
    peak: dict[str, int] = {}

    def fetch(n: int) -> int:
        host = f"h{n % 3}"
        with lock:
            for key in (host, "*"):
                now[key] = now.get(key, 0) + 1
                peak[key] = max(peak.get(key, 0), now[key])
        time.sleep(0.02)
        with lock:
            for key in (host, "*"):
                now[key] -= 1
        return n

    done = sorted(n for _, n in fetch_all(list(range(30)), fetch, lambda n: f"h{n % 3}", 5, 2))
    assert done == list(range(30))
    assert max(peak[h] for h in ("h0", "h1", "h2")) <= 2 and peak["*"] <= 5
