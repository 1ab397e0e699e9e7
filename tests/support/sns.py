"""A stand-in for Amazon SNS in tests: a signing certificate of our own, served by a real
HTTPS server on 127.0.0.1 (with its own TLS certificate), and messages signed the way SNS
signs them. The web app reaches it through an `SnsFetcher` allowed to use 127.0.0.1 and
trusting the test CA; the production fetcher never would.

    with SnsStandIn() as sns:
        app.extensions[webhooks.FETCHER] = sns.fetcher()
        message = sns.notification(topic, ses_json)   # signed, SignatureVersion 1
        sns.hits                                       # paths requested so far
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import re
import ssl
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from newsletter.web.signatures import SnsFetcher, sns_string_to_sign


def _certificate(key: Any, name: str, ip: bool = False) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
    )
    if ip:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(name))])
        builder = builder.add_extension(san, critical=False)
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    return builder.sign(key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class SnsStandIn:
    """The certificate server and the message signer."""

    def __init__(self) -> None:
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.signing_pem = _pem(_certificate(self.signing_key, "sns.test"))
        self.tls_key = ec.generate_private_key(ec.SECP256R1())
        self.tls_pem = _pem(_certificate(self.tls_key, "127.0.0.1", ip=True))
        self.hits: list[str] = []
        self.folder = Path(tempfile.mkdtemp(prefix="sns-standin-"))

    # -- the server ------------------------------------------------------------------------
    def start(self) -> SnsStandIn:
        cert_file = self.folder / "tls.pem"
        key_file = self.folder / "tls.key"
        cert_file.write_bytes(self.tls_pem)
        key_file.write_bytes(
            self.tls_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                stand_in.hits.append(self.path)
                body = stand_in.signing_pem if self.path.endswith(".pem") else b"<ok/>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> SnsStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def cert_url(self) -> str:
        return f"{self.base}/SimpleNotificationService-test.pem"

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.tls_pem.decode())

    def fetcher(self) -> SnsFetcher:
        """A fetcher for this stand-in: 127.0.0.1, any port, trusting its TLS certificate."""
        return SnsFetcher(re.compile(r"127\.0\.0\.1"), self.client_context(), any_port=True)

    # -- messages --------------------------------------------------------------------------
    def sign(self, message: dict[str, Any], version: str = "1") -> dict[str, Any]:
        message = {**message, "SignatureVersion": version, "SigningCertURL": self.cert_url}
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        raw = self.signing_key.sign(sns_string_to_sign(message), padding.PKCS1v15(), algorithm)
        message["Signature"] = base64.b64encode(raw).decode()
        return message

    def notification(self, topic: str, payload: Any, version: str = "1") -> dict[str, Any]:
        return self.sign(
            {
                "Type": "Notification",
                "MessageId": str(uuid.uuid4()),
                "TopicArn": topic,
                "Message": payload if isinstance(payload, str) else _json(payload),
                "Timestamp": "2026-01-05T08:00:00.000Z",
            },
            version,
        )

    def subscription(self, topic: str) -> dict[str, Any]:
        token = uuid.uuid4().hex
        return self.sign(
            {
                "Type": "SubscriptionConfirmation",
                "MessageId": str(uuid.uuid4()),
                "Token": token,
                "TopicArn": topic,
                "Message": f"You have chosen to subscribe to the topic {topic}.",
                "SubscribeURL": f"{self.base}/?Action=ConfirmSubscription&Token={token}",
                "Timestamp": "2026-01-05T08:00:00.000Z",
            }
        )


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
