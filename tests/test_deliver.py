"""The resumable send loop against a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from support.sending import SITE_URL, add_people, make_config, make_digest
from support.smtp import SmtpServer
from support.stores import impatient, target_of

from newsletter.audience.tokens import MANAGE, UNSUBSCRIBE, Tokens
from newsletter.config import SmtpConfig
from newsletter.errors import SendError
from newsletter.mail.compose import format_subject
from newsletter.mail.deliver import SendReport, digests_to_send, send, send_digest, send_test
from newsletter.store import Store

TESTS = Path(__file__).resolve().parent


@pytest.fixture(params=[False, True], ids=["one-by-one", "pipelining"])
def server(request):
    """The recording server, once without and once with PIPELINING advertised."""
    with SmtpServer() as s:
        s.handler.pipelining = request.param
        yield s


class Sleeps(list):
    """An injectable sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _config(tmp_path: Path, server: SmtpServer, **smtp):
    return make_config(tmp_path, smtp=server.smtp_config(**smtp))


def _rows(store: Store, digest_id: int) -> dict[str, str]:
    return {d.email: d.status for d in store.deliveries(digest_id)}


def test_summary_line_format() -> None:
    report = SendReport(1, "daily", sent=9812, failed=3, skipped_unsubscribed=41)
    assert report.summary_line() == (
        "sent 9,812, failed 3 (see 'newsletter deliveries --failed'), skipped 41 unsubscribed"
    )
    assert (
        SendReport(1, "daily", sent=5).summary_line() == "sent 5, failed 0, skipped 0 unsubscribed"
    )
    stopped = SendReport(1, "daily", sent=2, uncertain=1, stopped="cannot connect", pending=7)
    line = stopped.summary_line()
    assert "1 uncertain (DATA ended, no reply recorded" in line
    assert "newsletter deliveries --uncertain" in line
    assert line.endswith("stopped: cannot connect; 7 still pending, run `newsletter send` again")
    named = stopped.summary_line("my news/tech.toml")  # commands that work as printed
    assert "see 'newsletter -c 'my news/tech.toml' deliveries --uncertain'" in named
    assert named.endswith("run `newsletter -c 'my news/tech.toml' send` again")


def test_full_send(tmp_path: Path, store: Store, server: SmtpServer, clock) -> None:
    config = _config(tmp_path, server, connections=2)
    confirmed = add_people(store, 7)
    add_people(store, 2, "pending", prefix="waiting")
    add_people(store, 2, "unsubscribed", prefix="left")
    add_people(store, 1, "bounced", prefix="dead")
    store.add_subscriber("weekly", "other-list@example.com", status="confirmed")
    digest_id = make_digest(store, tmp_path)
    seen: list[tuple[int, int]] = []

    report = send_digest(
        config, store, digest_id, progress=lambda d, t: seen.append((d, t)), clock=clock
    )

    assert report.summary_line() == "sent 7, failed 0, skipped 0 unsubscribed"
    assert seen[-1] == (7, 7) and len(seen) == 7
    expected = {f"reader{i}@example.com" for i in range(7)}
    assert server.counts() == dict.fromkeys(expected, 1)
    tokens = Tokens.from_config(config, clock)
    parser = BytesParser(policy=policy.default)
    for subscriber_id in confirmed:
        subscriber = store.get_subscriber(subscriber_id)
        [raw] = server.messages[subscriber.email]
        msg = parser.parsebytes(raw)
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        for header in (
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "List-Id",
            "List-Unsubscribe",
        ):
            assert msg[header], header
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert msg["To"].addresses[0].addr_spec == subscriber.email
        assert msg["Subject"] == "Example News: Big story and 4 more (5 Jan 2026)"
        url = msg["List-Unsubscribe"].strip("<>")
        prefix = f"{SITE_URL}/unsubscribe/"
        assert url.startswith(prefix)
        assert tokens.read(UNSUBSCRIBE, url[len(prefix) :]).names(subscriber)  # ITS recipient
        html = msg.get_body(("html",)).get_content()
        text = msg.get_body(("plain",)).get_content()
        assert f'href="{url}"' in html and url in text
        manage = text.split("Preferences: ")[1].split()[0]
        assert tokens.read(MANAGE, manage.rsplit("/", 1)[1]).names(subscriber)
        assert f"Hello {subscriber.name}," in text
    rows = store.deliveries(digest_id)
    assert {r.status for r in rows} == {"sent"} and len(rows) == 7
    by_email = {r.email: r for r in rows}
    first = parser.parsebytes(server.messages["reader0@example.com"][0])
    assert by_email["reader0@example.com"].message_id == first["Message-ID"]
    assert store.get_digest(digest_id).sent_at == clock()
    assert store.last_sent_at("daily") == clock()
    assert store.pending_digests("daily") == []

    again = send_digest(config, store, digest_id, clock=clock)  # nothing left: nothing sent
    assert again.sent == 0 and server.handler.total == 7


def test_retries_temporary_failures_and_records_permanent_ones(
    tmp_path: Path, store: Store, server: SmtpServer
) -> None:
    config = _config(tmp_path, server, connections=2, max_retries=3, bounce_after=3)
    add_people(store, 6)
    server.handler.temp_fail.update({"reader1@example.com": 2, "reader4@example.com": 1})
    server.handler.reject.add("reader2@example.com")
    digest_id = make_digest(store, tmp_path)
    sleeps = Sleeps()

    report = send_digest(config, store, digest_id, sleep=sleeps)

    assert (report.sent, report.failed, report.retried) == (5, 1, 3)
    assert ", 3 retried after a temporary failure" in report.summary_line()
    assert sleeps == [5.0, 10.0]  # two retry rounds, backing off
    assert server.counts() == {f"reader{i}@example.com": 1 for i in (0, 1, 3, 4, 5)}
    assert server.handler.rcpt_attempts["reader2@example.com"] == 1  # 5xx: not retried
    assert server.handler.rcpt_attempts["reader1@example.com"] == 3
    failed = store.deliveries(digest_id, status="failed")
    assert [d.email for d in failed] == ["reader2@example.com"]
    assert "550" in failed[0].last_error and failed[0].attempts == 1
    reader1 = next(d for d in store.deliveries(digest_id) if d.email == "reader1@example.com")
    assert reader1.status == "sent" and reader1.attempts == 3
    assert store.get_subscriber(("daily", "reader2@example.com")).bounce_count == 1
    assert "(see 'newsletter deliveries --failed')" in report.summary_line()
    assert store.get_digest(digest_id).sent_at is not None


def test_temporary_failures_are_not_retried_forever(
    tmp_path: Path, store: Store, server: SmtpServer
) -> None:
    config = _config(tmp_path, server, max_retries=2)
    add_people(store, 2)
    server.handler.temp_fail["reader0@example.com"] = 99
    digest_id = make_digest(store, tmp_path)

    report = send_digest(config, store, digest_id, sleep=Sleeps())

    assert (report.sent, report.failed) == (1, 1)
    assert server.handler.rcpt_attempts["reader0@example.com"] == 3
    [failed] = store.deliveries(digest_id, status="failed")
    assert failed.last_error.startswith("still refused after retries: RCPT: 451")
    assert failed.attempts == 3
    # a temporary refusal says nothing about the address
    subscriber = store.get_subscriber(("daily", "reader0@example.com"))
    assert subscriber.status == "confirmed" and subscriber.bounce_count == 0


def test_an_address_that_keeps_bouncing_becomes_bounced(
    tmp_path: Path, store: Store, server: SmtpServer, clock
) -> None:
    config = _config(tmp_path, server, bounce_after=2)
    add_people(store, 3)
    server.handler.reject.add("reader1@example.com")
    reports = []
    for n in range(3):
        digest_id = make_digest(store, tmp_path, name=f"issue-{n}")
        reports.append(send_digest(config, store, digest_id, sleep=Sleeps()))
        if n == 0:
            assert store.get_subscriber(("daily", "reader1@example.com")).status == "confirmed"
    assert [r.bounced for r in reports] == [0, 1, 0]
    assert [r.failed for r in reports] == [1, 1, 0]
    assert store.get_subscriber(("daily", "reader1@example.com")).status == "bounced"
    assert "reader1@example.com" not in _rows(store, digest_id)  # no row for issue 3
    assert server.counts()["reader0@example.com"] == 3


def test_a_dropped_connection_is_reopened(tmp_path: Path, store: Store, server: SmtpServer) -> None:
    config = _config(tmp_path, server, connections=1)
    add_people(store, 8)
    server.handler.drop_after = 3
    digest_id = make_digest(store, tmp_path)

    report = send_digest(config, store, digest_id, sleep=Sleeps())

    assert report.sent == 8 and report.stopped == ""
    assert server.handler.sessions >= 2 and server.handler.dropped == 1
    assert sorted(server.counts().values()) == [1] * 8


def test_a_server_that_keeps_dropping_stops_cleanly_and_a_rerun_finishes(
    tmp_path: Path, store: Store, server: SmtpServer
) -> None:
    config = _config(tmp_path, server, connections=2, max_retries=1)
    add_people(store, 10)
    server.handler.drop_after = 4
    server.handler.drop_times = 10_000
    digest_id = make_digest(store, tmp_path)

    first = send_digest(config, store, digest_id, sleep=Sleeps())

    # two connections may both be past MAIL when the 4th message lands: 4 or 5 got through
    assert first.sent == server.handler.total in (4, 5) and first.failed == 0
    assert "connection to 127.0.0.1" in first.stopped and first.pending == 10 - first.sent
    assert "still pending, run `newsletter send` again" in first.summary_line()
    assert store.get_digest(digest_id).sent_at is None
    assert [d.id for d in store.pending_digests("daily")] == [digest_id]

    server.handler.drop_after = None
    second = send_digest(config, store, digest_id, sleep=Sleeps())

    assert second.sent == 10 - first.sent and second.stopped == ""
    assert sorted(server.counts().values()) == [1] * 10  # everyone once, nobody twice
    assert store.get_digest(digest_id).sent_at is not None


def test_a_message_lost_after_its_data_is_uncertain_and_not_resent(
    tmp_path: Path, store: Store, server: SmtpServer
) -> None:
    config = _config(tmp_path, server, connections=1)
    add_people(store, 5)
    server.handler.drop_after_data = 2  # the 2nd message is kept, but no reply comes
    digest_id = make_digest(store, tmp_path)

    first = send_digest(config, store, digest_id, sleep=Sleeps())

    assert (first.sent, first.uncertain) == (4, 1)
    assert _rows(store, digest_id)["reader1@example.com"] == "uncertain"
    [doubt] = store.uncertain_deliveries("daily")
    assert (doubt.digest_id, doubt.email) == (digest_id, "reader1@example.com")
    assert "DATA-END" in doubt.last_error and doubt.data_ended_at is not None
    rerun = send_digest(config, store, digest_id, sleep=Sleeps())
    assert (rerun.sent, rerun.uncertain) == (0, 1)
    assert server.counts()["reader1@example.com"] == 1
    # the operator may choose to resend it, accepting a possible duplicate
    forced = send_digest(config, store, digest_id, sleep=Sleeps(), resend_uncertain=True)
    assert (forced.sent, forced.uncertain) == (1, 0)
    assert server.counts()["reader1@example.com"] == 2
    assert set(_rows(store, digest_id).values()) == {"sent"}


def test_people_who_leave_after_the_rows_are_written_are_skipped(
    tmp_path: Path, store: Store, server: SmtpServer
) -> None:
    config = _config(tmp_path, server, connections=1)
    ids = add_people(store, 6)
    digest_id = make_digest(store, tmp_path)
    assert store.create_deliveries(digest_id) == 6
    store.set_status(ids[0], "unsubscribed")
    store.set_status(ids[1], "bounced")
    # the web app unsubscribes someone while the send is under way, from its own connection;
    # every write it makes mid-send must get the lock at once (no transaction is held
    # across network I/O)
    web = impatient(store, 0.5)

    def web_app_writes(envelope) -> None:
        with web.transaction():
            web.db.execute(
                "UPDATE subscribers SET status = 'unsubscribed' WHERE email = 'reader5@example.com'"
            )

    server.handler.on_data = web_app_writes
    try:
        report = send_digest(config, store, digest_id, sleep=Sleeps())
    finally:
        web.close()

    assert report.sent == 3
    assert (report.skipped_unsubscribed, report.skipped_other) == (2, 1)
    assert (
        report.summary_line() == "sent 3, failed 0, skipped 2 unsubscribed, 1 no longer confirmed"
    )
    assert set(server.counts()) == {f"reader{i}@example.com" for i in (2, 3, 4)}
    skipped = {d.email: d.last_error for d in store.deliveries(digest_id, status="skipped")}
    assert skipped == {
        "reader0@example.com": "unsubscribed",
        "reader1@example.com": "bounced",
        "reader5@example.com": "unsubscribed",
    }
    assert store.get_digest(digest_id).sent_at is not None


def test_killed_mid_send_then_rerun_sends_everyone_once(
    tmp_path: Path, store: Store, server: SmtpServer
) -> None:
    add_people(store, 30)
    digest_id = make_digest(store, tmp_path)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from newsletter.config import SmtpConfig\n"
        "from newsletter.mail.deliver import send_digest\n"
        "from newsletter.store import Store\n"
        "from support.sending import make_config\n"
        "base, port, digest_id = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])\n"
        "smtp = SmtpConfig(host='127.0.0.1', port=port, security='none', rate=25, connections=1)\n"
        "send_digest(make_config(base, smtp=smtp), Store(sys.argv[4]), digest_id)\n"
    )
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path), str(server.port), str(digest_id)]
        + [target_of(store)],
        env=env,
    )
    try:
        assert server.wait_for(8, timeout=30), "the child never got going"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    sent_before = sum(1 for status in _rows(store, digest_id).values() if status == "sent")
    assert 7 <= sent_before < 30

    config = make_config(tmp_path, smtp=server.smtp_config())
    # holding the run (as `newsletter send` does): the dead child's claim is settled at once
    report = send_digest(config, store, digest_id)  # alone: the killed sender's rows settle

    rows = _rows(store, digest_id)
    assert report.totals["sending"] == report.totals["data_sent"] == 0
    uncertain = {email for email, status in rows.items() if status == "uncertain"}
    assert report.uncertain == len(uncertain) <= 1  # at most the one in flight at the kill
    assert report.sent == 30 - sent_before - len(uncertain)
    server.wait_for(30 - len(uncertain))
    counts = server.counts()
    for i in range(30):
        email = f"reader{i}@example.com"
        if email in uncertain:
            assert counts.get(email, 0) <= 1
        else:
            assert counts.get(email) == 1, email
            assert rows[email] == "sent"


def test_header_injection_from_a_feed_title_and_a_subscriber_name(
    tmp_path: Path, store: Store, server: SmtpServer
) -> None:
    config = _config(tmp_path, server)
    subject = format_subject(
        "{site}: {headline} and {more} more ({date})",
        site="Example News",
        date="5 Jan 2026",
        headline="Quarterly results =?UTF-8?Q?=0A?=Bcc: victim@evil.example",
        count=3,
    )
    digest_id = make_digest(store, tmp_path, subject=subject)
    # a name stored before validation existed (the store keeps what it is given)
    store.add_subscriber(
        "daily", "eve@example.com", "Eve\r\nBcc: victim2@evil.example", "confirmed"
    )
    store.add_subscriber(
        "daily", "mallory@example.com", "=?UTF-8?Q?=0A?=Bcc: victim3@evil.example", "confirmed"
    )

    report = send_digest(config, store, digest_id)

    assert report.sent == 2
    assert set(server.counts()) == {"eve@example.com", "mallory@example.com"}
    for email in ("eve@example.com", "mallory@example.com"):
        [raw] = server.messages[email]
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert b"\r\nBcc:" not in head and b"\r\nbcc:" not in head.lower()
        [msg] = server.parsed(email)
        assert msg["Bcc"] is None
        assert msg["Subject"].startswith("Example News: Quarterly results")
        assert [a.addr_spec for a in msg["To"].addresses] == [email]


def test_dry_run_writes_eml_files_and_changes_nothing(tmp_path: Path, store: Store, clock) -> None:
    config = make_config(tmp_path, smtp=SmtpConfig(host="127.0.0.1", port=1, security="none"))
    add_people(store, 3)
    add_people(store, 1, "unsubscribed", prefix="left")
    digest_id = make_digest(store, tmp_path)

    def no_network():
        raise AssertionError("a dry run must not connect")

    report = send_digest(
        config, store, digest_id, dry_run=True, transport_factory=no_network, clock=clock
    )

    folder = tmp_path / "output" / "daily" / "2026-01-05T0700" / "dry-run"
    files = sorted(folder.glob("*.eml"))
    assert report.written == 3 and len(files) == 3
    assert report.summary_line() == f"dry run: wrote 3 messages to {folder}"
    parsed = [BytesParser(policy=policy.default).parsebytes(f.read_bytes()) for f in files]
    assert sorted(m["To"].addresses[0].addr_spec for m in parsed) == [
        f"reader{i}@example.com" for i in range(3)
    ]
    assert store.deliveries(digest_id) == []
    assert store.get_digest(digest_id).sent_at is None


def test_send_to_one_address_is_recorded_nowhere(
    tmp_path: Path, store: Store, server: SmtpServer
) -> None:
    config = _config(tmp_path, server)
    add_people(store, 2)
    digest_id = make_digest(store, tmp_path)

    message_id = send_test(config, store, digest_id, "Editor@Example.org")

    [msg] = server.parsed("editor@example.org")
    assert msg["Message-ID"] == message_id
    assert store.deliveries(digest_id) == []
    assert store.get_digest(digest_id).sent_at is None
    reports = send(config, store, digest="latest", to="editor@example.org")
    assert reports[0].sent == 1 and server.counts() == {"editor@example.org": 2}


def test_which_digests_a_send_means(tmp_path: Path, store: Store, server: SmtpServer) -> None:
    config = _config(tmp_path, server)
    add_people(store, 2)
    with pytest.raises(SendError, match="no digest yet"):
        digests_to_send(store, "daily")
    old = make_digest(store, tmp_path, name="old")
    store.create_deliveries(old)  # a send that crashed before anything went out
    new = make_digest(store, tmp_path, name="new")
    assert [d.id for d in digests_to_send(store, "daily")] == [old, new]
    assert [d.id for d in digests_to_send(store, "daily", "latest")] == [new]
    assert [d.id for d in digests_to_send(store, "daily", str(old))] == [old]
    with pytest.raises(SendError, match="no digest 99"):
        digests_to_send(store, "daily", 99)
    with pytest.raises(SendError, match="a number or 'latest'"):
        digests_to_send(store, "daily", "newest")

    reports = send(config, store)

    assert [r.sent for r in reports] == [2, 2]
    assert digests_to_send(store, "daily") == []


def test_a_digest_without_an_unsubscribe_link_is_refused(
    tmp_path: Path, store: Store, server: SmtpServer
) -> None:
    config = _config(tmp_path, server)
    add_people(store, 1)
    digest_id = make_digest(store, tmp_path, html="<p>No way out</p>")
    with pytest.raises(SendError, match="unsubscribe_url"):
        send_digest(config, store, digest_id)
    assert store.deliveries(digest_id) == [] and server.handler.total == 0


def test_a_digest_built_by_an_older_version_goes_out_without_personal_body_links(
    tmp_path: Path, store: Store, server: SmtpServer
) -> None:
    """Older builds marked personal links with fixed strings a feed could imitate: such a
    digest (say, one in flight during the upgrade) is sent with the site's token-less pages
    in its body; only the List-Unsubscribe header, which no feed reaches, is personal."""
    config = _config(tmp_path, server)
    [sid] = add_people(store, 1)
    html = (
        '<p>Story <img src="https://evil.example/p.gif?m=%%MANAGE_URL%%"> %%RECIPIENT%%</p>'
        '<p><a href="%%UNSUBSCRIBE_URL%%">Unsubscribe</a> <a href="%%MANAGE_URL%%">Manage</a></p>'
    )
    text = "Story %%MANAGE_URL%%\nUnsubscribe: %%UNSUBSCRIBE_URL%%\n"
    digest_id = make_digest(store, tmp_path, html=html, text=text)
    (Path(store.get_digest(digest_id).path) / "digest.json").unlink()  # an old build
    assert send_digest(config, store, digest_id).sent == 1
    [raw] = server.messages["reader0@example.com"]
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    body = msg.get_body(("html",)).get_content() + msg.get_body(("plain",)).get_content()
    assert "/manage/" not in body and "/unsubscribe/" not in body and "reader0" not in body
    assert f"{SITE_URL}/unsubscribe" in body and "%%" not in body
    header = msg["List-Unsubscribe"].strip("<>")
    assert header.startswith(f"{SITE_URL}/unsubscribe/")
    link = Tokens.from_config(config).read(UNSUBSCRIBE, header.rsplit("/", 1)[1])
    assert link.names(store.get_subscriber(sid))


def test_no_server_leaves_every_row_pending(tmp_path: Path, store: Store) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = make_config(
        tmp_path, smtp=SmtpConfig(host="127.0.0.1", port=port, security="none", timeout=2)
    )
    add_people(store, 4)
    digest_id = make_digest(store, tmp_path)
    sleeps = Sleeps()

    report = send_digest(config, store, digest_id, sleep=sleeps)

    assert (report.sent, report.failed) == (0, 0)
    assert "cannot connect to 127.0.0.1" in report.stopped and report.pending == 4
    assert sleeps == [5.0, 10.0, 20.0, 40.0]
    assert set(_rows(store, digest_id).values()) == {"pending"}


def test_a_refused_sender_halts_the_run(tmp_path: Path, store: Store, server: SmtpServer) -> None:
    config = _config(tmp_path, server, connections=2)
    add_people(store, 5)
    server.handler.mail_reply = "550 5.7.1 sender not allowed"
    digest_id = make_digest(store, tmp_path)
    sleeps = Sleeps()

    report = send_digest(config, store, digest_id, sleep=sleeps)

    assert "refused the sender" in report.stopped and "check the list's from" in report.stopped
    assert (report.sent, report.failed, report.pending) == (0, 0, 5)
    assert sleeps == []
    assert store.get_subscriber(("daily", "reader0@example.com")).bounce_count == 0


def test_the_store_stays_writable_during_a_slow_send(
    tmp_path: Path, store: Store, server: SmtpServer
) -> None:
    config = _config(tmp_path, server, connections=2, rate=20)
    add_people(store, 20)
    digest_id = make_digest(store, tmp_path)
    other = impatient(store, 0.2)
    added = []

    def subscribe_meanwhile(envelope) -> None:
        added.append(other.add_subscriber("daily", f"new{len(added)}@example.com").id)

    server.handler.on_data = subscribe_meanwhile
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    try:
        report = send_digest(config, store, digest_id, sleep=sleep)
    finally:
        other.close()
    assert report.sent == 20 and len(added) == 20
    # the rate limit held: at 20 messages a second a loopback send is faster than a slot,
    # so (nearly) every slot after the first had to be waited for
    assert len(waits) >= 15 and all(w > 0 for w in waits)


def test_an_empty_stored_subject_comes_from_the_template_and_digest_json(
    tmp_path: Path, store: Store, server: SmtpServer
) -> None:
    import json

    config = _config(tmp_path, server)
    add_people(store, 1)
    digest_id = make_digest(store, tmp_path, subject="")
    folder = Path(store.get_digest(digest_id).path)
    stories = {
        "stories": 3,
        "sections": [
            {"label": "Lead", "items": [{"title": "Harbour reopens\nBcc: x@evil.example"}]},
            {"label": "More", "items": [{"title": "b"}, {"title": "c"}]},
        ],
    }
    stories["placeholders"] = json.loads((folder / "digest.json").read_text())["placeholders"]
    (folder / "digest.json").write_text(json.dumps(stories), encoding="utf-8")

    send_digest(config, store, digest_id)

    [msg] = server.parsed("reader0@example.com")
    assert msg["Subject"] == "Example News: Harbour reopens Bcc: x@evil.example and 2 more (Jan 5)"
    assert msg["Bcc"] is None
