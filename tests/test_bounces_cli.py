"""`newsletter bounces parse|process` and `newsletter subscribers show` through click."""

from __future__ import annotations

import json
import mailbox
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.bounce_mail import BOUNCES, arf, dsn, key_of, sent_digest, verp
from support.sending import SECRET

from newsletter.bounces import delivery_header_value
from newsletter.cli import cli
from newsletter.config import load_config
from newsletter.store import Store

DATA = Path(__file__).resolve().parent / "data" / "bounces"
EXPECTED = json.loads((DATA / "expected.json").read_text())

CONFIG = f"""
[site]
name = "Example News"
url = "https://news.example.org"

[list]
name = "daily"
from = "Example News <digest@news.example.org>"

[bounces]
address = "{BOUNCES}"
soft_after = 2

[store]
path = "store.sqlite"
"""


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSLETTER_SECRET_KEY", SECRET)
    return CliRunner()


def lines_of(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


# --- parse ----------------------------------------------------------------------------


def test_parse_json_prints_one_object_per_message(runner):
    names = ["dsn-1.eml", "dsn-4.eml", "arf-1.eml", "autoreply-1.eml", "exim-2.eml"]
    result = runner.invoke(cli, ["bounces", "parse", "--json", *(str(DATA / n) for n in names)])
    assert result.exit_code == 0, result.output
    objects = lines_of(result.output)
    assert [o["file"] for o in objects] == [str(DATA / n) for n in names]
    for name, obj in zip(names, objects, strict=True):
        assert set(obj) == {"file", "kind", "recipients"}
        assert obj["kind"] == EXPECTED[name]["kind"]
        got = sorted((r["address"], r["class"], r["status"]) for r in obj["recipients"])
        want = sorted((r["address"], r["class"], r["status"]) for r in EXPECTED[name]["recipients"])
        assert got == want
        for r in obj["recipients"]:
            assert set(r) == {"address", "class", "status", "diagnostic"}
    assert objects[2]["recipients"][0]["class"] is None  # complaints carry no class
    assert objects[3]["recipients"] == []


def test_parse_reads_maildir_mbox_and_stdin(runner, tmp_path):
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    maildir.add((DATA / "dsn-1.eml").read_bytes())
    maildir.add((DATA / "qmail-1.eml").read_bytes())
    box = mailbox.mbox(tmp_path / "saved.mbox", create=True)
    box.add((DATA / "arf-1.eml").read_bytes())
    box.add((DATA / "postfix-1.eml").read_bytes())
    box.close()
    result = runner.invoke(
        cli,
        [
            "bounces",
            "parse",
            "--json",
            str(tmp_path / "Maildir"),
            str(tmp_path / "saved.mbox"),
            "-",
        ],
        input=(DATA / "gmail-1.eml").read_bytes(),
    )
    assert result.exit_code == 0, result.output
    objects = lines_of(result.output)
    assert len(objects) == 5
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == sorted(
        EXPECTED[n]["kind"]
        for n in ("dsn-1.eml", "qmail-1.eml", "arf-1.eml", "postfix-1.eml", "gmail-1.eml")
    )
    assert objects[2]["file"] == f"{tmp_path / 'saved.mbox'}#1"
    assert objects[4]["file"] == "-"


def test_parse_text_says_what_and_who(runner):
    result = runner.invoke(
        cli, ["bounces", "parse", str(DATA / "dsn-4.eml"), str(DATA / "arf-1.eml")]
    )
    assert result.exit_code == 0, result.output
    text = result.output
    assert f"{DATA / 'dsn-4.eml'}: bounce, 2 recipients" in text
    assert "emil@gone.example.com\thard\t5.1.1" in text
    assert "dora@full.example.com\tsoft\t5.2.2" in text
    assert f"{DATA / 'arf-1.eml'}: complaint, 1 recipient (delivery token d10001-" in text


def test_parse_never_touches_the_store_and_reports_unreadable_files(runner, tmp_path):
    (tmp_path / "newsletter.toml").write_text(CONFIG)
    result = runner.invoke(cli, ["bounces", "parse", "missing.eml", str(DATA / "dsn-1.eml")])
    assert result.exit_code == 1
    assert "missing.eml: cannot read: no such file" in result.output
    assert "dsn-1.eml: bounce" in result.output
    assert not (tmp_path / "store.sqlite").exists()


# --- process and show --------------------------------------------------------------------


def setup_list(tmp_path: Path) -> tuple[Store, dict[str, int], bytes]:
    (tmp_path / "newsletter.toml").write_text(CONFIG)
    config = load_config(tmp_path / "newsletter.toml", env={"NEWSLETTER_SECRET_KEY": SECRET})
    store = Store(config.store_path)
    _, rows = sent_digest(store, tmp_path)
    return store, rows, key_of(config)


def test_process_files_applies_them_once_and_show_lists_the_events(runner, tmp_path):
    store, rows, key = setup_list(tmp_path)
    ann, ben, cat = (f"reader{i}@example.com" for i in range(3))
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "1.eml").write_bytes(dsn(verp(rows[ann], key), ann))
    (folder / "2.eml").write_bytes(
        dsn(verp(rows[ben], key), ben, "4.2.2", diagnostic="smtp; 452 4.2.2 mailbox full")
    )
    copy = (
        f"To: {cat}\r\nX-Newsletter-Delivery: {delivery_header_value(rows[cat], key)}\r\n\r\nx\r\n"
    )
    (folder / "3.eml").write_bytes(arf("fbl@news.example.org", cat, copy.encode()))

    result = runner.invoke(cli, ["bounces", "process", str(folder)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "3 messages: 2 bounces (1 hard, 1 soft), 1 complaint; now bounced: 1, "
        "unsubscribed for a complaint: 1"
    )
    assert f"  bounced: {ann}" in result.output
    assert f"  unsubscribed (complained): {cat}" in result.output

    again = runner.invoke(cli, ["bounces", "process", "--json", str(folder)])
    assert again.exit_code == 0, again.output
    data = json.loads(again.output)
    assert data["repeated"] == 3 and data["bounced"] == [] and data["unsubscribed"] == []

    shown = runner.invoke(cli, ["subscribers", "show", cat.upper()])
    assert shown.exit_code == 0, shown.output
    assert "status       unsubscribed (complained, " in shown.output
    assert f"digest 1  delivery {rows[cat]}  -  signed  -> unsubscribed" in shown.output
    assert f"file {folder / '3.eml'}" in shown.output
    shown = runner.invoke(cli, ["subscribers", "show", ann])
    assert "status       bounced (hard bounces, " in shown.output
    assert "5.1.1  signed  -> bounced" in shown.output and "user unknown" in shown.output
    shown = runner.invoke(cli, ["subscribers", "show", ben])
    assert "status       confirmed\n" in shown.output and "soft bounce" in shown.output
    assert runner.invoke(cli, ["subscribers", "show", "nobody@example.com"]).exit_code == 1


def test_process_without_files_needs_a_mailbox(runner, tmp_path):
    setup_list(tmp_path)
    result = runner.invoke(cli, ["bounces", "process"])
    assert result.exit_code == 2
    assert "[bounces] mailbox" in result.output


def test_process_reports_unreadable_input_and_exits_1(runner, tmp_path):
    setup_list(tmp_path)
    result = runner.invoke(cli, ["bounces", "process", "nothing-here.eml"])
    assert result.exit_code == 1
    assert "nothing-here.eml: cannot read, kept: no such file or folder" in result.output


def test_process_needs_the_secret_key(runner, tmp_path, monkeypatch):
    setup_list(tmp_path)
    monkeypatch.delenv("NEWSLETTER_SECRET_KEY")
    result = runner.invoke(cli, ["bounces", "process", str(DATA / "dsn-1.eml")])
    assert result.exit_code == 2 and "NEWSLETTER_SECRET_KEY" in result.output


def test_process_without_a_secret_creates_no_store(runner, tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSLETTER_SECRET_KEY")
    (tmp_path / "newsletter.toml").write_text(CONFIG)
    result = runner.invoke(cli, ["bounces", "process", str(DATA / "dsn-1.eml")])
    assert result.exit_code == 2
    assert not (tmp_path / "store.sqlite").exists()
