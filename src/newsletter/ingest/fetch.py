"""Fetch one feed's bytes: http(s) with timeouts, a size cap, gzip, redirects and
conditional GET, or a local path / file:// URL.

`fetch` never raises for network, HTTP or file problems: the response carries a one-line
human reason in `error` instead, so one bad feed never sinks a run.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urljoin, urlsplit

from newsletter import __version__
from newsletter.config import Config
from newsletter.errors import FeedError

if TYPE_CHECKING:
    from newsletter.store.items import FeedState

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
CHUNK = 64 * 1024
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
_REDIRECTS = {301, 302, 303, 307, 308}

# One certificate-checking TLS context for every https request of the process: making one
# loads the system's CA certificates, ~20 ms of CPU that a context per request paid again
# for every feed (2 s of a hundred https feeds, on the fetch threads' one GIL).
_tls_contexts: list[ssl.SSLContext] = []
_tls_lock = threading.Lock()


@dataclass(frozen=True)
class FetchResponse:
    """The raw outcome of fetching one feed URL (no parsing)."""

    url: str  # as requested (the configured feed URL)
    status: int | None = None  # HTTP status of the final response; None for local files
    body: bytes = b""  # decoded from gzip/deflate, at most fetch.max_bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    final_url: str = ""  # after redirects
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False  # 304 (or an unchanged local file): nothing to parse
    error: str = ""  # one-line human reason when the fetch failed
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error


class _Failed(FeedError):
    """A one-line reason, with the HTTP status and headers when there were some."""

    def __init__(
        self, reason: str, status: int | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.headers = dict(headers or {})  # Retry-After of a 429/503 says when to come back


def user_agent(config: Config) -> str:
    """The User-Agent header: fetch.user_agent, else "newsletter/<version> (+<site url>)"."""
    return config.fetch.user_agent or f"newsletter/{__version__} (+{config.site.url})"


def tls_context() -> ssl.SSLContext:
    """The shared context of https fetches, made by the first that needs it."""
    with _tls_lock:
        if not _tls_contexts:
            _tls_contexts.append(ssl.create_default_context())
        return _tls_contexts[0]


def is_http(url: str) -> bool:
    """True for http:// and https:// URLs (everything else is read as a local file)."""
    return url.lower().startswith(("http://", "https://"))


def fetch(url: str, state: FeedState | None, config: Config) -> FetchResponse:
    """Fetch one feed; `state` (from the store, or None) supplies ETag/Last-Modified."""
    start = time.monotonic()
    etag = state.etag if state is not None else ""
    last_modified = state.last_modified if state is not None else ""
    try:
        if is_http(url):
            response = _fetch_http(url, etag, last_modified, config, start)
        else:
            response = _fetch_file(url, etag, config)
    except _Failed as e:
        response = FetchResponse(
            url=url, status=e.status, error=one_line(str(e)), headers=e.headers
        )
    return replace(response, elapsed=time.monotonic() - start)


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace so a reason fits on one line of a report."""
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- local files -------------------------------------------------------------------------
def local_path(url: str) -> Path:
    """The filesystem path of a plain path or a file:// URL (FeedError for a remote host)."""
    if url.lower().startswith("file:"):
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise _Failed(f"file URL with a remote host is not supported: {url}")
        from urllib.request import url2pathname  # most of urllib: only for file:// URLs

        return Path(url2pathname(parts.path))
    return Path(url).expanduser()


def _fetch_file(url: str, etag: str, config: Config) -> FetchResponse:
    path = local_path(url)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise _Failed(f"{path} is a folder, not a feed file")
        if size > config.fetch.max_bytes:
            raise _Failed(
                f"file too large: {_size(size)}, more than fetch.max_bytes "
                f"({_size(config.fetch.max_bytes)})"
            )
        body = path.read_bytes()[: config.fetch.max_bytes]
    except FileNotFoundError:
        raise _Failed(f"file not found: {path}") from None
    except PermissionError:
        raise _Failed(f"permission denied reading {path}") from None
    except OSError as e:
        raise _Failed(f"cannot read {path}: {e.strerror or e}") from None
    # A content hash plays the ETag's part, so an unchanged file is not parsed again.
    digest = "sha256:" + hashlib.sha256(body).hexdigest()[:32]
    if etag and etag == digest:
        return FetchResponse(url=url, final_url=url, etag=digest, not_modified=True)
    return FetchResponse(url=url, body=body, final_url=url, etag=digest)


# -- HTTP --------------------------------------------------------------------------------
def _fetch_http(
    url: str, etag: str, last_modified: str, config: Config, start: float
) -> FetchResponse:
    headers = {
        "User-Agent": user_agent(config),
        "Accept": ACCEPT,
        "Accept-Encoding": "gzip, deflate",
        "Connection": "close",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    # A trickling server could answer each read just inside the read timeout forever;
    # this overall budget bounds the whole fetch.
    deadline = start + config.fetch.connect_timeout + 3 * config.fetch.timeout
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        conn, sock, response = _open(current, headers, config, deadline)
        try:
            status = response.status
            if status in _REDIRECTS:
                location = response.getheader("Location", "")
                if not location:
                    raise _Failed(f"HTTP {status} redirect without a Location header", status)
                target = urljoin(current, location.strip())
                if not is_http(target):
                    raise _Failed(f"redirected to a non-HTTP URL: {target}", status)
                if status in (301, 308):
                    logger.info("feed %s moved permanently to %s; update the config", url, target)
                current = target
                continue
            resp_headers = {k.lower(): v for k, v in response.getheaders()}
            etag = resp_headers.get("etag", "")
            last_modified = resp_headers.get("last-modified", "")
            if status == 304:
                return FetchResponse(
                    url=url,
                    status=304,
                    headers=resp_headers,
                    final_url=current,
                    not_modified=True,
                    etag=etag,
                    last_modified=last_modified,
                )
            if status >= 400 or status < 200:
                reason = _status_reason(status, response.reason, resp_headers)
                raise _Failed(reason, status, resp_headers)
            body = _read_body(response, sock, resp_headers, config, deadline, status)
            return FetchResponse(
                url=url,
                status=status,
                body=body,
                headers=resp_headers,
                final_url=current,
                etag=etag,
                last_modified=last_modified,
            )
        finally:
            response.close()
            conn.close()
    raise _Failed(f"too many redirects (more than {MAX_REDIRECTS})")


def _open(
    url: str, headers: dict[str, str], config: Config, deadline: float
) -> tuple[http.client.HTTPConnection, socket.socket, http.client.HTTPResponse]:
    """Connect (connect timeout), send the request and read the status line and headers."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        raise _Failed(f"invalid URL (no host): {url}")
    try:
        port = parts.port
        ascii_host = host.encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        raise _Failed(f"invalid URL: {url}") from None
    secure = parts.scheme.lower() == "https"
    where = f"{host}:{port or (443 if secure else 80)}"
    connect_timeout = config.fetch.connect_timeout
    conn: http.client.HTTPConnection
    if secure:
        conn = http.client.HTTPSConnection(
            ascii_host, port, timeout=connect_timeout, context=tls_context()
        )
    else:
        conn = http.client.HTTPConnection(ascii_host, port, timeout=connect_timeout)
    target = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        target += "?" + quote(parts.query, safe="=&%:@!$'()*+,;/?-._~")
    try:
        try:
            conn.connect()
        except TimeoutError:
            raise _Failed(
                f"connection timed out after {_secs(connect_timeout)} ({where})"
            ) from None
        sock = conn.sock
        sock.settimeout(max(0.01, min(config.fetch.timeout, deadline - time.monotonic())))
        try:
            conn.request("GET", target, headers=headers)
            response = conn.getresponse()
        except TimeoutError:
            raise _Failed(f"timeout after {_secs(config.fetch.timeout)} ({where})") from None
        return conn, sock, response
    except _Failed:
        conn.close()
        raise
    except Exception as e:
        conn.close()
        raise _Failed(_network_reason(e, host, where)) from None


def _read_body(
    response: http.client.HTTPResponse,
    sock: socket.socket,
    headers: Mapping[str, str],
    config: Config,
    deadline: float,
    status: int,
) -> bytes:
    """The body, capped at fetch.max_bytes before and after decompression."""
    limit = config.fetch.max_bytes
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _Failed(_too_large(int(length), limit), status)
    chunks: list[bytes] = []
    total = 0
    budget = config.fetch.connect_timeout + 3 * config.fetch.timeout
    too_slow = f"download took longer than {_secs(budget)} (fetch.timeout)"
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Failed(too_slow, status)
            sock.settimeout(max(0.01, min(config.fetch.timeout, remaining)))
            chunk = response.read1(CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise _Failed(_too_large(None, limit), status)
            chunks.append(chunk)
    except TimeoutError:
        if time.monotonic() >= deadline - 0.01:  # the read was cut short by the overall budget
            raise _Failed(too_slow, status) from None
        reason = f"timeout after {_secs(config.fetch.timeout)} while reading the body"
        raise _Failed(reason, status) from None
    except http.client.IncompleteRead:
        raise _Failed("connection closed before the whole response arrived", status) from None
    except (OSError, http.client.HTTPException) as e:
        raise _Failed(_network_reason(e, "", "the server"), status) from None
    body = b"".join(chunks)
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        body = decompress(body, limit, zlib.MAX_WBITS | 16, status)
    elif encoding == "deflate":
        try:
            body = decompress(body, limit, zlib.MAX_WBITS, status)
        except _Failed:  # some servers send raw deflate without the zlib header
            body = decompress(body, limit, -zlib.MAX_WBITS, status)
    elif encoding not in ("", "identity"):
        raise _Failed(f"unsupported Content-Encoding: {encoding}", status)
    return body


def decompress(data: bytes, limit: int, wbits: int, status: int | None = None) -> bytes:
    """Inflate gzip/zlib data, refusing more than `limit` bytes of output (zip bombs)."""
    out: list[bytes] = []
    total = 0
    try:
        while data:
            inflater = zlib.decompressobj(wbits)
            piece = inflater.decompress(data, limit + 1 - total)
            total += len(piece)
            out.append(piece)
            if total > limit or inflater.unconsumed_tail:
                raise _Failed(_too_large(None, limit) + " after decompression", status)
            # gzip allows several members back to back; anything else left is junk
            data = inflater.unused_data if wbits & 16 and inflater.eof else b""
    except zlib.error as e:
        raise _Failed(f"corrupt compressed response ({e})", status) from None
    return b"".join(out)


def _status_reason(status: int, reason: str, headers: Mapping[str, str]) -> str:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = reason or "error"
    text = f"HTTP {status} {phrase}"
    retry = headers.get("retry-after", "").strip()
    if status in (429, 503) and retry:
        text += f" (retry after {retry}{'s' if retry.isdigit() else ''})"
    if status == 410:
        text += ": the feed was removed; delete it from the config"
    return text


def _network_reason(error: BaseException, host: str, where: str) -> str:
    """A one-line reason for a socket, TLS or protocol failure."""
    if isinstance(error, socket.gaierror):
        return f"cannot resolve host {host!r}; check the feed URL"
    if isinstance(error, ConnectionRefusedError):
        return f"connection refused by {where}"
    if isinstance(error, ConnectionResetError):
        return f"connection reset by {where}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS certificate problem for {host}: {error.verify_message or error.reason}"
    if isinstance(error, ssl.SSLError):
        return f"TLS error talking to {where}: {error.reason or error}"
    if isinstance(error, TimeoutError):
        return f"timeout talking to {where}"
    if isinstance(error, http.client.RemoteDisconnected):
        return f"{where} closed the connection without answering"
    if isinstance(error, http.client.HTTPException):
        return f"bad HTTP response from {where} ({type(error).__name__})"
    if isinstance(error, OSError):
        return f"network error talking to {where}: {error.strerror or error}"
    return f"cannot fetch from {where}: {type(error).__name__}: {error}"


def _too_large(size: int | None, limit: int) -> str:
    got = f"{_size(size)}, " if size is not None else ""
    return f"response too large: {got}more than fetch.max_bytes ({_size(limit)})"


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1_000:
        return f"{n / 1_000:.0f} KB"
    return f"{n} bytes"


def _secs(seconds: float) -> str:
    return f"{seconds:g}s"
