"""The run lock: exclusive, says who holds it, and never outlives its process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.errors import ConfigError, LockedError
from newsletter.run.lock import LockHolder, RunLock, read_holder

WHEN = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def test_a_second_lock_is_refused_with_the_holder_and_the_file_named(tmp_path: Path) -> None:
    path = tmp_path / "data" / "newsletter.sqlite.lock"  # the folder is created
    first = RunLock(path, clock=lambda: WHEN)
    first.acquire()
    assert first.held
    assert read_holder(path) == LockHolder(os.getpid(), os.uname().nodename, WHEN)
    with pytest.raises(LockedError) as caught:
        RunLock(path).acquire()
    message = str(caught.value)
    assert f"pid {os.getpid()}" in message
    assert "since 2026-01-05 06:00:00 UTC" in message and str(path) in message
    first.release()
    assert not first.held
    assert path.exists() and path.read_text() == ""  # the file stays, emptied
    with RunLock(path) as again:  # free again
        assert again.held


def test_the_context_manager_releases_on_error(tmp_path: Path) -> None:
    path = tmp_path / "run.lock"
    with pytest.raises(RuntimeError), RunLock(path):
        raise RuntimeError("boom")
    RunLock(path).acquire()


def test_a_lock_held_by_a_killed_process_is_free_at_once(tmp_path: Path) -> None:
    path = tmp_path / "run.lock"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom newsletter.run.lock import RunLock\n"
            "RunLock(sys.argv[1]).acquire()\nprint('held', flush=True)\ntime.sleep(120)\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(LockedError, match=f"pid {child.pid}"):
            RunLock(path).acquire()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert read_holder(path).pid == child.pid  # the stale note is still there...
    lock = RunLock(path)
    lock.acquire()  # ...but the lock is not
    assert read_holder(path).pid == os.getpid()
    lock.release()


def test_an_unreadable_or_foreign_note_still_gives_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "run.lock"
    holder = RunLock(path)
    holder.acquire()
    path.write_text("not json at all")
    with pytest.raises(LockedError, match=r"in progress \(another process; lock file"):
        RunLock(path).acquire()
    holder.release()
    assert read_holder(path) is None


def test_a_lock_file_that_cannot_be_created_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="lock_file"):
        RunLock(blocker / "run.lock").acquire()
