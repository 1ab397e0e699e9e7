"""Feed health: what `newsletter feeds` shows and what a run reports about failing feeds."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import pytest
from support.feedserver import FeedServer, Route
from support.run import START, make_run_config, rss
from support.smtp import SmtpServer

from newsletter.config import FeedConfig
from newsletter.ingest.health import feed_health, format_feed_health, should_remind
from newsletter.run.runner import EXIT_FEEDS_FAILED, EXIT_NOTHING_DONE, format_run_report, run
from newsletter.store import Store


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


def test_health_of_each_kind_of_feed_and_the_failing_one_is_reported_prominently(
    tmp_path: Path, store: Store, clock, smtp: SmtpServer
) -> None:
    local = tmp_path / "local.xml"
    local.write_text(rss([20, 21], channel="Parish Pump"), encoding="utf-8")
    old = [(30, START - timedelta(days=20)), (31, START - timedelta(days=1))]
    with FeedServer(
        {
            "/ok.xml": rss([1, 2, 3]),
            "/plain.xml": Route(body=rss([10]).encode(), etag=None, last_modified=None),
            "/stubborn.xml": Route(body=rss(old).encode(), conditional=False),
        }
    ) as feeds:
        feeds.set_status("/gone.xml", 404)
        urls = [feeds.url(p) for p in ("/ok.xml", "/plain.xml", "/stubborn.xml", "/gone.xml")]
        config = make_run_config(
            tmp_path, [*urls, str(local)], smtp.smtp_config(), run={"failing_feed_runs": 3}
        )
        outputs, codes = [], []
        for _ in range(4):
            report = run(config, store)
            outputs.append(format_run_report(report))
            codes.append(report.exit_code)
            clock.advance(minutes=15)

    assert codes == [EXIT_FEEDS_FAILED] * 4  # a feed failed, everything else went fine
    warning = "WARNING feed " + urls[3] + " has failed 3 runs in a row and has never worked"
    assert warning not in outputs[1]
    assert warning in outputs[2]  # the third failed run in a row: said even when quiet
    assert "WARNING" not in outputs[3]  # not again every run (next at 6, 12, 24...)
    assert "404" in outputs[2] and "remove it from newsletter.toml" in outputs[2]
    assert json.loads(report.to_json())["failing_feeds"][0]["url"] == urls[3]

    extra = FeedConfig(url="https://never.example.org/feed.xml")
    config = dataclasses.replace(config, feeds=(*config.feeds, extra))
    health = {h.url: h for h in feed_health(config, store, clock())}
    ok, plain, stubborn, gone = (health[u] for u in urls)
    assert (ok.state, ok.conditional_get, ok.failures, ok.recent_items) == ("ok", "works", 0, 3)
    assert ok.last_success is not None and ok.last_status == 304 and ok.not_modified == 3
    assert plain.conditional_get == "no"  # no validators sent: every fetch is a full one
    assert stubborn.conditional_get == "offered"  # validators, but never a 304
    assert stubborn.recent_items == 1  # the 20-day-old story is not recent
    assert health[str(local)].conditional_get == "n/a"
    assert (gone.state, gone.failures, gone.failing, gone.last_status) == ("failing", 4, True, 404)
    assert gone.last_success is None and gone.last_error
    assert gone.lists == ("daily",)
    assert health[extra.url].state == "never fetched"
    assert health[extra.url].conditional_get == "unknown"

    table = format_feed_health(list(health.values()))
    assert table.splitlines()[0].split()[:3] == ["state", "fails", "7d"]
    row = next(line for line in table.splitlines() if line.endswith(urls[3]))
    assert row.split()[:5] == ["failing", "4", "0", "no", "never"]
    assert "1 feed failing: fix or remove them" in table
    assert "    last error: HTTP 404 Not Found" in table
    assert "lists: daily" in format_feed_health(list(health.values()), verbose=True)


def test_every_feed_failing_and_nothing_sent_is_exit_5(
    tmp_path: Path, store: Store, smtp: SmtpServer
) -> None:
    with FeedServer() as feeds:
        feeds.set_status("/a.xml", 500)
        feeds.set_status("/b.xml", 503)
        config = make_run_config(
            tmp_path, [feeds.url("/a.xml"), feeds.url("/b.xml")], smtp.smtp_config()
        )
        report = run(config, store)
    assert report.exit_code == EXIT_NOTHING_DONE
    assert format_run_report(report).startswith("every feed failed: 2 of 2 (first: ")


@pytest.mark.parametrize(
    ("failures", "remind"),
    [
        (1, False),
        (2, False),
        (3, True),
        (4, False),
        (5, False),
        (6, True),
        (9, False),
        (12, True),
        (18, False),
        (24, True),
        (96, True),
        (100, False),
    ],
)
def test_reminders_back_off(failures: int, remind: bool) -> None:
    assert should_remind(failures, 3) is remind


def test_no_feeds_configured(tmp_path: Path, store: Store) -> None:
    config = make_run_config(tmp_path, [])
    assert feed_health(config, store, START) == []
    assert "no feeds configured" in format_feed_health([])
