"""What both engines' connections share: the error for a broken constraint and lock keys.

The connection classes themselves are `newsletter.store.sqlite.SqliteConnection` and
`newsletter.store.postgres.PgConnection`; `newsletter.store.base` picks one.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from newsletter.errors import StoreError


class IntegrityError(StoreError):
    """A write broke a constraint (a duplicate key, a missing reference): PostgreSQL's
    form of sqlite3.IntegrityError."""


# what `except` needs to catch a duplicate on either engine
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, IntegrityError)


def _int32(data: bytes) -> int:
    return int.from_bytes(data[:4], "big", signed=True)


# the first half of every advisory lock key: ours, apart from other software's locks
_NAMESPACE = _int32(hashlib.sha256(b"newsletter").digest())


def lock_key(*names: object) -> tuple[int, int]:
    """The (int4, int4) advisory lock key of a name such as ("create_deliveries", 7)."""
    text = "\0".join(str(n) for n in names).encode("utf-8")
    return _NAMESPACE, _int32(hashlib.sha256(text).digest())


SCHEMES = ("postgresql://", "postgres://")


def is_url(target: object) -> bool:
    """True for a PostgreSQL connection URL (anything else is a SQLite file path)."""
    return isinstance(target, str) and target.startswith(SCHEMES)


def describe(url: str) -> str:
    """`postgresql://user@host:port/db` without a password or options, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or dict(parse_qsl(parts.query)).get("host", "")
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"postgresql://{user}{host}{port}{parts.path}"


class Connection(Protocol):
    """What the store's mixins use of `self.db` on either engine: sqlite3's own interface
    (`SqliteConnection`) or its twin over psycopg (`PgConnection`)."""

    dialect: str  # "sqlite" | "postgresql"
    cross_join: str  # SQLite's join that keeps its left table outer; JOIN elsewhere
    skip_locked: str  # PostgreSQL's " FOR UPDATE SKIP LOCKED"; "" on SQLite
    fence: str  # PostgreSQL's " OFFSET 0", which keeps a subquery from being flattened

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, params: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, rows: Any, /) -> Any: ...

    def xact_lock(self, *names: object) -> None:
        """Inside a write transaction: hold these names until it ends."""
