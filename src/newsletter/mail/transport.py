"""SMTP: connections, security, failure classes, retry delays and the rate limit.

The only module that speaks smtplib. One `SmtpTransport` is one reused connection that
sends one message per SMTP transaction (a personal List-Unsubscribe means one message per
recipient). Failures are classified for the send loop:

- `TemporaryFailure`: a 4xx reply or a connection lost before the message was handed over;
  retry later. `ConnectionLost(after_data=True)` is the one ambiguous case: the link broke
  after the end of the DATA (the final ".") but before the server's reply, so it may have
  been delivered.
- `PermanentFailure`: a 5xx reply; `stage` says whether the recipient ("RCPT"/"DATA") or the
  sender ("MAIL") was refused.
- `ConnectFailure`: no usable connection (refused, TLS, login); `permanent` when retrying
  cannot help (bad credentials, no STARTTLS offered).
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from typing import Protocol

from newsletter.config import Config, SmtpConfig
from newsletter.config_rules import unencrypted_smtp
from newsletter.errors import ConfigError, SendError

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 5.0
RETRY_CAP_SECONDS = 300.0
_EXPECTED = {"MAIL": (250,), "RCPT": (250, 251), "DATA": (354,)}
END_OF_DATA = b".\r\n"  # after the body's last CRLF: the server now holds the message
_UNSAFE_ADDRESS = re.compile(r"[\s<>]|^$")  # would break the command line it goes into


class TemporaryFailure(SendError):
    """The server (or the link) said "not now": try this message again later."""

    def __init__(self, message: str, code: int = 0, stage: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.stage = stage


class ConnectionLost(TemporaryFailure):
    """The connection broke during a transaction; `after_data` when it may have been delivered."""

    def __init__(self, message: str, after_data: bool = False) -> None:
        super().__init__(message, 0, "DATA-END" if after_data else "")
        self.after_data = after_data


class PermanentFailure(SendError):
    """A 5xx reply: this message will not be accepted as it is."""

    def __init__(self, message: str, code: int = 0, stage: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.stage = stage


class ConnectFailure(SendError):
    """No usable SMTP connection; `permanent` when retrying cannot help."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


# called after a message's body went out and before its final ".": the last moment the
# server would still drop the message if the sender died
BeforeEnd = Callable[[], None]


class Transport(Protocol):
    """What the send loop needs from a connection."""

    def send(
        self,
        sender: str,
        recipient: str,
        data: bytes,
        smtp_safe: bool = False,
        before_end: BeforeEnd | None = None,
    ) -> None: ...

    def close(self) -> None: ...


def check_security(smtp: SmtpConfig) -> None:
    """ConfigError for settings that would send mail (or a password) in clear text."""
    if smtp.security not in ("starttls", "tls", "none"):
        raise ConfigError(
            f"smtp.security must be 'starttls', 'tls' or 'none', got {smtp.security!r}"
        )
    problem = unencrypted_smtp(smtp)
    if problem:
        raise ConfigError(problem)


def retry_delays(max_retries: int, base: float = RETRY_BASE_SECONDS) -> list[float]:
    """Seconds to wait before each retry round: exponential backoff, capped."""
    return [min(RETRY_CAP_SECONDS, base * 2**i) for i in range(max(0, max_retries))]


def _classify(code: int, reply: bytes, stage: str) -> SendError:
    text = f"{stage}: {code} {reply.decode('utf-8', 'replace').strip()}"
    if 500 <= code < 600:
        return PermanentFailure(text, code, stage)
    return TemporaryFailure(text, code, stage)


def smtp_payload(data: bytes, smtp_safe: bool = False) -> bytes:
    """The DATA payload: `smtp_body` and the terminating '.' line."""
    return smtp_body(data, smtp_safe) + END_OF_DATA


def smtp_body(data: bytes, smtp_safe: bool = False) -> bytes:
    """The DATA payload without its terminating '.' line: CRLF line ends, dot-stuffed,
    ending in CRLF.

    `smtp_safe` bytes are known to have CRLF line ends and no line starting with '.'
    (`newsletter.mail.compose` builds them so), which saves four scans of the message; any other
    bytes are corrected here rather than corrupted on the wire.
    """
    if smtp_safe:
        return data if data.endswith(b"\r\n") else data + b"\r\n"
    crlf = data.count(b"\r\n")
    if data.count(b"\n") != crlf or data.count(b"\r") != crlf:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if data.startswith(b"."):
        data = b"." + data
    if b"\n." in data:
        data = data.replace(b"\n.", b"\n..")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


class SmtpTransport:
    """One reused SMTP connection, opened on first use and reopened after a drop."""

    def __init__(
        self,
        smtp: SmtpConfig,
        password: str = "",
        *,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        allow_pipelining: bool = True,
    ) -> None:
        check_security(smtp)
        self.config = smtp
        self.password = password
        self.ssl_context = ssl_context
        self.local_hostname = local_hostname
        self.allow_pipelining = allow_pipelining
        self.pipelining = False  # known after EHLO
        self._smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    def connect(self) -> None:
        """Open, secure and authenticate the connection (no-op when already open)."""
        if self._smtp is not None:
            return
        cfg = self.config
        context = self.ssl_context or ssl.create_default_context()
        smtp: smtplib.SMTP | None = None
        try:
            if cfg.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, self.local_hostname, timeout=cfg.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, self.local_hostname, timeout=cfg.timeout)
            # the final "." follows the body as its own small write (the send loop records
            # its state in between): without this, Nagle's algorithm holds it back until
            # the server's delayed ACK, some 40 ms per message
            if smtp.sock is not None:
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo_or_helo_if_needed()
            if cfg.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise ConnectFailure(
                        f'{self.where} does not offer STARTTLS; use smtp.security = "tls" '
                        "(usually port 465) or check smtp.host/port",
                        permanent=True,
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if cfg.username:
                smtp.login(cfg.username, self.password)
        except ConnectFailure:
            _quietly_close(smtp)
            raise
        except smtplib.SMTPAuthenticationError as e:
            _quietly_close(smtp)
            raise ConnectFailure(
                f"{self.where} refused the login of {cfg.username!r} ({e.smtp_code}); check "
                "smtp.username and NEWSLETTER_SMTP_PASSWORD",
                permanent=True,
            ) from e
        except smtplib.SMTPNotSupportedError as e:
            _quietly_close(smtp)
            raise ConnectFailure(
                f"{self.where} does not support login: {e}; remove smtp.username or use "
                "another security setting",
                permanent=True,
            ) from e
        except ssl.SSLCertVerificationError as e:
            _quietly_close(smtp)
            raise ConnectFailure(
                f"the TLS certificate of {self.where} is not valid ({e.verify_message}); check "
                "smtp.host matches the server's certificate",
                permanent=True,
            ) from e
        except (OSError, smtplib.SMTPException) as e:
            _quietly_close(smtp)
            raise ConnectFailure(
                f"cannot connect to {self.where}: {e}; check [smtp] host, port and security "
                "in newsletter.toml"
            ) from e
        self._smtp = smtp
        self.pipelining = self.allow_pipelining and smtp.has_extn("pipelining")
        logger.debug("connected to %s (%s)", self.where, cfg.security)

    def send(
        self,
        sender: str,
        recipient: str,
        data: bytes,
        smtp_safe: bool = False,
        before_end: BeforeEnd | None = None,
    ) -> None:
        """One SMTP transaction: MAIL, RCPT, DATA. Raises the failure classes above.

        The body goes out first, then `before_end` runs (the send loop records there that
        the message is about to be complete), then the final "." and the reply. If
        `before_end` raises, the connection is dropped without the "." (so the server
        discards the message) and the exception propagates. `smtp_safe`: see `smtp_body`.
        """
        for stage, address in (("MAIL", sender), ("RCPT", recipient)):
            if _UNSAFE_ADDRESS.search(address):
                raise PermanentFailure(
                    f"{stage}: refusing the malformed address {address!r}", 0, stage
                )
        self.connect()
        smtp = self._smtp
        assert smtp is not None
        stage = "MAIL"
        try:
            self._open_data(smtp, sender, recipient)
            stage = "DATA"
            smtp.send(smtp_body(data, smtp_safe))
        except (smtplib.SMTPServerDisconnected, OSError) as e:
            raise self._lost(stage, e) from e
        if before_end is not None:
            try:
                before_end()
            except BaseException:
                self.drop()  # never a QUIT here: it would become part of the message
                raise
        try:
            smtp.send(END_OF_DATA)  # from here on the server may hold the message
            code, reply = smtp.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as e:
            raise self._lost("DATA-END", e) from e
        if code != 250:
            if code == 421:
                self.close()
            raise _classify(code, reply, "DATA-END")

    def _lost(self, stage: str, error: Exception) -> ConnectionLost:
        self.drop()
        return ConnectionLost(
            f"{stage}: connection to {self.where} lost: {error}", after_data=stage == "DATA-END"
        )

    def _open_data(self, smtp: smtplib.SMTP, sender: str, recipient: str) -> None:
        """MAIL, RCPT and DATA up to the server's 354, in one round trip when it offers
        PIPELINING (RFC 2920), else one command at a time."""
        commands = (
            ("MAIL", f"MAIL FROM:<{sender}>"),
            ("RCPT", f"RCPT TO:<{recipient}>"),
            ("DATA", "DATA"),
        )
        replies: list[tuple[int, bytes]] = []
        if self.pipelining:
            smtp.send("".join(f"{command}\r\n" for _, command in commands))
            replies = [smtp.getreply() for _ in commands]
        else:
            for stage, command in commands:
                replies.append(smtp.docmd(command))
                if replies[-1][0] not in _EXPECTED[stage]:
                    break
        for (stage, _), (code, reply) in zip(commands, replies, strict=False):
            if code not in _EXPECTED[stage]:
                if len(replies) == 3 and replies[2][0] == 354:
                    # a server that accepted DATA after refusing a recipient gets an empty
                    # message, which it must then reject for want of recipients
                    smtp.send(b".\r\n")
                    smtp.getreply()
                self._abort(code)
                raise _classify(code, reply, stage)

    def _abort(self, code: int) -> None:
        """End a refused transaction so the connection can carry the next one."""
        if code == 421:  # the server is closing the channel
            self.close()
            return
        try:
            self._smtp.rset()  # type: ignore[union-attr]
        except (smtplib.SMTPException, OSError):
            self.close()

    def send_message(self, message: EmailMessage, sender: str, recipient: str) -> None:
        """Send an EmailMessage (e.g. a confirmation mail) to one recipient."""
        self.send(sender, recipient, message.as_bytes(policy=policy.SMTP))

    def drop(self) -> None:
        """Close the socket without a word (mid-DATA, the server then discards the message)."""
        smtp, self._smtp = self._smtp, None
        _quietly_close(smtp)

    def close(self) -> None:
        """QUIT and close; safe to call twice."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            _quietly_close(smtp)

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _quietly_close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.close()
        except OSError:
            pass


def smtp_factory(config: Config) -> Callable[[], SmtpTransport]:
    """A factory of connections to the configured server (checked for security now)."""
    check_security(config.smtp)
    return lambda: SmtpTransport(config.smtp, config.smtp_password)


class SendPacer:
    """Spaces sends `1/rate` seconds apart across every thread (rate <= 0: no limit)."""

    def __init__(
        self,
        rate: float,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.sleep = sleep
        self.monotonic = monotonic
        self._next = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next slot; the seconds to wait for it (call `sleep` with them)."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = self.monotonic()
            slot = max(self._next, now)
            self._next = slot + self.interval
        return slot - now

    def wait(self) -> None:
        """Block until this caller's slot comes."""
        delay = self.reserve()
        if delay > 0:
            self.sleep(delay)
