"""Opening the store from many processes at once, upgrading an old one, and a busy file."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from newsletter.errors import StoreError
from newsletter.store import Store, base
from newsletter.store.schema import MIGRATIONS

OPENERS = 8
# the schema before deliveries became leases (migration 60): the previous version
PREVIOUS = 40

# rows of every kind, as the previous version stored them
OLD_ROWS = """
INSERT INTO feeds (url, title, etag, fetched_at, last_success_at, failures)
    VALUES ('https://a.example/feed', 'A', '"e1"', '2026-01-04T06:00:00.000000Z',
            '2026-01-04T06:00:00.000000Z', 0);
INSERT INTO items (id, feed_url, key, link, title, text, content_hash, first_seen, updated_at)
    VALUES (1, 'https://a.example/feed', 'k1', 'https://a.example/1', 'One', 'Body one.',
            'h1', '2026-01-04T06:00:00.000000Z', '2026-01-04T06:00:00.000000Z'),
           (2, 'https://a.example/feed', 'k2', 'https://a.example/2', 'Two', 'Body two.',
            'h2', '2026-01-04T06:00:00.000000Z', '2026-01-04T06:00:00.000000Z');
INSERT INTO summaries VALUES ('h1', 'default', 'One, briefly.', '2026-01-04T06:00:00.000000Z');
INSERT INTO subscribers (id, list_name, email, name, status, created_at, confirmed_at)
    VALUES (1, 'daily', 'ann@example.com', 'Ann', 'confirmed', '2026-01-01T00:00:00.000000Z',
            '2026-01-01T00:00:00.000000Z'),
           (2, 'daily', 'bob@example.com', 'Bob', 'confirmed', '2026-01-01T00:00:00.000000Z',
            '2026-01-01T00:00:00.000000Z'),
           (3, 'daily', 'cat@example.com', '', 'unsubscribed', '2026-01-01T00:00:00.000000Z',
            NULL);
INSERT INTO digests (id, list_name, built_at, sent_at, path, subject, item_count)
    VALUES (1, 'daily', '2026-01-04T07:00:00.000000Z', '2026-01-04T07:05:00.000000Z',
            'output/daily/1', 'First', 2),
           (2, 'daily', '2026-01-05T07:00:00.000000Z', NULL, 'output/daily/2', 'Second', 0);
INSERT INTO digest_items VALUES (1, 1, 'h1'), (1, 2, 'h2');
INSERT INTO deliveries (id, digest_id, subscriber_id, email, status, attempts, last_error,
                        message_id, updated_at, sent_at)
    VALUES (1, 1, 1, 'ann@example.com', 'sent', 1, '', '<m1@x>',
            '2026-01-04T07:01:00.000000Z', '2026-01-04T07:01:00.000000Z'),
           (2, 1, 2, 'bob@example.com', 'failed', 1, 'RCPT: 550 no', '',
            '2026-01-04T07:01:00.000000Z', NULL),
           (3, 2, 1, 'ann@example.com', 'sending', 1, '', '', '2026-01-05T07:01:00.000000Z',
            NULL),
           (4, 2, 2, 'bob@example.com', 'pending', 0, '', '', '2026-01-05T07:00:00.000000Z',
            NULL);
INSERT INTO list_state VALUES ('daily', '2026-01-01T00:00:00.000000Z', NULL);
INSERT INTO list_feeds VALUES ('daily', 'https://a.example/feed', '2026-01-01T00:00:00.000000Z',
                               'all', NULL);
"""


def make_previous_store(path: Path) -> dict[str, list[tuple]]:
    """A store file of the previous schema version holding OLD_ROWS; its rows by table.

    The schema is the one the migrations up to PREVIOUS create: shipped migrations are
    never edited, so this is what a store of that version holds."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("BEGIN")
    for version, sql in sorted(MIGRATIONS):
        if version <= PREVIOUS:
            for statement in base._statements(sql):
                db.execute(statement)
    db.execute(f"PRAGMA user_version = {PREVIOUS}")
    for statement in base._statements(OLD_ROWS):
        db.execute(statement)
    db.execute("COMMIT")
    rows = _all_rows(db)
    db.close()
    return rows


def _all_rows(db: sqlite3.Connection) -> dict[str, list[tuple]]:
    tables = [
        r[0]
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    out = {}
    for table in tables:
        columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
        out[table] = (columns, [tuple(r) for r in db.execute(f"SELECT * FROM {table} ORDER BY 1")])
    return out


def _open_and_report(path: str, barrier, results) -> None:  # noqa: ANN001
    barrier.wait()  # every process opens at the same moment
    try:
        with Store(path) as store:
            results.put(("ok", store.schema_version))
    except Exception as e:  # reported to the test, which prints it
        results.put(("error", repr(e)))


def _open_together(path: Path, processes: int = OPENERS) -> list[tuple[str, object]]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(target=_open_and_report, args=(str(path), barrier, results))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    return [results.get(timeout=5) for _ in workers]


LATEST = max(v for v, _ in MIGRATIONS)


@pytest.mark.parametrize("trial", range(3))
def test_many_processes_opening_a_new_store_at_once_all_succeed(tmp_path: Path, trial) -> None:
    path = tmp_path / f"fresh-{trial}.sqlite"
    assert _open_together(path) == [("ok", LATEST)] * OPENERS
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_many_processes_opening_an_old_store_at_once_upgrade_it_once(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    before = make_previous_store(path)
    assert _open_together(path) == [("ok", LATEST)] * OPENERS
    with Store(path) as store:
        _assert_intact(before, store)


def test_a_previous_version_store_upgrades_with_every_row_intact(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    before = make_previous_store(path)
    with Store(path) as store:
        assert store.schema_version == LATEST
        _assert_intact(before, store)
        [doubt] = store.uncertain_deliveries("daily")
        assert (doubt.id, doubt.email, doubt.digest_id) == (3, "ann@example.com", 2)
        assert store.get_subscriber(1).name == "Ann"
        assert store.digest_items(1) == [(1, "h1"), (2, "h2")]
        assert [d.id for d in store.pending_digests("daily")] == [2]


def _assert_intact(before: dict[str, tuple], store: Store) -> None:
    """Every table's rows survive the upgrade, column for column."""
    after = _all_rows(store.db)
    for table, (columns, rows) in before.items():
        new_columns, new_rows = after[table]
        kept = [dict(zip(new_columns, r, strict=True)) for r in new_rows]
        expected = [dict(zip(columns, r, strict=True)) for r in rows]
        if table == "deliveries":
            # an old 'sending' row may have been anywhere in its SMTP transaction: it
            # becomes 'uncertain' (named until settled), never silently resent
            for row in expected:
                if row["status"] == "sending":
                    row["status"] = "uncertain"
        assert [{c: r[c] for c in columns} for r in kept] == expected, table
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_failing_migration_leaves_the_old_schema_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite"
    before = make_previous_store(path)
    broken = [*MIGRATIONS, (LATEST + 1, "CREATE TABLE extra (x); SELECT * FROM no_such_table")]
    monkeypatch.setattr(base, "MIGRATIONS", broken)
    with pytest.raises(StoreError, match="no such table"):
        Store(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == PREVIOUS
    assert _all_rows(db) == before  # every migration of the attempt rolled back together


def test_a_store_that_stays_locked_is_reported_busy_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    make_previous_store(path)  # needs a migration, so opening needs the write lock
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError) as caught:
            Store(path, busy_timeout=0.2)
        message = str(caught.value)
        assert message.startswith("the store is busy (another newsletter process?)")
        assert str(path) in message and "newsletter database" not in message
    finally:
        holder.execute("ROLLBACK")
    with Store(path, busy_timeout=0.2) as store:  # free again: opens and upgrades
        assert store.schema_version == LATEST
        holder.execute("BEGIN IMMEDIATE")  # an up-to-date store opens without the lock...
        try:
            with pytest.raises(StoreError, match="the store is busy"):
                store.add_subscriber("daily", "dan@example.com")  # ...but a write waits
        finally:
            holder.execute("ROLLBACK")
        assert store.add_subscriber("daily", "dan@example.com").email == "dan@example.com"
    holder.close()
