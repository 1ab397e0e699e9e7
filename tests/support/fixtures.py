"""pytest fixtures for the real test servers; tests/conftest.py loads this as a plugin.

Session-scoped servers start lazily, on first use, once per pytest process: under
pytest-xdist each worker starts its own (own temp folder, own ports), so nothing is shared
between workers. A missing server program is a loud failure, never a skip.

PostgreSQL
    postgres_server        PostgresServer: .host .port .socket_dir .superuser .role .password
                           .startup_seconds
                           .url(dbname, user=, password=, socket=) .dsn() .connect(dbname)
                           .create_database() .drop_database(name)
    postgres_database      PostgresDatabase: a fresh empty database for one test, dropped after
    postgres_url           its superuser URL, postgresql://postgres@127.0.0.1:PORT/test_N_xxxxxx
    postgres_password_url  its URL for the password role, without the password: that is in
                           $NEWSLETTER_DATABASE_PASSWORD for the test's duration

Dovecot
    dovecot_server         DovecotServer: .host .imap_port .imaps_port .pop3_port .pop3s_port
                           .user .password .cafile .ssl_context() .deliver() .messages()
                           .add_mailbox() .startup_seconds; its default mailbox is shared
                           by the whole session
    dovecot_mailbox        Mailbox: a new user with an empty maildir for one test, same
                           attributes and helpers as the server
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .dovecot import DovecotServer, Mailbox
from .postgres import PostgresServer

PASSWORD_ENV = "NEWSLETTER_DATABASE_PASSWORD"


@dataclass(frozen=True)
class PostgresDatabase:
    server: PostgresServer
    name: str

    @property
    def url(self) -> str:
        """Superuser, trusted: no password needed."""
        return self.server.url(self.name)

    @property
    def role_url(self) -> str:
        """The password role, with no password in the URL."""
        return self.server.url(self.name, user=self.server.role)

    @property
    def password(self) -> str:
        return self.server.password


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[PostgresDatabase]:
    name = postgres_server.create_database()
    yield PostgresDatabase(postgres_server, name)
    postgres_server.drop_database(name)


@pytest.fixture
def postgres_url(postgres_database: PostgresDatabase) -> str:
    return postgres_database.url


@pytest.fixture
def postgres_password_url(
    postgres_database: PostgresDatabase, monkeypatch: pytest.MonkeyPatch
) -> str:
    monkeypatch.setenv(PASSWORD_ENV, postgres_database.password)
    return postgres_database.role_url


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    with DovecotServer() as server:
        yield server


@pytest.fixture
def dovecot_mailbox(dovecot_server: DovecotServer) -> Mailbox:
    return dovecot_server.add_mailbox()
