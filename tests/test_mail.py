"""Message composition: structure, headers, quoted-printable, header injection, DKIM."""

from __future__ import annotations

import dataclasses
import quopri
import random
import re
import subprocess
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from support.sending import DIGEST_HTML, DIGEST_TEXT, MARKS, make_config

from newsletter.errors import ConfigError, SendError
from newsletter.mail.compose import (
    DKIM_HEADERS,
    DigestMessage,
    DkimSigner,
    Recipient,
    build_message,
    format_subject,
    parse_sender,
    qp_encode,
    safe_header_value,
)

NOW = datetime(2026, 1, 5, 7, 0, 5, tzinfo=UTC)
UNSUB = "https://news.example.org/unsubscribe/MTI.aW1.abcDEF-_x"
MANAGE = "https://news.example.org/manage/MTI.aW1.zzz"


def _recipient(name: str = "Ann Reader", email: str = "ann@example.com") -> Recipient:
    return Recipient(12, email, name, UNSUB, MANAGE)


def _message(tmp_path: Path, subject: str = "Example News: Big story", **kw) -> DigestMessage:
    config = make_config(tmp_path)
    return build_message(config, config.list(), subject, DIGEST_HTML, DIGEST_TEXT, MARKS, **kw)


def _parse(data: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(data)  # type: ignore[return-value]


def _expected(body: str, recipient: Recipient, html: bool) -> str:
    name = recipient.name or recipient.email
    if html:
        name = (
            name.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&quot;")
        )
    return (
        body.replace(MARKS.unsubscribe_url, recipient.unsubscribe_url)
        .replace(MARKS.manage_url, recipient.manage_url)
        .replace(MARKS.recipient, name)
    )


def test_structure_and_headers(tmp_path: Path) -> None:
    recipient = _recipient()
    rendered = _message(tmp_path).render(recipient, NOW)
    msg = _parse(rendered.data)
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in parts)
    text, html = (p.get_content().replace("\r\n", "\n") for p in parts)
    assert text == _expected(DIGEST_TEXT, recipient, html=False)
    assert html == _expected(DIGEST_HTML, recipient, html=True)
    assert msg["From"] == "Example News <digest@news.example.org>"
    assert msg["From"].addresses[0].display_name == "Example News"
    assert msg["To"] == "Ann Reader <ann@example.com>"
    assert msg["Subject"] == "Example News: Big story"
    assert msg["Date"].datetime == NOW
    assert msg["Message-ID"] == rendered.message_id
    assert re.fullmatch(r"<[^@<>]+@news\.example\.org>", rendered.message_id)
    assert msg["List-Id"] == "Example News <daily.news.example.org>"
    assert msg["List-Unsubscribe"] == f"<{UNSUB}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["MIME-Version"] == "1.0"
    assert msg["Auto-Submitted"] == "auto-generated"
    for name in ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe"):
        assert len(msg.get_all(name)) == 1
    assert msg.defects == [] and all(p.defects == [] for p in parts)


def test_bytes_are_smtp_ready(tmp_path: Path) -> None:
    data = _message(tmp_path).render(_recipient(), NOW).data
    assert data.endswith(b"\r\n")
    assert data.count(b"\n") == data.count(b"\r\n") == data.count(b"\r")
    lines = data.split(b"\r\n")
    assert all(len(line) <= 998 for line in lines)
    assert not any(line.startswith(b".") for line in lines)  # no dot-stuffing needed
    data.decode("ascii")  # 7-bit clean: no SMTPUTF8 or 8BITMIME needed
    body = data.split(b"\r\n\r\n", 1)[1]
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))


def test_each_recipient_gets_their_own_links_and_name(tmp_path: Path) -> None:
    message = _message(tmp_path)
    one = _parse(message.render(_recipient("", "bob@example.com"), NOW).data)
    other = Recipient(13, "cy@example.com", 'Cy <&> "Q"', UNSUB + "2", MANAGE + "2")
    two = _parse(message.render(other, NOW).data)
    assert one["To"] == "bob@example.com"
    assert "Hello bob@example.com," in one.get_body(("plain",)).get_content()
    assert two["List-Unsubscribe"] == f"<{UNSUB}2>"
    html = two.get_body(("html",)).get_content()
    assert "Hello Cy &lt;&amp;&gt; &quot;Q&quot;," in html
    assert f'href="{UNSUB}2"' in html and f'href="{MANAGE}2"' in html
    assert two["To"].addresses[0].display_name == 'Cy <&> "Q"'
    assert one["Message-ID"] != two["Message-ID"]


def test_non_ascii_headers_are_encoded(tmp_path: Path) -> None:
    config = make_config(tmp_path, **{"from": "D\u00e9fense \u2603 <digest@news.example.org>"})
    name = "Zo\u00eb " + "\u00dcberlang " * 8
    message = build_message(
        config, config.list(), "Caf\u00e9 \u2014 news \u2615", DIGEST_HTML, DIGEST_TEXT, MARKS
    )
    data = message.render(_recipient(name.strip()), NOW).data
    msg = _parse(data)
    assert msg["Subject"] == "Caf\u00e9 \u2014 news \u2615"
    assert msg["From"].addresses[0].display_name == "D\u00e9fense \u2603"
    # the stdlib's modern parser keeps a space between adjacent encoded words inside a
    # phrase (RFC 2047 §6.2 says to drop it); its RFC 2047 decoder reads them right
    raw_to = BytesParser(policy=policy.compat32).parsebytes(data)["To"]
    assert str(make_header(decode_header(raw_to))) == f"{name.strip()} <ann@example.com>"
    assert msg["To"].addresses[0].addr_spec == "ann@example.com"
    head = data.split(b"\r\n\r\n", 1)[0]
    assert all(
        len(line) <= 78 for line in head.split(b"\r\n") if not line.startswith(b"List-Unsub")
    )


# -- quoted-printable --------------------------------------------------------------------
def test_qp_encode_round_trips_random_text() -> None:
    rng = random.Random(1234)
    alphabet = "ab .=\t-?_\u00e9\u2603\U0001f600" + "x" * 10
    for _ in range(300):
        lines = [
            ("." if rng.random() < 0.3 else "")
            + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
            for _ in range(rng.randint(1, 4))
        ]
        text = "\r\n".join(lines)
        data = text.encode("utf-8")
        for soft in (False, True):
            encoded = qp_encode(data, soft_end=soft)
            out_lines = encoded.split(b"\r\n")
            assert all(len(line) <= 76 for line in out_lines), encoded
            assert not any(line.startswith(b".") for line in out_lines)
            assert not re.search(rb"[ \t]\r\n", encoded)
            decoded = quopri.decodestring(encoded.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
            assert decoded == data
            assert encoded.endswith(b"=\r\n") == (soft and bool(lines[-1]))


# -- header injection (CVE-2024-6923) ----------------------------------------------------------
INJECTIONS = [
    "Big story =?UTF-8?Q?=0A?=Bcc: victim@evil.example",
    "Big story =?UTF-8?Q?=0D=0A?=Bcc: victim@evil.example",
    "Big story\r\nBcc: victim@evil.example",
    "Big story\nBcc: victim@evil.example",
    "Big story \u2028Bcc: victim@evil.example",
    "Big story =?utf-8?b?CkJjYzogdmljdGltQGV2aWwuZXhhbXBsZQ==?=",
]


@pytest.mark.parametrize("title", INJECTIONS)
def test_a_feed_title_cannot_add_a_header(tmp_path: Path, title: str) -> None:
    subject = format_subject(
        "{site}: {headline} and {more} more ({date})",
        site="Example News",
        date="5 Jan 2026",
        headline=title,
        count=5,
    )
    data = _message(tmp_path, subject=subject).render(_recipient(), NOW).data
    head = data.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"(?im)^bcc:", head)
    msg = _parse(data)
    assert msg["Bcc"] is None and len(msg.get_all("Subject")) == 1
    assert msg["Subject"].startswith("Example News: Big story")
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]


@pytest.mark.parametrize("name", [t.replace("Big story", "Eve") for t in INJECTIONS])
def test_a_subscriber_name_cannot_add_a_header(tmp_path: Path, name: str) -> None:
    data = _message(tmp_path).render(_recipient(name), NOW).data
    head = data.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"(?im)^bcc:", head)
    msg = _parse(data)
    assert msg["Bcc"] is None and len(msg.get_all("To")) == 1
    assert [a.addr_spec for a in msg["To"].addresses] == ["ann@example.com"]


def test_safe_header_value() -> None:
    assert safe_header_value("a\r\nb\tc\x00d\x1be") == "a b c d e"
    assert "=?" not in safe_header_value("=?=?UTF-8?Q?x?==?")
    assert safe_header_value("x" * 50, limit=10) == "x" * 9 + "\u2026"


def test_unsafe_addresses_and_urls_are_refused(tmp_path: Path) -> None:
    message = _message(tmp_path)
    with pytest.raises(SendError):
        message.render(Recipient(1, "a@example.com\r\nBcc: x@example.org", "", UNSUB, MANAGE), NOW)
    with pytest.raises(SendError):
        message.render(Recipient(1, "a@example.com", "", UNSUB + ">\r\nBcc: x", MANAGE), NOW)


# -- subject and sender ------------------------------------------------------------------
def test_format_subject_fields() -> None:
    subject = format_subject(
        "{site}: {headline} and {more} more ({date}) [{count}]",
        site="Example News",
        date="5 Jan 2026",
        headline="  A  very\tlong " + "word " * 60,
        count=7,
    )
    assert subject.startswith("Example News: A very long word word")
    assert subject.endswith("and 6 more (5 Jan 2026) [7]")
    assert len(subject) < 200
    with pytest.raises(ConfigError, match="headlines"):
        format_subject("{headlines}", site="s", date="d", headline="h", count=1)


@pytest.mark.parametrize("sender", ["not an address", "a@example.org, b@example.org", "Name <>"])
def test_bad_sender_is_a_config_error(sender: str) -> None:
    with pytest.raises(ConfigError, match="from"):
        parse_sender(sender)


# -- DKIM ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory) -> tuple[bytes, bytes]:
    """(private key PEM, DNS TXT record) of a fresh 1024-bit RSA key, made with openssl."""
    folder = tmp_path_factory.mktemp("dkim")
    key = folder / "test.key"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "1024"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    return key.read_bytes(), record


def test_dkim_signature_verifies_and_covers_list_headers(tmp_path: Path, dkim_key) -> None:
    import dkim

    private, record = dkim_key
    (tmp_path / "dkim.key").write_bytes(private)
    config = dataclasses.replace(
        make_config(tmp_path),
        dkim=dataclasses.replace(
            make_config(tmp_path).dkim,
            selector="test",
            domain="news.example.org",
            key_file="dkim.key",
        ),
    )
    signer = DkimSigner.from_config(config)
    assert signer is not None
    data = _message(tmp_path, dkim=signer).render(_recipient(), NOW).data
    assert data.startswith(b"DKIM-Signature:")

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return record if name == b"test._domainkey.news.example.org." else b""

    assert dkim.verify(data, dnsfunc=dns)
    signature = _parse(data)["DKIM-Signature"]
    signed = dict(p.strip().split("=", 1) for p in signature.split(";") if "=" in p)
    covered = set(re.sub(r"\s", "", signed["h"]).lower().split(":"))
    assert {h.decode() for h in DKIM_HEADERS} <= covered
    assert signed["c"] == "relaxed/relaxed"
    tampered = data.replace(
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: x"
    )
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_dkim_config_must_be_complete(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert DkimSigner.from_config(config) is None
    half = dataclasses.replace(config, dkim=dataclasses.replace(config.dkim, selector="s"))
    with pytest.raises(ConfigError, match="selector, domain and key_file"):
        DkimSigner.from_config(half)
    missing = dataclasses.replace(
        config,
        dkim=dataclasses.replace(config.dkim, selector="s", domain="d.org", key_file="nope.key"),
    )
    with pytest.raises(ConfigError, match="nope.key"):
        DkimSigner.from_config(missing)
