"""A real, throwaway PostgreSQL server for tests (Debian's `postgresql` package).

    with PostgresServer() as server:              # initdb + postgres in a fresh temp folder
        server.url("postgres")                    # postgresql://postgres@127.0.0.1:PORT/postgres
        name = server.create_database()           # empty database owned by `server.role`
        server.url(name, user=server.role)        # needs `server.password` (scram over TCP)
        with server.connect(name) as conn: ...    # superuser, over the unix socket
        server.drop_database(name)

Tuned for speed, not durability: fsync, synchronous_commit and full_page_writes are off.
PostgreSQL refuses to run as root, so under root (CI) initdb and postgres run as the `postgres`
system user that the Debian package creates; otherwise as the current user.

Authentication (pg_hba.conf): the superuser is trusted on the socket and on 127.0.0.1; every
other role, such as `server.role`, must give its password (scram-sha-256).
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import pwd
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .common import (
    LOOPBACK,
    free_port,
    guarded,
    is_root,
    log_tail,
    remove_tree,
    server_tempdir,
    wait_until,
)

PG_BINDIR_GLOB = "/usr/lib/postgresql/*/bin"
RUN_AS_WHEN_ROOT = "postgres"  # system user made by Debian's postgresql-common

# Fast and small: a test server loses nothing worth keeping if the machine crashes.
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "shared_buffers": "32MB",
    "min_wal_size": "4MB",  # with 1 MB segments (see initdb), a few files, not 80 MB
    "max_wal_size": "1GB",  # fewer checkpoints while tests create databases
    "checkpoint_timeout": "1h",
    "autovacuum": "off",  # tests are short; vacuum work only costs CPU
    "jit": "off",  # compiling queries takes longer than running test-sized ones
    "log_min_messages": "warning",
    "log_connections": "off",
    "timezone": "UTC",
    "password_encryption": "scram-sha-256",
}


def find_bindir() -> Path:
    """The newest installed PostgreSQL's bin folder (`$PG_BINDIR` wins if set)."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", Path(path).parent.name))

    found = [p for p in glob.glob(PG_BINDIR_GLOB) if Path(p, "initdb").exists()]
    if not found:
        raise FileNotFoundError(
            f"no PostgreSQL server in {PG_BINDIR_GLOB} (install Debian's `postgresql` package: "
            "bash .ci/server-deps.sh)"
        )
    return Path(max(found, key=version))


def _clean_env() -> dict[str, str]:
    # PGDATA, PGPORT, PGHOST... from the caller's shell must not steer initdb, postgres or libpq.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C.UTF-8"
    return env


def _copy_tree(source: Path, target: Path) -> None:
    # cp -a keeps owners and modes (a 0700 data folder owned by the server's user).
    subprocess.run(
        ["cp", "-a", "--reflink=auto", str(source), str(target)], check=True, capture_output=True
    )


class PostgresServer:
    """One postgres process with its data folder and socket folder under a temp folder."""

    superuser = "postgres"
    role = "newsletter"  # a password-authenticated login role, for password tests

    def __init__(self, *, bindir: Path | None = None, port: int | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self.host = LOOPBACK
        self.port = port or 0
        self.password = secrets.token_urlsafe(16)
        self.base: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.run_as = RUN_AS_WHEN_ROOT if is_root() else None
        self.startup_seconds = 0.0  # initdb + start, for the curious
        self._fixed_port = port is not None
        self._counter = 0

    # -- paths ------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        assert self.base is not None, "server not started"
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.base is not None, "server not started"
        return self.base / "socket"

    @property
    def log_path(self) -> Path:
        assert self.base is not None, "server not started"
        return self.base / "postgres.log"

    # -- URLs -------------------------------------------------------------------------------
    def url(
        self,
        dbname: str = "postgres",
        *,
        user: str | None = None,
        password: str | None = None,
        socket: bool = False,
    ) -> str:
        """postgresql://user[:password]@127.0.0.1:port/dbname, or with socket=True the same
        database through the unix socket (host given as a query parameter, as libpq allows)."""
        user = user or self.superuser
        auth = quote(user, safe="")
        if password is not None:
            auth += ":" + quote(password, safe="")
        if socket:
            return (
                f"postgresql://{auth}@/{quote(dbname, safe='')}"
                f"?host={quote(str(self.socket_dir), safe='')}&port={self.port}"
            )
        return f"postgresql://{auth}@{self.host}:{self.port}/{quote(dbname, safe='')}"

    dsn = url

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> PostgresServer:
        started = time.monotonic()
        self.base = server_tempdir("newsletter-pg-")
        try:
            self._initdb()
            # A port taken between free_port() and bind (another xdist worker): try new ones.
            for attempt in range(3):
                if not self._fixed_port:
                    self.port = free_port()
                try:
                    self._start_postgres()
                    break
                except RuntimeError:
                    if attempt == 2 or "could not bind" not in log_tail(self.log_path):
                        raise
            self._create_role()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _server_uid(self) -> int:
        return pwd.getpwnam(self.run_as).pw_uid if self.run_as else os.geteuid()

    def _initdb_args(self, data_dir: Path) -> list[str]:
        locale = "C.UTF-8" if Path("/usr/lib/locale/C.utf8").exists() else "C"
        return [
            str(self.bindir / "initdb"),
            "--pgdata",
            str(data_dir),
            "--username",
            self.superuser,
            "--auth",
            "trust",  # replaced below by our own pg_hba.conf
            "--encoding",
            "UTF8",
            "--locale",
            locale,
            "--no-sync",  # a few hundred ms of fsync for nothing
            "--wal-segsize",
            "1",  # MB, not 16: less to write and to copy from the cache
            "--no-instructions",
        ]

    def _run_initdb(self, data_dir: Path) -> None:
        data_dir.mkdir(mode=0o700)
        if self.run_as is not None:
            entry = pwd.getpwnam(self.run_as)
            os.chown(data_dir, entry.pw_uid, entry.pw_gid)
        result = subprocess.run(
            guarded(self._initdb_args(data_dir), death_signal="KILL", user=self.run_as),
            cwd=data_dir.parent,  # initdb warns if it cannot stat its cwd (root's home)
            env=_clean_env(),
            capture_output=True,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"initdb failed ({result.returncode}):\n"
                + result.stdout.decode(errors="replace")
                + result.stderr.decode(errors="replace")
            )

    def _template_dir(self) -> Path | None:
        """Where a pristine initdb result is kept between runs, or None (no cache).

        initdb takes about 1 s on an idle machine and several on a busy one (two xdist workers
        at once); copying its result (~30 MB, ~1000 files) takes a fraction of that. The key
        covers all that shapes the result: server version, initdb arguments, the owner's uid.
        NEWSLETTER_TEST_PG_CACHE=0 turns the cache off."""
        if os.environ.get("NEWSLETTER_TEST_PG_CACHE", "1") == "0":
            return None
        version = subprocess.run(
            [str(self.bindir / "postgres"), "--version"], capture_output=True, check=True
        ).stdout
        key = hashlib.sha256(
            b"\0".join(
                [version, str(self._server_uid()).encode()]
                + [a.encode() for a in self._initdb_args(Path("DATA"))]
            )
        ).hexdigest()[:16]
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return cache / "newsletter-tests" / f"pgdata-{key}"

    def _build_template(self, template: Path) -> None:
        # initdb runs in our temp folder: as `postgres` it cannot reach root's ~/.cache.
        # The cache gets a copy, complete or absent, never half-built.
        self._run_initdb(self.data_dir)
        building = template.with_name(template.name + ".building")
        remove_tree(building)
        remove_tree(template)
        _copy_tree(self.data_dir, building)
        building.rename(template)

    def _initdb(self) -> None:
        assert self.base is not None
        self.socket_dir.mkdir()
        # The socket folder: reachable by any client user (sockets are guarded by pg_hba).
        self.socket_dir.chmod(0o1777)
        template = self._template_dir()
        if template is not None:
            try:
                template.parent.mkdir(parents=True, exist_ok=True)
            except OSError:
                template = None  # no writable home (HOME=/nonexistent): no cache
        if template is None:
            self._run_initdb(self.data_dir)
        else:
            if not (template / "PG_VERSION").exists():
                with open(template.parent / "lock", "a") as lock:
                    # One initdb per machine: another xdist worker waits here, then copies.
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    if not (template / "PG_VERSION").exists():
                        self._build_template(template)
            if not self.data_dir.exists():
                _copy_tree(template, self.data_dir)
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(
            "# written by tests/support/postgres.py\n"
            "# TYPE DATABASE USER      ADDRESS       METHOD\n"
            f"local  all      {self.superuser}                trust\n"
            f"host   all      {self.superuser}  127.0.0.1/32  trust\n"
            "local  all      all                     scram-sha-256\n"
            "host   all      all       127.0.0.1/32  scram-sha-256\n"
        )

    def _start_postgres(self) -> None:
        settings = {
            **FAST_SETTINGS,
            "port": str(self.port),
            "listen_addresses": self.host,
            "unix_socket_directories": str(self.socket_dir),
        }
        args = [str(self.bindir / "postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        pid_file = self.data_dir / "postmaster.pid"
        pid_file.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                # SIGINT is a "fast" shutdown: it ends open sessions and exits.
                guarded(args, death_signal="INT", user=self.run_as),
                cwd=self.base,
                env=_clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def ready() -> bool:
            # postmaster.pid's 8th line turns to "ready" once connections are accepted.
            try:
                lines = pid_file.read_text().splitlines()
            except OSError:
                return False
            return len(lines) >= 8 and lines[7].strip() == "ready"

        process = self.process
        wait_until(
            ready,
            timeout=30,
            alive=lambda: process.poll() is None,
            what="postgres",
            log=self.log_path,
        )

    def _create_role(self) -> None:
        from psycopg import sql

        with self.connect() as conn:
            # A literal, not a bind parameter: utility statements take no parameters.
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(self.role), sql.Literal(self.password)
                )
            )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # "fast" shutdown: ends open sessions
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGQUIT)  # "immediate" shutdown
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self.base is not None:
            remove_tree(self.base)
            self.base = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- SQL helpers ------------------------------------------------------------------------
    def connect(self, dbname: str = "postgres", **kwargs: Any) -> Any:
        """A psycopg connection as the superuser over the unix socket, autocommit on."""
        import psycopg

        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=self.superuser,
            dbname=dbname,
            autocommit=True,
            **kwargs,
        )

    def create_database(
        self, name: str | None = None, *, template: str = "template1", owner: str | None = None
    ) -> str:
        """CREATE DATABASE (copying `template`, which is fast); owned by `owner`, default the
        password role, so tests may connect either as the superuser or as `role`."""
        from psycopg import sql

        if name is None:
            self._counter += 1
            name = f"test_{self._counter}_{secrets.token_hex(3)}"
        with self.connect() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                    sql.Identifier(name),
                    sql.Identifier(template),
                    sql.Identifier(owner or self.role),
                )
            )
        return name

    def drop_database(self, name: str) -> None:
        from psycopg import sql

        with self.connect() as conn:
            # WITH (FORCE): a test that leaked a connection must not block the drop.
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
