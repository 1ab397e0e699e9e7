"""SQLite and PostgreSQL behind one Store: the same schema, migrations, config, copying
from one to the other, and a PostgreSQL connection that survives a server restart.

The behaviour of the store itself is tested on both engines by every test that uses the
`store` fixture (tests/conftest.py); this file covers what differs between them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from support.common import wait_until
from support.fixtures import PASSWORD_ENV, PostgresDatabase
from support.postgres import PostgresServer
from support.sending import make_digest
from support.stores import snapshot, target_of

from newsletter.cli import cli
from newsletter.config import config_from_dict
from newsletter.errors import ConfigError, StoreError
from newsletter.model import Item
from newsletter.store import IntegrityError, Store, open_store, pgschema
from newsletter.store.copy import SEEDED, copy_store, row_counts
from newsletter.store.postgres import to_pyformat
from newsletter.store.schema import MIGRATIONS

LATEST = max(v for v, _ in MIGRATIONS)
TESTS = Path(__file__).resolve().parent


def _schema(store: Store) -> dict[str, list[str]]:
    return {t: sorted(store.db.columns(t)) for t in sorted(store.db.tables())}


def _fill(store: Store, tmp_path: Path) -> dict[str, int]:
    """A little of everything: feeds and items, summaries, subscribers, a sent digest with
    deliveries, run state, a rate-limit hit. The ids of what was made."""
    store.upsert_items(
        [
            Item(f"k{n}", "https://example.org/feed", f"https://example.org/{n}", f"Story {n}")
            for n in range(3)
        ]
    )
    store.put_summaries({"h1": "Summary one."}, "newsletter-50")
    ann = store.add_subscriber("daily", "ann@example.org", "Ann", "confirmed", "web")
    store.add_subscriber("daily", "bob@example.org", "Bob", "pending", "web")
    gone = store.add_subscriber("daily", "gone@example.org", "", "confirmed")
    store.remove_subscriber(gone.id)  # a gap in the ids
    item_ids = list(store.item_ids(store.items()).values())
    digest = make_digest(store, tmp_path)
    store.create_deliveries(digest)
    store.start_list("daily")
    store.adopt_feeds("daily", ["https://example.org/feed"], "days:7", hold_back="everything")
    store.rate_hit("ip:abc", 3, 3600)
    return {"ann": ann.id, "gone": gone.id, "digest": digest, "items": len(item_ids)}


# -- one schema -------------------------------------------------------------------------------
def test_both_engines_have_the_same_tables_and_columns(tmp_path: Path, pg_store_url: str) -> None:
    with Store(tmp_path / "s.sqlite") as lite, Store(pg_store_url) as pg:
        assert _schema(pg) == _schema(lite)
        assert pg.schema_version == lite.schema_version == LATEST
        assert (lite.dialect, pg.dialect) == ("sqlite", "postgresql")


def test_every_later_migration_runs_on_postgresql() -> None:
    versions = [v for v, _ in pgschema.pg_migrations()]
    assert versions[0] == pgschema.PG_BASELINE
    assert versions[1:] == [v for v, _ in MIGRATIONS if v > pgschema.PG_BASELINE]
    assert set(pgschema.PG_MIGRATIONS) <= {v for v, _ in MIGRATIONS}


def test_placeholders_are_translated_outside_quotes_only() -> None:
    sql = "SELECT ':x', \"a:b\", x::text, 5 % 2 FROM t WHERE a = :a AND b = ? AND c = :c_2"
    assert to_pyformat(sql) == (
        "SELECT ':x', \"a:b\", x::text, 5 %% 2 FROM t WHERE a = %(a)s AND b = %s AND c = %(c_2)s"
    )
    assert to_pyformat("SELECT 'it''s :not' || :yes") == "SELECT 'it''s :not' || %(yes)s"
    assert to_pyformat("SELECT 1 -- don't :x\n, :y /* ? '5%' */") == (
        "SELECT 1 -- don't :x\n, %(y)s /* ? '5%%' */"
    )
    assert to_pyformat("SELECT '100%' AS p, :v") == "SELECT '100%%' AS p, %(v)s"


def test_a_duplicate_is_the_same_error_on_both(store: Store) -> None:
    store.add_subscriber("daily", "ann@example.org")
    with pytest.raises(Exception) as caught:
        with store.transaction():
            store.db.execute(
                "INSERT INTO subscribers (list_name, email, created_at) "
                "VALUES ('daily', 'ann@example.org', 'x')"
            )
    expected = IntegrityError if store.dialect == "postgresql" else __import__("sqlite3").Error
    assert isinstance(caught.value, expected)
    assert store.count_subscribers() == 1  # the failed transaction left nothing; usable again


# -- migrations ---------------------------------------------------------------------------------
def _rows(store: Store, columns: dict[str, list[str]]) -> dict[str, list[tuple[object, ...]]]:
    """Every row of these tables, of these columns only, sorted."""
    return {
        table: sorted(
            (tuple(r) for r in store.db.execute(f"SELECT {', '.join(names)} FROM {table}")),
            key=repr,
        )
        for table, names in columns.items()
    }


def _open_at(target: str | Path, version: int, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A store migrated only up to `version`, as an older release left it."""
    older = [(v, s) for v, s in MIGRATIONS if v <= version]
    with monkeypatch.context() as patch:
        patch.setattr("newsletter.store.base.MIGRATIONS", older)
        patch.setattr("newsletter.store.pgschema.MIGRATIONS", older)
        return Store(target)


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_upgrade_from_the_previous_version_keeps_the_data(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = (
        tmp_path / "s.sqlite" if engine == "sqlite" else request.getfixturevalue("postgres_url")
    )
    previous = max(v for v, _ in MIGRATIONS if v < LATEST)
    old = _open_at(target, previous, monkeypatch)
    assert old.schema_version == previous
    ann = old.add_subscriber("daily", "ann@example.org", "Ann", "confirmed")
    # a digest row as the previous release wrote it: only the columns it knew
    digest = old.db.execute(
        """INSERT INTO digests (list_name, built_at, path, subject, item_count)
           VALUES ('daily', '2026-01-05T07:00:00.000000Z', 'output/daily/d', 'News', 0)
           RETURNING id"""
    ).fetchone()[0]
    old.create_deliveries(digest)
    columns = _schema(old)
    before = _rows(old, columns)
    old.close()

    with Store(target) as new:
        assert new.schema_version == LATEST
        assert _rows(new, columns) == before  # every row and value kept
        assert new.get_subscriber(ann.id).email == "ann@example.org"
        assert [d.status for d in new.deliveries(digest)] == ["pending"]
        assert new.rate_hit("ip:x", 1, 60) and not new.rate_hit("ip:x", 1, 60)


def test_a_newer_postgresql_schema_is_refused(postgres_url: str) -> None:
    Store(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = 999")
    with pytest.raises(StoreError, match="newer than this program's.*upgrade newsletter"):
        Store(postgres_url)


def test_processes_opening_a_new_postgresql_store_at_once_migrate_it_once(
    postgres_url: str,
) -> None:
    script = (
        "import sys\nfrom newsletter.store import Store\n"
        "sys.stdin.readline()\nprint(Store(sys.argv[1]).schema_version, flush=True)\n"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, postgres_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    for child in children:  # released together, once every one has imported the package
        child.stdin.write("go\n")
        child.stdin.flush()
    results = [child.communicate(timeout=120) for child in children]
    assert [out.strip() for out, _ in results] == [str(LATEST)] * 6, results
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(LATEST,)]


# -- configuration and password -----------------------------------------------------------------
def _config(tmp_path: Path, store: dict[str, str], env: dict[str, str] | None = None):
    return config_from_dict({"store": store}, base_dir=tmp_path, env=env or {})


def test_store_url_selects_postgresql_and_path_stays_the_default(tmp_path: Path) -> None:
    url = "postgresql://newsletter@db.example.org:5432/news"
    config = _config(tmp_path, {"url": url}, {PASSWORD_ENV: "s3cret"})
    assert config.store_target == url and config.database_password == "s3cret"
    assert "s3cret" not in repr(config)
    assert _config(tmp_path, {}).store_target == tmp_path / "newsletter.sqlite"


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ({"url": "postgresql://newsletter:hunter2@db/news"}, "must not contain the database pass"),
        ({"url": "postgresql://db/news?password=hunter2"}, "NEWSLETTER_DATABASE_PASSWORD"),
        ({"url": "mysql://db/news"}, "must be a PostgreSQL URL"),
        ({"url": "postgresql://db:99999/news"}, "bad port"),
        ({"url": "postgresql://db/news", "path": "x.sqlite"}, "both path .SQLite. and url"),
    ],
)
def test_bad_store_urls_are_refused_with_the_fix(tmp_path: Path, store, message) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        _config(tmp_path, store)
    assert "hunter2" not in str(caught.value)


def test_the_password_comes_from_the_environment(
    tmp_path: Path, postgres_password_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = os.environ[PASSWORD_ENV]
    config = _config(tmp_path, {"url": postgres_password_url}, dict(os.environ))
    with open_store(config) as store:
        assert store.db.execute("SELECT current_user").fetchone()[0] == PostgresServer.role
    wrong = _config(tmp_path, {"url": postgres_password_url}, {PASSWORD_ENV: password + "x"})
    with pytest.raises(StoreError, match="cannot connect.*NEWSLETTER_DATABASE_PASSWORD") as caught:
        open_store(wrong)
    assert password not in str(caught.value)


def test_the_password_may_come_from_a_pgpass_file(
    tmp_path: Path, postgres_database: PostgresDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = postgres_database.server
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"{server.host}:{server.port}:*:{server.role}:{server.password}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with open_store(_config(tmp_path, {"url": postgres_database.role_url})) as store:
        assert store.count_subscribers() == 0


# -- copying a store ----------------------------------------------------------------------------
def test_copy_sqlite_to_postgresql_keeps_every_row_and_id(tmp_path: Path, pg_store_url) -> None:
    with Store(tmp_path / "s.sqlite") as lite, Store(pg_store_url) as pg:
        made = _fill(lite, tmp_path)
        report = copy_store(lite, pg)
        assert report.matches and report.rows == sum(row_counts(lite).values())
        assert dict((t, n) for t, n, _ in report.tables) == row_counts(lite) == row_counts(pg)
        assert snapshot(pg) == snapshot(lite)
        assert pg.get_subscriber(made["ann"]).email == "ann@example.org"
        # ids go on after the largest ever given, as they would have in the source: the
        # removed subscriber's id is not given again
        newcomer = pg.add_subscriber("daily", "new@example.org")
        assert newcomer.id == lite.add_subscriber("daily", "new@example.org").id > made["gone"]
        assert "every count matches" in report.format()

        again = pytest.raises(StoreError, copy_store, lite, pg)
        assert "already holds rows" in str(again.value)


def test_a_new_store_holds_rows_only_in_the_tables_a_copy_replaces(store: Store) -> None:
    assert {t for t, n in row_counts(store).items() if n} <= SEEDED


def test_copy_postgresql_back_to_sqlite(tmp_path: Path, pg_store_url: str) -> None:
    with Store(pg_store_url) as pg, Store(tmp_path / "back.sqlite") as lite:
        _fill(pg, tmp_path)
        assert copy_store(pg, lite).matches
        assert snapshot(lite) == snapshot(pg)


def test_store_copy_command(
    tmp_path: Path, postgres_password_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(tmp_path / "data" / "newsletter.sqlite") as lite:
        _fill(lite, tmp_path)
        counts = row_counts(lite)
    (tmp_path / "newsletter.toml").write_text('[store]\npath = "data/newsletter.sqlite"\n')
    runner = CliRunner()
    config = str(tmp_path / "newsletter.toml")
    result = runner.invoke(cli, ["-c", config, "store", "copy", "--to", postgres_password_url])
    assert result.exit_code == 0, result.output
    assert "every count matches" in result.output and "[store] url" in result.output
    assert f"{counts['subscribers']:>10,}" in result.output
    with Store(postgres_password_url, password=os.environ[PASSWORD_ENV]) as pg:
        assert row_counts(pg) == counts
    again = runner.invoke(cli, ["-c", config, "store", "copy", "--to", postgres_password_url])
    assert again.exit_code == 1 and "already holds rows" in again.output
    leaked = postgres_password_url.replace("@", ":pw@", 1)
    refused = runner.invoke(cli, ["-c", config, "store", "copy", "--to", leaked])
    assert refused.exit_code == 2 and "must not contain the database password" in refused.output
    # and a plain file, from the folder the command runs in
    monkeypatch.chdir(tmp_path / "data")
    local = runner.invoke(cli, ["-c", config, "store", "copy", "--to", "copy.sqlite"])
    assert local.exit_code == 0 and f'path = "{tmp_path / "data" / "copy.sqlite"}"' in local.output
    with Store(tmp_path / "data" / "copy.sqlite") as copied:
        assert row_counts(copied) == counts
    exists = runner.invoke(cli, ["-c", config, "store", "copy", "--to", "copy.sqlite"])
    assert exists.exit_code == 2 and "exists" in exists.output


# -- a long-lived connection ------------------------------------------------------------------
def test_a_dropped_postgresql_connection_is_replaced(
    pg_store_url: str, postgres_server: PostgresServer
) -> None:
    with Store(pg_store_url) as store:
        store.add_subscriber("daily", "ann@example.org")
        pid = store.db.execute("SELECT pg_backend_pid()").fetchone()[0]
        with postgres_server.connect() as admin:  # what a server restart does to a session
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert store.count_subscribers() == 1  # a read: run again on a new connection
        second = store.db.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert second != pid
        with postgres_server.connect() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (second,))
        # a write transaction whose first statement finds the connection gone: nothing of
        # it happened, so it begins again on a new one
        store.add_subscriber("daily", "bob@example.org")
        assert store.count_subscribers() == 2


def test_an_unreachable_server_is_a_clear_store_error(postgres_server: PostgresServer) -> None:
    url = f"postgresql://nobody@127.0.0.1:{postgres_server.port}/no_such_database"
    with pytest.raises(StoreError, match="cannot connect to the store postgresql://nobody@"):
        Store(url)


# -- every command on PostgreSQL ------------------------------------------------------------
def test_the_commands_and_the_web_app_work_on_a_postgresql_store(
    tmp_path: Path, postgres_password_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an operator does, on a [store] url with a password role: build, add and import
    subscribers, send, run, look at digests and feeds; and the web app from the same file."""
    from support.smtp import SmtpServer

    from newsletter.config import BUNDLED_SEEDS
    from newsletter.web.app import make_wsgi_app

    feeds = "".join(f'[[feeds]]\nurl = "{p}"\n' for p in sorted(BUNDLED_SEEDS.glob("*.xml"))[:3])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSLETTER_SECRET_KEY", "engines-secret-0123456789abcdef0123")
    with SmtpServer() as smtp:
        (tmp_path / "news.toml").write_text(
            '[site]\nname = "Harbour News"\nurl = "https://news.example.org"\n'
            '[list]\nname = "daily"\nfrom = "Harbour News <digest@news.example.org>"\n'
            'cadence = "every run"\nbacklog = "all"\n'
            f'[store]\nurl = "{postgres_password_url}"\n'
            f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n' + feeds
        )
        runner = CliRunner()

        def ok(*args: str) -> str:
            result = runner.invoke(cli, ["-c", "news.toml", *args])
            assert result.exit_code == 0, (args, result.output)
            return result.output

        ok("build")
        ok("subscribers", "add", "ann@example.org", "--status", "confirmed")
        (tmp_path / "people.csv").write_text("email,name\nbob@example.org,Bob\n")
        ok("subscribers", "import", "people.csv", "--status", "confirmed")
        assert "2" in ok("subscribers", "count")
        assert "sent 2" in ok("send")
        assert sorted(smtp.messages) == ["ann@example.org", "bob@example.org"]
        assert "sent" in ok("digests")
        ok("feeds")
        runner.invoke(cli, ["-c", "news.toml", "run"])  # nothing new: quiet
        assert not list(tmp_path.glob("*.sqlite")) and not list(tmp_path.glob("*.lock"))

        app = make_wsgi_app(env={**os.environ, "NEWSLETTER_CONFIG": str(tmp_path / "news.toml")})
        assert app.test_client().get("/healthz").status_code == 200
        app.extensions["newsletter"].outbox.close()
        app.extensions["newsletter"].store.close()
    with Store(postgres_password_url, password=os.environ[PASSWORD_ENV]) as store:
        assert store.count_subscribers("daily", "confirmed") == 2
        assert store.list_digests()[0].sent_at is not None


# -- who is sending -----------------------------------------------------------------------------
def test_a_sender_learns_whether_it_is_alone(store: Store) -> None:
    first, second = store.senders_lock(), store.senders_lock()  # two processes' worth
    first.join()
    second.join()
    assert not first.alone() and not second.alone()
    second.leave()
    assert first.alone()  # now every claimed row would be a dead sender's
    third = store.senders_lock()
    joining = threading.Thread(target=third.join)
    joining.start()
    joining.join(0.3)
    assert joining.is_alive()  # a new sender waits while the lone one settles
    first.settled()
    joining.join(10)
    assert not joining.is_alive() and not first.alone()
    third.leave()
    first.leave()


def test_a_killed_sender_stops_counting(store: Store) -> None:
    script = (
        "import sys, time\nfrom newsletter.store import Store\n"
        "lock = Store(sys.argv[1]).senders_lock()\nlock.join()\n"
        "print('joined', flush=True)\ntime.sleep(120)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, target_of(store)], stdout=subprocess.PIPE, text=True
    )
    mine = store.senders_lock()
    try:
        assert child.stdout.readline().strip() == "joined"
        mine.join()
        assert not mine.alone()
    finally:
        child.kill()
        child.wait(timeout=30)
    # the kernel drops the file lock at once; the server ends the session a moment later
    wait_until(mine.alone, timeout=30, alive=lambda: True, what="the dead sender's lock")
    mine.settled()
    mine.leave()


def test_a_copy_that_fails_midway_leaves_the_target_as_it_was(
    tmp_path: Path, pg_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(tmp_path / "s.sqlite") as lite, Store(pg_store_url) as pg:
        _fill(lite, tmp_path)
        before = row_counts(pg)
        copied: list[str] = []

        def fail_after_three(table: str) -> None:  # the disk fills, the link drops...
            copied.append(table)
            if len(copied) == 3:
                raise StoreError("no space left on device")

        monkeypatch.setattr(pg.db, "after_copy", fail_after_three)
        with pytest.raises(StoreError, match="no space left"):
            copy_store(lite, pg)
        assert row_counts(pg) == before  # one transaction: nothing of it stayed
