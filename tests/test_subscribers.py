"""Subscribers: validation, the store API, CSV import and export."""

from __future__ import annotations

import io

import pytest

from newsletter.audience import subscribers as subs
from newsletter.errors import SubscriberError
from newsletter.store import Store


# -- validation --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Ann@Example.COM", "ann@example.com"),
        ("  bob@example.org \n", "bob@example.org"),
        ("x@b\u00fccher.de", "x@xn--bcher-kva.de"),
    ],
)
def test_normalize_email(raw: str, normal: str) -> None:
    assert subs.normalize_email(raw) == normal


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("no-at-sign", "not a valid"),
        ("a..b@example.org", "two periods"),
        ("a@localhost", "not a valid"),
        ("a@example.org\nBcc: x@example.org", "not a valid"),
        ("\u00fc@example.org", "not a valid"),
        ("=?utf-8?q?evil=40x.example=2C?=ann@example.org", "reads as encoded text"),
    ],
)
def test_invalid_addresses_say_why(raw: str, reason: str) -> None:
    with pytest.raises(SubscriberError, match=reason):
        subs.normalize_email(raw)


def test_clean_name_removes_line_breaks_and_controls() -> None:
    assert subs.clean_name("Eve\r\nBcc: x@example.org") == "Eve Bcc: x@example.org"
    assert subs.clean_name("  Zo\u00eb \u202eevil\u0000 ") == "Zo\u00eb evil"
    assert subs.clean_name("a\u2028b\tc") == "a b c"
    assert len(subs.clean_name("x" * 500)) == subs.NAME_MAX


# -- store API ---------------------------------------------------------------------------
def test_add_get_and_duplicates(store: Store, clock) -> None:
    ann = subs.add(store, "daily", "Ann@Example.com", "Ann", source="web")
    assert ann.email == "ann@example.com" and ann.status == "pending" and ann.source == "web"
    assert ann.created_at == clock() and ann.confirmed_at is None
    assert store.get_subscriber(ann.id) == ann
    assert store.get_subscriber(("daily", "ann@example.com")) == ann
    assert subs.find(store, "daily", "ANN@example.com ") == ann
    assert store.get_subscriber(("weekly", "ann@example.com")) is None
    assert store.get_subscriber(9999) is None
    with pytest.raises(SubscriberError, match="already on the list"):
        subs.add(store, "daily", "ann@EXAMPLE.com")
    with pytest.raises(SubscriberError, match="already on the list"):
        store.add_subscriber("daily", "ann@example.com")
    # another list is another subscription
    assert subs.add(store, "weekly", "ann@example.com").id != ann.id


def test_status_changes_stamp_times(store: Store, clock) -> None:
    sub = subs.add(store, "daily", "c@example.com")
    clock.advance(hours=1)
    confirmed = store.set_status(sub.id, "confirmed")
    assert confirmed.status == "confirmed" and confirmed.confirmed_at == clock()
    clock.advance(hours=1)
    left = store.set_status(sub.id, "unsubscribed")
    assert left.unsubscribed_at == clock() and left.confirmed_at == confirmed.confirmed_at
    with pytest.raises(SubscriberError, match="unknown subscriber status"):
        store.set_status(sub.id, "gone")
    with pytest.raises(SubscriberError, match="no subscriber"):
        store.set_status(12345, "confirmed")


def test_list_count_and_remove(store: Store) -> None:
    for i, status in enumerate(["pending", "confirmed", "confirmed", "unsubscribed", "bounced"]):
        store.add_subscriber("daily", f"p{i}@example.com", status=status)
    store.add_subscriber("weekly", "w@example.com", status="confirmed")
    assert [s.email for s in store.list_subscribers("daily", "confirmed")] == [
        "p1@example.com",
        "p2@example.com",
    ]
    assert len(store.list_subscribers("daily")) == 5
    assert store.count_subscribers("daily") == 5
    assert store.count_subscribers("daily", "confirmed") == 2
    assert store.count_subscribers(status="confirmed") == 3
    assert store.subscriber_counts("daily") == {
        "pending": 1,
        "confirmed": 2,
        "unsubscribed": 1,
        "bounced": 1,
    }
    assert subs.remove(store, "daily", "P1@example.com") is True
    assert subs.remove(store, "daily", "p1@example.com") is False
    assert store.count_subscribers("daily", "confirmed") == 1


def test_remove_takes_delivery_history_along(store: Store, tmp_path) -> None:
    from support.sending import make_digest

    sub = store.add_subscriber("daily", "r@example.com", status="confirmed")
    digest_id = make_digest(store, tmp_path)
    assert store.create_deliveries(digest_id) == 1
    assert store.remove_subscriber(sub.id)
    assert store.deliveries(digest_id) == []


def test_bounces_count_until_the_limit(store: Store) -> None:
    sub = store.add_subscriber("daily", "b@example.com", status="confirmed")
    assert store.record_bounce(sub.id, bounce_after=3) is False
    assert store.record_bounce(sub.id, bounce_after=3) is False
    store.clear_bounces([sub.id])  # a delivery in between: failures must be consecutive
    assert store.get_subscriber(sub.id).bounce_count == 0
    assert [store.record_bounce(sub.id, 3) for _ in range(3)] == [False, False, True]
    assert store.get_subscriber(sub.id).status == "bounced"


def test_ids_are_never_reused(store: Store) -> None:
    """Remove the newest subscriber and add another: the id is new, so nothing that named
    the removed person (a link, a log line) can come to name the newcomer."""
    first = store.add_subscriber("daily", "a@example.com")
    newest = store.add_subscriber("daily", "b@example.com")
    assert store.remove_subscriber(newest.id)
    after = store.add_subscriber("daily", "c@example.com")
    assert after.id > newest.id > first.id
    assert store.remove_subscriber(first.id) and store.remove_subscriber(after.id)
    assert store.add_subscriber("daily", "d@example.com").id > after.id  # an empty table too


def test_every_subscriber_has_own_keys_and_a_status_change_draws_a_confirm_key(
    store: Store,
) -> None:
    people = [store.add_subscriber("daily", f"k{i}@example.com") for i in range(20)]
    keys = [k for p in people for k in (p.link_key, p.confirm_key)]
    assert all(len(k) == 24 for k in keys) and len(set(keys)) == 40
    ann = people[0]
    same = store.set_status(ann.id, "pending")  # not a change
    assert (same.link_key, same.confirm_key) == (ann.link_key, ann.confirm_key)
    confirmed = store.set_status(ann.id, "confirmed")
    assert confirmed.confirm_key != ann.confirm_key and confirmed.link_key == ann.link_key
    fresh = store.set_status(ann.id, "confirmed", new_links=True)
    assert fresh.link_key != ann.link_key and fresh.confirm_key == confirmed.confirm_key
    for _ in range(3):
        store.record_bounce(ann.id, 3)
    bounced = store.get_subscriber(ann.id)
    assert bounced.status == "bounced" and bounced.confirm_key != fresh.confirm_key


def test_the_schema_41_migration_keeps_rows_and_gives_each_keys(tmp_path) -> None:
    """A store made by the previous schema (version 40) opens with every row kept."""
    import sqlite3

    from newsletter.store.schema import MIGRATIONS

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    for version, sql in MIGRATIONS:
        if version <= 40:
            db.executescript(sql)
    db.execute("PRAGMA user_version = 40")
    db.executemany(
        "INSERT INTO subscribers (id, list_name, email, status, created_at) "
        "VALUES (?, 'daily', ?, ?, '2025-01-01T00:00:00.000000Z')",
        [(1, "a@example.com", "confirmed"), (7, "b@example.com", "unsubscribed")],
    )
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.schema_version >= 41
        a, b = store.list_subscribers("daily")
        assert (a.id, a.email, a.status) == (1, "a@example.com", "confirmed")
        assert (b.id, b.email, b.status) == (7, "b@example.com", "unsubscribed")
        keys = {a.link_key, a.confirm_key, b.link_key, b.confirm_key}
        assert len(keys) == 4 and all(len(k) == 24 for k in keys)
        assert store.add_subscriber("daily", "c@example.com").id == 8


# -- CSV ---------------------------------------------------------------------------------
def test_import_reports_rejects_and_applies_statuses(store: Store) -> None:
    store.add_subscriber("daily", "gone@example.com", "Gone", status="unsubscribed")
    store.add_subscriber("daily", "dead@example.com", status="bounced")
    store.add_subscriber("daily", "wait@example.com", status="pending")
    store.add_subscriber("daily", "stay@example.com", "Stay", status="confirmed")
    csv_text = (
        "\ufeffEmail,Name,Status\n"
        "new@example.com,New Person,\n"
        "NEW@example.com,Twice,\n"
        "gone@example.com,Gone,confirmed\n"
        "dead@example.com,,\n"
        "wait@example.com,,confirmed\n"
        "stay@example.com,Stay,pending\n"
        "optout@example.com,Opted Out,unsubscribed\n"
        "not-an-address,X,\n"
        "odd@example.com,Odd,vip\n"
        "\n"
        "extra@example.com,E,confirmed,surplus\n"
        'eve@example.com,"Eve\r\nBcc: x@example.org",\n'
    )
    report = subs.import_csv(store, "daily", io.StringIO(csv_text), status="confirmed")
    assert report.added == 3  # new, optout, eve
    assert report.updated == 1  # wait: pending -> confirmed
    assert report.unchanged == 3  # gone and dead kept out, stay not downgraded
    assert report.kept_out == 2
    assert report.kept == [
        (4, "gone@example.com", "unsubscribed"),
        (5, "dead@example.com", "bounced"),
    ]
    assert report.kept_lines()[0].startswith("line 4: gone@example.com stays unsubscribed: ")
    reasons = {line: (email, why) for line, email, why in report.rejected}
    assert reasons[3][1] == "duplicate of line 2"
    assert "not a valid email address" in reasons[9][1]
    assert "unknown status 'vip'" in reasons[10][1]
    assert reasons[12][1] == "too many columns"
    assert len(report.rejected) == 4
    get = lambda e: store.get_subscriber(("daily", e))  # noqa: E731
    assert get("gone@example.com").status == "unsubscribed"  # NOT resubscribed
    assert get("dead@example.com").status == "bounced"
    assert get("wait@example.com").status == "confirmed"
    assert get("stay@example.com").status == "confirmed"
    assert (
        get("new@example.com").status == "confirmed" and get("new@example.com").name == "New Person"
    )
    assert get("new@example.com").source == "import"
    assert get("optout@example.com").status == "unsubscribed"
    assert get("eve@example.com").name == "Eve Bcc: x@example.org"
    assert report.summary_line().startswith("added 3, updated 1, unchanged 3, rejected 4")


def test_import_default_status_only_fills_empty_cells(store: Store, tmp_path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("email,name,status\na@example.com,A,\nb@example.com,B,confirmed\n")
    report = subs.import_csv(store, "daily", path, status="pending")
    assert report.added == 2
    assert store.get_subscriber(("daily", "a@example.com")).status == "pending"
    assert store.get_subscriber(("daily", "b@example.com")).status == "confirmed"


@pytest.mark.parametrize(
    "text", ["", "\n\n", "mail,name\nx@example.com,X\n", "email,nickname\nx@example.com,X\n"]
)
def test_import_needs_the_header(store: Store, text: str) -> None:
    with pytest.raises(SubscriberError, match="header"):
        subs.import_csv(store, "daily", io.StringIO(text))


def test_import_rejects_an_unknown_default_status(store: Store) -> None:
    with pytest.raises(SubscriberError, match="unknown status"):
        subs.import_csv(store, "daily", io.StringIO("email\n"), status="vip")


def test_export_round_trips(store: Store, tmp_path) -> None:
    store.add_subscriber("daily", "a@example.com", "A, with comma", "confirmed")
    store.add_subscriber("daily", "b@example.com", 'B "quoted"', "unsubscribed")
    store.add_subscriber("weekly", "c@example.com", "C", "confirmed")
    path = tmp_path / "out.csv"
    assert subs.export_csv(store, "daily", path) == 2
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "email,name,status"
    assert "c@example.com" not in text
    assert subs.export_csv_text(store, "daily", "confirmed").count("\n") == 2
    other = Store(tmp_path / "other.sqlite")
    try:
        report = subs.import_csv(other, "daily", path)
        assert report.added == 2 and not report.rejected
        assert [(s.email, s.name, s.status) for s in other.list_subscribers("daily")] == [
            ("a@example.com", "A, with comma", "confirmed"),
            ("b@example.com", 'B "quoted"', "unsubscribed"),
        ]
    finally:
        other.close()


def test_import_leaves_an_opted_out_row_entirely_as_it_is(store: Store) -> None:
    """Keeping an unsubscribed person's status but rewriting their name from an old list
    is still changing a row that is no longer the list's to change."""
    store.add_subscriber("daily", "gone@example.com", "Gone", status="unsubscribed")
    store.add_subscriber("daily", "dead@example.com", "Dead", status="bounced")
    store.add_subscriber("daily", "same@example.com", "Same", status="unsubscribed")
    csv_text = (
        "email,name,status\n"
        "gone@example.com,Renamed,unsubscribed\n"  # the status as it is, another name
        "dead@example.com,Renamed Too,\n"  # the default status, another name
        "same@example.com,Same,unsubscribed\n"  # nothing would change
    )
    report = subs.import_csv(store, "daily", io.StringIO(csv_text), status="confirmed")
    get = lambda e: store.get_subscriber(("daily", e))  # noqa: E731
    assert (get("gone@example.com").name, get("gone@example.com").status) == (
        "Gone",
        "unsubscribed",
    )
    assert (get("dead@example.com").name, get("dead@example.com").status) == ("Dead", "bounced")
    assert (report.updated, report.unchanged, report.kept_out) == (0, 3, 2)
    assert [email for _, email, _ in report.kept] == ["gone@example.com", "dead@example.com"]
    assert report.kept_lines()[0].startswith(
        "line 2: gone@example.com stays unsubscribed: its row is left as it is, name included"
    )


def test_one_new_address_asked_for_twice_at_once_is_added_once(store_target) -> None:
    """A double click on "Subscribe" reaching two web workers: both requests answer as
    usual and the address is on the list once (on PostgreSQL the second insert failed)."""
    import threading

    from newsletter.audience.signup import request_subscription

    stores = [Store(store_target) for _ in range(6)]
    try:
        for round_ in range(5):
            address = f"twice{round_}@example.org"
            start = threading.Barrier(len(stores))
            errors: list[BaseException] = []

            def ask(store: Store, address: str = address, start=start, errors=errors) -> None:
                start.wait()
                try:
                    request_subscription(store, "daily", address)
                except BaseException as e:  # noqa: BLE001 - any failure fails the test
                    errors.append(e)

            threads = [threading.Thread(target=ask, args=(s,)) for s in stores]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            assert [s.email for s in stores[0].list_subscribers("daily")].count(address) == 1
    finally:
        for s in stores:
            s.close()
