"""Connection, pragmas, migrations and the time helpers every mixin uses."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from newsletter.errors import StoreError
from newsletter.model import utcnow
from newsletter.store.dialect import describe, is_url
from newsletter.store.schema import MIGRATIONS
from newsletter.store.sqlite import FileSendersLock, SqliteConnection
from newsletter.store.sqlite import version_ok as sqlite_version_ok

# seconds a statement waits for another process's write lock before giving up
BUSY_TIMEOUT = 30.0


def to_iso(dt: datetime | None) -> str | None:
    """UTC ISO 8601 with a fixed width, so strings sort like times (a four-digit year
    too: strftime writes the year 999 as "999", which then could not be read back)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        dt = dt.astimezone(UTC)
    except OverflowError:  # the first or last day there is, with an offset past its edge
        dt = (datetime.min if dt.year < 5000 else datetime.max).replace(tzinfo=UTC)
    return f"{dt.year:04d}-{dt:%m-%dT%H:%M:%S.%f}Z"


def from_iso(text: str | None) -> datetime | None:
    """The time `to_iso` wrote (fromisoformat: thirty times faster than strptime), also
    one an older version wrote with a year of fewer than four digits."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        short_year = _SHORT_YEAR.match(text)
        if not short_year:
            raise
        dt = datetime.fromisoformat(short_year.group(1).zfill(4) + text[short_year.end(1) :])
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


_SHORT_YEAR = re.compile(r"(\d{1,3})-")


class StoreBase:
    """Opens (creating and upgrading) the store: a SQLite file, or a PostgreSQL database
    when `target` is a `postgresql://` URL (its password from `password`, else from
    libpq's own sources: a pgpass or service file).

    `self.db` is the connection every mixin runs its SQL on; both engines take the same
    SQL (see `newsletter.store.postgres` for the few translations).

    Any number of processes may open the same store at once (the web app and a cron run
    starting together, the first run after an upgrade): a store that needs a migration is
    migrated inside one write transaction that re-reads the schema version after taking
    the lock (SQLite's write lock, a PostgreSQL advisory lock), so exactly one process
    upgrades it and the others find it done. A SQLite file another process keeps locked is
    waited for `busy_timeout` seconds, then reported as busy.
    """

    def __init__(
        self,
        target: str | Path,
        clock: Callable[[], datetime] = utcnow,
        password: str = "",
        busy_timeout: float = BUSY_TIMEOUT,
    ) -> None:
        self.clock = clock
        self.busy_timeout = busy_timeout
        self.url = str(target) if is_url(target) else ""
        self.path = Path(target) if not self.url else None
        self.where = describe(self.url) if self.url else str(self.path)
        if self.url:
            # psycopg is loaded only by those who use PostgreSQL
            from newsletter.store.pgschema import pg_migrations
            from newsletter.store.postgres import PgConnection

            self.db: Any = PgConnection(self.url, password)
            migrations = pg_migrations()
        else:
            self.db = self._open_sqlite(target)
            migrations = MIGRATIONS
        try:
            self._migrate(migrations)
        except sqlite3.OperationalError as e:
            self.db.close()
            if is_busy(e):
                raise self.busy_error() from e
            raise self._open_error(e) from e
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise self._open_error(e) from e
        except BaseException:
            self.db.close()
            raise

    def _open_sqlite(self, path: str | Path) -> SqliteConnection:
        if not sqlite_version_ok():
            raise StoreError(
                f"SQLite {sqlite3.sqlite_version} is too old (3.35 or newer is needed); "
                "use a newer Python build or a PostgreSQL store"
            )
        try:
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # autocommit mode: transactions are explicit (see `transaction`)
            db = sqlite3.connect(
                str(path),
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
                factory=SqliteConnection,
            )
            db.row_factory = sqlite3.Row
            db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            self._wal(db)
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.OperationalError as e:
            if is_busy(e):
                raise self.busy_error() from e
            raise self._open_error(e) from e
        except sqlite3.DatabaseError as e:
            raise self._open_error(e) from e
        return db

    def _open_error(self, e: Exception) -> StoreError:
        return StoreError(
            f"cannot open the store {self.where}: {e}; check the [store] path and that the "
            "file is a newsletter database"
        )

    def busy_error(self) -> StoreError:
        """The error for a database that stayed locked through the whole busy timeout."""
        return StoreError(
            f"the store is busy (another newsletter process?): {self.where} stayed locked for "
            f"{self.busy_timeout:g} s; try again, and check for a stuck process holding it"
        )

    def _wal(self, db: sqlite3.Connection) -> None:
        """Switch to WAL (readers never wait for the writer). On a new file several
        processes may try at once; the switch can answer "locked" without waiting for the
        busy timeout, so it is retried until that timeout is spent."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as e:
                if not is_busy(e) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        return str(self.db.dialect)

    def now(self) -> str:
        return to_iso(self.clock())  # type: ignore[return-value]

    @property
    def schema_version(self) -> int:
        return int(self.db.schema_version())

    def _migrate(self, migrations: list[tuple[int, str]]) -> None:
        """Bring the schema up to date: every missing migration, in order, in one write
        transaction that re-reads the version after taking the lock (another process may
        have migrated meanwhile), so a crash or a race leaves the old or the new schema."""
        latest = max(version for version, _ in migrations)
        if self._check_version(latest) == latest:
            return  # up to date: no write lock needed (versions only go up)
        with self.transaction():
            self.db.lock_schema()
            current = self._check_version(latest)
            for version, sql in sorted(migrations):
                if version > current:
                    self.db.run_script(_statements(sql))
            if current < latest:
                self.db.set_schema_version(latest)

    def _check_version(self, latest: int) -> int:
        current = self.schema_version
        if current > latest:
            raise StoreError(
                f"the store {self.where} has schema version {current}, newer than this "
                f"program's {latest}; upgrade newsletter"
            )
        return current

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """BEGIN ... COMMIT. On SQLite BEGIN IMMEDIATE takes the write lock up front, so no
        deadlock; on PostgreSQL rows are locked as they are written (read committed)."""
        if self.db.in_transaction:  # nested: join the outer transaction
            yield self.db
            return
        try:
            self.db.begin()
        except sqlite3.OperationalError as e:
            if is_busy(e):  # the busy timeout ran out: name the file, not "locked"
                raise self.busy_error() from e
            raise
        try:
            yield self.db
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()

    def session_lock(self, name: str) -> Any:
        """A lock named `name` that processes on every host share (PostgreSQL: a session
        advisory lock with a connection of its own), or None for SQLite (a file lock on
        its host does that job)."""
        return self.db.session_lock(name)

    def senders_lock(self) -> Any:
        """The lock every sending process holds shared while it works, and asks for
        exclusively to learn that it is alone: then any row still claimed was left by a
        dead sender (`FileSendersLock` beside a SQLite file, `PgSendersLock` for PostgreSQL)."""
        if self.url:
            return self.db.senders_lock()
        return FileSendersLock(self.path)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_busy(error: sqlite3.OperationalError) -> bool:
    """True for "database is locked" / "busy": another connection holds the lock."""
    text = str(error).lower()
    return "locked" in text or "busy" in text


def in_marks(prefix: str, values: Sequence[object], params: dict[str, object]) -> str:
    """Named placeholders for `IN (...)`: adds `:<prefix>0…` to `params`, returns the list
    ("NULL" for no values, which matches nothing)."""
    for i, value in enumerate(values):
        params[f"{prefix}{i}"] = value
    return ", ".join(f":{prefix}{i}" for i in range(len(values))) or "NULL"


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside our literals)."""
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
