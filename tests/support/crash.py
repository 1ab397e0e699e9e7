"""A `newsletter run` in a child process that SIGKILLs itself at a counted point.

The points are the SQL statements the run executes (every BEGIN, write and COMMIT of the
store, in order, across ingest, build and send): `kill_at = N` kills the process just as
its N-th statement starts, so statements 1..N-1 happened and nothing after them. Between
two statements lie the network steps (a feed fetch, an SMTP command, the body of a
message), so the points cover "after the fetch", "after the claim", "body sent, final dot
not", "reply received, not recorded" and everything in between.

    with Crasher(log=tmp_path / "crash.log") as crasher:
        code, output = crasher.run(base, smtp_port, when, kill_at, feed_url)

`kill_at` 0 runs to the end; `output` then ends with `statements N`. `code` is the run's
exit code, or -9 when it was killed. Each run is forked from one helper process that
imported everything once (the analysis libraries take a second to import), so a run
costs only its own work.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from newsletter.config import SmtpConfig
from newsletter.run.runner import format_run_report, run
from newsletter.store import Store
from support.run import make_run_config

READERS_CONNECTIONS = 2


def count_statements(kill_at: int) -> list[int]:
    """Count every SQL statement of every connection opened from now on; SIGKILL this
    process at statement `kill_at` (0: never). Returns the live counter."""
    counter = [0]
    connect = sqlite3.connect

    def trace(_statement: str) -> None:
        counter[0] += 1
        if counter[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def counted_connect(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        db = connect(*args, **kwargs)
        db.set_trace_callback(trace)
        return db

    sqlite3.connect = counted_connect  # type: ignore[assignment]
    return counter


def main(argv: list[str]) -> int:
    base, port, when, kill_at, *urls = argv
    smtp = SmtpConfig(
        host="127.0.0.1",
        port=int(port),
        security="none",
        timeout=10.0,
        connections=READERS_CONNECTIONS,
    )
    config = make_run_config(Path(base), urls, smtp)
    fixed = datetime.fromisoformat(when)
    counter = count_statements(int(kill_at))
    store = Store(config.store_path, clock=lambda: fixed)
    report = run(config, store)
    print(format_run_report(report, verbose=True), flush=True)
    print(f"statements {counter[0]}", flush=True)
    return report.exit_code


_DONE = "\x00exit "


def serve() -> None:
    """The helper process: for each line of arguments on stdin, fork a child that runs
    `main` with them, wait for it, and print `_DONE` with its exit code (-signal if
    killed)."""
    # the lazily imported parts of a run, imported once here for every child
    import newsletter.analysis.dedupe.merge  # noqa: F401
    import newsletter.analysis.summary.summarize  # noqa: F401
    import newsletter.analysis.themes.sections  # noqa: F401
    import newsletter.analysis.themes.topics  # noqa: F401

    for line in sys.stdin:
        sys.stdout.flush()  # nothing buffered may be inherited by the child
        pid = os.fork()
        if pid == 0:
            try:
                code = main(line.split())
            finally:
                sys.stdout.flush()
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        print(f"{_DONE}{code}", flush=True)


class Crasher:
    """The test's side of `serve`: one helper process, runs on demand."""

    def __init__(self, log: Path) -> None:
        tests = str(Path(__file__).resolve().parent.parent)
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])
        )
        self.log = open(log, "w", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import support.crash; support.crash.serve()"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )

    def run(self, *args: Any) -> tuple[int, str]:
        """One `run` with `main`'s arguments; (exit code or -signal, what it printed)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(" ".join(str(a) for a in args) + "\n")
        self.process.stdin.flush()
        lines = []
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"the crash helper died; see {self.log.name}")
            if line.startswith(_DONE):
                return int(line[len(_DONE) :]), "".join(lines)
            lines.append(line)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)
        self.log.close()

    def __enter__(self) -> Crasher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
