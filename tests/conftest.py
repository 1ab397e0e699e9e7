"""Shared fixtures. Module-specific fixtures live in the test module or a *_support.py file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.store import Store

pytest_plugins = ["support.fixtures"]

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


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


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Store:
    s = Store(tmp_path / "store.sqlite", clock=clock)
    yield s
    s.close()
