"""Many senders, one list, exactly once: batch claims, leases, several `send` processes and
`send --workers`, on SQLite and PostgreSQL (the `store` / `store_target` fixtures)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.sending import SECRET, SITE_URL, add_people, make_config, make_digest
from support.smtp import GatedHandler, SmtpServer
from support.stores import impatient, store_table, target_of

from newsletter.cli import cli
from newsletter.errors import StoreError
from newsletter.mail.deliver import send_digest
from newsletter.store import Store

TESTS = Path(__file__).resolve().parent
ENV = {**os.environ, "NEWSLETTER_SECRET_KEY": SECRET}


def _config_file(base: Path, store: Store, port: int, connections: int = 1) -> Path:
    """base/newsletter.toml for list "daily" on `store`, sending through 127.0.0.1:port."""
    table = "\n".join(f'{k} = "{v}"' for k, v in store_table(target_of(store)).items())
    path = base / "newsletter.toml"
    path.write_text(
        f'[site]\nname = "Example News"\nurl = "{SITE_URL}"\n'
        '[list]\nname = "daily"\nfrom = "Example News <digest@news.example.org>"\n'
        f"[store]\n{table}\n"
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f"connections = {connections}\ntimeout = 20\n",
        encoding="utf-8",
    )
    return path


# -- batches ------------------------------------------------------------------------------------
def test_batches_hand_each_row_to_one_sender(store: Store) -> None:
    ids = add_people(store, 40)
    digest_id = make_digest(store, Path("/nonexistent"))
    store.create_deliveries(digest_id)
    store.set_status(ids[7], "unsubscribed")
    claimed: dict[str, list[int]] = {}
    skipped: list[dict[str, int]] = []

    def sender(name: str) -> None:
        mine = impatient(store, 30)  # a process of its own: its own connection
        try:
            while batch := mine.claim_batch(digest_id, name, store.clock() + timedelta(60), 3):
                claimed.setdefault(name, []).extend(d.id for d in batch.claimed)
                skipped.append(batch.skipped)
        finally:
            mine.close()

    threads = [threading.Thread(target=sender, args=(f"s{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    every = [i for rows in claimed.values() for i in rows]
    assert len(every) == len(set(every)) == 39  # each row once; the one who left is skipped
    assert [s for s in skipped if s] == [{"unsubscribed": 1}]
    rows = store.deliveries(digest_id)
    assert {r.status for r in rows} == {"sending", "skipped"}
    assert all(r.attempts == 1 for r in rows if r.status == "sending")
    owners = dict(store.db.execute("SELECT id, claimed_by FROM deliveries").fetchall())
    assert all(owners[i] == name for name, got in claimed.items() for i in got)


def test_a_locked_row_is_skipped_not_waited_for(pg_store_url: str) -> None:
    """PostgreSQL: rows another sender's transaction holds are passed over at once."""
    first, second = Store(pg_store_url), Store(pg_store_url)
    try:
        add_people(first, 8)
        digest_id = make_digest(first, Path("/nonexistent"))
        first.create_deliveries(digest_id)
        second.db.execute("SET lock_timeout = '1s'")  # waiting would fail the claim
        first.db.begin()
        first.db.execute("SELECT id FROM deliveries WHERE id <= 3 FOR UPDATE")
        batch = second.claim_batch(digest_id, "second", second.clock() + timedelta(60), 3)
        assert [d.id for d in batch.claimed] == [4, 5, 6]
        first.db.rollback()
        # the control: without SKIP LOCKED the same row would have made it wait
        first.db.begin()
        first.db.execute("SELECT id FROM deliveries WHERE id = 7 FOR UPDATE")
        with pytest.raises(StoreError, match="could not obtain lock"):
            second.db.execute("SELECT id FROM deliveries WHERE id = 7 FOR UPDATE NOWAIT")
        first.db.rollback()
    finally:
        first.close()
        second.close()


def test_a_row_released_for_a_retry_waits_for_its_sender(store: Store, clock) -> None:
    add_people(store, 2)
    digest_id = make_digest(store, Path("/nonexistent"))
    store.create_deliveries(digest_id)
    [first, _] = store.claim_batch(digest_id, "a", clock() + timedelta(60), 2).claimed
    store.release_delivery(first.id, "a", "451 later", retry_at=clock() + timedelta(seconds=30))
    assert store.claim_batch(digest_id, "b", clock() + timedelta(60), 5).claimed == []
    assert store.claim_delivery(first.id, "a", clock() + timedelta(60)) == "claimed"  # its own
    store.release_delivery(first.id, "a", "451 later", retry_at=clock() + timedelta(seconds=30))
    clock.advance(seconds=31)
    assert [d.id for d in store.claim_batch(digest_id, "b", clock(), 5).claimed] == [first.id]


# -- leases -------------------------------------------------------------------------------------
def test_a_stalled_senders_rows_go_to_another_once_its_lease_lapses(
    tmp_path: Path, store: Store, clock
) -> None:
    """A sender that holds rows and stops moving (alive: its senders lock is held) keeps
    them until its lease lapses; then a live sender takes them, and the stalled one, waking
    up, is stopped before the end of its DATA."""
    with SmtpServer() as server:
        config = make_config(tmp_path, smtp=server.smtp_config())
        add_people(store, 12)
        digest_id = make_digest(store, tmp_path)
        store.create_deliveries(digest_id)
        stalled = store.senders_lock()
        stalled.join()
        held = store.claim_batch(digest_id, "stalled", clock() + timedelta(seconds=60), 4)

        early = send_digest(config, store, digest_id)  # the lease still runs: not its rows
        assert early.sent == 8 and store.delivery_counts(digest_id)["sending"] == 4
        assert store.get_digest(digest_id).sent_at is None

        clock.advance(seconds=61)
        late = send_digest(config, store, digest_id)
        assert late.sent == 4
        assert not store.mark_data_sent(held.claimed[0].id, "stalled", clock())
        assert server.counts() == {f"reader{i}@example.com": 1 for i in range(12)}
        assert store.get_digest(digest_id).sent_at is not None
        stalled.leave()


def test_a_sender_killed_mid_send_leaves_its_rows_to_the_one_still_sending(
    tmp_path: Path, store: Store
) -> None:
    """Two `send` processes on one digest; one is killed (SIGKILL) holding claimed rows,
    one of them mid-conversation. The other, running out of rows and finding itself alone,
    takes the dead one's rows at once: everyone gets exactly one copy."""
    add_people(store, 24)
    digest_id = make_digest(store, tmp_path)
    store.create_deliveries(digest_id)
    handler = GatedHandler("rcpt", nth=2)  # the first sender's 2nd message is held
    server = SmtpServer(handler).start()
    config = _config_file(tmp_path, store, server.port)
    argv = [sys.executable, "-m", "newsletter", "-q", "send", "-c", str(config)]
    doomed = subprocess.Popen(argv, env=ENV, stderr=subprocess.PIPE, text=True)
    try:
        assert handler.reached.wait(60), doomed.communicate(timeout=5)[1]
        # a slow server from now on, so the second sender is still busy when the first dies
        handler.on_data = lambda envelope: time.sleep(0.05)
        survivor = subprocess.Popen(argv, env=ENV, stderr=subprocess.PIPE, text=True)
        assert server.wait_for(4, timeout=60)  # the survivor is under way
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(30)
        handler.open_gate()
        _, errors = survivor.communicate(timeout=120)
        assert survivor.returncode == 0, errors
    finally:
        for child in (doomed,):
            if child.poll() is None:
                child.kill()
        server.stop()
    assert server.counts() == {f"reader{i}@example.com": 1 for i in range(24)}
    assert store.delivery_counts(digest_id)["sent"] == 24
    assert store.get_digest(digest_id).sent_at is not None


# -- several processes --------------------------------------------------------------------------
def test_several_send_processes_share_one_digest(tmp_path: Path, store: Store) -> None:
    add_people(store, 60)
    digest_id = make_digest(store, tmp_path)
    with SmtpServer() as server:
        server.handler.on_data = lambda envelope: time.sleep(0.01)
        config = _config_file(tmp_path, store, server.port, connections=2)
        # each child imports everything, then waits at the start line with the others
        script = (
            "import sys\nfrom newsletter.cli import main\nsys.stdin.readline()\n"
            f"sys.argv = ['newsletter', '-q', 'send', '-c', {str(config)!r}]\nmain()\n"
        )
        children = [
            subprocess.Popen(
                [sys.executable, "-c", script],
                env=ENV,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=120) for child in children]
        assert [c.returncode for c in children] == [0, 0, 0], outputs
        assert server.counts() == {f"reader{i}@example.com": 1 for i in range(60)}
    sent = sum(int(out.split("sent ")[1].split(",")[0]) for out, _ in outputs if "sent " in out)
    assert sent == 60  # the three reports add up: no row was sent by two of them
    owners = {r[0] for r in store.db.execute("SELECT DISTINCT claimed_by FROM deliveries")}
    assert len(owners) >= 2  # the work was shared
    assert store.get_digest(digest_id).sent_at is not None


def test_send_workers_runs_that_many_processes(tmp_path: Path, store: Store) -> None:
    add_people(store, 30)
    make_digest(store, tmp_path)
    with SmtpServer() as server:
        config = _config_file(tmp_path, store, server.port)
        result = CliRunner(env={"NEWSLETTER_SECRET_KEY": SECRET}).invoke(
            cli, ["send", "-c", str(config), "--workers", "3"]
        )
        assert result.exit_code == 0, result.output
        assert "sent 30, failed 0" in result.output
        assert server.counts() == {f"reader{i}@example.com": 1 for i in range(30)}
    owners = {r[0] for r in store.db.execute("SELECT DISTINCT claimed_by FROM deliveries")}
    pids = {owner.split(":")[1] for owner in owners}
    assert str(os.getpid()) not in pids  # worker processes sent, not this one
    refused = CliRunner().invoke(cli, ["send", "-c", str(config), "--workers", "2", "--dry-run"])
    assert refused.exit_code == 2 and "--workers" in refused.output


# -- stops and deaths ---------------------------------------------------------------------------
def _children_of(pid: int) -> list[int]:
    """The pids whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _wait_for(test, timeout: float = 60) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test():
            return True
        time.sleep(0.05)
    return False


def _send(config: Path, *extra: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "newsletter", "-q", "send", "-c", str(config), *extra]
    return subprocess.Popen(
        argv, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _one_copy_each_after_a_rerun(server: SmtpServer, store: Store, config: Path, n: int) -> None:
    rerun = _send(config)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode in (0, 4), out + err
    doubts = {d.email for d in store.uncertain_deliveries("daily")}
    counts = server.counts()
    for i in range(n):
        email = f"reader{i}@example.com"
        assert counts.get(email, 0) == 1 or (email in doubts and counts.get(email, 0) <= 1), email


def test_a_dead_worker_of_send_workers_leaves_the_others_sending(
    tmp_path: Path, store: Store
) -> None:
    """One of three `--workers` processes is killed mid-send: the other two go on and
    take over its rows; the command says so and exits 4 (no traceback); the dead one can
    leave at most its own message in flight in doubt."""
    add_people(store, 60)
    make_digest(store, tmp_path)
    with SmtpServer() as server:
        server.handler.on_data = lambda envelope: time.sleep(0.05)
        config = _config_file(tmp_path, store, server.port)
        parent = _send(config, "--workers", "3")
        assert _wait_for(lambda: len(_children_of(parent.pid)) == 3)
        assert server.wait_for(6, timeout=60)
        os.kill(_children_of(parent.pid)[0], signal.SIGKILL)
        out, err = parent.communicate(timeout=120)
        assert parent.returncode == 4, out + err
        assert "1 of 3 sender processes died (signal 9)" in out, out
        assert "Traceback" not in err, err
        assert store.delivery_counts(store.latest_digest("daily").id)["uncertain"] <= 1
        _one_copy_each_after_a_rerun(server, store, config, 60)


def test_the_workers_of_a_killed_send_finish_their_share_and_end(
    tmp_path: Path, store: Store
) -> None:
    add_people(store, 40)
    digest_id = make_digest(store, tmp_path)
    with SmtpServer() as server:
        server.handler.on_data = lambda envelope: time.sleep(0.05)
        config = _config_file(tmp_path, store, server.port)
        parent = _send(config, "--workers", "2")
        assert _wait_for(lambda: len(_children_of(parent.pid)) == 2)
        workers = _children_of(parent.pid)
        assert server.wait_for(4, timeout=60)
        parent.kill()
        parent.communicate(timeout=30)
        assert _wait_for(lambda: not any(Path(f"/proc/{w}").exists() for w in workers), 120)
        assert server.counts() == {f"reader{i}@example.com": 1 for i in range(40)}
    assert store.delivery_counts(digest_id)["sent"] == 40


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_a_stopped_send_finishes_its_messages_in_flight(
    tmp_path: Path, store: Store, stop: signal.Signals
) -> None:
    """SIGTERM (systemctl stop) or Ctrl-C to `send`: the message in flight is finished, not
    left in doubt; the report says how many are left and exits 4; a rerun sends them."""
    add_people(store, 40)
    digest_id = make_digest(store, tmp_path)
    with SmtpServer() as server:
        server.handler.on_data = lambda envelope: time.sleep(0.2)
        config = _config_file(tmp_path, store, server.port, connections=2)
        sender = _send(config)
        assert server.wait_for(3, timeout=60)
        sender.send_signal(stop)
        out, err = sender.communicate(timeout=60)
        assert sender.returncode == 4, out + err
        assert "stopped: stopped by a signal; the messages in flight were finished" in out, out
        counts = store.delivery_counts(digest_id)
        assert counts["uncertain"] == 0 and counts["pending"] > 0, counts
        _one_copy_each_after_a_rerun(server, store, config, 40)
    assert store.delivery_counts(digest_id)["sent"] == 40


def test_a_stop_of_send_workers_reaches_its_workers(tmp_path: Path, store: Store) -> None:
    """SIGTERM to the `send --workers 2` process alone: it passes the stop on, each worker
    finishes its messages in flight, and the command reports the stop (exit 4)."""
    add_people(store, 40)
    digest_id = make_digest(store, tmp_path)
    with SmtpServer() as server:
        server.handler.on_data = lambda envelope: time.sleep(0.2)
        config = _config_file(tmp_path, store, server.port)
        parent = _send(config, "--workers", "2")
        assert _wait_for(lambda: len(_children_of(parent.pid)) == 2)
        workers = _children_of(parent.pid)
        assert server.wait_for(3, timeout=60)
        parent.send_signal(signal.SIGTERM)
        out, err = parent.communicate(timeout=60)
        assert parent.returncode == 4, out + err
        assert "stopped by a signal; the messages in flight were finished" in out, out
        assert not any(Path(f"/proc/{w}").exists() for w in workers)
        counts = store.delivery_counts(digest_id)
        assert counts["uncertain"] == 0 and counts["pending"] > 0, counts
        _one_copy_each_after_a_rerun(server, store, config, 40)
    assert store.delivery_counts(digest_id)["sent"] == 40
