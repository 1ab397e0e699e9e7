"""Helpers shared by the server fixtures: free ports, temp folders that a dropped-privilege
server can reach, waiting for readiness, log tails for error messages."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that nothing listens on right now. The kernel hands out ephemeral ports at
    random, so two xdist workers asking at once get different ones; a server that still loses a
    race fails to bind and its caller retries with new ports."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """`count` different free ports: all bound at once, so none repeats."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def guarded(command: list[str], *, death_signal: str, user: str | None = None) -> list[str]:
    """`command` run through util-linux's setpriv, which then execs it (same pid): it gets
    `death_signal` if the process that started it dies, so a test run killed with SIGKILL
    leaves no server behind; with `user`, it runs as that user, without supplementary groups.
    (The "parent" is the starting thread: pytest and xdist workers start them from the main
    thread.)"""
    prefix = ["setpriv", "--pdeathsig", death_signal]
    if user is not None:
        entry = pwd.getpwnam(user)
        prefix += [f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"]
    return [*prefix, "--", *command]


def is_root() -> bool:
    return os.geteuid() == 0


def current_user() -> pwd.struct_passwd:
    return pwd.getpwuid(os.geteuid())


def _world_traversable(path: Path) -> bool:
    for p in [path, *path.parents]:
        try:
            if not p.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _memory_dir() -> Path | None:
    """/dev/shm when it is a roomy, writable tmpfs: servers' files there cost no disk I/O
    (initdb writes ~1000 files; a shared CI disk makes that take seconds)."""
    shm = Path("/dev/shm")
    try:
        st = os.statvfs(shm)
    except OSError:
        return None
    roomy = st.f_bavail * st.f_frsize > 2 * 1024**3  # Docker's default 64 MB is too small
    if roomy and os.access(shm, os.W_OK | os.X_OK) and _world_traversable(shm):
        return shm
    return None


def server_tempdir(prefix: str) -> Path:
    """A fresh folder for one server's files, mode 0755, in memory if possible.

    Not pytest's tmp_path: its base (/tmp/pytest-of-<user>) is mode 0700, so a server that
    drops root privileges could not reach it, and its long paths overflow the 107-byte limit of
    a unix socket path. The caller removes it (see `remove_tree`).
    NEWSLETTER_TEST_TMPDIR chooses the parent folder."""
    chosen = os.environ.get("NEWSLETTER_TEST_TMPDIR")
    parent = Path(chosen) if chosen else _memory_dir() or Path(tempfile.gettempdir())
    if not chosen and ((is_root() and not _world_traversable(parent)) or len(str(parent)) > 40):
        parent = Path("/tmp")
    _sweep(parent, prefix)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    path.chmod(0o755)
    (path / OWNER_FILE).write_text(str(os.getpid()))
    return path


OWNER_FILE = "owner.pid"


def _sweep(parent: Path, prefix: str) -> None:
    """Remove folders left by test runs that were killed before their teardown (in /dev/shm
    they would hold memory until reboot): ours, and their owner process is gone."""
    for old in parent.glob(prefix + "*"):
        try:
            if old.stat().st_uid != os.geteuid():
                continue
            pid = int((old / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours, or being set up right now
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            remove_tree(old)
        except PermissionError:
            pass  # alive, another user's


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout: float,
    alive: Callable[[], bool],
    what: str,
    log: Path | list[Path] | None = None,
) -> None:
    """Poll `ready` every few milliseconds; fail early (with the log's tail) if the server
    process died or the timeout passed."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if ready():
            return
        if not alive():
            raise RuntimeError(f"{what} exited during startup\n{log_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout:.0f}s\n{log_tail(log)}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.1)


def log_tail(log: Path | list[Path] | None, lines: int = 30) -> str:
    if log is None:
        return ""
    if isinstance(log, list):
        return "\n".join(log_tail(one, lines) for one in log)
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return f"(no log at {log})"
    return f"--- last lines of {log} ---\n" + "\n".join(text.splitlines()[-lines:])
