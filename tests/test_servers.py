"""The real test servers (tests/support): PostgreSQL and Dovecot start, answer, and clean up."""

from __future__ import annotations

import imaplib
import os
import poplib
import pwd
import re
import ssl
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
from support.dovecot import DovecotServer, Mailbox
from support.fixtures import PASSWORD_ENV, PostgresDatabase
from support.postgres import PostgresServer, find_bindir

# -- PostgreSQL -------------------------------------------------------------------------------


def test_postgres_runs_a_query(postgres_url: str) -> None:
    assert re.fullmatch(r"postgresql://postgres@127\.0\.0\.1:\d+/test_\d+_[0-9a-f]+", postgres_url)
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TABLE items (id serial PRIMARY KEY, title text NOT NULL)")
        conn.execute("INSERT INTO items (title) VALUES (%s), (%s)", ("one", "deux – ü"))
        rows = conn.execute("SELECT title FROM items ORDER BY id").fetchall()
        assert rows == [("one",), ("deux – ü",)]
        assert conn.execute("SELECT current_database()").fetchone() == (
            postgres_url.rsplit("/", 1)[1],
        )


def test_postgres_database_starts_empty_and_is_dropped_after(
    postgres_server: PostgresServer,
) -> None:
    name = postgres_server.create_database()
    with postgres_server.connect(name) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE t (x int)")
    with psycopg.connect(postgres_server.url(name)):  # left open: the drop must still work
        postgres_server.drop_database(name)
    with postgres_server.connect() as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        assert found is None


def test_postgres_password_comes_from_the_environment(postgres_password_url: str) -> None:
    url = postgres_password_url
    role = PostgresServer.role
    assert url.startswith(f"postgresql://{role}@127.0.0.1:") and ":" not in url.split("@")[0][13:]
    password = os.environ[PASSWORD_ENV]
    assert password
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(url).close()  # the URL alone is not enough
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(url, password=password + "x").close()
    with psycopg.connect(url, password=password) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role,)
        # The role owns the test database, so it may create tables in it.
        conn.execute("CREATE TABLE mine (x int)")


def test_postgres_server_attributes(
    postgres_server: PostgresServer, postgres_database: PostgresDatabase
) -> None:
    server = postgres_server
    assert server.host == "127.0.0.1" and server.port > 0
    assert (server.socket_dir / f".s.PGSQL.{server.port}").exists()
    assert len(str(server.socket_dir / f".s.PGSQL.{server.port}")) < 100  # sun_path limit
    assert server.dsn("x") == server.url("x") == f"postgresql://postgres@127.0.0.1:{server.port}/x"
    with psycopg.connect(server.url(postgres_database.name, socket=True)) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("fsync", "synchronous_commit", "full_page_writes", "max_connections")
        }
    assert settings == {
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "100",
    }
    # Found by globbing Debian's layout, whatever the version.
    assert re.fullmatch(r"/usr/lib/postgresql/\d+/bin", str(find_bindir()))
    assert server.startup_seconds < 20


def test_postgres_runs_unprivileged(postgres_server: PostgresServer) -> None:
    assert postgres_server.process is not None
    uid = _process_uid(postgres_server.process.pid)
    expected = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()
    assert uid == expected


def _process_uid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]


def test_a_second_postgres_server_does_not_collide(postgres_server: PostgresServer) -> None:
    # What two xdist workers do: each its own folder and port.
    with PostgresServer() as other:
        assert other.port != postgres_server.port
        assert other.socket_dir != postgres_server.socket_dir
        with other.connect() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        base = other.base
    assert base is not None and not base.exists()


# -- Dovecot ----------------------------------------------------------------------------------


def _message(subject: str, message_id: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Feeds <feeds@example.org>"
    msg["To"] = "reader@example.org"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg.set_content(f"Body of {subject}.\n")
    return msg.as_bytes()


def _imaps(box: Mailbox) -> imaplib.IMAP4_SSL:
    conn = imaplib.IMAP4_SSL(box.host, box.imaps_port, ssl_context=box.ssl_context())
    conn.login(box.user, box.password)
    return conn


def test_imaps_sees_flags_and_moves_a_delivered_message(dovecot_mailbox: Mailbox) -> None:
    box = dovecot_mailbox
    box.deliver(_message("First", "<first@example.org>"))
    box.deliver(_message("Second", "<second@example.org>"))
    conn = _imaps(box)
    try:
        typ, data = conn.select("INBOX")
        assert (typ, data) == ("OK", [b"2"])
        typ, data = conn.uid("SEARCH", "HEADER", "Message-ID", "<first@example.org>")
        uids = data[0].split()
        assert typ == "OK" and len(uids) == 1
        uid = uids[0].decode()
        typ, data = conn.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert b"Subject: First" in data[0][1]  # type: ignore[index]
        assert conn.uid("STORE", uid, "+FLAGS", r"(\Seen $Newsletter)")[0] == "OK"
        assert conn.uid("MOVE", uid, "Archive")[0] == "OK"
        typ, data = conn.list()
        assert any(b'"Archive"' in line or line.endswith(b" Archive") for line in data)
    finally:
        conn.logout()
    inbox, archive = box.messages("INBOX"), box.messages("Archive")
    assert [m.message_id for m in inbox] == ["<second@example.org>"]
    assert [m.message_id for m in archive] == ["<first@example.org>"]
    assert archive[0].flags == {"\\Seen", "$Newsletter"}
    assert not archive[0].deleted and not inbox[0].deleted
    assert archive[0].message["Subject"] == "First"


def test_imap_plain_port_with_starttls(dovecot_mailbox: Mailbox) -> None:
    box = dovecot_mailbox
    box.deliver(_message("Hello", "<hello@example.org>"))
    conn = imaplib.IMAP4(box.host, box.imap_port)
    try:
        assert "STARTTLS" in conn.capabilities
        conn.starttls(ssl_context=box.ssl_context())
        conn.login(box.user, box.password)
        assert conn.select("INBOX", readonly=True) == ("OK", [b"1"])
        # A flag set over IMAP shows in the maildir file name, and \Deleted is not expunged.
        conn.select("INBOX")
        conn.store("1", "+FLAGS", r"(\Flagged \Deleted)")
    finally:
        conn.logout()
    (stored,) = box.messages("INBOX")
    assert stored.flags == {"\\Flagged", "\\Deleted"} and stored.deleted


def test_imaps_refuses_a_wrong_password_and_an_untrusted_certificate(
    dovecot_server: DovecotServer,
) -> None:
    server = dovecot_server
    conn = imaplib.IMAP4_SSL(server.host, server.imaps_port, ssl_context=server.ssl_context())
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED|failed"):
        conn.login(server.user, server.password + "x")
    conn.shutdown()
    # Without the test CA the certificate is rejected: the TLS is real.
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(server.host, server.imaps_port, ssl_context=ssl.create_default_context())


def test_pop3s_lists_and_retrieves(dovecot_mailbox: Mailbox) -> None:
    box = dovecot_mailbox
    box.deliver(_message("One", "<one@example.org>"))
    box.deliver(_message("Two", "<two@example.org>"))
    pop = poplib.POP3_SSL(box.host, box.pop3s_port, context=box.ssl_context())
    try:
        pop.user(box.user)
        pop.pass_(box.password)
        count, _size = pop.stat()
        assert count == 2
        _resp, listing, _octets = pop.list()
        assert len(listing) == 2
        _resp, lines, _octets = pop.retr(1)
        assert b"Subject: One" in lines
    finally:
        pop.quit()
    assert len(box.messages("INBOX")) == 2  # RETR leaves messages in place


def test_pop3_plain_port_with_stls(dovecot_mailbox: Mailbox) -> None:
    box = dovecot_mailbox
    box.deliver(_message("Plain", "<plain@example.org>"))
    pop = poplib.POP3(box.host, box.pop3_port)
    try:
        assert "STLS" in pop.capa()
        pop.stls(context=box.ssl_context())
        pop.user(box.user)
        pop.pass_(box.password)
        _resp, lines, _octets = pop.retr(1)
        assert b"Message-ID: <plain@example.org>" in lines
    finally:
        pop.quit()


def test_mailboxes_are_isolated_and_folders_can_be_seeded(
    dovecot_server: DovecotServer, dovecot_mailbox: Mailbox
) -> None:
    box = dovecot_mailbox
    assert box.user != dovecot_server.user and box.messages("INBOX") == []
    box.deliver(_message("Seen already", "<old@example.org>"), folder="Newsletters/2026", flags="S")
    conn = _imaps(box)
    try:
        assert conn.select("INBOX") == ("OK", [b"0"])
        assert conn.select("Newsletters.2026")[0] == "OK"
        typ, data = conn.fetch("1", "(FLAGS)")
        assert b"\\Seen" in data[0]  # type: ignore[operator]
    finally:
        conn.logout()
    assert "Newsletters/2026" in box.folders()
    assert dovecot_server.messages("Newsletters/2026") == []


def test_dovecot_server_attributes(dovecot_server: DovecotServer) -> None:
    server = dovecot_server
    ports = {server.imap_port, server.imaps_port, server.pop3_port, server.pop3s_port}
    assert server.host == "127.0.0.1" and len(ports) == 4 and 0 not in ports
    assert server.cafile.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert server.user and server.password
    # The default mailbox works through the server object itself.
    path = server.deliver(_message("Default", "<default@example.org>"), folder="Default-test")
    assert path.parent.name == "new"
    assert [m.message_id for m in server.messages("Default-test")] == ["<default@example.org>"]
    assert server.messages("Default-test")[0].recent
    assert server.startup_seconds < 20
