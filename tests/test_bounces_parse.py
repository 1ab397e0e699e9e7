"""The bounce parser on composed samples of every format, the signed VERP tokens, hostile
input (bounded work, never an exception) and the message readers."""

from __future__ import annotations

import ast
import io
import json
import mailbox
import random
from email.message import Message
from pathlib import Path

import pytest

from newsletter.bounces import (
    BounceReport,
    Budget,
    ReadError,
    delivery_header_value,
    limits,
    make_return_path,
    parse_message,
    read_delivery_header,
    read_messages,
    read_return_path,
)
from newsletter.bounces.addresses import normalize
from newsletter.bounces.severity import classify

DATA = Path(__file__).resolve().parent / "data" / "bounces"
EXPECTED = json.loads((DATA / "expected.json").read_text())
KEY = b"sample-key-for-tests"  # the key make_samples.py signed the samples with
PACKAGE = Path(__file__).resolve().parent.parent / "newsletter" / "bounces"


def parse_file(name: str) -> BounceReport:
    return parse_message((DATA / name).read_bytes())


# --- the sample set ----------------------------------------------------------------------


def test_sample_set_covers_every_format():
    prefixes = {name.split("-")[0] for name in EXPECTED}
    wanted = {"dsn", "qmail", "exim", "postfix", "sendmail", "exchange", "gmail", "yahoo"}
    wanted |= {"ses", "microsoft", "domino", "groupwise", "mdaemon", "courier", "localized"}
    wanted |= {"arf", "autoreply", "plain", "malformed"}
    assert wanted <= prefixes
    assert len(EXPECTED) >= 60
    assert sorted(p.name for p in DATA.glob("*.eml")) == sorted(EXPECTED)
    kinds = {e["kind"] for e in EXPECTED.values()}
    assert kinds == {"bounce", "complaint", "auto-reply", "not-bounce"}
    classes = {r["class"] for e in EXPECTED.values() for r in e["recipients"]}
    assert {"hard", "soft"} <= classes


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample(name: str):
    want = EXPECTED[name]
    report = parse_file(name)
    assert report.kind == want["kind"], report.source
    got = sorted((r.address, r.cls, r.status) for r in report.recipients)
    expected = sorted((r["address"], r["class"], r["status"]) for r in want["recipients"])
    assert got == expected, report.source
    if "delivery_id" in want:
        assert report.delivery_id(KEY) == want["delivery_id"]
        assert report.delivery_id(b"another key") is None


def test_report_json_shape():
    report = parse_file("dsn-4.eml")
    data = report.to_json("dsn-4.eml")
    assert data["file"] == "dsn-4.eml"
    assert data["kind"] == "bounce"
    assert {tuple(sorted(r)) for r in data["recipients"]} == {
        ("address", "class", "diagnostic", "status")
    }
    dora = next(r for r in data["recipients"] if r["address"] == "dora@full.example.com")
    assert dora["class"] == "soft"
    assert "Mailbox full" in dora["diagnostic"]
    json.dumps(data)  # serialisable as is


def test_original_headers_from_attached_copy():
    report = parse_file("dsn-1.eml")
    assert report.original_headers.message_id == "<digest.1001.20260105@news.example.org>"
    assert read_delivery_header(report.original_headers.delivery or "", KEY) == 1001
    assert report.original_headers.to == "anna.berg@example.com"


def test_delivery_header_quoted_in_body_is_found_without_verp():
    # qmail quotes our headers below its report; with the return path lost (sent to the
    # plain From address) the quoted X-Newsletter-Delivery still names the delivery
    raw = (DATA / "qmail-1.eml").read_bytes()
    plain_to = raw.replace(
        make_return_path("bounces@news.example.org", 2001, KEY).encode(), b"digest@news.example.org"
    )
    raw = plain_to.replace(b"Return-Path: <bounces+", b"X-Old-Return-Path: <bounces+")
    report = parse_message(raw)
    assert report.verp_token is None
    assert report.original_headers.delivery == delivery_header_value(2001, KEY)
    assert report.delivery_id(KEY) == 2001


def test_dsn_carrying_auto_submitted_is_still_a_bounce():
    raw = (DATA / "dsn-1.eml").read_bytes()
    assert b"Auto-Submitted: auto-replied" in raw
    assert parse_message(raw).kind == "bounce"


def test_auto_reply_quoting_failure_words_is_not_a_bounce():
    report = parse_file("autoreply-3.eml")  # "Your mail was not delivered to my phone"
    assert report.kind == "auto-reply"
    assert report.recipients == ()


def test_message_object_and_bytes_give_the_same_report():
    import email

    raw = (DATA / "exim-1.eml").read_bytes()
    assert parse_message(email.message_from_bytes(raw)) == parse_message(raw)


# --- hard / soft rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "diagnostic", "expected"),
    [
        ("5.1.1", "550 5.1.1 user unknown", "hard"),
        ("5.2.2", "552 5.2.2 mailbox full", "soft"),  # RFC 3463: persistent transient
        ("5.0.0", "550 5.1.1 <a@b.example>: no such user", "hard"),  # generic -> specific
        ("5.0.0", "550 quota exceeded", "soft"),
        ("5.7.1", "554 5.7.1 client host blocked using a blocklist", "soft"),
        ("5.7.1", "550 5.7.1 <a@b.example>: Recipient address rejected: User unknown", "hard"),
        ("5.4.4", "unrouteable domain", "hard"),
        ("5.4.7", "delivery time expired", "soft"),
        ("4.2.2", "452 mailbox full", "soft"),
        ("4.0.0", "user unknown", "soft"),  # class 4 is transient whatever the words
        (None, "550 Benutzer unbekannt", "hard"),
        (None, "550 utilisateur inconnu", "hard"),
        (None, "552 Requested mail action aborted, mailbox not found", "hard"),
        (None, "552 message size exceeds fixed limit", "soft"),
        (None, "421 too many connections, try again later", "soft"),
        (None, "Postfach voll", "soft"),
        (None, "buzón lleno", "soft"),
        (None, "", "hard"),
    ],
)
def test_classify(status, diagnostic, expected):
    assert classify(status, diagnostic) == expected


def test_delayed_is_always_soft():
    assert classify("5.1.1", "user unknown", transient=True) == "soft"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("rfc822; <User@Example.COM>", "User@example.com"),
        ("rfc822;jane.doe+news@Mail.Example.org", "jane.doe+news@mail.example.org"),
        ("<x@y.example>", "x@y.example"),
        ("rfc822; <>", None),
        ("not an address", None),
        ("a@localhost", None),
        ("a..b@example.com", None),
        ("x400; /C=DE/O=example/", None),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_daemon_and_own_addresses_are_never_recipients():
    report = parse_file("sendmail-1.eml")
    addresses = {r.address.lower() for r in report.recipients}
    assert addresses == {"helga@example.dk"}
    for name in EXPECTED:
        for r in parse_file(name).recipients:
            local = r.address.split("@")[0].lower()
            assert local not in ("mailer-daemon", "postmaster")
            assert not r.address.endswith("@news.example.org")


# --- VERP -------------------------------------------------------------------------------


def test_verp_round_trip():
    address = make_return_path("bounces@news.example.org", 123, KEY)
    local, domain = address.split("@")
    assert domain == "news.example.org"
    assert local.startswith("bounces+d123-")
    assert len(local.split("-")[-1]) == 12
    assert read_return_path(address, KEY) == 123
    # MTAs that fold the case of local parts
    assert read_return_path(address.lower(), KEY) == 123
    assert read_return_path(address.upper(), KEY) == 123
    assert read_return_path(f"<{address}>", KEY) == 123


def test_verp_forgeries_are_rejected():
    address = make_return_path("bounces@news.example.org", 123, KEY)
    mac = address.split("@")[0].rsplit("-", 1)[1]
    assert read_return_path(address.replace("d123-", "d124-"), KEY) is None
    assert read_return_path(address.replace("d123-", "d0123-"), KEY) is None
    flipped = ("a" if mac[0] != "a" else "b") + mac[1:]
    assert read_return_path(address.replace(mac, flipped), KEY) is None
    assert read_return_path(address.replace(mac, mac[:-1]), KEY) is None
    assert read_return_path(address, b"another key") is None
    assert read_return_path(address, b"") is None
    assert read_return_path("bounces@news.example.org", KEY) is None
    assert read_return_path("garbage", KEY) is None


def test_delivery_header_round_trip_and_forgery():
    value = delivery_header_value(987654321, KEY)
    assert read_delivery_header(value, KEY) == 987654321
    assert read_delivery_header(f"  {value.upper()}\n", KEY) == 987654321
    assert read_delivery_header(value.replace("d987654321", "d987654322"), KEY) is None
    assert read_delivery_header(value, b"other") is None
    assert value == make_return_path("b@x.example", 987654321, KEY).split("+")[1].split("@")[0]


def test_verp_rejects_bad_input():
    with pytest.raises(ValueError):
        make_return_path("no-at-sign", 1, KEY)
    with pytest.raises(ValueError):
        make_return_path("bounces@news.example.org", -1, KEY)
    with pytest.raises(ValueError):
        make_return_path("bounces@news.example.org", 1, b"")
    with pytest.raises(TypeError):
        make_return_path("bounces@news.example.org", "1", KEY)  # type: ignore[arg-type]


def test_forged_verp_in_a_bounce_gives_no_delivery():
    raw = (DATA / "dsn-1.eml").read_bytes()
    real = make_return_path("bounces@news.example.org", 1001, KEY)
    forged_rp = real.replace("d1001-", "d1002-")
    raw = raw.replace(real.encode(), forged_rp.encode())
    raw = raw.replace(delivery_header_value(1001, KEY).encode(), b"d1002-aaaaaaaaaaaa")
    report = parse_message(raw)
    assert report.kind == "bounce"
    assert report.verp_token == forged_rp.split("+")[1].split("@")[0]
    assert report.delivery_id(KEY) is None


# --- hostile input: bounded work, never an exception --------------------------------------

BOUNCE_HEAD = (
    b"From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@news.example.org\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
)


def test_huge_body_is_cut_before_parsing():
    body = (b"<victim@example.com>: 550 5.1.1 user unknown " + b"x" * 200 + b"\r\n") * 90_000
    raw = BOUNCE_HEAD + b"\r\n" + body  # about 20 MB
    assert len(raw) > 20_000_000
    budget = Budget()
    report = parse_message(raw, budget)
    assert budget.bytes_parsed <= limits.MAX_MESSAGE_BYTES
    assert budget.chars_scanned <= 4 * limits.MAX_TOTAL_TEXT
    assert report.kind == "bounce"
    assert [r.address for r in report.recipients] == ["victim@example.com"]


def test_deeply_nested_multiparts_are_cut():
    depth = 5000
    parts = []
    for level in range(depth):
        parts.append(
            f'--b{level}\r\nContent-Type: multipart/mixed; boundary="b{level + 1}"\r\n\r\n'
        )
    raw = (
        BOUNCE_HEAD
        + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n'
        + "".join(parts).encode()
        + b"--b5000\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    )
    budget = Budget()
    report = parse_message(raw, budget)
    assert isinstance(report, BounceReport)
    assert budget.parts_visited <= limits.MAX_PARTS
    assert budget.max_depth_seen <= limits.MAX_DEPTH


def test_deeply_nested_message_object_is_walked_within_limits():
    root = Message()
    root["Content-Type"] = "multipart/mixed"
    node = root
    for _ in range(3000):
        child = Message()
        child["Content-Type"] = "multipart/mixed"
        node.set_payload([child])
        node = child
    node.set_payload([])
    budget = Budget()
    assert parse_message(root, budget).kind == "not-bounce"
    assert budget.parts_visited <= limits.MAX_PARTS
    assert budget.max_depth_seen <= limits.MAX_DEPTH


@pytest.mark.parametrize(
    "line",
    [
        b"a" * 1_000_000,  # one long "local part" without an @
        b"a@" * 500_000,  # a million at-signs
        (b"x." * 30 + b"@") * 16_000,  # dotted runs before each @
        b"<" * 1_000_000,  # tag-like garbage
        b"5.5.5." * 170_000,  # status-code-like garbage
        (b">" * 4000 + b"\r\n") * 250,  # quote markers before every pattern anchor
    ],
)
def test_one_megabyte_line_is_bounded(line):
    raw = BOUNCE_HEAD + b"Content-Type: text/html\r\n\r\n" + line + b"\r\n"
    budget = Budget()
    report = parse_message(raw, budget)
    assert isinstance(report, BounceReport)
    assert budget.bytes_parsed <= limits.MAX_MESSAGE_BYTES
    assert budget.chars_scanned <= 4 * limits.MAX_TOTAL_TEXT


def test_many_recipients_are_capped():
    lines = b"".join(
        b"<user%d@example.com>: 550 5.1.1 user unknown\r\n\r\n" % i for i in range(2000)
    )
    raw = BOUNCE_HEAD + b"\r\nI'm sorry to have to inform you that your message\r\n\r\n" + lines
    report = parse_message(raw)
    assert report.kind == "bounce"
    assert 100 < len(report.recipients) <= limits.MAX_RECIPIENTS


def test_mutated_samples_never_raise():
    rng = random.Random(20260105)
    names = sorted(EXPECTED)
    kinds = set()
    for round_ in range(300):
        raw = bytearray((DATA / names[round_ % len(names)]).read_bytes())
        for _ in range(rng.randint(1, 40)):
            if not raw:
                break
            pos = rng.randrange(len(raw))
            action = rng.random()
            if action < 0.4:
                raw[pos] = rng.randrange(256)
            elif action < 0.7:
                del raw[pos : pos + rng.randint(1, 200)]
            else:
                raw[pos:pos] = rng.choice([b"\r\n", b"--", b"=?utf-8?B?", b"\x00", b"\xff" * 9])
        report = parse_message(bytes(raw))
        assert isinstance(report, BounceReport)
        kinds.add(report.kind)
    assert "bounce" in kinds  # most mutations leave a readable bounce


@pytest.mark.parametrize("raw", [b"", b"\r\n\r\n", b"\x00" * 100, b"From: \r\n\r\n", b"\xff\xfe"])
def test_empty_and_binary_input(raw):
    assert parse_message(raw).kind == "not-bounce"


def test_parse_message_rejects_non_messages_politely():
    assert parse_message("a string").kind == "not-bounce"  # type: ignore[arg-type]
    assert parse_message(None).kind == "not-bounce"  # type: ignore[arg-type]


# --- readers ----------------------------------------------------------------------------


def _sample_bytes(*names: str) -> list[bytes]:
    return [(DATA / n).read_bytes() for n in names]


def test_read_eml_files_and_plain_folders(tmp_path):
    first, second = _sample_bytes("dsn-1.eml", "qmail-1.eml")
    (tmp_path / "a.eml").write_bytes(first)
    (tmp_path / "b.eml").write_bytes(second)
    (tmp_path / ".hidden").write_bytes(b"x")
    items = list(read_messages([tmp_path / "a.eml", tmp_path]))
    assert [name for name, _ in items] == [
        str(tmp_path / "a.eml"),
        str(tmp_path / "a.eml"),
        str(tmp_path / "b.eml"),
    ]
    assert items[0][1] == first
    assert items[2][1] == second


def test_read_maildir(tmp_path):
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for raw in _sample_bytes("dsn-1.eml", "exim-1.eml", "autoreply-1.eml"):
        box.add(raw)
    # one message moved to cur/, as a mail client would
    key = sorted(box.keys())[0]
    message = box.get_message(key)
    message.set_subdir("cur")
    box[key] = message
    (tmp_path / "Maildir" / "tmp" / "half-written").write_bytes(b"not yet delivered")
    items = list(read_messages([tmp_path / "Maildir"]))
    assert len(items) == 3
    assert any("/cur/" in name for name, _ in items)
    assert not any("half-written" in name for name, _ in items)
    kinds = sorted(parse_message(raw).kind for _, raw in items)
    assert kinds == ["auto-reply", "bounce", "bounce"]


def test_read_mbox(tmp_path):
    path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(path, create=True)
    for raw in _sample_bytes("postfix-1.eml", "arf-1.eml"):
        box.add(raw)
    box.flush()
    box.close()
    items = list(read_messages([str(path)]))
    assert [name for name, _ in items] == [f"{path}#1", f"{path}#2"]
    assert [parse_message(raw).kind for _, raw in items] == ["bounce", "complaint"]


def test_read_stdin_single_message_and_mbox_stream():
    raw = (DATA / "gmail-1.eml").read_bytes()
    items = list(read_messages(["-"], stdin=io.BytesIO(raw)))
    assert items == [("-", raw)]
    stream = b"From MAILER-DAEMON Mon Jan  5 06:00:00 2026\n" + raw + b"\n"
    stream += b"From x Mon Jan  5 06:00:00 2026\nSubject: two\n\n>From the start\n"
    items = list(read_messages(["-"], stdin=io.BytesIO(stream)))
    assert [name for name, _ in items] == ["-#1", "-#2"]
    assert parse_message(items[0][1]).kind == "bounce"
    assert items[1][1].endswith(b"From the start\n")


def test_unreadable_sources_yield_errors(tmp_path):
    broken = tmp_path / "dangling.eml"
    broken.symlink_to(tmp_path / "nowhere")
    good = tmp_path / "good.eml"
    good.write_bytes((DATA / "dsn-1.eml").read_bytes())
    items = list(read_messages([tmp_path / "missing.eml", broken, good]))
    assert isinstance(items[0][1], ReadError)
    assert isinstance(items[1][1], ReadError)
    assert items[2] == (str(good), good.read_bytes())


def test_reader_survives_a_file_that_fails_to_open(tmp_path, monkeypatch):
    path = tmp_path / "locked.eml"
    path.write_bytes(b"Subject: x\n\nbody\n")
    real_open = Path.open

    def failing_open(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", failing_open)
    [(name, item)] = list(read_messages([path]))
    assert name == str(path)
    assert isinstance(item, ReadError)
    assert "Permission denied" in item.message


# --- the package stands alone -----------------------------------------------------------


def test_package_imports_only_stdlib_and_itself():
    import sys

    allowed = set(sys.stdlib_module_names) | {"__future__"}
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    continue  # relative: inside the package
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
