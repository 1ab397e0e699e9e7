"""PostgreSQL behind the same small connection interface the store uses for SQLite.

The mixins write one SQL text for both engines, in SQLite's style: `:name` placeholders
(or `?`), `ON CONFLICT`, `RETURNING`. `PgConnection` is the thin dialect layer that lets
psycopg run it: placeholders become psycopg's `%(name)s`, values are bound client-side
(psycopg's ClientCursor, so `:x IS NULL` and other untyped parameters work as in SQLite),
rows answer both `row["name"]` and `row[0]`, and transactions are explicit BEGIN/COMMIT
as in `StoreBase.transaction`. What the engines cannot share (schema versions, locks) is a
method here and one on `SqliteConnection`.

Every psycopg error leaves this module as a `StoreError` (an `IntegrityError` for a
broken constraint), so callers and the CLI handle both engines alike. A connection the
server dropped (a restart, a failover) is replaced at the next statement that starts
outside a transaction, so a long-lived web process heals by itself.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import socket
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import ClientCursor

from newsletter.errors import StoreError
from newsletter.store.dialect import IntegrityError, describe, lock_key

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10  # seconds: a wrong host fails the command, not hangs it
# how long one statement may wait for a row another process holds: long enough for any
# short transaction of ours, short enough that a stuck process is reported, not waited out
LOCK_TIMEOUT = "30s"

# one statement: skips quoted text, identifiers and comments, then finds what needs
# translating
_TOKENS = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|::|:([A-Za-z_]\w*)|\?|%""", re.S
)


@functools.lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """`:name` -> `%(name)s`, `?` -> `%s`, `%` -> `%%`; quoted text and comments are left
    alone (but for a `%` in them, which psycopg reads too)."""

    def swap(match: re.Match[str]) -> str:
        text = match.group(0)
        if match.group(1):
            return f"%({match.group(1)})s"
        if text == "?":
            return "%s"
        if text == "%":
            return "%%"
        return text.replace("%", "%%")  # a literal, an identifier, a comment, a `::` cast

    return _TOKENS.sub(swap, sql)


class Row(Sequence[Any]):
    """A result row read by position or by column name, like sqlite3.Row."""

    __slots__ = ("_values", "_names")

    def __init__(self, values: Sequence[Any], names: Mapping[str, int]) -> None:
        self._values = tuple(values)
        self._names = names

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return self._values[self._names[key]]
            except KeyError:
                raise IndexError(f"no column named {key!r}") from None
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._values == other._values
        return isinstance(other, tuple) and self._values == other

    def __hash__(self) -> int:
        return hash(self._values)

    def keys(self) -> list[str]:
        return list(self._names)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._names, self._values, strict=True))!r})"


def _row_factory(cursor: Any) -> Any:
    names = {d.name: i for i, d in enumerate(cursor.description or ())}
    return lambda values: Row(values, names)


def _one_line(error: Exception) -> str:
    """libpq's messages span lines ("...\n\tIs the server running..."): one line here."""
    return " ".join(str(error).split())


def _translate(error: psycopg.Error, where: str) -> StoreError:
    if isinstance(error, psycopg.IntegrityError):
        return IntegrityError(f"{where}: {_one_line(error)}")
    return StoreError(f"the PostgreSQL store {where} failed: {_one_line(error)}")


class PgConnection:
    """One psycopg connection in autocommit mode; `BEGIN` opens a transaction."""

    dialect = "postgresql"
    cross_join = "JOIN"  # SQLite's CROSS JOIN ... ON: PostgreSQL orders joins itself
    skip_locked = " FOR UPDATE SKIP LOCKED"  # senders take different rows, never queue
    # a subquery run row by row along its index, whatever the planner's statistics say
    fence = " OFFSET 0"

    def __init__(self, url: str, password: str = "", application: str = "newsletter") -> None:
        self.url = url
        self.where = describe(url)
        self._password = password
        self._application = application
        self._in_transaction = False  # ours, not the server's: a lost one stays lost
        self._begin_with: str | None = None  # a BEGIN sent with the transaction's first statement
        self._closed = False
        self._conn = self._connect()

    def _connect(self) -> psycopg.Connection[Any]:
        kwargs: dict[str, Any] = {
            "autocommit": True,
            "cursor_factory": ClientCursor,
            "row_factory": _row_factory,
            "connect_timeout": CONNECT_TIMEOUT,
            "application_name": self._application[:63],
        }
        if self._password:
            kwargs["password"] = self._password
        try:
            conn = psycopg.connect(self.url, **kwargs)
            conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
            return conn
        except psycopg.Error as e:
            raise StoreError(
                f"cannot connect to the store {self.where}: {_one_line(e)}; check [store] url, "
                "that the server runs, and the password (NEWSLETTER_DATABASE_PASSWORD, or a "
                "pgpass/service file)"
            ) from e

    # -- the sqlite3.Connection subset the mixins use ---------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    def execute(self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None) -> Any:
        self._heal()
        query = to_pyformat(sql) if params is not None else sql
        if self._begin_with is not None:
            return self._first(query, params)
        try:
            return self._conn.execute(query, params)
        except psycopg.OperationalError as e:
            # a connection the server dropped is only found when used: a read outside any
            # transaction is safe to run again on a fresh one
            if self._conn.broken and not self.in_transaction and _is_read(sql):
                self._heal()
                try:
                    return self._conn.execute(query, params)
                except psycopg.Error as again:
                    raise _translate(again, self.where) from again
            raise _translate(e, self.where) from e
        except psycopg.Error as e:
            raise _translate(e, self.where) from e

    def executemany(self, sql: str, rows: Iterable[Mapping[str, Any] | Sequence[Any]]) -> Any:
        self._heal()
        self._flush_begin()
        cursor = self._conn.cursor()
        try:
            cursor.executemany(to_pyformat(sql), list(rows))
        except psycopg.Error as e:
            raise _translate(e, self.where) from e
        return cursor

    def close(self) -> None:
        self._closed = True
        self._conn.close()

    # -- transactions -----------------------------------------------------------------------
    def begin(self) -> None:
        """BEGIN (read committed), sent together with the transaction's first statement:
        one round trip less for each of the many short transactions of a send. Writers
        that must not interleave take an `xact_lock` inside; SQLite's BEGIN IMMEDIATE
        serializes every writer anyway."""
        self._begin("BEGIN")

    def _begin(self, statement: str) -> None:
        self._heal()
        self._in_transaction = True
        self._begin_with = statement

    def _first(self, query: str, params: Any) -> Any:
        """The transaction's first statement, with its BEGIN in the same round trip. If the
        connection turns out to be lost, nothing of the transaction happened: a fresh
        connection may begin it again."""
        statement, self._begin_with = self._begin_with, None
        combined = f"{statement}; {query}"
        try:
            try:
                cursor = self._conn.execute(combined, params)
            except psycopg.OperationalError:
                if not self._conn.broken:
                    raise
                self._in_transaction = False
                self._heal()
                self._in_transaction = True
                cursor = self._conn.execute(combined, params)
        except psycopg.Error as e:
            raise _translate(e, self.where) from e
        cursor.nextset()  # past the BEGIN's result, to the statement's
        return cursor

    def _flush_begin(self) -> None:
        """Send a pending BEGIN on its own, before what cannot carry it (COPY, a
        server-side cursor, executemany)."""
        if self._begin_with is not None:
            self._first("SELECT 1", None)

    def commit(self) -> None:
        if self._begin_with is not None:  # nothing was done: nothing to commit
            self._begin_with = None
            self._in_transaction = False
            return
        try:
            self._conn.execute("COMMIT")
        except psycopg.Error as e:
            raise _translate(e, self.where) from e
        finally:
            self._in_transaction = False

    def rollback(self) -> None:
        self._in_transaction = False
        if self._begin_with is not None:  # nothing was sent
            self._begin_with = None
            return
        if self._conn.broken or self._conn.closed:
            return  # the server ended the transaction with the connection
        try:
            self._conn.execute("ROLLBACK")
        except psycopg.Error:
            logger.warning("rollback on %s failed; the connection is replaced", self.where)
            self._conn.close()

    def xact_lock(self, *names: object) -> None:
        """Inside a transaction: wait until no other transaction holds the same names, and
        hold them until this one ends (SQLite: every write transaction is already alone)."""
        a, b = lock_key(*names)
        self.execute("SELECT pg_advisory_xact_lock(:a, :b)", {"a": a, "b": b})

    def _heal(self) -> None:
        if self._closed:
            raise StoreError(f"the store {self.where} was closed; open it again")
        if (self._conn.closed or self._conn.broken) and not self.in_transaction:
            logger.warning("the connection to %s was lost; connecting again", self.where)
            self._conn = self._connect()

    # -- schema versions --------------------------------------------------------------------
    def schema_version(self) -> int:
        row = self.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
        if not row[0]:
            return 0
        found = self.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(found[0] or 0)

    def lock_schema(self) -> None:
        """Inside the migration transaction: one process migrates, the others wait, then
        re-read the version and find the work done."""
        self.xact_lock("schema")
        self.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")

    def set_schema_version(self, version: int) -> None:
        self.execute("DELETE FROM schema_version")
        self.execute("INSERT INTO schema_version (version) VALUES (:v)", {"v": int(version)})

    def run_script(self, statements: Iterable[str]) -> None:
        for statement in statements:
            self.execute(statement)

    # -- whole tables (store copy) ----------------------------------------------------------
    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """COPY rows into a table (much faster than INSERTs); the number written."""
        names = ", ".join(f'"{c}"' for c in columns)
        count = 0
        self._flush_begin()
        try:
            with self._conn.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        except psycopg.Error as e:
            raise _translate(e, self.where) from e
        return count

    def after_copy(self, table: str) -> None:
        """Move the table's id sequence past the ids copied in, so new rows never reuse one."""
        if "id" not in self.columns(table):
            return
        row = self.execute(
            "SELECT pg_get_serial_sequence(:t, 'id')", {"t": f'"{table}"'}
        ).fetchone()
        if row is None or row[0] is None:
            return
        self.execute(
            f'SELECT setval(:seq, COALESCE((SELECT MAX(id) FROM "{table}"), 0) + 1, false)',
            {"seq": row[0]},
        )

    def tables(self) -> set[str]:
        rows = self.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchall()
        return {r[0] for r in rows} - {"schema_version"}

    def columns(self, table: str) -> list[str]:
        rows = self.execute(
            """SELECT column_name FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = :t
               ORDER BY ordinal_position""",
            {"t": table},
        ).fetchall()
        return [r[0] for r in rows]

    def references(self, table: str) -> set[str]:
        """The tables `table` has foreign keys to."""
        rows = self.execute(
            """SELECT confrelid::regclass::text FROM pg_constraint
               WHERE contype = 'f' AND conrelid = to_regclass(:t)""",
            {"t": f'"{table}"'},
        ).fetchall()
        return {r[0].strip('"') for r in rows}

    def begin_read(self) -> None:
        """A read-only transaction on one snapshot: every query in it sees the same data."""
        self._begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def stream(self, sql: str) -> Iterator[Sequence[Any]]:
        """The rows of a query, fetched in batches (a server-side cursor; in a transaction)."""
        self._flush_begin()
        try:
            with self._conn.cursor(name="newsletter_stream") as cursor:
                cursor.itersize = 2000
                cursor.execute(sql)
                yield from cursor
        except psycopg.Error as e:
            raise _translate(e, self.where) from e

    # -- a lock across hosts ----------------------------------------------------------------
    def session_lock(self, name: str) -> SessionLock:
        return SessionLock(self.url, self._password, name)

    def senders_lock(self) -> PgSendersLock:
        return PgSendersLock(self.url, self._password)


class SessionLock:
    """An exclusive lock held by a connection of its own (`pg_try_advisory_lock`): like a
    `flock`, the server drops it when the holder's connection ends, however the holder
    dies, and it works for processes on any host that reach the database. The holder's
    connection is named after its pid and host, which is what `holder` reads back."""

    def __init__(self, url: str, password: str, name: str) -> None:
        self.url = url
        self.name = name
        self.where = describe(url)
        self._password = password
        self._key = lock_key(name)
        self._conn: PgConnection | None = None
        self.command = "run"  # the newsletter command holding it, shown to the others

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        """Take the lock now; False when another session holds it."""
        if self._conn is not None:
            return True
        me = f"newsletter {self.command}: pid {os.getpid()} on {socket.gethostname()}"
        conn = PgConnection(self.url, self._password, application=me)
        params = {"a": self._key[0], "b": self._key[1]}
        if not conn.execute("SELECT pg_try_advisory_lock(:a, :b)", params).fetchone()[0]:
            conn.close()
            return False
        self._conn = conn
        return True

    def holder(self) -> tuple[int, str, datetime | None, str] | None:
        """(pid, host, since, command) of the session holding the lock, as far as it is
        known."""
        conn = PgConnection(self.url, self._password)
        try:
            row = conn.execute(
                """SELECT a.application_name, a.backend_start FROM pg_locks l
                   JOIN pg_stat_activity a ON a.pid = l.pid
                   WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :a
                     AND l.objid = :b AND l.objsubid = 2
                     AND l.database = (SELECT oid FROM pg_database
                                       WHERE datname = current_database())""",
                # pg_locks shows the two int4 keys as unsigned oids
                {"a": self._key[0] & 0xFFFFFFFF, "b": self._key[1] & 0xFFFFFFFF},
            ).fetchone()
        finally:
            conn.close()
        if row is None:
            return None
        match = re.match(r"newsletter (\w+): pid (\d+) on (\S+)", row[0] or "")
        if match is None:
            return 0, "", row[1], ""
        return int(match.group(2)), match.group(3), row[1], match.group(1)

    def release(self) -> None:
        """Let go. Unlocked first, then disconnected: the server ends a closed session a
        moment later, and the next run may already be asking for the lock."""
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            conn.execute(
                "SELECT pg_advisory_unlock(:a, :b)", {"a": self._key[0], "b": self._key[1]}
            )
        except StoreError:
            pass  # a lost connection has released it already
        finally:
            conn.close()


class PgSendersLock:
    """Who is sending from this database right now, on any host: every sender holds a
    shared advisory lock on a connection of its own while it works; `alone` asks for it
    exclusively too, which succeeds only when no other session holds it (the server drops
    a dead sender's lock with its connection). The SQLite twin is `sqlite.FileSendersLock`."""

    def __init__(self, url: str, password: str) -> None:
        self.url = url
        self._password = password
        self._key = lock_key("senders")
        self._conn: PgConnection | None = None
        self._exclusive = False

    def _call(self, function: str) -> Any:
        assert self._conn is not None
        params = {"a": self._key[0], "b": self._key[1]}
        return self._conn.execute(f"SELECT {function}(:a, :b)", params).fetchone()[0]

    def join(self) -> None:
        """Count this process as a live sender (waits while another one is settling)."""
        if self._conn is not None:
            return
        me = f"newsletter send: pid {os.getpid()} on {socket.gethostname()}"
        self._conn = PgConnection(self.url, self._password, application=me)
        self._call("pg_advisory_lock_shared")

    def alone(self) -> bool:
        """True, holding the lock exclusively until `settled`, when no other sender is
        alive; False otherwise. (A session's own shared hold does not block it.)"""
        if self._conn is None:
            return False
        self._exclusive = bool(self._call("pg_try_advisory_lock"))
        return self._exclusive

    def settled(self) -> None:
        """Back to the shared hold alone after `alone` answered True."""
        if self._conn is not None and self._exclusive:
            self._call("pg_advisory_unlock")
        self._exclusive = False

    def leave(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.execute("SELECT pg_advisory_unlock_all()")
            except StoreError:
                pass  # a lost connection holds nothing any more
            finally:
                conn.close()
        self._exclusive = False

    def __enter__(self) -> PgSendersLock:
        self.join()
        return self

    def __exit__(self, *exc: object) -> None:
        self.leave()


def _is_read(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "SELECT"
