"""The web app through Flask's test client: real SQLite, real SMTP (aiosmtpd) on loopback."""

from __future__ import annotations

import dataclasses
import json
import re
from contextlib import nullcontext
from pathlib import Path

import pytest
from support.inbox import make_config as render_config
from support.inbox import sample_digest
from support.sending import SECRET, make_digest
from support.smtp import SmtpServer
from support.stores import impatient, snapshot
from support.web import (
    Web,
    csrf_token,
    html_part,
    link,
    make_web,
    path_of,
    text_part,
    without_csrf,
)

from newsletter.audience.tokens import (
    CONFIRM,
    MANAGE,
    RESUBSCRIBE,
    UNSUBSCRIBE,
    Tokens,
    link_url,
)
from newsletter.config import WebConfig
from newsletter.errors import ConfigError
from newsletter.mail import deliver
from newsletter.render.renderer import render_digest, stamp, write_digest
from newsletter.store import Store
from newsletter.store.ratelimits import SLOTS, SWEEP_EVERY
from newsletter.web.app import create_app, make_wsgi_app
from newsletter.web.ratelimit import RateLimit

ANN = "ann@example.com"


@pytest.fixture(scope="module")
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def make(tmp_path: Path, store, clock, smtp):
    """Builds Web apps (on the test's store, unless given another); at teardown each sends
    what it queued and stops, so no message from one test can arrive during the next."""
    made: list[Web] = []

    def build(store: Store = store, **web: object) -> Web:
        made.append(make_web(tmp_path, store, clock, smtp, **web))
        return made[-1]

    smtp.handler.messages.clear()
    yield build
    for web in made:
        web.app.extensions["newsletter"].outbox.close()


@pytest.fixture
def web(make) -> Web:
    return make()


def _confirm(web: Web, email: str = ANN) -> str:
    """Subscribe and confirm `email` through the pages; the thank-you page."""
    c = web.client()
    assert web.subscribe(c, email).status_code == 200
    url = link(web.mail(email)[-1], "confirm")
    thanks = web.client().post(path_of(url))
    assert thanks.status_code == 200
    assert web.status(email) == "confirmed"
    return thanks.text


# -- the whole flow -----------------------------------------------------------------------
def test_subscribe_confirm_receive_and_one_click_unsubscribe(web: Web, tmp_path: Path) -> None:
    c = web.client()
    page = c.get("/")
    assert page.status_code == 200
    assert "Subscribe to get the latest posts sent to your email" in page.text
    assert '<label for="email">Email address</label>' in page.text

    answer = web.subscribe(c, "Ann@Example.com")
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    assert web.status(ANN) == "pending"

    [confirmation] = web.mail(ANN)
    assert confirmation["Subject"] == "Confirm your subscription to Example News"
    assert "List-Unsubscribe" not in confirmation  # not on the list yet
    url = link(confirmation, "confirm")
    assert url in html_part(confirmation)

    # a link scanner (GET) sees the button but confirms nobody
    shown = web.client().get(path_of(url))
    assert shown.status_code == 200 and "Confirm subscription</button>" in shown.text
    assert web.status(ANN) == "pending"

    done = web.client().post(path_of(url))
    assert done.status_code == 200 and "Thank you for subscribing" in done.text
    assert web.status(ANN) == "confirmed"
    welcome = web.mail(ANN)[-1]
    assert welcome["Subject"] == "Welcome to Example News"
    assert "https://news.example.org/archive/" in text_part(welcome)
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # a digest send includes them
    web.store.add_subscriber("daily", "bob@example.com", "", "confirmed")
    first = make_digest(web.store, tmp_path)
    report = deliver.send_digest(web.config, web.store, first, clock=web.clock)
    assert report.sent == 2
    digest_mail = web.mail(ANN)[-1]
    assert digest_mail["Subject"].startswith("Example News: Big story")
    target = digest_mail["List-Unsubscribe"].split(",")[0].strip().strip("<>")
    assert target.startswith("https://news.example.org/unsubscribe/")

    # the mailbox provider's RFC 8058 POST: no cookies, no CSRF token, plain 200, no redirect
    provider = web.app.test_client()
    provider.environ_base.update({"HTTP_HOST": "news.example.org", "wsgi.url_scheme": "https"})
    one_click = provider.post(
        path_of(target),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert one_click.status_code == 200
    assert one_click.mimetype == "text/plain"
    assert "unsubscribed" in one_click.text
    assert "Set-Cookie" not in one_click.headers and "Location" not in one_click.headers
    assert web.status(ANN) == "unsubscribed"

    second = make_digest(web.store, tmp_path, name="2026-01-06T0700")
    report = deliver.send_digest(web.config, web.store, second, clock=web.clock)
    assert report.sent == 1
    assert [d.email for d in web.store.deliveries(second)] == ["bob@example.com"]


# -- the subscribe answer --------------------------------------------------------------------
def test_the_answer_is_byte_identical_whatever_the_address_status(web: Web) -> None:
    def answer() -> tuple[int, str, list[tuple[str, str]]]:
        web.clock.advance(minutes=61)  # out of the per-address window
        response = web.subscribe(web.client(), ANN)
        headers = [(k, v) for k, v in response.headers.items() if k not in ("Set-Cookie", "Date")]
        return response.status_code, without_csrf(response.text), headers

    new = answer()
    assert web.status(ANN) == "pending"
    pending = answer()
    url = link(web.mail(ANN)[-1], "confirm")
    web.client().post(path_of(url))
    assert web.status(ANN) == "confirmed"
    confirmed = answer()
    confirmed_again = answer()  # this one sends nothing (at most one mail per day)
    web.store.set_status(web.store.get_subscriber(("daily", ANN)).id, "unsubscribed")
    unsubscribed = answer()
    assert new[0] == 200 and "Check your inbox" in new[1]
    assert new == pending == confirmed == confirmed_again == unsubscribed


def test_a_confirmed_address_is_not_mailed_on_every_attempt(web: Web) -> None:
    _confirm(web)
    mails = len(web.mail(ANN))
    web.subscribe(web.client(), ANN)  # the confirmation went out minutes ago: nothing now
    assert len(web.mail(ANN)) == mails
    web.clock.advance(hours=25)
    web.subscribe(web.client(), ANN)
    notice = web.mail(ANN)[mails:]
    assert [m["Subject"] for m in notice] == ["You are already subscribed to Example News"]
    assert "/manage/" in link(notice[0], "manage")
    for _ in range(2):
        web.subscribe(web.client(ip="198.51.100.9"), ANN)
    assert len(web.mail(ANN)) == mails + 1
    web.clock.advance(hours=25)
    web.subscribe(web.client(), ANN)
    assert len(web.mail(ANN)) == mails + 2
    assert web.status(ANN) == "confirmed"


def test_a_pending_address_gets_the_link_again_only_after_a_pause(web: Web) -> None:
    web.subscribe(web.client(), ANN)
    web.subscribe(web.client(), ANN)
    assert len(web.mail(ANN)) == 1
    web.clock.advance(minutes=11)
    web.subscribe(web.client(), ANN)
    assert [m["Subject"] for m in web.mail(ANN)] == [
        "Confirm your subscription to Example News"
    ] * 2


def test_an_unsubscribed_address_can_opt_in_again_by_confirming(web: Web) -> None:
    """The form changes nothing for an opted-out address; the person's confirmation does,
    and their subscription then starts with new links."""
    old = web.store.add_subscriber("daily", ANN, "", "unsubscribed")
    old_manage = _link_path(web, MANAGE, old)
    web.subscribe(web.client(), ANN)
    assert web.status(ANN) == "unsubscribed"  # a stranger could have sent the form
    url = link(web.mail(ANN)[-1], "confirm")
    assert web.client().get(path_of(url)).status_code == 200
    assert web.status(ANN) == "unsubscribed"
    web.client().post(path_of(url))
    assert web.status(ANN) == "confirmed"
    assert web.client().get(old_manage).status_code == 404  # links from before: retired
    welcome = web.mail(ANN)[-1]
    assert web.client().get(path_of(link(welcome, "manage"))).status_code == 200


def test_an_invalid_address_gets_the_form_back(web: Web) -> None:
    response = web.subscribe(web.client(), "not an address")
    assert response.status_code == 400
    assert "Please enter a valid email address" in response.text
    assert 'aria-invalid="true"' in response.text and 'value="not an address"' in response.text
    assert web.store.count_subscribers() == 0


# -- protections -----------------------------------------------------------------------------
def test_a_post_without_a_csrf_token_is_refused(web: Web) -> None:
    c = web.client()
    c.get("/subscribe")
    response = c.post("/subscribe", data={"email": ANN, "list": "daily"})
    assert response.status_code == 400
    assert "Please try again" in response.text
    assert web.store.count_subscribers() == 0


def test_a_token_from_another_session_or_too_old_is_refused(web: Web) -> None:
    token = csrf_token(web.client().get("/subscribe").text)
    other = web.client()
    other.get("/subscribe")
    assert other.post("/subscribe", data={"csrf_token": token, "email": ANN}).status_code == 400
    c = web.client()
    token = csrf_token(c.get("/subscribe").text)
    web.clock.advance(hours=7)
    assert c.post("/subscribe", data={"csrf_token": token, "email": ANN}).status_code == 400
    assert web.store.count_subscribers() == 0


def test_the_honeypot_gets_the_same_answer_and_nothing_happens(web: Web) -> None:
    c = web.client()
    trapped = web.subscribe(c, ANN, website="http://spam.example")
    normal = web.subscribe(web.client(), "bob@example.com")
    assert trapped.status_code == 200
    assert trapped.text.replace(ANN, "X") == normal.text.replace("bob@example.com", "X")
    assert web.status(ANN) == "absent" and web.mail(ANN) == []


def test_per_ip_rate_limit(make, clock) -> None:
    web = make(subscribe_per_ip_per_hour=3)
    c = web.client(ip="192.0.2.50")
    codes = [web.subscribe(c, f"p{i}@example.com").status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    assert web.store.count_subscribers() == 3
    assert web.subscribe(web.client(ip="192.0.2.51"), "other@example.com").status_code == 200
    clock.advance(minutes=61)
    assert web.subscribe(c, "p3@example.com").status_code == 200


def test_per_address_rate_limit(make) -> None:
    web = make(subscribe_per_address_per_hour=2)
    codes = [
        web.subscribe(
            web.client(ip=f"192.0.2.{i}"), "Target@Example.com" if i % 2 else "target@example.com"
        ).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]
    response = web.subscribe(web.client(ip="192.0.2.99"), "target@example.com")
    assert response.status_code == 429 and "Too many attempts" in response.text


def test_sliding_window(store, clock) -> None:
    window = RateLimit("t", 2, 60, SECRET, lambda: nullcontext(store))
    assert window.hit("a") and window.hit("a") and not window.hit("a")
    clock.advance(seconds=30)
    assert window.hit("b") and window.remaining("b") == 1
    clock.advance(seconds=31)  # a's hits left the window, b's has not
    assert window.hit("a") and window.remaining("a") == 1
    assert window.remaining("b") == 1
    assert RateLimit("t", 0, 60, SECRET, lambda: nullcontext(store)).hit("x")  # 0 = no limit


def test_rate_limit_buckets_hold_no_address_and_expired_hits_are_swept(store, clock) -> None:
    window = RateLimit("address", 3, 60, SECRET, lambda: nullcontext(store))
    window.hit("daily\nann@example.com")
    stored = snapshot(store)["rate_limit_hits"]
    assert len(stored) == 1 and "ann" not in repr(stored)
    assert stored[0][0] == window.bucket("daily\nann@example.com")
    assert window.bucket("x") != RateLimit("address", 3, 60, "other", None).bucket("x")
    for n in range(SWEEP_EVERY):  # one-off keys, each hit once
        window.hit(f"one-off-{n}")
        clock.advance(seconds=1)
    # the sweep at the 100th hit deleted every slot no 60 s window reaches any more
    assert store.rate_limit_rows() <= 62


def test_a_busy_bucket_keeps_one_row_per_slot_whatever_its_limit(store, clock) -> None:
    window = RateLimit("ip", 1_000_000, 3600, SECRET, lambda: nullcontext(store))
    for _ in range(500):  # 500 hits over 2.5 hours from one address
        assert window.hit("192.0.2.1")
        clock.advance(seconds=18)
    assert store.rate_limit_rows() <= SLOTS + 1  # a row per minute of the hour, at most
    # the last hour's 200 hits, give or take the oldest slot (the window slides by minutes)
    used = 1_000_000 - window.remaining("192.0.2.1")
    assert 200 - 200 / SLOTS - 1 <= used <= 200


def test_several_processes_enforce_one_limit(make, store_target) -> None:
    """Two apps (two worker processes) on one store: the per-IP limit is shared, and a
    form token one of them issued is accepted by the other (the same secret key)."""
    first = make(subscribe_per_ip_per_hour=3)
    other = impatient(first.store, 5)  # the second process's own connection
    second = make(store=other, subscribe_per_ip_per_hour=3)
    # one browser behind a load balancer: its requests reach either process, with one cookie
    to_first, to_second = first.client(ip="192.0.2.80"), second.client(ip="192.0.2.80")
    token = csrf_token(to_first.get("/subscribe").text)
    to_second.set_cookie("newsletter_session", to_first.get_cookie("newsletter_session").value)
    codes = [
        (to_first, to_second)[n % 2]
        .post("/subscribe", data={"csrf_token": token, "email": f"s{n}@example.com"})
        .status_code
        for n in range(4)
    ]
    assert codes == [200, 200, 200, 429]  # one limit of 3, not 3 per process
    assert first.store.count_subscribers() == 3
    forged = to_second.post(
        "/subscribe", data={"csrf_token": token[:-2] + "xx", "email": "f@x.org"}
    )
    assert forged.status_code == 400
    other.close()


def test_security_headers(web: Web) -> None:
    response = web.client().get("/subscribe")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


# -- tokens ----------------------------------------------------------------------------------
def _pending(web: Web) -> str:
    web.subscribe(web.client(), ANN)
    return path_of(link(web.mail(ANN)[-1], "confirm"))


def _link_path(web: Web, purpose: str, subscriber) -> str:
    """/<purpose>/<token> for a subscriber as stored (with their current keys)."""
    current = web.store.get_subscriber(subscriber.id)
    return path_of(link_url(web.config, Tokens(SECRET, web.clock), purpose, current))


def test_forged_and_altered_links_are_refused(web: Web) -> None:
    path = _pending(web)
    token = path.rsplit("/", 1)[1]
    ann = web.store.get_subscriber(("daily", ANN))
    altered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    other_key = Tokens("some-other-secret-key", web.clock).make(CONFIRM, ann.id, ann.confirm_key)
    wrong_purpose = Tokens(SECRET, web.clock).make(UNSUBSCRIBE, ann.id, ann.confirm_key)
    for bad in ("garbage", altered, other_key, wrong_purpose, token[: len(token) // 2]):
        for method in ("get", "post"):
            response = getattr(web.client(), method)(f"/confirm/{bad}")
            assert response.status_code == 400, (bad, method)
            assert "This link is not valid" in response.text
    assert web.status(ANN) == "pending"


def test_an_expired_confirmation_link_is_refused(web: Web) -> None:
    path = _pending(web)
    web.clock.advance(days=7, minutes=1)
    response = web.client().post(path)
    assert response.status_code == 400 and "This confirmation link has expired" in response.text
    assert "Subscribe again" in response.text
    assert web.status(ANN) == "pending"


def test_a_used_confirmation_link_cannot_sign_someone_up_again(web: Web) -> None:
    path = _pending(web)
    assert web.client().post(path).status_code == 200
    again = web.client().post(path)
    assert again.status_code == 200 and "You are already subscribed" in again.text
    assert len(web.mail(ANN)) == 2  # confirmation + one welcome, not two
    subscriber = web.store.get_subscriber(("daily", ANN))
    web.store.set_status(subscriber.id, "unsubscribed")
    for method in ("get", "post"):
        reused = getattr(web.client(), method)(path)
        assert reused.status_code == 410 and "cannot be used any more" in reused.text
    assert web.status(ANN) == "unsubscribed"


def test_links_naming_no_subscriber(web: Web) -> None:
    tokens = Tokens(SECRET, web.clock)
    assert web.client().get(f"/confirm/{tokens.make(CONFIRM, 999, 'k')}").status_code == 404
    assert web.client().get(f"/manage/{tokens.make(MANAGE, 999, 'k')}").status_code == 404
    gone = web.client().post(
        f"/unsubscribe/{tokens.make(UNSUBSCRIBE, 999, 'k')}", data={"List-Unsubscribe": "One-Click"}
    )
    assert gone.status_code == 200 and "not subscribed" in gone.text
    bad = web.client().post("/unsubscribe/nonsense", data={"List-Unsubscribe": "One-Click"})
    assert bad.status_code == 400 and bad.mimetype == "text/plain"


# -- unsubscribe, resubscribe, manage ----------------------------------------------------------
def test_unsubscribe_page_button_and_undo(web: Web) -> None:
    _confirm(web)
    ann = web.store.get_subscriber(("daily", ANN))
    path = _link_path(web, UNSUBSCRIBE, ann)
    page = web.client().get(path)
    assert page.status_code == 200 and "Unsubscribe</button>" in page.text
    assert web.status(ANN) == "confirmed"
    done = web.client().post(path)
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert web.status(ANN) == "unsubscribed"
    undo = re.search(r'action="(/resubscribe/[^"]+)"', done.text).group(1)
    again = web.client().post(path)
    assert "You were already unsubscribed" in again.text
    assert "/resubscribe/" not in again.text  # only the answer to the unsubscribe offers it
    assert "/resubscribe/" not in web.client().get(path).text
    back = web.client().post(undo)
    assert back.status_code == 200 and "Welcome back" in back.text
    assert web.status(ANN) == "confirmed"
    leave = re.search(r'action="(/unsubscribe/[^"]+)"', back.text).group(1)
    web.clock.advance(seconds=30)
    assert web.client().post(leave).status_code == 200 and web.status(ANN) == "unsubscribed"
    # the first undo link was made for the first unsubscribe, not this one
    assert web.client().post(undo).status_code == 409
    assert web.status(ANN) == "unsubscribed"


def test_undoing_an_unsubscribe_has_a_time_limit(web: Web) -> None:
    _confirm(web)
    path = _link_path(web, UNSUBSCRIBE, web.store.get_subscriber(("daily", ANN)))
    done = web.client().post(path)
    undo = re.search(r'action="(/resubscribe/[^"]+)"', done.text).group(1)
    web.clock.advance(hours=24, minutes=1)
    late = web.client().post(undo)
    assert late.status_code == 400 and "24 hours" in late.text
    assert web.status(ANN) == "unsubscribed"


def test_resubscribe_needs_a_fresh_opt_in_if_never_confirmed(web: Web) -> None:
    sid = web.store.add_subscriber("daily", ANN, "", "pending").id
    web.store.set_status(sid, "unsubscribed")
    ann = web.store.get_subscriber(sid)
    token = Tokens(SECRET, web.clock).make(RESUBSCRIBE, sid, ann.link_key)
    response = web.client().post(f"/resubscribe/{token}")
    assert response.status_code == 409 and "subscribe" in response.text.lower()
    assert web.status(ANN) == "unsubscribed"


def test_manage_page_actions_and_data_download(web: Web, tmp_path: Path) -> None:
    _confirm(web)
    digest_id = make_digest(web.store, tmp_path)
    deliver.send_digest(web.config, web.store, digest_id, clock=web.clock)
    path = path_of(link(web.mail(ANN)[-1], "manage"))  # the digest's manage link
    page = web.client().get(path)
    assert page.status_code == 200
    assert ANN in page.text and "Subscribed" in page.text
    # the data goes to the mailbox, not to whoever holds the (maybe forwarded) link
    soon = web.client().post(f"{path}/data")  # the welcome mail went out minutes ago
    assert "try again in 10 minutes" in soon.text
    web.clock.advance(minutes=11)  # at most one message every 10 minutes
    asked = web.client().post(f"{path}/data")
    assert asked.status_code == 200 and "download link is on its way" in asked.text
    assert asked.mimetype == "text/html"
    mail = web.mail(ANN)[-1]
    assert mail["Subject"] == "Your Example News data"
    data_path = path_of(link(mail, "data"))
    assert "Download my data</button>" in web.client().get(data_path).text
    data = web.client().post(data_path)
    assert data.status_code == 200 and data.mimetype == "application/json"
    assert "attachment" in data.headers["Content-Disposition"]
    stored = json.loads(data.text)
    assert stored["subscriber"]["email"] == ANN and stored["subscriber"]["status"] == "confirmed"
    assert [d["status"] for d in stored["deliveries"]] == ["sent"]
    assert stored["deliveries"][0]["digest_id"] == digest_id
    left = web.client().post(path, data={"action": "unsubscribe"})
    assert "You are unsubscribed" in left.text and web.status(ANN) == "unsubscribed"
    undo = re.search(r'action="(/resubscribe/[^"]+)"', left.text).group(1)
    later = web.client().get(path)
    assert "/resubscribe/" not in later.text and 'value="subscribe_again"' in later.text
    web.clock.advance(minutes=11)
    again = web.client().post(path, data={"action": "subscribe_again"})
    assert "confirmation link is on its way" in again.text and web.status(ANN) == "unsubscribed"
    assert web.mail(ANN)[-1]["Subject"].startswith("Confirm your subscription")
    assert web.client().post(undo).status_code == 200 and web.status(ANN) == "confirmed"
    assert web.client().post(path, data={"action": "explode"}).status_code == 400


@pytest.mark.parametrize("page", ["/unsubscribe", "/manage"])
def test_tokenless_pages_explain_and_do_not_reveal_membership(web: Web, page: str) -> None:
    _confirm(web)
    sent = len(web.mail(ANN))
    web.clock.advance(minutes=11)  # the confirmation mail was the last one; let it age
    c = web.client()
    help_page = c.get(page)
    assert help_page.status_code == 200
    assert "Unsubscribe" in help_page.text and "Email me a link" in help_page.text
    answers = []
    for email in (ANN, "stranger@example.com"):
        token = csrf_token(c.get(page).text)
        response = c.post("/manage", data={"csrf_token": token, "email": email})
        assert response.status_code == 200
        answers.append(without_csrf(response.text).replace(email, "X"))
    assert answers[0] == answers[1]
    [mail] = web.mail(ANN)[sent:]
    assert mail["Subject"] == "Your Example News subscription"
    assert web.client().get(path_of(link(mail, "manage"))).status_code == 200
    assert web.mail("stranger@example.com") == []
    assert web.store.count_subscribers() == 1
    assert c.post("/manage", data={"email": ANN}).status_code == 400  # no CSRF token


# -- embed -----------------------------------------------------------------------------------
def test_embed_snippet_posts_to_a_confirmation_step(web: Web) -> None:
    snippet = web.client().get("/embed")
    assert snippet.status_code == 200
    assert 'action="https://news.example.org/subscribe"' in snippet.text
    assert 'name="embed" value="1"' in snippet.text and "csrf_token" not in snippet.text
    assert "Subscribe to get the latest posts sent to your email" in snippet.text
    # the cross-site post: no cookie, no token -> our page asks, nothing is stored or sent
    c = web.client()
    step = c.post(
        "/subscribe",
        data={"embed": "1", "email": ANN, "list": "daily"},
        headers={"Origin": "https://blog.example.net"},
    )
    assert step.status_code == 200 and "One more step" in step.text
    assert f'value="{ANN}"' in step.text
    assert web.status(ANN) == "absent" and web.mail(ANN) == []
    done = c.post("/subscribe", data={"csrf_token": csrf_token(step.text), "email": ANN})
    assert "Check your inbox" in done.text and web.status(ANN) == "pending"


# -- archive ---------------------------------------------------------------------------------
def _built(web: Web, tmp_path: Path) -> str:
    config = dataclasses.replace(render_config(web.config.output_dir), site=web.config.site)
    digest = sample_digest()
    write_digest(render_digest(digest, config), config, "daily", digest.built_at)
    return stamp(digest.built_at)


def test_archive_lists_digests_and_serves_web_copies(web: Web, tmp_path: Path) -> None:
    empty = web.client().get("/archive/")
    assert empty.status_code == 200 and "No digests yet" in empty.text
    built = _built(web, tmp_path)
    index = web.client().get("/archive/")
    assert f"daily/{built}/index.html" in index.text
    for path in (
        f"/archive/daily/{built}/",
        f"/archive/daily/{built}/index.html",
        "/archive/latest.html",
    ):
        copy = web.client().get(path)
        assert copy.status_code == 200, path
        assert "Rain gauges on every allotment" in copy.text
        assert "%%" not in copy.text
        assert 'href="https://news.example.org/unsubscribe"' in copy.text
        assert "unsubscribe/" not in copy.text  # no personal token anywhere
        assert "style-src 'unsafe-inline'" in copy.headers["Content-Security-Policy"]
    assert web.client().get(f"/archive/daily/{built}").status_code in (301, 308)
    for bad in (
        "/archive/daily/..%2F..%2Fetc/",
        "/archive/../store.sqlite",
        "/archive/daily/20260105/",
        "/archive/.hidden/20260105-070000/",
    ):
        assert web.client().get(bad, follow_redirects=True).status_code == 404, bad


def test_welcome_and_thanks_point_to_the_latest_digest(web: Web, tmp_path: Path) -> None:
    built = _built(web, tmp_path)
    thanks = _confirm(web)
    assert f'href="/archive/daily/{built}/"' in thanks
    welcome = web.mail(ANN)[-1]
    assert f"https://news.example.org/archive/daily/{built}/" in text_part(welcome)
    assert f'href="https://news.example.org/archive/daily/{built}/"' in html_part(welcome)


# -- templates, plumbing ---------------------------------------------------------------------
def test_pages_and_messages_follow_template_overrides(make, tmp_path: Path) -> None:
    folder = tmp_path / "mytemplates"
    (folder / "web").mkdir(parents=True)
    (folder / "mail").mkdir()
    (folder / "web" / "check_inbox.html").write_text(
        '{% extends "default:web/check_inbox.html" %}{% block title %}Nearly there{% endblock %}'
    )
    (folder / "mail" / "confirm.txt").write_text(
        '{% set subject = "Please confirm: " ~ list_title %}Click {{ confirm_url }}\n'
    )
    (folder / "web" / "style.css").write_text("body { color: black }\n")
    web = make(template_dir=str(folder))
    answer = web.subscribe(web.client(), ANN)
    assert "<title>Nearly there · Example News</title>" in answer.text
    assert "Check your inbox" in answer.text  # the rest comes from the original
    [mail] = web.mail(ANN)
    assert mail["Subject"] == "Please confirm: Example News"
    assert text_part(mail).startswith("Click https://news.example.org/confirm/")
    assert web.client().get("/style.css").text == "body { color: black }\n"


def test_stylesheet_is_cacheable(web: Web) -> None:
    css = web.client().get("/style.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert ":focus-visible" in css.text
    again = web.client().get("/style.css", headers={"If-None-Match": css.headers["ETag"]})
    assert again.status_code == 304


def test_unknown_pages_and_health(web: Web) -> None:
    missing = web.client().get("/nowhere")
    assert missing.status_code == 404 and "Page not found" in missing.text
    assert web.client().put("/subscribe").status_code == 405
    assert web.client().get("/healthz").text == "ok\n"
    assert web.client().get("/subscribe?list=nope").status_code == 404


def test_the_app_needs_a_secret_key(tmp_path: Path, store) -> None:
    config = dataclasses.replace(web_config_no_secret(tmp_path))
    with pytest.raises(ConfigError, match="NEWSLETTER_SECRET_KEY"):
        create_app(config, store=store)


def web_config_no_secret(tmp_path: Path):
    from support.web import web_config

    return dataclasses.replace(web_config(tmp_path), secret_key="")


def test_make_wsgi_app_reads_the_environment(tmp_path: Path) -> None:
    toml = tmp_path / "newsletter.toml"
    toml.write_text(
        '[site]\nname = "Env Site"\nurl = "https://env.example.org"\n'
        '[store]\npath = "data/web.sqlite"\n'
    )
    app = make_wsgi_app(env={"NEWSLETTER_CONFIG": str(toml), "NEWSLETTER_SECRET_KEY": SECRET})
    c = app.test_client()
    assert "Env Site" in c.get("/").text
    assert (tmp_path / "data" / "web.sqlite").is_file()
    app.extensions["newsletter"].store.close()


@dataclasses.dataclass(frozen=True)
class _ProxiedWeb(WebConfig):
    """[web] with the proposed `trusted_proxies` key (see web.create_app)."""

    trusted_proxies: int = 1
    subscribe_per_ip_per_hour: int = 1


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(make) -> None:
    plain = make(subscribe_per_ip_per_hour=1)
    for n, forwarded in enumerate(("192.0.2.1", "192.0.2.2")):
        response = _post_from(plain, f"a{n}@example.com", forwarded)
        assert response.status_code == (200 if n == 0 else 429)  # the header is ignored
    proxied = make()
    proxied.app = create_app(
        dataclasses.replace(proxied.config, web=_ProxiedWeb()),
        store=proxied.store,
        clock=proxied.clock,
    )
    assert _post_from(proxied, "b1@example.com", "192.0.2.1").status_code == 200
    assert _post_from(proxied, "b2@example.com", "192.0.2.2").status_code == 200
    assert _post_from(proxied, "b3@example.com", "192.0.2.2").status_code == 429


def _post_from(web: Web, email: str, forwarded_for: str):
    c = web.client(ip="10.0.0.1")  # every request arrives from the proxy
    headers = {"X-Forwarded-For": forwarded_for}
    token = csrf_token(c.get("/subscribe", headers=headers).text)
    return c.post("/subscribe", data={"csrf_token": token, "email": email}, headers=headers)
