"""SQLite behind the connection interface `StoreBase` uses for both engines.

`SqliteConnection` is sqlite3's own connection (the mixins' SQL runs on it unchanged) plus
the few operations PostgreSQL does differently: see `newsletter.store.postgres`.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

# RETURNING arrived in SQLite 3.35 (2021); the store's SQL uses it
MIN_VERSION = (3, 35, 0)


class SqliteConnection(sqlite3.Connection):
    """A sqlite3 connection in autocommit mode (isolation_level=None)."""

    dialect = "sqlite"
    cross_join = "CROSS JOIN"  # a join whose left table SQLite's planner keeps outer
    skip_locked = ""  # the write lock already gives each batch claim its turn
    fence = ""  # SQLite runs a correlated subquery row by row already

    def begin(self) -> None:
        """BEGIN IMMEDIATE: the write lock up front, so two writers never deadlock, and
        every write transaction runs alone."""
        self.execute("BEGIN IMMEDIATE")

    def xact_lock(self, *names: object) -> None:
        """Nothing to do: a write transaction here already excludes every other."""

    # -- schema versions --------------------------------------------------------------------
    def schema_version(self) -> int:
        return int(self.execute("PRAGMA user_version").fetchone()[0])

    def lock_schema(self) -> None:
        """Nothing to do: BEGIN IMMEDIATE holds the write lock."""

    def set_schema_version(self, version: int) -> None:
        self.execute(f"PRAGMA user_version = {int(version)}")

    def run_script(self, statements: Iterable[str]) -> None:
        for statement in statements:
            self.execute(statement)

    # -- whole tables (store copy) ----------------------------------------------------------
    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        before = self.total_changes
        self.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
        return self.total_changes - before

    def after_copy(self, table: str) -> None:
        """Nothing to do: a new row takes an id above the largest one."""

    def tables(self) -> set[str]:
        rows = self.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        return {r[0] for r in rows}

    def columns(self, table: str) -> list[str]:
        return [r[1] for r in self.execute(f'PRAGMA table_info("{table}")').fetchall()]

    def references(self, table: str) -> set[str]:
        """The tables `table` has foreign keys to."""
        return {r[2] for r in self.execute(f'PRAGMA foreign_key_list("{table}")').fetchall()}

    def begin_read(self) -> None:
        """A read transaction: every query in it sees the same snapshot (WAL)."""
        self.execute("BEGIN")

    def stream(self, sql: str) -> Iterable[Sequence[Any]]:
        return self.execute(sql)

    def session_lock(self, name: str) -> None:
        """None: one host's processes share a SQLite file, so a file lock does (run.lock)."""
        return None


def version_ok() -> bool:
    return sqlite3.sqlite_version_info >= MIN_VERSION


class FileSendersLock:
    """Who is sending from this store right now, as a lock beside it (`<store>.senders`):
    every sender holds it shared while it works; `alone` asks for it exclusively, which
    only succeeds when no other sender is alive (the kernel drops a dead process's lock).
    The PostgreSQL twin is `postgres.PgSendersLock`.

    It only spares waiting for leases to lapse: exactly-once never depends on it, since
    every step of a delivery is a compare-and-set on its claimant (`store.claims`). (flock
    drops the shared hold for an instant when the upgrade fails, so another sender may
    wrongly think itself alone then; the claimant checks make that harmless.)"""

    def __init__(self, store_path: Path | None) -> None:
        memory = store_path is None or str(store_path) == ":memory:"
        self.path = None if memory else Path(f"{store_path}.senders")
        self._fd: int | None = None
        self._exclusive = False

    def join(self) -> None:
        """Count this process as a live sender (waits while another one is settling)."""
        if self.path is None or self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_SH)

    def alone(self) -> bool:
        """True, holding the lock exclusively until `settled`, when no other sender is
        alive; False (still joined) otherwise."""
        if self._fd is None:
            return self.path is None  # an in-memory store has no other process
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # flock converts by dropping the shared lock first: take it again
            fcntl.flock(self._fd, fcntl.LOCK_SH)
            return False
        self._exclusive = True
        return True

    def settled(self) -> None:
        """Back to an ordinary shared hold after `alone` answered True."""
        if self._fd is not None and self._exclusive:
            fcntl.flock(self._fd, fcntl.LOCK_SH)
        self._exclusive = False

    def leave(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None
        self._exclusive = False

    def __enter__(self) -> FileSendersLock:
        self.join()
        return self

    def __exit__(self, *exc: object) -> None:
        self.leave()
