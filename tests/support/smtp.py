"""A real SMTP server on 127.0.0.1 for tests: records every message per recipient and can
inject faults.

    with SmtpServer() as server:                       # a free port on 127.0.0.1
        config = dataclasses.replace(config, smtp=server.smtp_config(connections=2))
        ...
        server.messages["ann@example.com"]              # list of raw message bytes
        server.parsed("ann@example.com")                # list of EmailMessage

Faults (set before or during a test; all thread-safe):
    server.handler.temp_fail["bob@example.com"] = 2     # 451 at RCPT, the first 2 times
    server.handler.reject.add("eve@example.com")        # 550 at RCPT, every time
    server.handler.drop_after = 5                       # after 5 accepted messages, drop the
                                                        # next connection that starts a
                                                        # transaction (once; `drop_times` more)
    server.handler.drop_after_data = 3                  # after the 3rd message's data is
                                                        # received: keep it, close without reply
    server.handler.mail_reply = "550 5.7.1 no"          # refuse the sender (MAIL FROM)
    server.handler.on_data = callback                   # called with each envelope at DATA
    server.handler.on_rcpt = callback                   # called with each envelope at RCPT
    server.handler.pipelining = True                    # advertise PIPELINING

`GatedHandler` stops one chosen point of the conversation, tells the test, and holds it
there until the test kills the client (see its docstring).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from newsletter.config import SmtpConfig


class RecordingHandler:
    """aiosmtpd handler: stores messages per recipient, answers with injected faults."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: dict[str, list[bytes]] = defaultdict(list)
        self.rcpt_attempts: Counter[str] = Counter()
        self.accepted = 0  # messages accepted (one per DATA)
        self.sessions = 0
        self.temp_fail: dict[str, int] = {}
        self.reject: set[str] = set()
        self.drop_after: int | None = None
        self.drop_times = 1
        self.dropped = 0
        self.drop_after_data: int | None = None
        self.tls_sessions: list[bool] = []  # per accepted message: was the session encrypted
        self.on_data: Any = None  # called with the envelope before a message is accepted
        self.on_rcpt: Any = None  # called with the envelope when a RCPT arrives
        self.mail_reply: str | None = None  # e.g. "550 sender refused": answer to every MAIL
        self.pipelining = False  # advertise PIPELINING (RFC 2920) in the EHLO reply

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        if self.pipelining:  # aiosmtpd reads pipelined commands fine but does not say so
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            drop = (
                self.drop_after is not None
                and self.accepted >= self.drop_after
                and self.dropped < self.drop_times
            )
            if drop:
                self.dropped += 1
        if drop:
            server.transport.close()  # no reply: the client sees the link die
            return "421 4.3.0 closing"
        if self.mail_reply is not None:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            self.rcpt_attempts[address] += 1
        if self.on_rcpt is not None:
            self.on_rcpt(envelope)
        with self.lock:
            if address in self.reject:
                return "550 5.1.1 no such mailbox here"
            if self.temp_fail.get(address, 0) > 0:
                self.temp_fail[address] -= 1
                return "451 4.7.1 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if self.on_data is not None:
            self.on_data(envelope)
        with self.lock:
            encrypted = server.transport.get_extra_info("ssl_object") is not None
            self.tls_sessions.append(encrypted or session.ssl is not None)
            for rcpt in envelope.rcpt_tos:
                self.messages[rcpt].append(content)
            self.accepted += 1
            vanish = self.drop_after_data is not None and self.accepted == self.drop_after_data
        if vanish:
            server.transport.close()
        return "250 OK queued"

    @property
    def total(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.messages.values())


GATE_POINTS = ("connect", "mail", "rcpt", "body", "dot", "reply")


class GatedHandler(RecordingHandler):
    """A recording handler that stops the conversation at one point and holds it there.

    `point` is where, in the `nth` SMTP transaction (`nth` connection for "connect"):

    - "connect": the EHLO arrived; no reply yet
    - "mail" / "rcpt": the MAIL / RCPT command arrived; no reply yet
    - "body": mid-DATA: a few lines of the message were read, the rest is not (the store
      at `store_path` is write-locked from the DATA command on, so the client, whose
      body went out, waits on the store before it may send the final ".")
    - "dot": the whole message arrived and was recorded (the server holds it); no reply
    - "reply": the message was recorded and "250" sent; the store is write-locked, so the
      client waits before it can record the reply

    `reached` is set when the point is reached; the test then kills the client and calls
    `open_gate()` (which also unlocks the store).
    """

    def __init__(self, point: str, nth: int = 1, store_path: str | None = None) -> None:
        super().__init__()
        if point not in GATE_POINTS:
            raise ValueError(f"point must be one of {GATE_POINTS}, got {point!r}")
        self.point = point
        self.nth = nth
        self.store_path = store_path
        self.reached = threading.Event()
        self.released = threading.Event()
        self.ehlos = 0
        self.mails = 0
        self._store_lock: sqlite3.Connection | None = None

    def open_gate(self) -> None:
        """Let the held conversation go on (it finds its client gone) and unlock the store."""
        self.released.set()
        with self.lock:
            db, self._store_lock = self._store_lock, None
        if db is not None:
            db.execute("ROLLBACK")
            db.close()

    def _lock_store(self) -> None:
        assert self.store_path, "this gate point needs store_path"
        db = sqlite3.connect(self.store_path, isolation_level=None, check_same_thread=False)
        db.execute("BEGIN IMMEDIATE")
        with self.lock:
            self._store_lock = db

    async def _hold(self) -> None:
        self.reached.set()
        while not self.released.is_set():  # cancelled when the client's connection drops
            await asyncio.sleep(0.01)

    def _here(self, point: str) -> bool:
        return self.point == point and not self.reached.is_set() and self.mails == self.nth

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        with self.lock:
            self.ehlos += 1
            hold = self.point == "connect" and self.ehlos == self.nth
        if hold:
            await self._hold()
        return await super().handle_EHLO(server, session, envelope, hostname, responses)

    async def handle_MAIL(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        with self.lock:
            self.mails += 1
        if self._here("mail"):
            await self._hold()
        return await super().handle_MAIL(server, session, envelope, address, options)

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        if self._here("rcpt"):
            await self._hold()
        return await super().handle_RCPT(server, session, envelope, address, options)

    async def on_data_command(self, server: SMTP) -> None:
        """Called when DATA arrives, before the 354 (see `_ObservedSMTP`)."""
        if not self._here("body"):
            return
        self._lock_store()  # the client waits for the 354: it is not writing the store now
        server._reader = _HoldingReader(server._reader, 3, self._hold)  # type: ignore[attr-defined]

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        reply = await super().handle_DATA(server, session, envelope)
        if self._here("dot"):
            await self._hold()
        elif self._here("reply"):
            self._lock_store()
            # give the reply time to reach the client before the test is told
            asyncio.get_running_loop().call_later(0.3, self.reached.set)
        return reply


class _HoldingReader:
    """A stream reader that hands out `lines` lines of the DATA, then holds."""

    def __init__(self, reader: asyncio.StreamReader, lines: int, hold: Any) -> None:
        self._reader = reader
        self._left = lines
        self._hold = hold

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        if self._left == 0:
            await self._hold()
        self._left -= 1
        return await self._reader.readuntil(separator)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class _ObservedSMTP(SMTP):
    """aiosmtpd's server, telling the handler when the DATA command arrives."""

    async def smtp_DATA(self, arg: str) -> None:
        hook = getattr(self.event_handler, "on_data_command", None)
        if hook is not None:
            await hook(self)
        await super().smtp_DATA(arg)


class _Controller(Controller):
    """Controller bound to port 0: learns the real port before its readiness check."""

    def factory(self) -> SMTP:
        return _ObservedSMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    """A recording aiosmtpd server on 127.0.0.1 with a free port."""

    def __init__(self, handler: RecordingHandler | None = None, **smtp_options: Any) -> None:
        """`smtp_options` go to aiosmtpd: ssl_context (implicit TLS), tls_context (STARTTLS),
        authenticator, auth_require_tls, ..."""
        self.handler = handler or RecordingHandler()
        self.controller = _Controller(self.handler, hostname="127.0.0.1", port=0, **smtp_options)
        self.host = "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def messages(self) -> dict[str, list[bytes]]:
        return self.handler.messages

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def smtp_config(self, **overrides: Any) -> SmtpConfig:
        """An SmtpConfig pointing at this server (plain SMTP on loopback)."""
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "security": "none",
            "timeout": 10.0,
            "connections": 1,
        }
        values.update(overrides)
        return SmtpConfig(**values)

    def parsed(self, recipient: str) -> list[EmailMessage]:
        """The messages a recipient got, parsed with the modern email policy."""
        parser = BytesParser(policy=policy.default)
        return [parser.parsebytes(raw) for raw in self.messages.get(recipient, [])]  # type: ignore[misc]

    def counts(self) -> dict[str, int]:
        """recipient -> number of messages received."""
        with self.handler.lock:
            return {k: len(v) for k, v in self.handler.messages.items()}

    def wait_for(self, total: int, timeout: float = 10.0) -> bool:
        """Wait until at least `total` messages arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.handler.total >= total:
                return True
            time.sleep(0.01)
        return self.handler.total >= total
