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
    assert read_holder(path) == LockHolder(os.getpid(), os.uname().nodename, WHEN, "run")
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


def test_the_message_names_the_command_holding_the_lock_and_the_one_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.lock"
    with RunLock(path, command="send"):
        with pytest.raises(LockedError) as caught:
            RunLock(path, command="build").acquire()
    message = str(caught.value)
    assert message.startswith("another `newsletter send` is in progress (pid ")
    assert "this `newsletter build` did nothing" in message


def test_a_command_asked_to_wait_says_so_once_and_gets_the_lock_when_it_is_free(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.lock"
    first = RunLock(path, command="run")
    first.acquire()
    told: list[LockHolder | None] = []

    def waiting(holder: LockHolder | None) -> None:
        told.append(holder)
        first.release()  # the run ends while the build waits

    second = RunLock(path, command="build")
    second.acquire(wait=60, waiting=waiting)
    assert second.held and len(told) == 1
    assert told[0] is not None and told[0].command == "run" and told[0].pid == os.getpid()
    assert read_holder(path).command == "build"
    told.clear()
    with pytest.raises(LockedError, match="another `newsletter build` is in progress"):
        RunLock(path, command="send").acquire(wait=0.2, waiting=told.append)
    assert len(told) == 1  # told once, then refused when the wait was over
    second.release()


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
