"""Connection, pragmas, migrations and the time helpers every mixin uses."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from newsletter.errors import StoreError
from newsletter.model import utcnow
from newsletter.store.schema import MIGRATIONS

# seconds a statement waits for another process's write lock before giving up
BUSY_TIMEOUT = 30.0


def to_iso(dt: datetime | None) -> str | None:
    """UTC ISO 8601 with a fixed width, so strings sort like times."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class StoreBase:
    """Opens (creating and upgrading) the database file.

    Any number of processes may open the same file at once (the web app and a cron run
    starting together, the first run after an upgrade): a store that needs a migration
    is migrated inside one write transaction that re-reads the schema version first, so
    exactly one process upgrades it and the others find it done. A database another
    process keeps locked is waited for `busy_timeout` seconds, then reported as busy.
    """

    def __init__(
        self,
        path: str | Path,
        clock: Callable[[], datetime] = utcnow,
        busy_timeout: float = BUSY_TIMEOUT,
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self.busy_timeout = busy_timeout
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # autocommit mode: transactions are explicit (see `transaction`)
            self.db = sqlite3.connect(
                str(path),
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            self.db.row_factory = sqlite3.Row
            self.db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            self._wal()
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.OperationalError as e:
            if is_busy(e):
                raise self.busy_error() from e
            raise self._open_error(e) from e
        except sqlite3.DatabaseError as e:
            raise self._open_error(e) from e

    def _open_error(self, e: Exception) -> StoreError:
        return StoreError(
            f"cannot open the store {self.path}: {e}; check the [store] path and that the "
            "file is a newsletter database"
        )

    def busy_error(self) -> StoreError:
        """The error for a database that stayed locked through the whole busy timeout."""
        return StoreError(
            f"the store is busy (another newsletter process?): {self.path} stayed locked for "
            f"{self.busy_timeout:g} s; try again, and check for a stuck process holding it"
        )

    def _wal(self) -> None:
        """Switch to WAL (readers never wait for the writer). On a new file several
        processes may try at once; the switch can answer "locked" without waiting for the
        busy timeout, so it is retried until that timeout is spent."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as e:
                if not is_busy(e) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    def now(self) -> str:
        return to_iso(self.clock())  # type: ignore[return-value]

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        """Bring the schema up to date: every missing migration, in order, in one write
        transaction that re-reads the version after taking the lock (another process may
        have migrated meanwhile), so a crash or a race leaves the old or the new schema."""
        latest = max(version for version, _ in MIGRATIONS)
        if self._check_version(latest) == latest:
            return  # up to date: no write lock needed (versions only go up)
        with self.transaction():
            current = self._check_version(latest)
            for version, sql in sorted(MIGRATIONS):
                if version > current:
                    for statement in _statements(sql):
                        self.db.execute(statement)
            if current < latest:
                self.db.execute(f"PRAGMA user_version = {int(latest)}")

    def _check_version(self, latest: int) -> int:
        current = self.schema_version
        if current > latest:
            raise StoreError(
                f"the store {self.path} has schema version {current}, newer than this "
                f"program's {latest}; upgrade newsletter"
            )
        return current

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT: takes the write lock up front, so no deadlock."""
        if self.db.in_transaction:  # nested: join the outer transaction
            yield self.db
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if is_busy(e):  # the busy timeout ran out: name the file, not "locked"
                raise self.busy_error() from e
            raise
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> StoreBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_busy(error: sqlite3.OperationalError) -> bool:
    """True for "database is locked" / "busy": another connection holds the lock."""
    text = str(error).lower()
    return "locked" in text or "busy" in text


def in_marks(prefix: str, values: Sequence[str], params: dict[str, object]) -> str:
    """Named placeholders for `IN (...)`: adds `:<prefix>0…` to `params`, returns the list
    ("NULL" for no values, which matches nothing)."""
    for i, value in enumerate(values):
        params[f"{prefix}{i}"] = value
    return ", ".join(f":{prefix}{i}" for i in range(len(values))) or "NULL"


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside our literals)."""
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
