"""The bounce mailbox, read over IMAP or POP3 (`[bounces] mailbox`).

    imaps://user@host[:993]/INBOX     IMAP over TLS
    imap://user@host[:143]/INBOX      IMAP with STARTTLS (required: never a plain login)
    pop3s://user@host[:995]           POP3 over TLS
    pop3://user@host[:110]            POP3 with STLS (required)

The password comes from NEWSLETTER_BOUNCES_PASSWORD; `[bounces] ca_file` trusts a server
with a private certificate. A user name containing "@" is written %40.

What happens to a message once processed:

- IMAP: flagged `\\Seen` and `$NewsletterProcessed` (the next run skips it), or, with
  `[bounces] move_to`, also moved to that folder. Never deleted unless
  `delete_processed = true`, and even then only bounces, complaints and auto-replies: mail
  from a person stays for a person to read.
- POP3 has no flags: the store remembers each processed message by its UIDL. Deleted only
  with `delete_processed = true` (same rule).
- A message that cannot be fetched or parsed is left as it is and reported.
"""

from __future__ import annotations

import imaplib
import logging
import poplib
import re
import ssl
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, unquote, urlsplit

from newsletter.config import BouncesConfig
from newsletter.errors import ConfigError, NewsletterError
from newsletter.store import Store

from .readers import MAX_READ, ReadError

logger = logging.getLogger(__name__)

KEYWORD = "$NewsletterProcessed"
_PORTS = {"imaps": 993, "imap": 143, "pop3s": 995, "pop3": 110}
MAX_POP_MESSAGE = 16 << 20  # larger than any report: left alone rather than downloaded
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # would end an IMAP/POP3 command line
_DELIMITER = re.compile(r'\)\s+"([^"]*)"')  # (flags) "delimiter" "" in a LIST answer


class MailboxError(NewsletterError):
    """The mailbox could not be reached, logged into or used; the message names the fix."""


# what a session can raise once it is open (a dropped link, a protocol error)
SESSION_ERRORS = (OSError, imaplib.IMAP4.error, poplib.error_proto)


@dataclass(frozen=True)
class MailboxUrl:
    scheme: str
    user: str
    host: str
    port: int
    folder: str

    @classmethod
    def parse(cls, url: str) -> MailboxUrl:
        """ConfigError naming the problem for anything but scheme://user@host[:port][/folder]."""
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _PORTS:
            raise ConfigError(
                f"bounces.mailbox {url!r}: use imaps://, imap://, pop3s:// or pop3://"
            )
        if parts.password is not None:
            raise ConfigError(
                "bounces.mailbox must not contain a password; set NEWSLETTER_BOUNCES_PASSWORD"
            )
        try:
            port = parts.port or _PORTS[scheme]
        except ValueError as e:
            raise ConfigError(f"bounces.mailbox {url!r}: bad port ({e})") from e
        if not parts.username or not parts.hostname:
            raise ConfigError(
                f"bounces.mailbox {url!r} needs a user and a host, e.g. "
                f"{scheme}://bounces@mail.example.org/INBOX"
            )
        folder = unquote(parts.path.lstrip("/"))
        user = unquote(parts.username)
        if _CONTROL.search(user + folder):
            raise ConfigError(f"bounces.mailbox {url!r} contains control characters")
        if scheme.startswith("pop3") and folder:
            raise ConfigError(f"bounces.mailbox {url!r}: POP3 has no folders; remove /{folder}")
        return cls(scheme, user, parts.hostname, port, folder or "INBOX")

    @property
    def is_pop(self) -> bool:
        return self.scheme.startswith("pop3")

    def __str__(self) -> str:
        where = f"{self.scheme}://{quote(self.user, safe='')}@{self.host}:{self.port}"
        return where if self.is_pop else f"{where}/{quote(self.folder, safe='/')}"


class Mailbox(Protocol):
    """What processing needs from a mailbox."""

    name: str

    def pending(self) -> list[str]: ...

    def fetch(self, uid: str) -> bytes | ReadError: ...

    def done(self, uid: str, deletable: bool) -> None: ...

    def close(self) -> None: ...


def tls_context(bounces: BouncesConfig, resolve=None) -> ssl.SSLContext:
    """Certificate-checking TLS; `ca_file` (resolved by the caller) trusts a private CA."""
    cafile = str(resolve(bounces.ca_file)) if bounces.ca_file and resolve else bounces.ca_file
    try:
        return ssl.create_default_context(cafile=cafile or None)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"bounces.ca_file {cafile!r} cannot be read: {e}") from e


def open_mailbox(
    bounces: BouncesConfig, password: str, store: Store, context: ssl.SSLContext
) -> Mailbox:
    """Connect and log in to `[bounces] mailbox`; MailboxError when that fails."""
    url = MailboxUrl.parse(bounces.mailbox)
    if not password:
        raise ConfigError(
            f"NEWSLETTER_BOUNCES_PASSWORD is not set: the password of {url.user} at {url.host}"
        )
    if url.is_pop:
        return Pop3Mailbox(url, password, context, bounces, store)
    return ImapMailbox(url, password, context, bounces)


def _failure(url: MailboxUrl, e: Exception) -> MailboxError:
    if isinstance(e, ssl.SSLCertVerificationError):
        return MailboxError(
            f"the TLS certificate of {url.host}:{url.port} is not valid ({e.verify_message}); "
            "check the host name, or set bounces.ca_file for a private certificate"
        )
    return MailboxError(f"cannot read the mailbox {url}: {e}; check bounces.mailbox")


class ImapMailbox:
    """One IMAP session on the bounce folder."""

    def __init__(
        self, url: MailboxUrl, password: str, context: ssl.SSLContext, bounces: BouncesConfig
    ) -> None:
        self.url = url
        self.name = str(url)
        self.move_to = bounces.move_to
        self.delete = bounces.delete_processed
        try:
            if url.scheme == "imaps":
                self.imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    url.host, url.port, ssl_context=context, timeout=bounces.timeout
                )
            else:
                self.imap = imaplib.IMAP4(url.host, url.port, timeout=bounces.timeout)
                if "STARTTLS" not in self.imap.capabilities:
                    self.imap.shutdown()
                    raise MailboxError(
                        f"{url.host}:{url.port} does not offer STARTTLS; use imaps:// or a "
                        "server that encrypts (the password is never sent in the clear)"
                    )
                self.imap.starttls(ssl_context=context)
        except MailboxError:
            raise
        except (OSError, imaplib.IMAP4.error) as e:
            raise _failure(url, e) from e
        try:
            self.imap.login(url.user, password)
        except imaplib.IMAP4.error as e:
            self.close()
            raise MailboxError(
                f"{url.host} refused the login of {url.user!r} ({_text(e)}); check "
                "bounces.mailbox and NEWSLETTER_BOUNCES_PASSWORD"
            ) from e
        try:
            self._select()
        except BaseException:
            self.close()
            raise

    def _select(self) -> None:
        status, data = self.imap.select(_quoted(self.url.folder))
        if status != "OK":
            raise MailboxError(f"no folder {self.url.folder!r} in {self.url}: {_text(data)}")
        # what the server offers once logged in (the greeting's list may be shorter)
        status, data = self.imap.capability()
        capabilities = set(_text(data).upper().split()) if status == "OK" else set()
        self.can_move = "MOVE" in capabilities
        self.uidplus = "UIDPLUS" in capabilities
        flags = _text(self.imap.response("PERMANENTFLAGS")[1])
        if "\\*" not in flags and not self.move_to:
            raise MailboxError(
                f"{self.url} cannot store the {KEYWORD} keyword that marks processed "
                "messages; set bounces.move_to to a folder for them instead"
            )
        if self.move_to:
            self.target = _quoted(self._server_name(self.move_to))
            self.imap.create(self.target)  # "already exists" is fine; a bad name fails at MOVE

    def _server_name(self, folder: str) -> str:
        """A folder written with "/" between levels, in the server's own separator."""
        status, data = self.imap.list('""', '""')
        found = _DELIMITER.search(_text(data)) if status == "OK" else None
        delimiter = found.group(1) if found else "/"
        return folder.replace("/", delimiter) if delimiter not in ("", "NIL") else folder

    def pending(self) -> list[str]:
        """UIDs of the messages not processed yet, oldest first."""
        status, data = self.imap.uid("SEARCH", "UNKEYWORD", KEYWORD)
        if status != "OK":
            raise MailboxError(f"{self.url}: SEARCH failed: {_text(data)}")
        return [uid.decode("ascii") for uid in (data[0] or b"").split()]

    def fetch(self, uid: str) -> bytes | ReadError:
        """The message (its first MAX_READ bytes, enough for any report), unflagged."""
        try:
            status, data = self.imap.uid("FETCH", uid, f"(BODY.PEEK[]<0.{MAX_READ}>)")
        except imaplib.IMAP4.error as e:
            return ReadError(f"FETCH failed: {_text(e)}")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return ReadError(f"FETCH returned no message ({status} {_text(data)[:200]})")

    def done(self, uid: str, deletable: bool) -> None:
        """Mark processed; then delete (if configured and deletable) or move (if configured)."""
        self._ok(self.imap.uid("STORE", uid, "+FLAGS.SILENT", f"(\\Seen {KEYWORD})"), "STORE")
        if self.delete and deletable:
            self._ok(self.imap.uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)"), "STORE")
            self._expunge(uid)
        elif self.move_to:
            if self.can_move:
                self._ok(self.imap.uid("MOVE", uid, self.target), "MOVE")
            else:
                self._ok(self.imap.uid("COPY", uid, self.target), "COPY")
                self._ok(self.imap.uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)"), "STORE")
                self._expunge(uid)

    def _expunge(self, uid: str) -> None:
        # only this message: a plain EXPUNGE would also remove what a person marked deleted
        if self.uidplus:
            self._ok(self.imap.uid("EXPUNGE", uid), "UID EXPUNGE")

    def _ok(self, answer: tuple[str, list], what: str) -> None:
        status, data = answer
        if status != "OK":
            raise MailboxError(f"{self.url}: {what} failed: {_text(data)}")

    def close(self) -> None:
        # LOGOUT, not CLOSE: CLOSE would expunge every message marked deleted
        try:
            self.imap.logout()
        except (OSError, imaplib.IMAP4.error):
            try:
                self.imap.shutdown()
            except OSError:
                pass


class Pop3Mailbox:
    """One POP3 session; processed messages are remembered in the store by UIDL."""

    def __init__(
        self,
        url: MailboxUrl,
        password: str,
        context: ssl.SSLContext,
        bounces: BouncesConfig,
        store: Store,
    ) -> None:
        self.url = url
        self.name = str(url)
        self.store = store
        self.delete = bounces.delete_processed
        self.processed: list[str] = []
        try:
            if url.scheme == "pop3s":
                self.pop: poplib.POP3 = poplib.POP3_SSL(
                    url.host, url.port, context=context, timeout=bounces.timeout
                )
            else:
                self.pop = poplib.POP3(url.host, url.port, timeout=bounces.timeout)
                try:
                    self.pop.stls(context=context)
                except poplib.error_proto as e:
                    self.pop.close()
                    raise MailboxError(
                        f"{url.host}:{url.port} does not offer STLS ({_text(e)}); use pop3s:// "
                        "or a server that encrypts (the password is never sent in the clear)"
                    ) from e
        except MailboxError:
            raise
        except (OSError, poplib.error_proto) as e:
            raise _failure(url, e) from e
        try:
            self.pop.user(url.user)
            self.pop.pass_(password)
        except poplib.error_proto as e:
            self.pop.close()
            raise MailboxError(
                f"{url.host} refused the login of {url.user!r} ({_text(e)}); check "
                "bounces.mailbox and NEWSLETTER_BOUNCES_PASSWORD"
            ) from e
        except OSError as e:
            raise _failure(url, e) from e
        self.numbers: dict[str, int] = {}
        self.sizes: dict[int, int] = {}

    max_size = MAX_POP_MESSAGE

    def pending(self) -> list[str]:
        """UIDLs of the messages not processed before, in server order."""
        _, lines, _ = self.pop.uidl()
        for line in lines:
            number, _, uid = line.decode("ascii", "replace").partition(" ")
            self.numbers[uid.strip()] = int(number)
        _, lines, _ = self.pop.list()
        for line in lines:
            number, _, size = line.decode("ascii", "replace").partition(" ")
            self.sizes[int(number)] = int(size or 0)
        seen = self.store.seen_mailbox_uids(self.name)
        self.store.forget_mailbox_uids(self.name, seen - set(self.numbers))  # gone from server
        return [uid for uid in self.numbers if uid not in seen]

    def fetch(self, uid: str) -> bytes | ReadError:
        number = self.numbers[uid]
        if self.sizes.get(number, 0) > self.max_size:
            return ReadError(f"{self.sizes[number]:,} bytes: too big to be a report")
        try:
            _, lines, _ = self.pop.retr(number)
        except poplib.error_proto as e:
            return ReadError(f"RETR failed: {_text(e)}")
        return b"\r\n".join(lines) + b"\r\n"

    def done(self, uid: str, deletable: bool) -> None:
        if self.delete and deletable:
            self.pop.dele(self.numbers[uid])
        self.processed.append(uid)

    def close(self) -> None:
        """QUIT (which commits deletions), then remember what was processed. Remembered
        only after QUIT: should the session die first, the next run sees the messages
        again, and the store records each report once anyway."""
        try:
            self.pop.quit()
        except (OSError, poplib.error_proto) as e:
            logger.warning("%s: QUIT failed: %s", self.name, e)
            self.pop.close()
            return
        for uid in self.processed:
            self.store.remember_mailbox_uid(self.name, uid)


def _quoted(folder: str) -> str:
    """A mailbox name as an IMAP quoted string (imaplib sends arguments as they are)."""
    if _CONTROL.search(folder):
        raise ConfigError(f"the IMAP folder name {folder!r} contains control characters")
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value if v is not None)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, Exception) and value.args:
        return _text(value.args[0])
    return str(value)
