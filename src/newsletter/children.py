"""Work done in child Python processes that are started as commands of their own.

A child is `python -c "from newsletter.children import main; main()"`: it reads jobs
(a module-level function and its arguments, pickled) from its stdin until the stdin ends,
and writes each result with the log records the job made to its stdout. Parsing feeds on a
second core (`ingest.parallel`) and `send --workers N` (`mail.workers`) use it.

Not `multiprocessing`: its spawned children import the caller's main script again (one
without an `if __name__ == "__main__"` guard would run again there), its pools stop every
worker when one dies, and their workers outlive a killed parent. A child here needs
nothing of its parent but the job, ends when its stdin does (a killed parent closes it),
and dies alone.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

CHILD_COMMAND = "from newsletter.children import main; main()"


def start_child() -> subprocess.Popen[bytes]:
    """A child process ready for jobs (raises OSError when none can be started)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD_COMMAND],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )


def exit_with_parent() -> None:
    """Make this process end when its parent does, killed or not: for forked workers (the
    summary pool), which wait on pipes a dead parent never closes, since they hold copies
    of both ends. Linux: the kernel kills it (PR_SET_PDEATHSIG); elsewhere a thread
    watches for the parent to go."""
    import ctypes  # here only: loading it costs every command ~2 ms

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent or parent == 1:  # it went before the watch was set
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def send_job(pipe: IO[bytes], job: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """Write one job for a child (the caller's log level goes with it)."""
    level = logging.getLogger().getEffectiveLevel()
    pickle.dump((job, fn, args, level), pipe, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.flush()


def read_result(pipe: IO[bytes]) -> tuple[int, Any, list[logging.LogRecord]]:
    """The next result a child wrote: (job, value, the log records the job made). Raises
    EOFError (or another unpickling error) when the child ended without one."""
    job, value, records = pickle.load(pipe)
    return job, value, records


def replay(records: list[logging.LogRecord]) -> None:
    """Log here what a child's job logged there."""
    for record in records:
        logging.getLogger(record.name).handle(record)


class _Collect(logging.Handler):
    """Keeps a child's log records, made safe to send back (message and traceback as text)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        self.records.append(record)


def serve(jobs: IO[bytes], results: IO[bytes]) -> None:
    """The child's loop: run each job read from `jobs`, write its result to `results`."""
    collect = _Collect()
    root = logging.getLogger()
    root.handlers[:] = [collect]
    while True:
        try:
            job, fn, args, level = pickle.load(jobs)
        except EOFError:
            return
        root.setLevel(level)
        collect.records = []
        value = fn(*args)
        pickle.dump((job, value, collect.records), results, protocol=pickle.HIGHEST_PROTOCOL)
        results.flush()


def main() -> None:
    """The child: results go to the real stdout, anything a library prints to stderr. A
    Ctrl-C or a systemd stop reaches the whole process group: a job that handles it
    (the send loop finishes the messages in flight) stops cleanly, and the child ends."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    results = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    try:
        serve(sys.stdin.buffer, results)
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(130)
