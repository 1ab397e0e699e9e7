"""Delivery claims as leases: what each step records and what a dead sender leaves."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from support.sending import add_people, make_config, make_digest
from support.smtp import SmtpServer
from support.stores import target_of

from newsletter.mail.deliver import digests_to_send, send_digest
from newsletter.store import Store


def _digest_with_rows(store: Store, tmp_path: Path, people: int = 3) -> tuple[int, list[int]]:
    add_people(store, people)
    digest_id = make_digest(store, tmp_path)
    store.create_deliveries(digest_id)
    return digest_id, [d.id for d in store.deliveries(digest_id)]


def _status(store: Store, delivery_id: int) -> str:
    return next(d.status for d in store.deliveries() if d.id == delivery_id)


def test_each_step_is_a_compare_and_set_on_the_claimant(
    tmp_path: Path, store: Store, clock
) -> None:
    digest_id, (first, second, _) = _digest_with_rows(store, tmp_path)
    lease = clock() + timedelta(minutes=5)
    assert store.claim_delivery(first, "a", lease) == "claimed"
    assert store.claim_delivery(first, "b", lease) == "taken"  # one claimant at a time
    assert not store.mark_data_sent(first, "b", lease)  # not b's to finish
    assert _status(store, first) == "sending"
    assert store.mark_data_sent(first, "a", lease)
    assert _status(store, first) == "data_sent"
    store.mark_sent(first, "<m@x>", "a")
    assert _status(store, first) == "sent"

    assert store.claim_delivery(second, "a", lease) == "claimed"
    assert not store.mark_digest_sent(digest_id)  # a row in flight: not finished
    store.release_delivery(second, "a", "451 later")
    assert _status(store, second) == "pending"


def test_a_lapsed_lease_is_settled_by_the_next_sender(tmp_path: Path, store: Store, clock) -> None:
    digest_id, (before_end, after_end, untouched) = _digest_with_rows(store, tmp_path)
    lease = clock() + timedelta(minutes=5)
    store.claim_delivery(before_end, "dead", lease)
    store.claim_delivery(after_end, "dead", lease)
    store.mark_data_sent(after_end, "dead", lease)

    assert store.recover_claims() == (0, 0)  # the lease still runs: maybe alive
    clock.advance(minutes=6)
    assert store.recover_claims() == (1, 1)

    assert _status(store, before_end) == "pending"  # its DATA never ended: send again
    assert _status(store, after_end) == "uncertain"  # maybe delivered: named, not resent
    assert _status(store, untouched) == "pending"
    [doubt] = store.uncertain_deliveries("daily")
    assert doubt.id == after_end and doubt.data_ended_at == clock() - timedelta(minutes=6)
    assert "after the end of its DATA" in doubt.last_error
    # the dead sender cannot finish what is no longer its own, but a reply it did get
    # still settles the doubt
    assert not store.mark_data_sent(before_end, "dead", lease)
    store.mark_sent(after_end, "<m@x>", "dead")
    assert _status(store, after_end) == "sent"


def test_holding_the_run_lock_settles_every_claim_at_once(
    tmp_path: Path, store: Store, clock
) -> None:
    _, (one, two, _) = _digest_with_rows(store, tmp_path)
    lease = clock() + timedelta(hours=1)
    store.claim_delivery(one, "dead", lease)
    store.claim_delivery(two, "dead", lease)
    store.mark_data_sent(two, "dead", lease)
    assert store.recover_claims(everything=True) == (1, 1)
    assert [_status(store, i) for i in (one, two)] == ["pending", "uncertain"]


def test_a_sender_settles_its_own_rows_as_it_stops(tmp_path: Path, store: Store, clock) -> None:
    _, (mine, mine_too, theirs) = _digest_with_rows(store, tmp_path)
    lease = clock() + timedelta(hours=1)
    for delivery_id, owner in ((mine, "me"), (mine_too, "me"), (theirs, "other")):
        store.claim_delivery(delivery_id, owner, lease)
    store.mark_data_sent(mine_too, "me", lease)
    assert store.release_claims("me") == (1, 1)
    assert [_status(store, i) for i in (mine, mine_too, theirs)] == [
        "pending",
        "uncertain",
        "sending",
    ]


def test_dismissing_keeps_the_time_and_the_reason(tmp_path: Path, store: Store, clock) -> None:
    digest_id, ids = _digest_with_rows(store, tmp_path)
    lease = clock() + timedelta(hours=1)
    for delivery_id in ids:
        store.claim_delivery(delivery_id, "dead", lease)
        store.mark_data_sent(delivery_id, "dead", lease)
    store.recover_claims(everything=True)
    store.mark_digest_sent(digest_id)
    assert store.get_digest(digest_id).sent_at is not None  # doubt does not hold it open
    # the flags find the digest though it was marked sent
    assert [d.id for d in store.digests_with("daily", "uncertain")] == [digest_id]
    assert [d.id for d in digests_to_send(store, "daily", resend_uncertain=True)] == [digest_id]
    assert digests_to_send(store, "daily") == []

    clock.advance(minutes=3)
    assert store.dismiss_uncertain("daily", "in the server log", "READER1@example.com") == 1
    assert store.dismiss_uncertain("daily", "again", "reader1@example.com") == 0
    assert store.dismiss_uncertain("weekly", "other list") == 0
    assert [u.email for u in store.uncertain_deliveries("daily")] == [
        "reader0@example.com",
        "reader2@example.com",
    ]
    assert store.dismiss_uncertain("daily", "all settled") == 2
    rows = store.db.execute(
        "SELECT email, status, dismiss_reason, dismissed_at FROM deliveries ORDER BY id"
    ).fetchall()
    when = (clock()).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert [tuple(r) for r in rows] == [
        ("reader0@example.com", "dismissed", "all settled", when),
        ("reader1@example.com", "dismissed", "in the server log", when),
        ("reader2@example.com", "dismissed", "all settled", when),
    ]
    assert digests_to_send(store, "daily", resend_uncertain=True) == []


def test_a_sender_whose_claim_was_taken_over_never_ends_its_data(
    tmp_path: Path, store: Store
) -> None:
    """Two senders at once (a lease that lapsed while its sender was still alive): the one
    that lost the row stops before the final ".", so the server drops its copy."""
    with SmtpServer() as server:
        config = make_config(tmp_path, smtp=server.smtp_config())
        add_people(store, 3)
        digest_id = make_digest(store, tmp_path)
        other = Store(target_of(store))

        def take_over(envelope) -> None:  # noqa: ANN001
            # while the first message's RCPT is out, another sender finds its lease
            # lapsed (as if it had stalled) and puts the row back to pending to send it
            if server.handler.rcpt_attempts["reader0@example.com"] == 1 and not taken:
                taken.append(other.recover_claims(everything=True))

        taken: list[tuple[int, int]] = []
        server.handler.on_rcpt = take_over
        report = send_digest(config, store, digest_id)
        other.close()

        # released: the row in flight and the one claimed behind it in the same batch
        ((released, in_doubt),) = taken
        assert released >= 1 and in_doubt == 0
        # the first copy was dropped mid-DATA; the row, pending again, was claimed anew
        assert server.handler.rcpt_attempts["reader0@example.com"] == 2
        assert report.sent == 3 and report.totals["sent"] == 3
        assert send_digest(config, store, digest_id).sent == 0
        assert server.counts() == {f"reader{i}@example.com": 1 for i in range(3)}
