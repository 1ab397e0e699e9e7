"""`newsletter send --retry-failed` and `deliveries --dismiss` from the command line."""

from __future__ import annotations

import json
import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from support.sending import SECRET, add_people, make_digest, write_config_file
from support.smtp import SmtpServer

from newsletter.cli import cli
from newsletter.run.report import EXIT_DELIVERY
from newsletter.store import Store


def _cli(*args: str):  # noqa: ANN202
    return CliRunner(env={"NEWSLETTER_SECRET_KEY": SECRET}).invoke(cli, list(args))


def test_retry_failed_finds_the_digest_after_it_was_marked_sent(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    add_people(store, 3)
    make_digest(store, tmp_path)
    with SmtpServer() as server:
        config = str(write_config_file(tmp_path, server.port))
        server.handler.reject.add("reader1@example.com")
        first = _cli("send", "-c", config)
        assert first.exit_code == EXIT_DELIVERY, first.output
        assert f"sent 2, failed 1 (see 'newsletter -c {config} deliveries --failed')" in (
            first.output
        )
        assert store.get_digest(1).sent_at is not None
        failed = _cli("deliveries", "-c", config, "--failed")
        assert failed.output.startswith("reader1@example.com\tfailed\t1\tRCPT: 550")

        server.handler.reject.clear()  # the mailbox was fixed
        assert "nothing to send" in _cli("send", "-c", config).output
        retried = _cli("send", "-c", config, "--retry-failed")
        assert retried.exit_code == 0, retried.output
        assert retried.output.startswith("sent 1, failed 0")
        assert server.counts() == {f"reader{i}@example.com": 1 for i in range(3)}


def test_dismiss_needs_a_reason_and_an_uncertain_delivery(tmp_path: Path, clock) -> None:
    store = Store(tmp_path / "store.sqlite", clock=clock)
    add_people(store, 1)
    digest_id = make_digest(store, tmp_path)
    store.create_deliveries(digest_id)
    lease = clock() + timedelta(minutes=5)
    [row] = store.deliveries(digest_id)
    store.claim_delivery(row.id, "dead", lease)
    store.mark_data_sent(row.id, "dead", lease)
    config = str(write_config_file(tmp_path, 25))  # nothing is left to send: no connection

    no_reason = _cli("deliveries", "-c", config, "--dismiss", "all")
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    # a run holds the lock, so the dead sender's row is settled as uncertain first
    report = _cli("run", "-c", config, "--json")
    assert report.exit_code == EXIT_DELIVERY, report.output
    [listed] = json.loads(report.output)["lists"]
    assert [u["email"] for u in listed["uncertain"]] == ["reader0@example.com"]

    nobody = _cli("deliveries", "-c", config, "--dismiss", "x@example.com", "--reason", "r")
    assert nobody.exit_code == 1 and "no uncertain delivery to x@example.com" in nobody.output
    done = _cli("deliveries", "-c", config, "--dismiss", "reader0@example.com", "--reason", "ok")
    assert done.exit_code == 0 and done.output == "dismissed 1 uncertain delivery\n"
    assert _cli("deliveries", "-c", config, "--uncertain").output == ""


def _printed_commands(output: str) -> list[str]:
    """Every `newsletter …` command an output tells its reader to run."""
    return re.findall(r"""[(`']+(newsletter [^()`']*?(?:"[^"]*")?)[)`']""", output)


def _settling(commands: list[str]) -> list[str]:
    """The commands that settle uncertain deliveries."""
    return [c for c in commands if "--resend-uncertain" in c or "--dismiss" in c]


def _run_as_printed(command: str):  # noqa: ANN202
    args = shlex.split(command)
    assert args[0] == "newsletter"
    return _cli(*args[1:])


def _uncertain(store: Store, clock, digest_id: int) -> None:  # noqa: ANN001
    store.create_deliveries(digest_id)
    lease = clock() + timedelta(minutes=5)
    for row in store.deliveries(digest_id):
        store.claim_delivery(row.id, "dead", lease)
        store.mark_data_sent(row.id, "dead", lease)


def test_the_commands_send_and_run_print_work_as_printed_with_a_named_config(
    tmp_path: Path, clock, monkeypatch
) -> None:
    """With a config named tech.toml (no ./newsletter.toml), a printed command without
    `-c tech.toml` would read the bundled sample and fail."""
    monkeypatch.chdir(tmp_path)
    store = Store(tmp_path / "store.sqlite", clock=clock)
    add_people(store, 2)
    with SmtpServer() as server:
        config = write_config_file(tmp_path, server.port).rename(tmp_path / "tech.toml")
        _uncertain(store, clock, make_digest(store, tmp_path))
        sent = _cli("send", "-c", "tech.toml")
        assert sent.exit_code == EXIT_DELIVERY, sent.output
        assert all(c.startswith("newsletter -c tech.toml ") for c in _printed_commands(sent.output))
        printed = _settling(_printed_commands(sent.output))
        assert printed == [
            "newsletter -c tech.toml send --list daily --resend-uncertain",
            'newsletter -c tech.toml deliveries --list daily --dismiss all --reason "checked '
            'the mail server log"',
        ]
        ran = _cli("run", "-c", str(config))  # the run's report prints them too
        assert _settling(_printed_commands(ran.output)) == printed
        dismissed = _run_as_printed(printed[1])
        assert dismissed.exit_code == 0 and "dismissed 2 uncertain deliveries" in dismissed.output

        # a new digest whose deliveries are in doubt: resend them as printed
        later = make_digest(store, tmp_path, name="2026-01-06T0700")
        _uncertain(store, clock, later)
        [resend] = [
            c for c in _printed_commands(_cli("send", "-c", "tech.toml").output) if "resend" in c
        ]
        resent = _run_as_printed(resend)
        assert resent.exit_code == 0, resent.output
        assert server.counts() == {"reader0@example.com": 1, "reader1@example.com": 1}

        # and a failed delivery's "see ..." command
        server.handler.reject.add("reader1@example.com")
        store.create_digest(
            "daily",
            clock() + timedelta(days=2),
            str(tmp_path / "output" / "daily" / "2026-01-06T0700"),
            "S",
            [],
        )
        failed = _cli("send", "-c", "tech.toml")
        [see] = _printed_commands(failed.output)
        assert see == "newsletter -c tech.toml deliveries --failed"
        listed = _run_as_printed(see)
        assert listed.exit_code == 0 and listed.output.startswith("reader1@example.com\tfailed")


def test_a_send_killed_a_moment_ago_shows_its_rows_in_doubt(tmp_path: Path, clock) -> None:
    # a sender died holding two rows, one before the end of its DATA and one after, with
    # its lease still running: no send ran since, yet `deliveries` names the one in doubt
    store = Store(tmp_path / "store.sqlite", clock=clock)
    add_people(store, 3)
    digest_id = make_digest(store, tmp_path)
    store.create_deliveries(digest_id)
    lease = datetime.now(UTC) + timedelta(hours=1)  # the command reads the real clock
    before_end, after_end, _ = store.deliveries(digest_id)
    for row in (before_end, after_end):
        assert store.claim_delivery(row.id, "host:1:dead", lease) == "claimed"
    assert store.mark_data_sent(after_end.id, "host:1:dead", lease)
    config = str(write_config_file(tmp_path, 25))

    listed = _cli("deliveries", "-c", config, "--uncertain")
    assert listed.exit_code == 0, listed.output
    assert [line.split("\t")[:2] for line in listed.output.splitlines()] == [
        [after_end.email, "uncertain"]
    ]
    statuses = {row.email: row.status for row in store.deliveries(digest_id)}
    assert statuses == {
        before_end.email: "pending",
        after_end.email: "uncertain",
        "reader2@example.com": "pending",
    }


def test_deliveries_leaves_a_live_senders_rows_alone(tmp_path: Path, clock) -> None:
    store = Store(tmp_path / "store.sqlite", clock=clock)
    add_people(store, 1)
    digest_id = make_digest(store, tmp_path)
    store.create_deliveries(digest_id)
    lease = datetime.now(UTC) + timedelta(hours=1)
    [row] = store.deliveries(digest_id)
    with store.senders_lock():  # a sender is alive and holds the row
        store.claim_delivery(row.id, "host:1:alive", lease)
        store.mark_data_sent(row.id, "host:1:alive", lease)
        listed = _cli("deliveries", "-c", str(write_config_file(tmp_path, 25)), "--uncertain")
        assert listed.exit_code == 0 and listed.output == ""
        assert [r.status for r in store.deliveries(digest_id)] == ["data_sent"]
