"""One run at a time: an exclusive `flock` on a lock file, with the holder written inside
(SQLite stores), or an advisory lock in the database (PostgreSQL stores, see `StoreLock`).

The kernel drops a `flock` when its process dies, however it dies (SIGKILL, the OOM
killer, a crash), so a lock left by a killed run never blocks the next one: the file
stays, the lock does not. The file is never deleted: removing it would let two runs lock
two different files of the same name. Its content (PID, host, start time) only serves the
"another run is in progress" message.

`newsletter run` and `build` take it (senders share a digest through their claims
instead); the note names which, so a command that finds the lock held says what it waits
for. `flock` is advisory and local: the lock file
must be on a local file system (it is not reliable on NFS), next to the store by default.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from newsletter.config import Config
from newsletter.errors import ConfigError, LockedError
from newsletter.model import Clock, utcnow
from newsletter.store import Store

logger = logging.getLogger(__name__)

HOLDER_WAIT_STEPS = 20  # x 10 ms: how long a blocked run waits for the holder's note
POLL_SECONDS = 0.1  # how often a command that waits for the lock tries again


def lock_path(config: Config) -> Path:
    """[run] lock_file (relative to the config), else `<store file>.lock` next to the store."""
    if config.run.lock_file:
        return config.resolve(config.run.lock_file)
    store = Path(config.store_path)
    return store.with_name(store.name + ".lock")


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or last held) a lock, as written in the lock file."""

    pid: int = 0
    host: str = ""
    started_at: datetime | None = None
    command: str = ""  # run, build ("" in a note of an older version)

    def describe(self) -> str:
        """`pid 1234 on host, since 2026-01-05 06:00:00 UTC` (as much as is known)."""
        parts = [f"pid {self.pid}" if self.pid else "an unknown process"]
        if self.host and self.host != socket.gethostname():
            parts.append(f"on {self.host}")
        if self.started_at is not None:
            parts.append(f"since {self.started_at.strftime('%Y-%m-%d %H:%M:%S UTC')}")
        return " ".join(parts)

    def what(self) -> str:
        """`newsletter build`, or "newsletter command" when the note does not say."""
        return f"`newsletter {self.command}`" if self.command else "newsletter command"

    def who(self) -> str:
        """`describe()`, or "another process" when not even the pid is known."""
        return self.describe() if self.pid else "another process"


Waiting = Callable[[LockHolder | None], None]


def _take(
    try_once: Callable[[], bool],
    holder: Callable[[], LockHolder | None],
    where: str,
    command: str,
    wait: float,
    waiting: Waiting | None,
) -> None:
    """`try_once()` until it takes the lock, for at most `wait` seconds (calling `waiting`
    with the holder once, first), else LockedError naming the holder and `where`."""
    deadline = time.monotonic() + wait
    while not try_once():
        if time.monotonic() >= deadline:
            found = holder() or LockHolder()
            raise LockedError(
                f"another {found.what()} is in progress ({found.who()}; {where}); this "
                f"`newsletter {command}` did nothing. The lock is released when that "
                "command ends or dies."
            )
        if waiting is not None:
            waiting(holder())
            waiting = None
        time.sleep(POLL_SECONDS)


def read_holder(path: str | Path) -> LockHolder | None:
    """What the lock file says about its holder; None when empty or unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        started = datetime.fromisoformat(data["started_at"]) if data.get("started_at") else None
        return LockHolder(
            int(data.get("pid") or 0),
            str(data.get("host") or ""),
            started,
            str(data.get("command") or ""),
        )
    except (TypeError, ValueError):
        return None


# Lock files this process holds. A forked child (a summary worker) gets copies of their
# descriptors, and a flock lasts while any copy is open: the child closes its copies, so
# only this process holds the lock.
_HELD: set[int] = set()


def _close_held_in_child() -> None:
    for fd in _HELD:
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


os.register_at_fork(after_in_child=_close_held_in_child)


class RunLock:
    """An exclusive lock on `path` for `command` (run, build); `acquire` raises
    LockedError if another holds it (after waiting, when asked to wait).

    with RunLock(path, command="build"):
        ...  # nobody else is in here
    """

    def __init__(self, path: str | Path, clock: Clock = utcnow, command: str = "run") -> None:
        self.path = Path(path)
        self.command = command
        self._clock = clock
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    @property
    def where(self) -> str:
        return str(self.path)

    def acquire(self, wait: float = 0.0, waiting: Waiting | None = None) -> None:
        """Take the lock now, or within `wait` seconds (calling `waiting` with the holder
        once first), else raise LockedError naming the holder and the lock file
        (ConfigError when the lock file cannot be created or locked at all)."""
        if self._fd is None:
            where = f"lock file {self.path}"
            _take(self._try_acquire, self._holder, where, self.command, wait, waiting)

    def _try_acquire(self) -> bool:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # O_CLOEXEC: a child process (a subprocess the run starts) must not inherit it
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise ConfigError(
                f"cannot create the lock file {self.path}: {e.strerror}; set [run] lock_file "
                "to a writable path on a local disk"
            ) from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError as e:  # e.g. ENOLCK: the file system does not do locks (NFS)
            os.close(fd)
            raise ConfigError(
                f"cannot lock {self.path}: {e.strerror}; set [run] lock_file to a path on a "
                "local disk"
            ) from e
        self._fd = fd
        _HELD.add(fd)
        self._write_holder()
        logger.debug("lock %s taken", self.path)
        return True

    def _holder(self) -> LockHolder | None:
        """The holder's note; a holder that took the lock an instant ago may not have
        written it yet, so look again for a moment before giving up."""
        for _ in range(HOLDER_WAIT_STEPS):
            holder = read_holder(self.path)
            if holder is not None:
                return holder
            time.sleep(0.01)
        return None

    def _write_holder(self) -> None:
        assert self._fd is not None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": self._clock().isoformat(timespec="seconds"),
            "command": self.command,
        }
        data = (json.dumps(info) + "\n").encode()
        # write, then cut: the file is never empty while the lock is held, except in the
        # instant between taking the lock and this write (see `_holder`)
        os.pwrite(self._fd, data, 0)
        os.ftruncate(self._fd, len(data))

    def release(self) -> None:
        """Let go of the lock (the file stays, emptied)."""
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
        except OSError:
            pass  # the lock matters, not the note in the file
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        _HELD.discard(self._fd)
        os.close(self._fd)
        self._fd = None
        logger.debug("lock %s released", self.path)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class StoreLock:
    """The same lock for a PostgreSQL store, shared by every host that uses the database:
    a session advisory lock, held by a connection of its own. The server drops it when
    that connection ends, however its process dies (or the host vanishes: once the server
    notices the dead connection, by TCP keepalive)."""

    def __init__(self, store: Store, command: str = "run") -> None:
        session = store.session_lock("newsletter run")
        if session is None:
            raise ValueError("a SQLite store is locked with RunLock (a file)")
        session.command = command
        self._session = session
        self.command = command
        self.where = f"advisory lock in {store.where}"

    @property
    def held(self) -> bool:
        return bool(self._session.held)

    def acquire(self, wait: float = 0.0, waiting: Waiting | None = None) -> None:
        """Take the lock now, or within `wait` seconds (calling `waiting` with the holder
        once first), else raise LockedError naming the holder."""
        _take(self._session.try_acquire, self._holder, self.where, self.command, wait, waiting)
        logger.debug("%s taken", self.where)

    def _holder(self) -> LockHolder | None:
        found = self._session.holder()
        return LockHolder(*found) if found else None

    def release(self) -> None:
        self._session.release()

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_for(
    store: Store, path: str | Path, clock: Clock = utcnow, command: str = "run"
) -> RunLock | StoreLock:
    """The lock `run` and `build` take: the database's own for PostgreSQL, else the
    file `path`."""
    if store.dialect == "postgresql":
        return StoreLock(store, command)
    return RunLock(path, clock, command)
