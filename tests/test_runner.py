"""`newsletter run` end to end: a real SQLite store, a local feed server, a real aiosmtpd."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.common import wait_until
from support.feedserver import FeedServer
from support.run import (
    START,
    add_readers,
    make_run_config,
    rss,
    story_numbers,
)
from support.smtp import SmtpServer
from support.stores import target_of

from newsletter.config import SmtpConfig
from newsletter.errors import ConfigError
from newsletter.mail.deliver import send_digest
from newsletter.run.digest import build
from newsletter.run.lock import lock_for
from newsletter.run.runner import (
    EXIT_DELIVERY,
    EXIT_LOCKED,
    EXIT_NOTHING_DONE,
    EXIT_OK,
    format_run_report,
    lock_path,
    run,
)
from newsletter.store import Store

TESTS = Path(__file__).resolve().parent
CHILD_ENV = dict(
    os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
)


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def feeds():
    with FeedServer({"/a.xml": rss([1, 2, 3])}) as server:
        yield server


def received(smtp: SmtpServer, email: str) -> list[list[int]]:
    """The story numbers (sorted) of each digest `email` received, in arrival order."""
    return [sorted(story_numbers(raw)) for raw in smtp.messages.get(email, [])]


def spawn(
    tmp_path: Path, smtp_port: int, target: str | Path, urls: list[str], wait: bool = False
) -> subprocess.Popen:
    """A child process doing one `run` on the store `target` (clock fixed at START)."""
    script = "import sys, support.run; sys.exit(support.run.child_run(sys.argv[1:]))"
    mode = "wait" if wait else "go"
    args = [str(tmp_path), str(smtp_port), START.isoformat(), mode, str(target), *urls]
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env=CHILD_ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- new items only, run after run ------------------------------------------------------------
def test_three_runs_send_new_items_only_and_a_quiet_nothing_at_the_end(
    tmp_path: Path, store: Store, clock, feeds: FeedServer, smtp: SmtpServer
) -> None:
    emails = add_readers(store, 3)
    config = make_run_config(tmp_path, [feeds.url("/a.xml")], smtp.smtp_config())

    first = run(config, store)
    assert first.exit_code == EXIT_OK
    assert first.lists[0].stories == 3 and first.lists[0].sent.sent == 3
    assert "daily: digest 1 (3 stories): sent 3" in format_run_report(first)

    feeds.set("/a.xml", rss([1, 2, 3, 4, 5]))
    clock.advance(minutes=15)
    second = run(config, store)
    assert second.exit_code == EXIT_OK and second.lists[0].stories == 2

    clock.advance(minutes=15)
    third = run(config, store)
    assert third.exit_code == EXIT_OK
    assert third.digests_sent == 0 and third.lists[0].digest_id is None
    assert third.ingest.not_modified == 1  # conditional GET: nothing re-parsed
    assert format_run_report(third) == ""  # quiet: cron mails nothing
    assert "no new stories; nothing sent" in format_run_report(third, verbose=True)
    data = json.loads(third.to_json())
    assert data["exit_code"] == 0 and data["lists"][0]["note"].startswith("no new stories")

    for email in emails:
        assert received(smtp, email) == [[1, 2, 3], [4, 5]]
    assert len(store.list_digests("daily")) == 2


# -- locking ------------------------------------------------------------------------------------
def test_a_run_while_another_holds_the_lock_does_nothing_and_says_who(
    tmp_path: Path, store: Store, feeds: FeedServer, smtp: SmtpServer
) -> None:
    add_readers(store, 1)
    config = make_run_config(tmp_path, [feeds.url("/a.xml")], smtp.smtp_config())
    with lock_for(store, lock_path(config)) as lock:
        report = run(config, store)
    assert report.exit_code == EXIT_LOCKED
    message = format_run_report(report)
    assert f"pid {os.getpid()}" in message and lock.where in message
    if store.dialect == "postgresql":  # the database's lock, not a file
        assert "advisory lock in postgresql://" in message and not lock_path(config).exists()
    assert feeds.hits() == 0 and smtp.handler.total == 0
    assert lock_path(config) == tmp_path / "store.sqlite.lock"  # next to the store
    assert run(config, store).exit_code == EXIT_OK  # released: the next run works


def test_the_lock_file_setting_is_relative_to_the_config(tmp_path: Path) -> None:
    config = make_run_config(tmp_path, [], run={"lock_file": "locks/newsletter.run.lock"})
    assert lock_path(config) == tmp_path / "locks" / "newsletter.run.lock"


def test_two_runs_started_together_one_works_the_other_exits_locked(
    tmp_path: Path, smtp: SmtpServer, store_target: str | Path
) -> None:
    with FeedServer({"/a.xml": rss([1, 2])}, latency=1.0) as feeds:  # the winner holds on
        setup = Store(store_target)
        emails = add_readers(setup, 2)
        setup.close()
        children = [
            spawn(tmp_path, smtp.port, store_target, [feeds.url("/a.xml")], wait=True) for _ in "ab"
        ]
        try:
            for child in children:  # both have imported everything and wait at the start line
                assert child.stdout.readline().strip() == "ready", child.stderr.read()
            for child in children:
                child.stdin.write("go\n")
                child.stdin.flush()
            outputs = [child.communicate(timeout=60)[0] for child in children]
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
        codes = [child.returncode for child in children]
        assert sorted(codes) == [EXIT_OK, EXIT_LOCKED]
        winner = children[codes.index(EXIT_OK)]
        loser_output = outputs[codes.index(EXIT_LOCKED)]
        assert "another `newsletter run` is in progress" in loser_output
        assert f"pid {winner.pid}" in loser_output
        assert feeds.hits("/a.xml") == 1  # the locked run fetched nothing
    assert {e: len(received(smtp, e)) for e in emails} == dict.fromkeys(emails, 1)


def test_a_lock_left_by_a_killed_process_is_recovered(
    tmp_path: Path, store: Store, feeds: FeedServer, smtp: SmtpServer
) -> None:
    add_readers(store, 1)
    config = make_run_config(tmp_path, [feeds.url("/a.xml")], smtp.smtp_config())
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom newsletter.run.lock import lock_for\n"
            "from newsletter.store import Store\n"
            "lock = lock_for(Store(sys.argv[1]), sys.argv[2])\nlock.acquire()\n"
            "print('held', flush=True)\ntime.sleep(120)\n",
            target_of(store),
            str(lock_path(config)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        blocked = run(config, store)
        assert blocked.exit_code == EXIT_LOCKED and f"pid {holder.pid}" in blocked.locked
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    if store.dialect == "postgresql":  # the server ends the dead session a moment later
        session = store.session_lock("newsletter run")
        wait_until(
            lambda: session.holder() is None, timeout=30, alive=lambda: True, what="lock release"
        )
    # SQLite: the file stays, the kernel dropped the lock; PostgreSQL: the server dropped it
    # with the dead holder's connection
    assert lock_path(config).exists() == (store.dialect == "sqlite")
    report = run(config, store)
    assert report.exit_code == EXIT_OK and report.digests_sent == 1


# -- crash safety -------------------------------------------------------------------------------
def test_a_run_killed_while_sending_is_finished_first_by_the_next_run(
    tmp_path: Path, store: Store, clock, feeds: FeedServer, smtp: SmtpServer
) -> None:
    emails = add_readers(store, 12)
    child = spawn(tmp_path, smtp.port, target_of(store), [feeds.url("/a.xml")])
    killed = threading.Event()

    def kill_during_the_fifth(envelope: object) -> None:
        # the child dies with its 5th message handed over but not yet acknowledged; the
        # server keeps that message, so its row is the one caught in flight
        if smtp.handler.accepted == 4 and not killed.is_set():
            killed.set()  # first: the test thread may reap the child before this one does
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)

    smtp.handler.on_data = kill_during_the_fifth
    try:
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert killed.is_set(), (child.returncode, child.stdout.read(), child.stderr.read())
    assert child.returncode == -signal.SIGKILL
    assert smtp.wait_for(5)  # the server keeps the message it was handed at the kill
    smtp.handler.on_data = None
    assert smtp.handler.total == 5

    feeds.set("/a.xml", rss([1, 2, 3, 4, 5]))  # news arrived meanwhile
    clock.advance(hours=1)
    config = make_run_config(tmp_path, [feeds.url("/a.xml")], smtp.smtp_config())
    report = run(config, store)

    listed = report.lists[0]
    assert [r.digest_id for r in listed.resumed] == [1]
    assert listed.resumed[0].sent == 7 and listed.resumed[0].uncertain == 1
    assert listed.digest_id == 2 and listed.stories == 2
    assert "resumed interrupted digest 1" in format_run_report(report)
    for email in emails:  # exactly one copy of each digest, the interrupted one first
        assert received(smtp, email) == [[1, 2, 3], [4, 5]], email
    assert store.get_digest(1).sent_at is not None
    # the fifth reader's DATA had ended when the child died: maybe delivered (it was),
    # so it is not resent, but named, and the run exits 4 until the operator settles it
    [doubt] = listed.uncertain
    assert (doubt.digest_id, doubt.email) == (1, "reader4@example.com")
    text = format_run_report(report)
    assert "daily: UNCERTAIN digest 1 to reader4@example.com" in text
    assert report.exit_code == EXIT_DELIVERY
    clock.advance(minutes=15)
    again = run(config, store)
    assert again.exit_code == EXIT_DELIVERY and "reader4@example.com" in format_run_report(again)
    store.dismiss_uncertain("daily", "the server log shows it delivered")
    clock.advance(minutes=15)
    settled = run(config, store)
    assert settled.exit_code == EXIT_OK and format_run_report(settled) == ""


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_smtp_down_exits_4_and_the_digest_goes_out_before_any_newer_one(
    tmp_path: Path, store: Store, clock, feeds: FeedServer
) -> None:
    emails = add_readers(store, 3)
    down = SmtpConfig(
        host="127.0.0.1", port=_dead_port(), security="none", timeout=2, max_retries=1
    )
    config = make_run_config(tmp_path, [feeds.url("/a.xml")], down)
    no_wait = []

    first = run(config, store, sleep=no_wait.append)
    assert first.exit_code == EXIT_DELIVERY
    assert first.lists[0].sent.pending == 3
    assert "still pending" in format_run_report(first)

    feeds.set("/a.xml", rss([1, 2, 3, 4, 5]))
    clock.advance(minutes=15)
    second = run(config, store, sleep=no_wait.append)
    assert second.exit_code == EXIT_DELIVERY
    assert [r.digest_id for r in second.lists[0].resumed] == [1]
    assert second.lists[0].digest_id is None  # nothing new while digest 1 is unfinished
    assert "no new digest until they go" in format_run_report(second)

    with SmtpServer() as smtp:
        clock.advance(minutes=15)
        third = run(dataclasses.replace(config, smtp=smtp.smtp_config()), store)
        assert third.exit_code == EXIT_OK
        assert third.lists[0].resumed[0].sent == 3 and third.lists[0].stories == 2
        for email in emails:
            assert received(smtp, email) == [[1, 2, 3], [4, 5]]


# -- backlog on the first run, feeds added later, edited items ---------------------------------
def _days_ago(days: float) -> datetime:
    return START - timedelta(days=days)


def test_backlog_days_sends_only_the_last_n_days_and_never_the_rest(
    tmp_path: Path, store: Store, clock, feeds: FeedServer, smtp: SmtpServer
) -> None:
    add_readers(store, 1)
    old = [(1, _days_ago(30)), (2, _days_ago(10)), (3, _days_ago(2)), (4, _days_ago(0.1))]
    feeds.set("/a.xml", rss(old))
    config = make_run_config(tmp_path, [feeds.url("/a.xml")], smtp.smtp_config(), backlog="days:7")

    first = run(config, store)
    assert first.lists[0].adopted[0].held_back == 2
    assert "2 stories already there held back" in format_run_report(first)

    feeds.set("/a.xml", rss([*old, (5, START)]))
    clock.advance(minutes=15)
    run(config, store)
    clock.advance(minutes=15)
    assert run(config, store).digests_sent == 0
    assert received(smtp, "reader0@example.com") == [[3, 4], [5]]


def test_backlog_none_starts_from_the_next_item(
    tmp_path: Path, store: Store, clock, feeds: FeedServer, smtp: SmtpServer
) -> None:
    add_readers(store, 1)
    config = make_run_config(tmp_path, [feeds.url("/a.xml")], smtp.smtp_config(), backlog="none")
    first = run(config, store)
    assert first.exit_code == EXIT_OK and first.digests_sent == 0
    assert first.lists[0].adopted[0].held_back == 3
    baseline = first.lists[0].adopted[0].baseline_digest_id
    assert store.is_baseline(baseline) and store.last_digest_sent_at("daily") is None

    feeds.set("/a.xml", rss([1, 2, 3, 4]))
    clock.advance(minutes=15)
    assert run(config, store).lists[0].stories == 1
    assert received(smtp, "reader0@example.com") == [[4]]


def test_backlog_all_sends_everything_a_digest_at_a_time(
    tmp_path: Path, store: Store, clock, feeds: FeedServer, smtp: SmtpServer
) -> None:
    add_readers(store, 1)
    feeds.set("/a.xml", rss([1, 2, 3, 4, 5]))
    config = make_run_config(tmp_path, [feeds.url("/a.xml")], smtp.smtp_config(), backlog="all")
    config = dataclasses.replace(config, digest=dataclasses.replace(config.digest, max_items=2))
    for _ in range(4):
        run(config, store)
        clock.advance(minutes=15)
    # newest first, two at a time, none lost, none twice
    assert received(smtp, "reader0@example.com") == [[1, 2], [3, 4], [5]]


def test_a_feed_added_later_gets_the_backlog_policy_too(
    tmp_path: Path, store: Store, clock, feeds: FeedServer, smtp: SmtpServer
) -> None:
    add_readers(store, 1)
    urls = [feeds.url("/a.xml")]
    run(make_run_config(tmp_path, urls, smtp.smtp_config(), backlog="days:7"), store)
    feeds.set("/b.xml", rss([(10, _days_ago(40)), (11, _days_ago(0.5))], channel="Gazette"))
    clock.advance(minutes=15)
    config = make_run_config(
        tmp_path, [*urls, feeds.url("/b.xml")], smtp.smtp_config(), backlog="days:7"
    )
    report = run(config, store)
    assert report.lists[0].adopted[0].feeds == (feeds.url("/b.xml"),)
    assert report.lists[0].adopted[0].held_back == 1
    assert received(smtp, "reader0@example.com") == [[1, 2, 3], [11]]


def test_a_list_that_sent_before_using_run_carries_on_without_a_backlog_cut(
    tmp_path: Path, store: Store, clock, feeds: FeedServer, smtp: SmtpServer
) -> None:
    add_readers(store, 1)
    config = make_run_config(tmp_path, [feeds.url("/a.xml")], smtp.smtp_config(), backlog="none")
    _, built = build(config, store, "daily")  # the old way: build, then send
    send_digest(config, store, built.digest_id)
    feeds.set("/a.xml", rss([1, 2, 3, 4]))
    clock.advance(minutes=15)
    report = run(config, store)
    assert report.lists[0].adopted == []  # "continued": nothing held back
    assert store.adopted_feeds("daily") == {feeds.url("/a.xml")}
    assert received(smtp, "reader0@example.com") == [[1, 2, 3], [4]]


@pytest.mark.parametrize("resend_edited", [False, True])
def test_an_edited_item_is_not_sent_again_unless_configured(
    tmp_path: Path, store: Store, clock, feeds: FeedServer, smtp: SmtpServer, resend_edited: bool
) -> None:
    add_readers(store, 1)
    feeds.set("/a.xml", rss([1, 2]))
    config = make_run_config(
        tmp_path, [feeds.url("/a.xml")], smtp.smtp_config(), resend_edited=resend_edited
    )
    run(config, store)
    feeds.set("/a.xml", rss([(1, START - timedelta(hours=1), 1), 2, 3]))  # story 1 edited
    clock.advance(minutes=15)
    second = run(config, store)
    assert second.ingest.changed == 1
    expected = [1, 3] if resend_edited else [3]
    assert received(smtp, "reader0@example.com") == [[1, 2], expected]


# -- cadence --------------------------------------------------------------------------------------
def test_daily_cadence_sends_once_a_day_however_often_cron_fires(
    tmp_path: Path, store: Store, clock, feeds: FeedServer, smtp: SmtpServer
) -> None:
    emails = add_readers(store, 2)
    config = make_run_config(
        tmp_path,
        [feeds.url("/a.xml")],
        smtp.smtp_config(),
        cadence="daily at 07:00",
        timezone="Europe/Paris",  # 07:00 in Paris is 06:00 UTC in January
    )
    published = {1: START - timedelta(hours=1), 2: START - timedelta(hours=2)}
    feeds.set("/a.xml", rss(list(published.items())))
    first = run(config, store)
    assert first.lists[0].first_run and not first.lists[0].due
    assert first.lists[0].next_due.isoformat() == "2026-01-06T07:00:00+01:00"
    codes = set()
    for step in range(1, 3 * 24 * 4 + 1):  # every 15 minutes for three days
        clock.advance(minutes=15)
        if step % 24 == 0:  # a new story every six hours
            published[len(published) + 1] = clock() - timedelta(minutes=5)
            feeds.set("/a.xml", rss(list(published.items())))
        codes.add(run(config, store).exit_code)
    assert codes == {EXIT_OK}
    sent = [d for d in store.list_digests("daily") if d.sent_at is not None]
    assert [d.built_at for d in reversed(sent)] == [
        datetime(2026, 1, day, 6, 0, tzinfo=UTC) for day in (6, 7, 8)
    ]
    for email in emails:
        got = received(smtp, email)
        assert len(got) == 3
        flat = [n for digest in got for n in digest]
        assert len(flat) == len(set(flat))  # no story twice
        assert set(flat) == set(published)  # every story, the last one at the last slot


def test_a_slot_with_too_few_stories_waits_for_the_next_slot(
    tmp_path: Path, store: Store, clock, feeds: FeedServer, smtp: SmtpServer
) -> None:
    add_readers(store, 1)
    config = make_run_config(
        tmp_path,
        [feeds.url("/a.xml")],
        smtp.smtp_config(),
        cadence="daily at 07:00",
        backlog="none",
    )
    run(config, store)  # 06:00 first run: story 1-3 held back
    clock.advance(hours=1)  # 07:00: due, nothing new
    at_slot = run(config, store)
    assert at_slot.lists[0].due and at_slot.lists[0].stories == 0
    feeds.set("/a.xml", rss([1, 2, 3, (4, clock())]))
    clock.advance(hours=2)  # 09:00: a story arrived, but this slot was dealt with
    later = run(config, store)
    assert not later.lists[0].due and later.digests_sent == 0
    assert "next digest at 2026-01-06 07:00 UTC" in format_run_report(later, verbose=True)
    clock.current = datetime(2026, 1, 6, 7, 0, tzinfo=UTC)
    assert run(config, store).digests_sent == 1
    assert received(smtp, "reader0@example.com") == [[4]]


def test_min_items_holds_small_digests_back(
    tmp_path: Path, store: Store, clock, feeds: FeedServer, smtp: SmtpServer
) -> None:
    add_readers(store, 1)
    config = make_run_config(tmp_path, [feeds.url("/a.xml")], smtp.smtp_config(), min_items=5)
    report = run(config, store)
    assert report.exit_code == EXIT_OK and report.digests_sent == 0
    assert "3 new, fewer than min_items = 5" in format_run_report(report, verbose=True)
    assert store.list_digests("daily") == []  # nothing built either
    feeds.set("/a.xml", rss([1, 2, 3, 4, 5]))
    clock.advance(minutes=15)
    assert run(config, store).lists[0].stories == 5


# -- usage errors come before anything happens -------------------------------------------------
def test_unknown_list_and_missing_secret_are_config_errors(
    tmp_path: Path, store: Store, feeds: FeedServer
) -> None:
    config = make_run_config(tmp_path, [feeds.url("/a.xml")])
    with pytest.raises(ConfigError, match="no list named"):
        run(config, store, "weekly")
    with pytest.raises(ConfigError, match="NEWSLETTER_SECRET_KEY"):
        run(dataclasses.replace(config, secret_key=""), store)
    bad = dataclasses.replace(
        config, lists=(dataclasses.replace(config.lists[0], backlog="days:soon"),)
    )
    with pytest.raises(ConfigError, match="days:N"):
        run(bad, store)
    assert feeds.hits() == 0


# -- several lists, and a store that fails --------------------------------------------------------
def test_each_list_reads_its_own_feeds_and_list_limits_the_run(
    tmp_path: Path, store: Store, clock, feeds: FeedServer, smtp: SmtpServer
) -> None:
    feeds.set("/b.xml", rss([7, 8], channel="Gazette"))
    a, b = feeds.url("/a.xml"), feeds.url("/b.xml")
    config = make_run_config(tmp_path, [a, b], smtp.smtp_config())
    daily = dataclasses.replace(config.lists[0], feeds=(a,))
    weekly = dataclasses.replace(daily, name="weekly", feeds=(b,))
    config = dataclasses.replace(config, lists=(daily, weekly))
    store.add_subscriber("daily", "day@example.com", "", "confirmed")
    store.add_subscriber("weekly", "week@example.com", "", "confirmed")

    only_weekly = run(config, store, "weekly")
    assert [lr.list_name for lr in only_weekly.lists] == ["weekly"]
    assert feeds.hits("/a.xml") == 0 and feeds.hits("/b.xml") == 1
    clock.advance(minutes=15)
    both = run(config, store)
    assert [lr.digest_id is not None for lr in both.lists] == [True, False]
    assert received(smtp, "day@example.com") == [[1, 2, 3]]
    assert received(smtp, "week@example.com") == [[7, 8]]


def test_a_store_error_stops_the_run_with_exit_5_and_frees_the_lock(
    tmp_path: Path, store: Store, feeds: FeedServer, smtp: SmtpServer, monkeypatch
) -> None:
    import sqlite3

    config = make_run_config(tmp_path, [feeds.url("/a.xml")], smtp.smtp_config())

    def locked_database(list_name: str) -> list:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store, "unfinished_digests", locked_database)  # the injected fault
    report = run(config, store)
    assert report.exit_code == EXIT_NOTHING_DONE
    assert "store error: database is locked" in format_run_report(report)
    monkeypatch.undo()
    assert run(config, store).exit_code == EXIT_OK  # the lock was released
