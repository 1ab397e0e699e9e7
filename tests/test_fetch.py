"""fetch(): real HTTP against a local server, plus local files."""

from __future__ import annotations

import gzip
import shutil
import socket
import ssl
import threading
from pathlib import Path

import pytest
from support.feedserver import FeedServer, etag_for
from support.tls import self_signed

from newsletter.config import Config, FeedConfig, FetchConfig, SiteConfig
from newsletter.ingest import fetch as fetch_module
from newsletter.ingest.feeds import ingest
from newsletter.ingest.fetch import FetchResponse, fetch, local_path, user_agent
from newsletter.store import Store
from newsletter.store.items import FeedState

BODY = b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title></channel></rss>"


def make_config(tmp_path: Path, **fetch_options: object) -> Config:
    options = {"timeout": 2.0, "connect_timeout": 2.0, **fetch_options}
    return Config(
        base_dir=tmp_path,
        site=SiteConfig(url="https://digest.example.org"),
        fetch=FetchConfig(**options),  # type: ignore[arg-type]
    )


@pytest.fixture
def server() -> FeedServer:
    with FeedServer({"/feed.xml": (BODY, "application/rss+xml")}) as s:
        yield s


def state_of(response: FetchResponse, url: str) -> FeedState:
    return FeedState(url=url, etag=response.etag, last_modified=response.last_modified)


def assert_one_line(response: FetchResponse) -> None:
    assert response.error and "\n" not in response.error and not response.body


def test_plain_fetch_sends_a_clear_user_agent(server: FeedServer, tmp_path: Path) -> None:
    url = server.url("/feed.xml")
    response = fetch(url, None, make_config(tmp_path))
    assert response.ok and response.status == 200 and response.body == BODY
    assert response.etag == etag_for(BODY)
    assert response.last_modified.endswith("GMT")
    assert response.final_url == url
    sent = server.requests[0].headers
    assert sent["user-agent"] == "newsletter/0.1.0 (+https://digest.example.org)"
    assert "gzip" in sent["accept-encoding"]
    assert "if-none-match" not in sent


def test_user_agent_can_be_configured(server: FeedServer, tmp_path: Path) -> None:
    config = make_config(tmp_path, user_agent="MyBot/2.0")
    assert user_agent(config) == "MyBot/2.0"
    fetch(server.url("/feed.xml"), None, config)
    assert server.requests[0].headers["user-agent"] == "MyBot/2.0"


def test_conditional_get_with_etag(server: FeedServer, tmp_path: Path) -> None:
    url, config = server.url("/feed.xml"), make_config(tmp_path)
    first = fetch(url, None, config)
    second = fetch(url, state_of(first, url), config)
    assert second.ok and second.not_modified and second.status == 304 and second.body == b""
    assert server.requests[1].headers["if-none-match"] == first.etag
    assert server.statuses("/feed.xml") == [200, 304]
    server.set("/feed.xml", BODY.replace(b"T", b"U"))  # content changed: full answer again
    third = fetch(url, state_of(first, url), config)
    assert third.status == 200 and not third.not_modified and b"U" in third.body


def test_conditional_get_with_last_modified_only(server: FeedServer, tmp_path: Path) -> None:
    server.set("/lm.xml", BODY, etag=None)
    url, config = server.url("/lm.xml"), make_config(tmp_path)
    first = fetch(url, None, config)
    assert first.etag == "" and first.last_modified
    second = fetch(url, state_of(first, url), config)
    assert second.not_modified
    assert server.requests[1].headers["if-modified-since"] == first.last_modified


def test_gzip_is_decoded(server: FeedServer, tmp_path: Path) -> None:
    server.set("/big.xml", BODY * 50, gzip=True)
    response = fetch(server.url("/big.xml"), None, make_config(tmp_path))
    assert response.ok and response.body == BODY * 50
    assert response.headers["content-encoding"] == "gzip"


def test_redirects_are_followed(server: FeedServer, tmp_path: Path) -> None:
    server.set_redirect("/old.xml", "/moved.xml", status=301)
    server.set_redirect("/moved.xml", "/feed.xml", status=302)
    response = fetch(server.url("/old.xml"), None, make_config(tmp_path))
    assert response.ok and response.body == BODY
    assert response.url == server.url("/old.xml")
    assert response.final_url == server.url("/feed.xml")
    assert server.statuses("/old.xml") == [301] and server.statuses("/feed.xml") == [200]


def test_redirect_loop_is_a_reason(server: FeedServer, tmp_path: Path) -> None:
    server.set_redirect("/a", "/b")
    server.set_redirect("/b", "/a")
    response = fetch(server.url("/a"), None, make_config(tmp_path))
    assert_one_line(response)
    assert response.error == "too many redirects (more than 5)"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (404, "HTTP 404 Not Found"),
        (500, "HTTP 500 Internal Server Error"),
        (403, "HTTP 403 Forbidden"),
    ],
)
def test_http_errors_are_one_line_reasons(
    server: FeedServer, tmp_path: Path, status: int, reason: str
) -> None:
    server.set_status("/err", status, "<html>\n<body>oops\n</body></html>")
    response = fetch(server.url("/err"), None, make_config(tmp_path))
    assert_one_line(response)
    assert response.error == reason and response.status == status


def test_retry_after_is_reported(server: FeedServer, tmp_path: Path) -> None:
    server.set_status("/busy", 503, headers=(("Retry-After", "120"),))
    response = fetch(server.url("/busy"), None, make_config(tmp_path))
    assert response.error == "HTTP 503 Service Unavailable (retry after 120s)"


def test_server_that_never_answers_times_out(server: FeedServer, tmp_path: Path) -> None:
    server.set_hang("/hang", 30)
    response = fetch(server.url("/hang"), None, make_config(tmp_path, timeout=0.3))
    assert_one_line(response)
    assert response.error.startswith("timeout after 0.3s")  # the timeout, not the server, ended it


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    response = fetch(f"http://127.0.0.1:{port}/feed", None, make_config(tmp_path))
    assert_one_line(response)
    assert response.error == f"connection refused by 127.0.0.1:{port}"


def test_connect_timeout_is_its_own_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_route(*args: object, **kwargs: object) -> socket.socket:
        raise TimeoutError("timed out")  # the fault: an unreachable host

    monkeypatch.setattr(socket, "create_connection", no_route)
    response = fetch("http://feeds.example.net/x", None, make_config(tmp_path, connect_timeout=5))
    assert response.error == "connection timed out after 5s (feeds.example.net:80)"


def test_size_cap_with_content_length(server: FeedServer, tmp_path: Path) -> None:
    server.set("/huge", b"x" * 5000)
    response = fetch(server.url("/huge"), None, make_config(tmp_path, max_bytes=1000))
    assert_one_line(response)
    assert response.error == "response too large: 5 KB, more than fetch.max_bytes (1 KB)"


def test_size_cap_while_streaming(server: FeedServer, tmp_path: Path) -> None:
    server.set("/stream", b"x" * 300_000, content_length=False)
    response = fetch(server.url("/stream"), None, make_config(tmp_path, max_bytes=100_000))
    assert_one_line(response)
    assert response.error.startswith("response too large")


def test_size_cap_after_decompression(server: FeedServer, tmp_path: Path) -> None:
    server.set("/bomb", b"<" * 2_000_000, gzip=True)  # ~2 KB on the wire
    response = fetch(server.url("/bomb"), None, make_config(tmp_path, max_bytes=100_000))
    assert_one_line(response)
    assert response.error.endswith("after decompression")


def test_corrupt_gzip(server: FeedServer, tmp_path: Path) -> None:
    server.set("/bad", b"not gzip at all", headers=(("Content-Encoding", "gzip"),))
    response = fetch(server.url("/bad"), None, make_config(tmp_path))
    assert_one_line(response)
    assert response.error.startswith("corrupt compressed response")


def test_trickling_server_is_cut_off(tmp_path: Path) -> None:
    """Each byte arrives within the read timeout, but the whole fetch is still bounded."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n")
        while not stop.wait(0.05):
            try:
                conn.sendall(b"<")
            except OSError:
                break
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    config = make_config(tmp_path, timeout=0.2, connect_timeout=0.2)
    response = fetch(f"http://127.0.0.1:{listener.getsockname()[1]}/", None, config)
    stop.set()
    listener.close()
    # the trickle would last far longer: the download deadline is what ended it
    assert response.error == "download took longer than 0.8s (fetch.timeout)"


def _server_context(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1, and a server context that presents it."""
    cert, key = self_signed(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return cert, context


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_untrusted_tls_certificate_is_a_reason(tmp_path: Path) -> None:
    _, context = _server_context(tmp_path)
    with FeedServer({"/feed.xml": (BODY, "application/rss+xml")}, ssl_context=context) as server:
        response = fetch(server.url("/feed.xml"), None, make_config(tmp_path))
    assert_one_line(response)
    assert response.error.startswith("TLS certificate problem for 127.0.0.1: self")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_feeds_share_one_tls_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Making a context loads every CA certificate (~20 ms): one for the run, not per feed."""
    cert, context = _server_context(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # what a context made now trusts
    monkeypatch.setattr(fetch_module, "_tls_contexts", [])
    made = []
    create = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda: made.append(1) or create())
    paths = [f"/f{n}.xml" for n in range(8)]
    with FeedServer(ssl_context=context, latency=0.1) as server:
        for path in paths:
            story = (
                f"<item><title>Lock {path}</title><link>https://canal.example{path}</link></item>"
            )
            server.set(path, BODY.replace(b"</channel>", f"{story}</channel>".encode()))
        config = make_config(tmp_path)
        report = ingest(
            config, Store(tmp_path / "s.sqlite"), [FeedConfig(url=server.url(p)) for p in paths]
        )
    assert report.failed == [] and report.parsed_feeds == len(paths)
    assert len(made) == 1


def test_local_path_and_file_url(tmp_path: Path) -> None:
    path = tmp_path / "my feed.xml"
    path.write_bytes(BODY)
    config = make_config(tmp_path)
    by_path = fetch(str(path), None, config)
    by_url = fetch(path.as_uri(), None, config)
    assert by_path.ok and by_path.body == BODY and by_path.status is None
    assert by_url.ok and by_url.body == BODY
    assert local_path(path.as_uri()) == path
    assert by_path.etag.startswith("sha256:") and by_path.etag == by_url.etag


def test_unchanged_local_file_is_not_modified(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(BODY)
    config = make_config(tmp_path)
    first = fetch(str(path), None, config)
    second = fetch(str(path), state_of(first, str(path)), config)
    assert second.not_modified and second.body == b""
    path.write_bytes(BODY + b"\n")
    third = fetch(str(path), state_of(first, str(path)), config)
    assert not third.not_modified and third.body == BODY + b"\n"


def test_local_file_problems(tmp_path: Path) -> None:
    config = make_config(tmp_path, max_bytes=10)
    missing = fetch(str(tmp_path / "nope.xml"), None, config)
    assert missing.error == f"file not found: {tmp_path / 'nope.xml'}"
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * 100)
    assert fetch(str(big), None, config).error.startswith("file too large: 100 bytes")
    assert fetch(str(tmp_path), None, config).error.endswith("is a folder, not a feed file")


def test_gzip_transfer_is_really_compressed(server: FeedServer, tmp_path: Path) -> None:
    """The server honours Accept-Encoding, so the test above exercises real inflation."""
    server.set("/z", BODY * 100, gzip=True)
    import urllib.request

    raw = urllib.request.urlopen(
        urllib.request.Request(server.url("/z"), headers={"Accept-Encoding": "gzip"})
    ).read()
    assert gzip.decompress(raw) == BODY * 100 and len(raw) < len(BODY) * 10
