"""Shared fixtures. Module-specific fixtures live in the test module or a *_support.py file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.postgres import PostgresServer

from newsletter.store import Store

pytest_plugins = ["support.fixtures"]  # real servers: PostgreSQL, Dovecot


class FakeClock:
    """An injectable clock: call it for the time, `advance` to move it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 1, 5, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        from datetime import timedelta

        self.current += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def pg_template(postgres_server: PostgresServer) -> str:
    """A database with the store's schema, copied for each test (faster than migrating)."""
    name = postgres_server.create_database()
    Store(postgres_server.url(name)).close()
    return name


@pytest.fixture
def pg_store_url(postgres_server: PostgresServer, pg_template: str) -> Iterator[str]:
    """The URL of a fresh, migrated PostgreSQL store for one test (superuser, no password)."""
    name = postgres_server.create_database(template=pg_template)
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a test's store lives: a SQLite file, then a PostgreSQL database. Tests that
    use it (or `store`) run once on each engine."""
    if request.param == "sqlite":
        return tmp_path / "store.sqlite"
    return request.getfixturevalue("pg_store_url")


@pytest.fixture
def store(store_target: str | Path, clock: FakeClock) -> Iterator[Store]:
    s = Store(store_target, clock=clock)
    yield s
    s.close()
