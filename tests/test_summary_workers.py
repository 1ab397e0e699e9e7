"""Summary workers are forked: they must die with a killed build and never hold its lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from newsletter.run.lock import RunLock

BUILD_WITH_WORKERS = textwrap.dedent(
    """
    import json, os, sys, time
    from newsletter.run.lock import RunLock
    from newsletter.analysis.summary import summarize

    RunLock(sys.argv[1], command="build").acquire()
    pool = summarize._pool(2)  # the pool summaries use, with its two workers started
    print(json.dumps(sorted({pool.submit(os.getpid).result() for _ in range(8)})), flush=True)
    time.sleep(120)
    """
)


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status  # a zombie has ended; only reaping is left


def test_a_killed_build_takes_its_summary_workers_and_its_lock_with_it(tmp_path: Path) -> None:
    lock = tmp_path / "store.sqlite.lock"
    build = subprocess.Popen(
        [sys.executable, "-c", BUILD_WITH_WORKERS, str(lock)], stdout=subprocess.PIPE, text=True
    )
    assert build.stdout is not None
    workers = json.loads(build.stdout.readline())
    assert len(workers) == 2 and build.pid not in workers
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if _running(pid)]
    for pid in left:  # do not leave them behind for the other tests
        os.kill(pid, signal.SIGKILL)
    assert left == []
    after = RunLock(lock, command="build")
    after.acquire()  # at once: nobody holds it any more
    after.release()


FORK_WHILE_LOCKED = textwrap.dedent(
    """
    import os, sys, time
    from newsletter.run.lock import RunLock

    RunLock(sys.argv[1], command="build").acquire()
    if os.fork() == 0:
        # said by the child once it runs (its at-fork hooks have), not by the parent,
        # which may be killed before the child was ever scheduled
        print(os.getpid(), flush=True)
        time.sleep(60)  # a forked process that outlives its parent, whatever the reason
        os._exit(0)
    time.sleep(120)
    """
)


def test_a_forked_child_never_holds_the_run_lock(tmp_path: Path) -> None:
    lock = tmp_path / "store.sqlite.lock"
    build = subprocess.Popen(
        [sys.executable, "-c", FORK_WHILE_LOCKED, str(lock)], stdout=subprocess.PIPE, text=True
    )
    assert build.stdout is not None
    child = int(build.stdout.readline())
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    try:
        assert _running(child)  # still there...
        after = RunLock(lock, command="build")
        after.acquire()  # ...yet the lock is free
        after.release()
    finally:
        os.kill(child, signal.SIGKILL)
