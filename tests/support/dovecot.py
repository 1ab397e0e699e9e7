"""A real, throwaway Dovecot IMAP/POP3 server for tests (Debian's dovecot-imapd/-pop3d).

    with DovecotServer() as server:       # own dovecot.conf, certificate, ports, maildirs
        server.imaps_port, server.imap_port, server.pop3s_port, server.pop3_port
        server.user, server.password      # the default mailbox's login
        server.cafile                     # self-signed certificate for 127.0.0.1/localhost
        server.deliver(raw_bytes)         # into the default user's INBOX (maildir new/)
        server.messages("INBOX")          # [StoredMessage(data, flags, ...)] read from disk
        box = server.add_mailbox()        # another user with its own empty maildir
        box.deliver(raw_bytes, folder="Archive"); box.messages("Archive")

Everything runs from a temp folder, with no system config: plain ports offer STARTTLS, the
`s` ports speak TLS from the first byte. Logins: passwd-file with one file per user (so adding a
user never races Dovecot's reload of a shared file), userdb static, maildir at <tmp>/mail/<user>.

Runs as root (CI) or as a normal user: as root Dovecot's own users do their usual jobs
(`dovecot`, `dovenull`) and mail is stored as `nobody`; otherwise every process is the current
user. No service chroots either way (chroot needs root, and tests gain nothing from it).
"""

from __future__ import annotations

import email
import email.policy
import grp
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from .common import (
    LOOPBACK,
    chown_tree,
    current_user,
    free_ports,
    guarded,
    is_root,
    log_tail,
    remove_tree,
    server_tempdir,
    wait_until,
)
from .tls import self_signed

DOVECOT = "/usr/sbin/dovecot"
MAIL_OWNER_WHEN_ROOT = "nobody"  # Dovecot refuses to touch mail as root

# Maildir info flags (the letters after ":2,") and the IMAP system flags they stand for.
MAILDIR_FLAGS = {
    "D": "\\Draft",
    "F": "\\Flagged",
    "R": "\\Answered",
    "S": "\\Seen",
    "T": "\\Deleted",
}
IMAP_TO_MAILDIR = {v: k for k, v in MAILDIR_FLAGS.items()}


@dataclass(frozen=True)
class StoredMessage:
    """One message file as it sits in the maildir, read without going through Dovecot."""

    folder: str
    path: Path
    data: bytes
    flags: frozenset[str]  # IMAP flags: "\\Seen", "\\Flagged", "\\Deleted", keywords...
    recent: bool  # still in new/: no IMAP session has seen it yet

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]

    @property
    def message_id(self) -> str | None:
        return self.message["Message-ID"]

    @property
    def deleted(self) -> bool:
        return "\\Deleted" in self.flags


@dataclass
class Mailbox:
    """One login (user + password) with its maildir. Folder names use "/" or "." between
    levels, ASCII only; "INBOX" is the maildir's root."""

    server: DovecotServer
    user: str
    password: str
    maildir: Path
    _serial: int = field(default=0, repr=False)

    # The connection details, so a Mailbox alone is enough for a test.
    @property
    def host(self) -> str:
        return self.server.host

    @property
    def imap_port(self) -> int:
        return self.server.imap_port

    @property
    def imaps_port(self) -> int:
        return self.server.imaps_port

    @property
    def pop3_port(self) -> int:
        return self.server.pop3_port

    @property
    def pop3s_port(self) -> int:
        return self.server.pop3s_port

    @property
    def cafile(self) -> Path:
        return self.server.cafile

    def ssl_context(self) -> ssl.SSLContext:
        return self.server.ssl_context()

    def folder_path(self, folder: str = "INBOX") -> Path:
        if folder.upper() == "INBOX":
            return self.maildir
        # Maildir++: sub-folders are dot-folders in the root, levels joined by "."
        return self.maildir / ("." + folder.replace("/", "."))

    def _make_folder(self, folder: str) -> Path:
        path = self.folder_path(folder)
        if (path / "tmp").is_dir():
            return path
        made = [p for p in (self.maildir, path) if not p.exists()]
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        if path != self.maildir:
            (path / "maildirfolder").touch()
        for created in made or [path]:
            self.server._chown(created)  # under root: the mail user must own what we made
        return path

    def deliver(
        self, message: bytes | EmailMessage, folder: str = "INBOX", flags: str = ""
    ) -> Path:
        """Drop a message into `folder` the way a local delivery agent does: write it under
        tmp/, then rename it into new/ (or cur/ with `flags`, e.g. "S" for seen, "F" for
        flagged). Dovecot picks it up at the next IMAP/POP3 sync. Returns the file's path."""
        data = message.as_bytes() if isinstance(message, EmailMessage) else message
        data = data.replace(b"\r\n", b"\n")  # maildir files use LF, Dovecot adds CR on output
        path = self._make_folder(folder)
        self._serial += 1
        base = f"{time.time_ns() // 10**9}.M{time.time_ns() % 10**9 // 1000}P{os.getpid()}"
        base += f"Q{self._serial}R{secrets.token_hex(4)}.newsletter-tests"
        tmp = path / "tmp" / base
        tmp.write_bytes(data)
        self.server._chown_file(tmp)
        target = (
            path / "cur" / f"{base}:2,{''.join(sorted(flags))}" if flags else path / "new" / base
        )
        os.rename(tmp, target)
        return target

    def folders(self) -> list[str]:
        """INBOX and every folder that exists on disk, in "/"-separated form."""
        names = ["INBOX"]
        if self.maildir.exists():
            names += sorted(
                p.name[1:].replace(".", "/")
                for p in self.maildir.iterdir()
                if p.is_dir() and p.name.startswith(".") and (p / "cur").is_dir()
            )
        return names

    def _keywords(self, path: Path) -> dict[str, str]:
        # dovecot-keywords lists "index keyword"; file names use a, b, c... for index 0, 1, 2...
        keywords: dict[str, str] = {}
        try:
            lines = (path / "dovecot-keywords").read_text().splitlines()
        except OSError:
            return keywords
        for line in lines:
            index, _, name = line.partition(" ")
            if index.isdigit() and int(index) < 26 and name:
                keywords[chr(ord("a") + int(index))] = name
        return keywords

    def messages(self, folder: str = "INBOX") -> list[StoredMessage]:
        """Every message file in `folder` (new/ and cur/), oldest delivery first, with its
        flags. Expunged messages are gone; messages marked \\Deleted are still listed."""
        path = self.folder_path(folder)
        for _ in range(10):  # Dovecot may rename a file (new/ -> cur/, flag change) meanwhile
            try:
                return self._read_messages(folder, path)
            except FileNotFoundError:
                time.sleep(0.02)
        return self._read_messages(folder, path)

    def _read_messages(self, folder: str, path: Path) -> list[StoredMessage]:
        if not path.is_dir():
            return []
        keywords = self._keywords(path)
        found: list[StoredMessage] = []
        for sub in ("new", "cur"):
            for file in (path / sub).iterdir():
                info = file.name.partition(":2,")[2]
                flags = {MAILDIR_FLAGS[c] for c in info if c in MAILDIR_FLAGS}
                flags |= {keywords.get(c, c) for c in info if c.islower()}
                found.append(
                    StoredMessage(
                        folder=folder,
                        path=file,
                        data=file.read_bytes(),
                        flags=frozenset(flags),
                        recent=sub == "new",
                    )
                )
        # Maildir names start with the delivery time in seconds: sort by it, then by name.
        found.sort(key=lambda m: (_delivery_time(m.path.name), m.path.name))
        return found


class DovecotServer:
    """One `dovecot -F` master process with its own config under a temp folder."""

    host = LOOPBACK

    def __init__(self, *, user: str = "reader", password: str | None = None) -> None:
        self.default_user = user
        self.default_password = password or secrets.token_urlsafe(12)
        self.base: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.imap_port = self.imaps_port = self.pop3_port = self.pop3s_port = 0
        self.startup_seconds = 0.0
        self.mailbox: Mailbox | None = None
        self._mailboxes = 0
        if is_root():
            owner = pwd.getpwnam(MAIL_OWNER_WHEN_ROOT)
            self.internal_user, self.login_user = "dovecot", "dovenull"
        else:
            owner = current_user()
            self.internal_user = self.login_user = owner.pw_name
        self.mail_uid, self.mail_gid = owner.pw_uid, owner.pw_gid

    # -- the default mailbox ----------------------------------------------------------------
    @property
    def user(self) -> str:
        return self._default().user

    @property
    def password(self) -> str:
        return self._default().password

    def deliver(
        self, message: bytes | EmailMessage, folder: str = "INBOX", flags: str = ""
    ) -> Path:
        return self._default().deliver(message, folder, flags)

    def messages(self, folder: str = "INBOX") -> list[StoredMessage]:
        return self._default().messages(folder)

    def folders(self) -> list[str]:
        return self._default().folders()

    def _default(self) -> Mailbox:
        assert self.mailbox is not None, "server not started"
        return self.mailbox

    # -- paths ------------------------------------------------------------------------------
    def _path(self, name: str) -> Path:
        assert self.base is not None, "server not started"
        return self.base / name

    @property
    def cafile(self) -> Path:
        return self._path("cert.pem")

    @property
    def log_path(self) -> Path:
        return self._path("dovecot.log")

    @property
    def config_path(self) -> Path:
        return self._path("dovecot.conf")

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate (and checks the name)."""
        return ssl.create_default_context(cafile=str(self.cafile))

    # -- users ------------------------------------------------------------------------------
    def add_mailbox(self, user: str | None = None, password: str | None = None) -> Mailbox:
        """A new login with an empty maildir: isolation per test without a new server."""
        if user is None:
            self._mailboxes += 1
            user = f"user{self._mailboxes}-{secrets.token_hex(3)}"
        if not user or any(c in user for c in "/:%\n") or user.startswith("."):
            raise ValueError(f"unusable user name {user!r}")
        password = password or secrets.token_urlsafe(12)
        # passwd-file line: user:password:uid:gid:gecos:home:shell:extra
        entry = self._path("passwd.d") / user
        entry.write_text(f"{user}:{{PLAIN}}{password}::::::\n")
        entry.chmod(0o644)
        box = Mailbox(self, user, password, self._path("mail") / user)
        box._make_folder("INBOX")
        return box

    def _chown(self, path: Path) -> None:
        if is_root():
            chown_tree(path, self.mail_uid, self.mail_gid)

    def _chown_file(self, path: Path) -> None:
        if is_root():
            os.chown(path, self.mail_uid, self.mail_gid)

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> DovecotServer:
        for program in (DOVECOT, "openssl", "setpriv"):
            if shutil.which(program) is None:
                raise FileNotFoundError(
                    f"{program} not found: install the test servers with bash .ci/server-deps.sh"
                )
        started = time.monotonic()
        self.base = server_tempdir("newsletter-dovecot-")
        try:
            for sub in ("run", "state", "passwd.d", "mail", "home"):
                self._path(sub).mkdir()
            self._chown(self._path("mail"))
            self._chown(self._path("home"))
            self._make_certificate()
            self.mailbox = self.add_mailbox(self.default_user, self.default_password)
            # Ports picked now may be taken by someone else before Dovecot binds: retry.
            for attempt in range(3):
                ports = free_ports(4)
                self.imap_port, self.imaps_port, self.pop3_port, self.pop3s_port = ports
                self._write_config()
                try:
                    self._start_dovecot()
                    break
                except RuntimeError:
                    self._kill()
                    if attempt == 2 or "Address already in use" not in log_tail(self._logs()):
                        raise
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _make_certificate(self) -> None:
        # the names cover both ways a test may dial
        self_signed(self.cafile.parent, "DNS:localhost,IP:127.0.0.1")

    def _write_config(self) -> None:
        b = self.base
        assert b is not None
        internal_group = grp.getgrgid(pwd.getpwnam(self.internal_user).pw_gid).gr_name
        self.config_path.write_text(
            f"""# written by tests/support/dovecot.py: no system config is read
instance_name = newsletter-tests-{b.name}
base_dir = {b}/run
state_dir = {b}/state
log_path = {b}/dovecot.log
protocols = imap pop3
listen = {self.host}
shutdown_clients = yes

default_internal_user = {self.internal_user}
default_internal_group = {internal_group}
default_login_user = {self.login_user}
mail_uid = {self.mail_uid}
mail_gid = {self.mail_gid}
first_valid_uid = {self.mail_uid}
last_valid_uid = {self.mail_uid}
first_valid_gid = {self.mail_gid}
last_valid_gid = {self.mail_gid}

ssl = yes
ssl_cert = <{self.cafile}
ssl_key = <{b}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
# A test of a wrong password must not slow down the next login: no 2 s failure delay, and no
# per-IP penalty (every test connects from 127.0.0.1). Mode 0 removes the penalty socket, and
# the auth process then quietly skips penalties.
auth_failure_delay = 0
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {b}/passwd.d/%u
}}
userdb {{
  driver = static
  args = home={b}/home/%u
}}
mail_location = maildir:{b}/mail/%u
namespace inbox {{
  inbox = yes
  # Like most real accounts: Archive and Trash exist from the first login.
  mailbox Archive {{
    auto = create
    special_use = \\Archive
  }}
  mailbox Trash {{
    auto = create
    special_use = \\Trash
  }}
}}

service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = {self.host}
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    address = {self.host}
    port = {self.pop3s_port}
    ssl = yes
  }}
}}
{self._chroot_overrides()}
"""
        )

    def _chroot_overrides(self) -> str:
        # chroot() needs root. Tests gain nothing from it, so no service chroots, root or not.
        services = ("imap-login", "pop3-login", "ipc", "old-stats", "stats")  # anvil: above
        out = ""
        for name in services:
            out += f"service {name} {{\n  chroot =\n}}\n"
        if not is_root():
            # Default `service auth-worker { user = root }` etc. cannot setuid as a normal user.
            out += f"service auth-worker {{\n  user = {self.internal_user}\n}}\n"
        return out

    def _start_dovecot(self) -> None:
        self.log_path.unlink(missing_ok=True)
        # Errors before the log process is up (bad config, bind failures) go to stderr.
        with open(self._path("dovecot.stderr"), "ab") as stderr:
            self.process = subprocess.Popen(
                guarded([DOVECOT, "-F", "-c", str(self.config_path)], death_signal="TERM"),
                cwd=self.base,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,  # one process group to stop at once
            )
        process = self.process
        ports = [self.imap_port, self.imaps_port, self.pop3_port, self.pop3s_port]

        def ready() -> bool:
            return all(_listening(self.host, port) for port in ports)

        wait_until(
            ready,
            timeout=30,
            alive=lambda: process.poll() is None,
            what="dovecot",
            log=self._logs(),
        )

    def _logs(self) -> list[Path]:
        return [self._path("dovecot.stderr"), self.log_path]

    def _kill(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        # SIGKILL to the whole process group (its own session, see _start_dovecot): a graceful
        # SIGTERM costs a second of the master waiting on its children, for state nobody keeps.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()

    def stop(self) -> None:
        self._kill()
        if self.base is not None:
            remove_tree(self.base)
            self.base = None

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _delivery_time(name: str) -> int:
    head = name.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
