"""`newsletter send` killed (SIGKILL) at each point of an SMTP conversation, then run again.

The server is a real aiosmtpd on 127.0.0.1 that stops the third message's conversation at
one point and holds it while the test kills the sending process. Afterwards, what every
reader has is counted at the server: a message whose DATA never ended is dropped by the
server and sent again by the next `send`, with no flag; only a message whose DATA ended
before the reply may be in doubt, and each such delivery is named until it is settled.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.sending import SECRET, add_people, make_digest, write_config_file
from support.smtp import GatedHandler, SmtpServer

from newsletter.cli import cli
from newsletter.run.report import EXIT_DELIVERY
from newsletter.store import Store

READERS = 6
GATED = 3  # the third message's conversation is the one held
ENV = {"NEWSLETTER_SECRET_KEY": SECRET}


def _cli(*args: str):  # noqa: ANN202
    return CliRunner(env=ENV).invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(params=[False, True], ids=["one-by-one", "pipelining"])
def pipelining(request) -> bool:  # noqa: ANN001
    return request.param


def _killed_send(tmp_path: Path, point: str, pipelining: bool) -> tuple[SmtpServer, Path, Store]:
    """A store with READERS confirmed readers and one built digest, and a `newsletter send`
    process killed with SIGKILL at `point` of the GATED-th message (of the connection for
    "connect")."""
    store = Store(tmp_path / "store.sqlite")
    add_people(store, READERS)
    make_digest(store, tmp_path)
    # one connection carries every message: "connect" can only be its first
    nth = 1 if point == "connect" else GATED
    handler = GatedHandler(point, nth=nth, store_path=str(store.path))
    handler.pipelining = pipelining
    server = SmtpServer(handler).start()
    config = write_config_file(tmp_path, server.port)
    child = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "send", "-c", str(config)],
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if not handler.reached.wait(timeout=60):
            child.kill()
            raise AssertionError(f"never reached {point}: {child.communicate()[1]}")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        handler.open_gate()
    assert child.returncode == -signal.SIGKILL
    return server, config, store


def _statuses(store: Store) -> list[str]:
    return [r.status for r in store.deliveries(1)]


def _copies(server: SmtpServer) -> list[int]:
    counts = server.counts()
    return [counts.get(f"reader{i}@example.com", 0) for i in range(READERS)]


@pytest.mark.parametrize("point", ["connect", "mail", "rcpt", "body"])
def test_killed_before_the_end_of_data_the_next_send_delivers_it_with_no_flag(
    tmp_path: Path, point: str, pipelining: bool
) -> None:
    server, config, store = _killed_send(tmp_path, point, pipelining)
    try:
        held = 0 if point == "connect" else GATED - 1
        # the server dropped the unfinished message: only those before it arrived
        assert server.handler.total == held
        # the dead sender left its row claimed, its DATA not ended (and the rest of the
        # batch it had claimed, not begun)
        statuses = _statuses(store)
        assert statuses[: held + 1] == ["sent"] * held + ["sending"]
        assert set(statuses[held + 1 :]) <= {"sending", "pending"}

        rerun = _cli("send", "-c", str(config))

        assert rerun.exit_code == 0, rerun.output
        assert "uncertain" not in rerun.output.lower()
        assert _copies(server) == [1] * READERS  # everyone exactly once, nobody lost
        rows = store.deliveries(1)
        assert {r.status for r in rows} == {"sent"}
        assert store.get_digest(1).sent_at is not None
    finally:
        server.stop()


@pytest.mark.parametrize("point", ["dot", "reply"])
def test_killed_after_the_end_of_data_the_delivery_is_named_until_settled(
    tmp_path: Path, point: str, pipelining: bool
) -> None:
    server, config, store = _killed_send(tmp_path, point, pipelining)
    doubtful = f"reader{GATED - 1}@example.com"
    try:
        assert server.handler.total == GATED  # the server holds the third message
        statuses = _statuses(store)
        assert statuses[:GATED] == ["sent"] * (GATED - 1) + ["data_sent"]
        assert set(statuses[GATED:]) <= {"sending", "pending"}  # claimed in its batch, or not

        rerun = _cli("send", "-c", str(config))

        # everyone has exactly one copy; the one in doubt is named, not resent
        assert _copies(server) == [1] * READERS
        assert rerun.exit_code == EXIT_DELIVERY, rerun.output
        named = [line for line in rerun.output.splitlines() if "UNCERTAIN" in line]
        assert (
            named == [named[0]]
            and f"daily: UNCERTAIN digest 1 to {doubtful}: its DATA ended at" in (named[0])
        )
        assert [u.email for u in store.uncertain_deliveries("daily")] == [doubtful]
        listed = _cli("deliveries", "-c", str(config), "--uncertain")
        assert listed.output.startswith(f"{doubtful}\tuncertain\tdigest 1\tDATA ended ")

        # named again by every send (and run) until settled, each time exit 4
        again = _cli("send", "-c", str(config))
        assert again.exit_code == EXIT_DELIVERY and "nothing to send" in again.output
        assert f"UNCERTAIN digest 1 to {doubtful}" in again.output

        # the way out, exactly as printed
        hint = rerun.output.splitlines()[-1]
        resend = hint.split("resent (")[1].split(")")[0]
        dismiss = hint.split("dismissed (")[1].rsplit(")", 1)[0]
        assert resend == f"newsletter -c {config} send --list daily --resend-uncertain"
        chosen = resend if point == "dot" else dismiss
        settled = _cli(*shlex.split(chosen)[1:])  # with the config it names, nothing added
        assert settled.exit_code == 0, settled.output
        if point == "dot":  # resent: a duplicate the operator accepted, nobody lost
            assert "sent 1, failed 0" in settled.output
            assert _copies(server)[GATED - 1] == 2
        else:  # dismissed: recorded with its reason and time
            assert settled.output.strip() == "dismissed 1 uncertain delivery"
            [row] = [r for r in store.deliveries(1) if r.email == doubtful]
            assert row.status == "dismissed"
            reason, when = store.db.execute(
                "SELECT dismiss_reason, dismissed_at FROM deliveries WHERE id = ?", (row.id,)
            ).fetchone()
            assert reason == "checked the mail server log" and when
        quiet = _cli("send", "-c", str(config))
        assert quiet.exit_code == 0 and "UNCERTAIN" not in quiet.output, quiet.output
        assert store.uncertain_deliveries("daily") == []
    finally:
        server.stop()
