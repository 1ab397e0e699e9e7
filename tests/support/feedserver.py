"""A real local HTTP server for feed tests: routes you can change between requests.

    with FeedServer({"/a.xml": (body, "application/rss+xml")}) as server:
        url = server.url("/a.xml")
        server.set("/a.xml", new_body)          # next request sees new content
        server.set_status("/gone.xml", 404)
        server.set_hang("/slow.xml", 10)        # accepts, then answers nothing for 10 s
        server.set_redirect("/old.xml", "/a.xml")
        server.hits("/a.xml"), server.requests  # what was asked, with which headers

Every 200 response carries an ETag (a hash of the body) and a Last-Modified date and honours
If-None-Match / If-Modified-Since with a 304, like a well-behaved feed host. Latency and
gzip can be set for the whole server or one route. The server binds 127.0.0.1:0 (a free
port) and serves each connection on its own thread; `hosts=("127.0.0.2", ...)` makes it
listen on more loopback addresses (same port), so one server can stand for several sites:
`server.url("/a.xml", host="127.0.0.2")`; each Request records the address it came to.
"""

from __future__ import annotations

import gzip as gziplib
import hashlib
import selectors
import socket
import ssl
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_LAST_MODIFIED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@dataclass(frozen=True)
class Route:
    """How the server answers one path."""

    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = ""  # "" = computed from the body; None = send no ETag
    last_modified: datetime | None = DEFAULT_LAST_MODIFIED  # None = send none
    latency: float | None = None  # seconds before answering; None = the server's
    gzip: bool | None = None  # None = the server's setting
    hang: float = 0.0  # accept, then say nothing for this long
    content_length: bool = True  # False: no Content-Length, body ends when the connection closes
    conditional: bool = True  # False: ignore If-None-Match / If-Modified-Since


@dataclass
class Request:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    status: int = 0
    host: str = "127.0.0.1"  # the address the client connected to


@dataclass
class _State:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    latency: float = 0.0
    gzip: bool = False
    in_flight: int = 0  # requests being answered right now
    max_in_flight: int = 0  # the most ever answered at once: how concurrent the client was


class FeedServer:
    """A threaded http.server on 127.0.0.1 serving a mutable dict of routes."""

    def __init__(
        self,
        routes: dict[str, Any] | None = None,
        latency: float = 0.0,
        gzip: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        hosts: tuple[str, ...] = (),
    ) -> None:
        self._ssl_context = ssl_context  # serve https with this server-side context
        self._hosts = tuple(h for h in hosts if h != "127.0.0.1")  # more loopback addresses
        self._extra: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._state = _State(latency=latency, gzip=gzip)
        for path, spec in (routes or {}).items():
            if isinstance(spec, Route):
                self.route(path, spec)
            elif isinstance(spec, tuple):
                self.set(path, *spec)
            else:
                self.set(path, spec)
        self._httpd: ThreadingHTTPServer | None = None
        self._port = 0
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> FeedServer:
        self._stop.clear()
        handler = _make_handler(self)
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler, bind_and_activate=False)
        httpd.daemon_threads = True
        httpd.block_on_close = False  # a hanging handler must not hold up stop()
        httpd.request_queue_size = 256  # many feeds connect at once in concurrency tests
        httpd.allow_reuse_address = True
        httpd.server_bind()
        httpd.server_activate()
        if self._ssl_context is not None:
            httpd.socket = self._ssl_context.wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        self._port = httpd.server_address[1]  # kept after stop() for building expectations
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        if self._hosts:
            self._listen_more(httpd)
        return self

    def _listen_more(self, httpd: ThreadingHTTPServer) -> None:
        """Accept on the extra addresses too, handing connections to the same server."""
        selector = selectors.DefaultSelector()
        for host in self._hosts:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, self._port))
            sock.listen(256)
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
            self._extra.append(sock)

        def accept() -> None:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.05):
                    try:
                        conn, addr = key.fileobj.accept()  # type: ignore[union-attr]
                    except OSError:
                        continue
                    conn.setblocking(True)
                    if self._ssl_context is not None:
                        conn = self._ssl_context.wrap_socket(conn, server_side=True)
                    httpd.process_request(conn, addr)
            selector.close()

        threading.Thread(target=accept, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()  # wakes hanging handlers
        for sock in self._extra:
            sock.close()
        self._extra.clear()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._port, "start the server first"
        return self._port

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        """The absolute URL of a path on this server (at one of its addresses)."""
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    # -- routes --------------------------------------------------------------------------
    def route(self, path: str, route: Route) -> None:
        """Serve `route` at `path` (replacing what was there)."""
        with self._lock:
            self._state.routes[path] = route

    def set(
        self,
        path: str,
        body: bytes | str,
        content_type: str = "application/rss+xml; charset=utf-8",
        **options: Any,
    ) -> None:
        """Serve `body` at `path`; options are Route fields (latency, gzip, etag, ...)."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.route(path, Route(body=data, content_type=content_type, **options))

    def update(self, path: str, **options: Any) -> None:
        """Change some fields of an existing route."""
        with self._lock:
            self._state.routes[path] = replace(self._state.routes[path], **options)

    def set_status(self, path: str, status: int, body: bytes | str = b"", **options: Any) -> None:
        """Answer `path` with an error status (404, 500, ...)."""
        self.set(
            path,
            body or f"status {status}",
            "text/plain",
            status=status,
            etag=None,
            last_modified=None,
            **options,
        )

    def set_hang(self, path: str, seconds: float = 30.0) -> None:
        """Accept connections to `path` and answer nothing for `seconds`."""
        self.route(path, Route(hang=seconds))

    def set_redirect(self, path: str, target: str, status: int = 301) -> None:
        """Redirect `path` to `target` (a path on this server or an absolute URL)."""
        self.route(
            path,
            Route(
                status=status,
                headers=(("Location", target),),
                etag=None,
                last_modified=None,
                content_type="text/plain",
            ),
        )

    def remove(self, path: str) -> None:
        with self._lock:
            self._state.routes.pop(path, None)

    def set_latency(self, seconds: float) -> None:
        with self._lock:
            self._state.latency = seconds

    def set_gzip(self, enabled: bool) -> None:
        with self._lock:
            self._state.gzip = enabled

    # -- what happened -------------------------------------------------------------------
    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._state.requests)

    def hits(self, path: str | None = None) -> int:
        """How many requests reached `path` (or any path)."""
        with self._lock:
            return sum(1 for r in self._state.requests if path is None or r.path == path)

    def statuses(self, path: str) -> list[int]:
        """The statuses answered for `path`, in order."""
        with self._lock:
            return [r.status for r in self._state.requests if r.path == path]

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(r.path for r in self._state.requests)

    @property
    def max_in_flight(self) -> int:
        """The most requests this server was answering at one moment."""
        with self._lock:
            return self._state.max_in_flight

    def _enter(self, delta: int) -> None:
        with self._lock:
            self._state.in_flight += delta
            self._state.max_in_flight = max(self._state.max_in_flight, self._state.in_flight)

    def reset_requests(self) -> None:
        with self._lock:
            self._state.requests.clear()

    # -- used by the handler -------------------------------------------------------------
    def _lookup(
        self, path: str, headers: dict[str, str], host: str = "127.0.0.1"
    ) -> tuple[Route | None, Request, float, bool]:
        with self._lock:
            request = Request(path=path, headers=headers, host=host)
            self._state.requests.append(request)
            route = self._state.routes.get(path)
            return route, request, self._state.latency, self._state.gzip


def etag_for(body: bytes) -> str:
    """The ETag the server sends for a body."""
    return '"' + hashlib.sha1(body).hexdigest()[:16] + '"'


def _not_modified(route: Route, etag: str | None, headers: dict[str, str]) -> bool:
    if not route.conditional or route.status != 200:
        return False
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        tags = [t.strip() for t in if_none_match.split(",")]
        return etag is not None and (etag in tags or "*" in tags)
    since = headers.get("if-modified-since")
    if since and route.last_modified is not None:
        try:
            return route.last_modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _make_handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection; a body may end at close

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            host = self.connection.getsockname()[0]
            headers = {k.lower(): v for k, v in self.headers.items()}
            path = self.path.split("?", 1)[0]
            route, request, latency, use_gzip = server._lookup(path, headers, host)
            if route is None:
                route = Route(
                    body=b"no such feed",
                    content_type="text/plain",
                    status=404,
                    etag=None,
                    last_modified=None,
                )
            if route.hang:
                server._stop.wait(route.hang)
                request.status = -1
                return
            wait = route.latency if route.latency is not None else latency
            if wait:
                # counted while the client waits for us, before any byte of the answer
                server._enter(+1)
                server._stop.wait(wait)
                server._enter(-1)
            etag = None if route.etag is None else (route.etag or etag_for(route.body))
            if _not_modified(route, etag, headers):
                request.status = 304
                self.send_response(304)
                if etag:
                    self.send_header("ETag", etag)
                for name, value in route.headers:  # Cache-Control, Expires: as on the 200
                    if not name.lower().startswith("content-"):
                        self.send_header(name, value)
                self.end_headers()
                return
            body = route.body
            zipped = route.gzip if route.gzip is not None else use_gzip
            if zipped and "gzip" in headers.get("accept-encoding", ""):
                body = gziplib.compress(body)
            else:
                zipped = False
            request.status = route.status
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            if route.content_length:
                self.send_header("Content-Length", str(len(body)))
            if zipped:
                self.send_header("Content-Encoding", "gzip")
            if etag and route.status == 200:
                self.send_header("ETag", etag)
            if route.last_modified is not None and route.status == 200:
                self.send_header("Last-Modified", format_datetime(route.last_modified, usegmt=True))
            for name, value in route.headers:
                if name.lower() == "location" and value.startswith("/"):
                    value = server.url(value)
                self.send_header(name, value)
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (size cap, timeout): that is the test's point

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep test output clean

    return Handler
