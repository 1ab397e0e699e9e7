"""Helpers for tests that run on both store engines (see the `store_target` fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from newsletter.store import Store


def target_of(store: Store) -> str:
    """What opens the same store again (in a child process): its URL or its file."""
    return store.url or str(store.path)


def store_table(target: str | Path | None) -> dict[str, str]:
    """The [store] table for a SQLite path or a PostgreSQL URL (default: store.sqlite)."""
    if isinstance(target, str) and target.startswith("postgresql://"):
        return {"url": target}
    return {"path": str(target or "store.sqlite")}


def impatient(store: Store, seconds: float) -> Store:
    """A second connection to the same store, as another process has, that waits at most
    `seconds` for a lock another connection holds, then fails."""
    other = Store(target_of(store), clock=store.clock)
    if other.dialect == "sqlite":
        other.db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
    else:
        other.db.execute(f"SET lock_timeout = '{int(seconds * 1000)}ms'")
    return other


def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: equal snapshots mean nothing was written."""
    return {
        table: sorted(
            (tuple(row) for row in store.db.execute(f'SELECT * FROM "{table}"')), key=repr
        )
        for table in sorted(store.db.tables())
    }
