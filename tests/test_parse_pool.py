"""Feeds parsed in a worker process give the same items, logs and failures as in the
calling process; a worker that dies costs nothing but time."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import time
from pathlib import Path

import pytest
from support.parsejobs import die_unless_in, warn, whose_pid

from newsletter import children
from newsletter.config import Config, FeedConfig, FetchConfig, SiteConfig
from newsletter.ingest import parallel
from newsletter.ingest.feeds import ingest
from newsletter.ingest.parallel import ParsePool
from newsletter.store import Store


def ready(pool: ParsePool) -> bool:
    """Start the pool's worker and wait until it takes jobs."""
    deadline = time.monotonic() + 30
    while not pool.has_room():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_jobs_run_in_another_process_and_come_back_with_their_keys() -> None:
    with ParsePool(jobs=10, workers=1) as pool:
        assert ready(pool)
        results = {}
        for n in range(6):
            if pool.has_room():
                pool.submit(n, whose_pid, f"job {n}")
            else:
                results[n] = whose_pid(f"job {n}")
            results.update(pool.finished())
        results.update(pool.rest())
        assert pool.started
    assert sorted(results) == list(range(6))
    assert all(tag == f"job {n}" for n, (tag, _) in results.items())
    pids = {pid for _, pid in results.values()}
    assert os.getpid() in pids and len(pids) == 2  # the caller parsed some, the worker others


def test_no_job_waits_on_a_worker_still_starting_and_one_never_used_is_not_waited_for() -> None:
    with ParsePool(jobs=10, workers=1, preload="newsletter.ingest.entries") as pool:
        assert not pool.has_room()  # starts the worker; it takes jobs once it is ready
        worker = pool._worker
        assert worker is not None and list(pool.rest()) == []
    # ended at once by the caller, not awaited through its start-up
    assert worker.returncode == -signal.SIGKILL


def test_a_worker_that_was_never_given_a_job_is_killed_even_when_ready() -> None:
    with ParsePool(jobs=10, workers=1, preload="newsletter.ingest.entries") as pool:
        assert ready(pool) and pool.started  # it took its warm-up; still no job of ours
        worker = pool._worker
        assert worker is not None
    assert worker.returncode == -signal.SIGKILL  # not asked to finish and then awaited


def test_a_few_jobs_or_no_workers_start_no_process() -> None:
    assert not ParsePool(jobs=parallel.MIN_JOBS - 1, workers=1).has_room()
    assert not ParsePool(jobs=100, workers=0).has_room()


def test_what_the_worker_logs_is_logged_here(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="support.parsejobs")
    with ParsePool(jobs=10, workers=1) as pool:
        assert ready(pool)
        pool.submit("k", warn, "hello")
        assert list(pool.rest()) == [("k", "HELLO")]
    messages = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert ("support.parsejobs", logging.WARNING, "worker says hello") in messages
    traced = [r for r in caplog.records if r.getMessage() == "and a traceback"]
    assert traced and "ValueError: hello" in (traced[0].exc_text or "")


def test_a_dead_worker_leaves_its_jobs_to_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="newsletter.ingest.parallel")
    with ParsePool(jobs=10, workers=1) as pool:
        assert ready(pool)
        pool.submit("a", die_unless_in, os.getpid())
        assert pool.has_room()
        pool.submit("b", die_unless_in, os.getpid())
        done = dict(pool.rest())
        assert not pool.has_room()  # no worker for the rest of the build
    assert done == {"a": "parsed by the caller", "b": "parsed by the caller"}
    assert "the parser process died" in caplog.text


def test_no_process_to_be_had_means_parsing_here(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="newsletter.ingest.parallel")

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(children.subprocess, "Popen", refuse)
    with ParsePool(jobs=10, workers=1) as pool:
        assert not pool.has_room() and not pool.has_room()
    assert caplog.text.count("cannot start a parser process") == 1


def _feed(n: int) -> str:
    items = "".join(
        f"<item><title>Tide table {n}.{i}</title><link>https://tides.example.org/{n}/{i}</link>"
        f"<guid>t-{n}-{i}</guid><pubDate>Mon, 05 Jan 2026 0{i}:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;High water at pier {n} moves {i} minutes later. &lt;a "
        f'href="/pier/{n}"&gt;Pier map&lt;/a&gt;&lt;script&gt;x()&lt;/script&gt;&lt;/p&gt;'
        "</description></item>"
        for i in range(1, 4)
    )
    return f'<rss version="2.0"><channel><title>Pier {n}</title>{items}</channel></rss>'


def _ingest_all(tmp_path: Path, name: str) -> tuple[list[tuple[object, ...]], list[str]]:
    paths = []
    for n in range(8):
        path = tmp_path / f"pier{n}.xml"
        path.write_text(_feed(n) if n != 5 else "<rss><channel><item>", encoding="utf-8")
        paths.append(path)
    config = Config(
        base_dir=tmp_path,
        site=SiteConfig(url="https://digest.example.org"),
        fetch=FetchConfig(timeout=1.0),
        feeds=tuple(FeedConfig(url=str(p)) for p in paths),
    )
    with Store(tmp_path / f"{name}.sqlite") as store:
        report = ingest(config, store)
        items = sorted(
            tuple(v for k, v in dataclasses.asdict(i).items() if k not in ("first_seen",))
            for i in store.items()
        )
    return items, [f"{Path(url).name}: {why}" for url, why in report.failed]


def test_ingest_with_a_worker_stores_what_ingest_without_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[bool] = []
    close = ParsePool.close

    def noting_close(self: ParsePool) -> None:  # type: ignore[type-arg]
        started.append(self.started)
        close(self)

    monkeypatch.setattr(ParsePool, "close", noting_close)
    monkeypatch.setattr(parallel, "WORKERS", 1)
    with_worker = _ingest_all(tmp_path, "with")
    monkeypatch.setattr(parallel, "WORKERS", 0)
    without = _ingest_all(tmp_path, "without")
    assert started == [True, False]
    assert with_worker == without
    items, failed = with_worker
    assert len(items) == 7 * 3 and len(failed) == 1 and failed[0].startswith("pier5.xml: ")
    assert all("<script" not in str(fields) for fields in items)
