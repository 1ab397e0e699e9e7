"""SMTP transport against a real aiosmtpd server on 127.0.0.1: security, reuse, failures."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult
from support.smtp import SmtpServer
from support.tls import self_signed

from newsletter.config import SmtpConfig
from newsletter.config_rules import is_loopback
from newsletter.errors import ConfigError
from newsletter.mail.transport import (
    ConnectFailure,
    ConnectionLost,
    PermanentFailure,
    SendPacer,
    SmtpTransport,
    TemporaryFailure,
    check_security,
    retry_delays,
    smtp_payload,
)

SENDER = "digest@news.example.org"
MESSAGE = (
    b"From: digest@news.example.org\r\nTo: ann@example.com\r\nSubject: hi\r\n\r\n"
    b"line one\r\n.starts with a dot\r\n..two dots\r\nend\r\n"
)


@pytest.fixture(params=[False, True], ids=["one-by-one", "pipelining"])
def server(request):
    """The recording server, once without and once with PIPELINING advertised."""
    with SmtpServer() as s:
        s.handler.pipelining = request.param
        yield s


def test_security_rules() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("smtp.example.org") and not is_loopback("10.0.0.1")
    check_security(SmtpConfig(host="127.0.0.1", security="none"))
    with pytest.raises(ConfigError, match="allow_insecure"):
        check_security(SmtpConfig(host="smtp.example.org", security="none"))
    check_security(SmtpConfig(host="smtp.example.org", security="none", allow_insecure=True))
    with pytest.raises(ConfigError, match="starttls"):
        SmtpTransport(SmtpConfig(host="smtp.example.org", security="ssl"))


def test_one_connection_carries_many_messages(server: SmtpServer) -> None:
    with SmtpTransport(server.smtp_config()) as transport:
        for i in range(5):
            transport.send(SENDER, f"r{i}@example.com", MESSAGE)
    assert server.handler.sessions == 1
    assert server.counts() == {f"r{i}@example.com": 1 for i in range(5)}
    # dot-stuffing happened on the wire and was undone by the server
    assert server.messages["r0@example.com"][0].replace(b"\r\n", b"\n") == MESSAGE.replace(
        b"\r\n", b"\n"
    )


def test_failures_are_classified_and_the_connection_survives(server: SmtpServer) -> None:
    server.handler.temp_fail["slow@example.com"] = 1
    server.handler.reject.add("gone@example.com")
    with SmtpTransport(server.smtp_config()) as transport:
        with pytest.raises(TemporaryFailure) as temp:
            transport.send(SENDER, "slow@example.com", MESSAGE)
        assert temp.value.code == 451 and temp.value.stage == "RCPT"
        with pytest.raises(PermanentFailure) as perm:
            transport.send(SENDER, "gone@example.com", MESSAGE)
        assert perm.value.code == 550 and perm.value.stage == "RCPT"
        assert "no such mailbox" in str(perm.value)
        transport.send(SENDER, "slow@example.com", MESSAGE)  # second try accepted
    assert server.handler.sessions == 1
    assert server.counts() == {"slow@example.com": 1}


def test_a_dropped_connection_is_lost_then_reopened(server: SmtpServer) -> None:
    server.handler.drop_after = 1
    transport = SmtpTransport(server.smtp_config())
    transport.send(SENDER, "a@example.com", MESSAGE)
    with pytest.raises(ConnectionLost) as lost:
        transport.send(SENDER, "b@example.com", MESSAGE)
    assert lost.value.after_data is False  # before the message: safe to retry
    transport.send(SENDER, "b@example.com", MESSAGE)
    transport.close()
    assert server.handler.sessions == 2
    assert server.counts() == {"a@example.com": 1, "b@example.com": 1}


def test_a_link_lost_after_the_data_is_uncertain(server: SmtpServer) -> None:
    server.handler.drop_after_data = 1
    with SmtpTransport(server.smtp_config()) as transport:
        with pytest.raises(ConnectionLost) as lost:
            transport.send(SENDER, "a@example.com", MESSAGE)
    assert lost.value.after_data is True
    assert server.counts() == {"a@example.com": 1}  # the server did keep it


def test_nobody_listening_is_a_connect_failure() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    transport = SmtpTransport(SmtpConfig(host="127.0.0.1", port=port, security="none", timeout=2))
    with pytest.raises(ConnectFailure, match=r"cannot connect to 127\.0\.0\.1") as e:
        transport.send(SENDER, "a@example.com", MESSAGE)
    assert not e.value.permanent


def test_starttls_required_but_not_offered(server: SmtpServer) -> None:
    transport = SmtpTransport(server.smtp_config(security="starttls"))
    with pytest.raises(ConnectFailure, match="STARTTLS") as e:
        transport.send(SENDER, "a@example.com", MESSAGE)
    assert e.value.permanent


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    return self_signed(tmp_path_factory.mktemp("tls"))


def _server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_encrypted_connections(certificate, security: str) -> None:
    cert, key = certificate
    option = "tls_context" if security == "starttls" else "ssl_context"
    with SmtpServer(**{option: _server_context(cert, key)}) as server:
        trusting = ssl.create_default_context(cafile=str(cert))
        with SmtpTransport(server.smtp_config(security=security), ssl_context=trusting) as t:
            t.send(SENDER, "a@example.com", MESSAGE)
            t.send(SENDER, "b@example.com", MESSAGE)
        assert server.handler.tls_sessions == [True, True]
        # the default context does not trust a self-signed certificate: refused, clearly
        with pytest.raises(ConnectFailure, match="certificate") as e:
            SmtpTransport(server.smtp_config(security=security)).send(
                SENDER, "c@example.com", MESSAGE
            )
        assert e.value.permanent


def test_login(server_with_auth: SmtpServer) -> None:
    good = server_with_auth.smtp_config(username="digest")
    with SmtpTransport(good, password="right") as transport:
        transport.send(SENDER, "a@example.com", MESSAGE)
    assert server_with_auth.counts() == {"a@example.com": 1}
    with pytest.raises(ConnectFailure, match="NEWSLETTER_SMTP_PASSWORD") as e:
        SmtpTransport(good, password="wrong").send(SENDER, "b@example.com", MESSAGE)
    assert e.value.permanent


@pytest.fixture
def server_with_auth():
    def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = auth_data.login == b"digest" and auth_data.password == b"right"
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    with SmtpServer(authenticator=authenticator, auth_require_tls=False) as s:
        yield s


def test_smtp_payload() -> None:
    assert smtp_payload(b"a\r\n.b\r\n") == b"a\r\n..b\r\n.\r\n"
    assert smtp_payload(b".x\nbare lf\rcr") == b"..x\r\nbare lf\r\ncr\r\n.\r\n"
    clean = b"Subject: x\r\n\r\nbody\r\n"
    assert smtp_payload(clean) == clean + b".\r\n"
    # bytes the caller vouches for are only terminated
    assert smtp_payload(clean, smtp_safe=True) == clean + b".\r\n"
    assert smtp_payload(b"x: y\r\n\r\nz", smtp_safe=True) == b"x: y\r\n\r\nz\r\n.\r\n"


def test_retry_delays_grow_and_cap() -> None:
    assert retry_delays(4) == [5.0, 10.0, 20.0, 40.0]
    assert retry_delays(0) == []
    assert max(retry_delays(20)) == 300.0


def test_rate_limiter_spaces_sends() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = SendPacer(4.0, sleep=sleep, monotonic=lambda: now[0])
    for _ in range(5):
        limiter.wait()
    assert slept == [0.25, 0.25, 0.25, 0.25]
    unlimited = SendPacer(0, sleep=sleep)
    unlimited.wait()
    assert len(slept) == 4


def test_pipelining_is_used_when_offered(server: SmtpServer) -> None:
    server.handler.reject.add("gone@example.com")
    with SmtpTransport(server.smtp_config()) as transport:
        transport.send(SENDER, "a@example.com", MESSAGE)
        assert transport.pipelining is server.handler.pipelining
        with pytest.raises(PermanentFailure, match="RCPT: 550"):
            transport.send(SENDER, "gone@example.com", MESSAGE)
        transport.send(SENDER, "b@example.com", MESSAGE)  # the connection is still in step
    assert server.counts() == {"a@example.com": 1, "b@example.com": 1}
    with SmtpTransport(server.smtp_config(), allow_pipelining=False) as transport:
        transport.send(SENDER, "c@example.com", MESSAGE)
        assert transport.pipelining is False


def test_malformed_envelope_addresses_are_refused(server: SmtpServer) -> None:
    transport = SmtpTransport(server.smtp_config())
    with pytest.raises(PermanentFailure) as e:
        transport.send(SENDER, "a@example.com>\r\nRCPT TO:<b@example.com", MESSAGE)
    assert e.value.stage == "RCPT"
    with pytest.raises(PermanentFailure) as e:
        transport.send("", "a@example.com", MESSAGE)
    assert e.value.stage == "MAIL"
    assert server.handler.total == 0
