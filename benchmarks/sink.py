"""A fast SMTP sink for the benchmarks: just enough SMTP to take messages, counting the
copies each recipient gets, with an optional delay before the reply to each final "."
(a remote server's latency) and an optional PIPELINING offer (RFC 2920)."""

from __future__ import annotations

import asyncio
import re


class Sink(asyncio.Protocol):
    """One SMTP connection; the class attributes are the sink's settings and its counts."""

    delay = 0.0  # seconds before each message's "250" (0: at once)
    pipelining = True  # advertise PIPELINING: commands may arrive together
    counts: dict[str, int] = {}  # noqa: RUF012 (one sink per process): copies per recipient

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = bytearray()
        self.in_data = False
        self.scan_from = 0
        self.rcpts: list[str] = []
        self.transport.write(b"220 sink ESMTP\r\n")  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        write = self.transport.write  # type: ignore[attr-defined]
        while self.buffer:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n", self.scan_from)
                if end < 0:
                    self.scan_from = max(0, len(self.buffer) - 4)
                    return
                del self.buffer[: end + 5]
                self.in_data, self.scan_from = False, 0
                rcpts, self.rcpts = self.rcpts, []
                if self.delay:
                    asyncio.get_running_loop().call_later(self.delay, self._accept, rcpts)
                else:
                    self._accept(rcpts)
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 2]
            verb = line[:4].upper()
            if verb == b"EHLO":
                offer = b"250-PIPELINING\r\n" if self.pipelining else b""
                write(b"250-sink\r\n" + offer + b"250-8BITMIME\r\n250 SIZE 52428800\r\n")
            elif verb == b"RCPT":
                found = re.search(rb"<([^>]*)>", line)
                self.rcpts.append(found.group(1).decode() if found else "")
                write(b"250 OK\r\n")
            elif verb == b"DATA":
                self.in_data, self.scan_from = True, 0
                # the terminator search starts inside the data, which begins after a CRLF
                self.buffer[0:0] = b"\r\n"
                write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                write(b"221 bye\r\n")
                self.transport.close()
                return
            else:  # HELO, MAIL, RSET, NOOP
                write(b"250 OK\r\n")

    def _accept(self, rcpts: list[str]) -> None:
        for rcpt in rcpts:  # counted when accepted, as a real server would
            Sink.counts[rcpt] = Sink.counts.get(rcpt, 0) + 1
        if not self.transport.is_closing():  # type: ignore[attr-defined]
            self.transport.write(b"250 2.0.0 accepted\r\n")  # type: ignore[attr-defined]
