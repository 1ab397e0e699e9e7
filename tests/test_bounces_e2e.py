"""End to end, with real servers and the real command line: `newsletter run` sends a digest
through the SMTP sink with signed return paths; mail systems answer with a hard bounce, a
soft bounce and a spam complaint addressed to those return paths; they land in a Dovecot
mailbox; `newsletter bounces process` and then `newsletter run` apply them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.bounce_mail import BOUNCES, arf, dsn
from support.sending import SECRET
from support.smtp import SmtpServer

from newsletter.bounces import make_return_path, read_return_path
from newsletter.bounces.mailbox import KEYWORD
from newsletter.bounces.verp import key_from_secret
from newsletter.cli import cli
from newsletter.config import BUNDLED_SEEDS
from newsletter.store import Store

PEOPLE = [f"reader{i}@example.com" for i in range(4)]
HUMAN = b"From: ann@example.com\r\nTo: bounces@news.example.org\r\nSubject: hello\r\n\r\nHi\r\n"


def write_config(folder: Path, smtp: SmtpServer, box) -> Path:
    feed = sorted(BUNDLED_SEEDS.glob("*.xml"))[0]
    path = folder / "newsletter.toml"
    path.write_text(
        f"""
[site]
name = "Example News"
url = "https://news.example.org"

[list]
name = "daily"
from = "Example News <digest@news.example.org>"
cadence = "every run"
backlog = "all"

[[feeds]]
url = "{feed}"

[smtp]
host = "127.0.0.1"
port = {smtp.port}
security = "none"

[bounces]
address = "{BOUNCES}"
mailbox = "imaps://{box.user}@{box.host}:{box.imaps_port}/INBOX"
ca_file = "{box.cafile}"
soft_after = 2

[store]
path = "data/store.sqlite"
"""
    )
    return path


class Envelopes(list):
    def __call__(self, envelope) -> None:
        self.append((envelope.mail_from, tuple(envelope.rcpt_tos)))


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dovecot_mailbox) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSLETTER_SECRET_KEY", SECRET)
    monkeypatch.setenv("NEWSLETTER_BOUNCES_PASSWORD", dovecot_mailbox.password)
    return CliRunner()


def statuses(store: Store) -> list[str]:
    return [store.get_subscriber(("daily", p)).status for p in PEOPLE]


def test_digest_bounces_and_complaints_end_to_end(runner, tmp_path, dovecot_mailbox):
    box = dovecot_mailbox
    with SmtpServer() as smtp:
        envelopes = Envelopes()
        smtp.handler.on_data = envelopes
        write_config(tmp_path, smtp, box)
        for person in PEOPLE:
            added = runner.invoke(cli, ["subscribers", "add", person, "--status", "confirmed"])
            assert added.exit_code == 0, added.output

        # 1. a digest goes out, each message from its own signed return path
        sent = runner.invoke(cli, ["run", "--json"])
        assert sent.exit_code == 0, sent.output
        assert json.loads(sent.output)["lists"][0]["sent"]["sent"] == 4
        store = Store(tmp_path / "data" / "store.sqlite")
        digest_id = store.latest_digest("daily").id
        rows = {d.email: d.id for d in store.deliveries(digest_id)}
        key = key_from_secret(SECRET)
        return_path = {}
        for mail_from, (rcpt,) in envelopes:
            assert mail_from.startswith("bounces+d") and mail_from.endswith("@news.example.org")
            assert read_return_path(mail_from, key) == rows[rcpt]
            return_path[rcpt] = mail_from
        assert set(return_path) == set(PEOPLE)

        # 2. the mail systems answer, to the return paths, quoting what they got
        ann, ben, cat, dan = PEOPLE
        got = {p: smtp.messages[p][0] for p in PEOPLE}
        box.deliver(dsn(return_path[ann], ann, original=got[ann]))
        full = "smtp; 452 4.2.2 mailbox full"
        box.deliver(dsn(return_path[ben], ben, "4.2.2", diagnostic=full, original=got[ben]))
        box.deliver(arf("abuse-reports@news.example.org", cat, got[cat], return_path[cat]))
        box.deliver(HUMAN)

        # 3. bounces process applies them, flags the messages, deletes nothing
        done = runner.invoke(cli, ["bounces", "process"])
        assert done.exit_code == 0, done.output
        assert done.output.splitlines()[0] == (
            "4 messages: 2 bounces (1 hard, 1 soft), 1 complaint, 1 other; now bounced: 1, "
            "unsubscribed for a complaint: 1"
        )
        assert statuses(store) == ["bounced", "confirmed", "unsubscribed", "confirmed"]
        events = {p: store.bounce_events(store.get_subscriber(("daily", p)).id) for p in PEOPLE}
        (hard,) = events[ann]
        assert (hard.digest_id, hard.delivery_id, hard.severity, hard.status) == (
            digest_id,
            rows[ann],
            "hard",
            "5.1.1",
        )
        assert hard.matched == "signed" and hard.source.startswith("mailbox imaps://")
        assert [(e.severity, e.status, e.action) for e in events[ben]] == [("soft", "4.2.2", "")]
        assert [(e.kind, e.action) for e in events[cat]] == [("complaint", "unsubscribed")]
        assert events[dan] == []
        stored = box.messages("INBOX")
        assert len(stored) == 4
        assert all({"\\Seen", KEYWORD} <= m.flags and not m.deleted for m in stored)

        shown = runner.invoke(cli, ["subscribers", "show", cat])
        assert "unsubscribed (complained, " in shown.output

        # 4. a second process finds nothing new
        again = runner.invoke(cli, ["bounces", "process", "--json"])
        assert again.exit_code == 0, again.output
        assert json.loads(again.output)["messages"] == 0
        assert statuses(store) == ["bounced", "confirmed", "unsubscribed", "confirmed"]

        # 5. `run` reads the mailbox by itself, before it sends: ben's second soft bounce
        # (about a second digest) passes soft_after = 2, so the third digest, whose send
        # `run` resumes, skips him
        folder = store.get_digest(digest_id).path
        second = store.create_digest("daily", store.clock(), folder, "second", [])
        store.create_deliveries(second)
        for row in store.deliveries(second):
            lease = store.clock() + timedelta(minutes=5)
            assert store.claim_delivery(row.id, "test-sender", lease) == "claimed"
            store.mark_sent(row.id, f"<{row.id}@news.example.org>", "test-sender")
        store.mark_digest_sent(second)
        (ben2,) = [d.id for d in store.deliveries(second) if d.email == ben]
        third = store.create_digest("daily", store.clock(), folder, "third", [])
        store.create_deliveries(third)
        box.deliver(dsn(make_return_path(BOUNCES, ben2, key), ben, "4.2.2", diagnostic=full))

        ran = runner.invoke(cli, ["run"])
        assert ran.exit_code == 0, ran.output
        assert "bounces: 1 message: 1 bounce (0 hard, 1 soft), 0 complaints; now bounced: 1" in (
            ran.output
        )
        assert statuses(store) == ["bounced", "bounced", "unsubscribed", "confirmed"]
        assert {d.email: d.status for d in store.deliveries(third)} == {
            ben: "skipped",
            dan: "sent",
        }
        assert len(smtp.messages[dan]) == 2 and len(smtp.messages[ben]) == 1
        assert len(box.messages("INBOX")) == 5
        quiet = runner.invoke(cli, ["run", "--json"])
        assert json.loads(quiet.output)["bounces"]["messages"] == 0
        store.close()
