"""A benchmark's helper process (a sink, the web app, a sender), its stderr kept."""

from __future__ import annotations

import json
import os
import subprocess
import threading


class Child:
    """A child process; with `port`, its first stdout line is the port it listens on."""

    def __init__(
        self, argv: list[str], env: dict[str, str], port: bool = True, stdin: bool = False
    ) -> None:
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err: list[str] = []
        self._reader = threading.Thread(target=self._read_err, daemon=True)
        self._reader.start()
        self.port = 0
        if port:
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline()
            if not line.strip().isdigit():
                self.proc.wait(timeout=10)
                raise SystemExit(f"{argv} did not start: {line!r}\n" + "\n".join(self.err[-20:]))
            self.port = int(line)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line.rstrip("\n"))

    def ask(self, line: str = "?") -> dict:
        """Send one line, read one JSON line back (the sinks answer "?" with their counts)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def wait_with_rusage(self) -> tuple[int, int, float]:
        """Wait for the child: (exit code, peak RSS in KiB, CPU seconds)."""
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        return self.proc.returncode, usage.ru_maxrss, usage.ru_utime + usage.ru_stime

    def stop(self) -> None:
        """Close its stdin (a sink ends at EOF), then terminate it if it is still there."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
