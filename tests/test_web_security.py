"""The promises of SECURITY.md against the running app: only POST acts, a link names one
subscriber for good, an opt-out ends only by the person's own confirmation, the data
download is the subscriber's data, tokens stay out of logs, clients cannot steer links."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest
from flask import Flask
from support.sending import SECRET, make_digest
from support.smtp import SmtpServer
from support.web import Web, client, csrf_token, link, make_web, path_of
from werkzeug.serving import make_server

from newsletter.audience import subscribers
from newsletter.audience.signup import WELCOME, MailJob
from newsletter.audience.tokens import (
    CONFIRM,
    DATA,
    MANAGE,
    RESUBSCRIBE,
    UNSUBSCRIBE,
    Tokens,
    key_for,
)
from newsletter.config import WebConfig
from newsletter.errors import SendError
from newsletter.mail import deliver
from newsletter.web import links
from newsletter.web.app import _RedactingHandler, create_app
from newsletter.web.common import EXTENSION

ANN, BOB, CARL = "ann@example.com", "bob@example.com", "carl@example.com"


@pytest.fixture(scope="module")
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def web(tmp_path: Path, store, clock, smtp):
    smtp.handler.messages.clear()
    made = make_web(tmp_path, store, clock, smtp)
    yield made
    made.app.extensions[EXTENSION].outbox.close()


def _path(web: Web, purpose: str, email: str) -> str:
    """/<purpose>/<token> of a subscriber as stored now."""
    who = web.store.get_subscriber(("daily", email))
    token = Tokens(SECRET, web.clock).make(purpose, who.id, key_for(purpose, who))
    return f"/{purpose}/{token}"


def _snapshot(web: Web) -> list[tuple]:
    web.flush()
    rows = [
        (s.id, s.status, s.link_key, s.confirm_key, web.store.confirm_sent_at(s.id))
        for s in web.store.list_subscribers()
    ]
    return [*rows, ("mail", web.server.handler.total)]


# -- 2. only POST acts ----------------------------------------------------------------------
def test_head_get_and_options_change_nothing_on_any_route(web: Web) -> None:
    web.store.add_subscriber("daily", ANN, "", "confirmed")
    web.store.add_subscriber("daily", BOB, "", "pending")
    carl = web.store.add_subscriber("daily", CARL, "", "confirmed")
    web.store.set_status(carl.id, "unsubscribed")  # with an undo link still valid
    routes = [
        _path(web, CONFIRM, BOB),
        _path(web, UNSUBSCRIBE, ANN),
        _path(web, RESUBSCRIBE, CARL),
        _path(web, MANAGE, ANN),
        _path(web, MANAGE, ANN) + "/data",
        _path(web, DATA, ANN),
        f"/subscribe?email={ANN}&list=daily",
        f"/manage?email={ANN}",
        "/embed",
    ]
    before = _snapshot(web)
    for route in routes:
        for method in ("HEAD", "GET", "OPTIONS"):
            response = web.client().open(route, method=method)
            assert response.status_code in (200, 405), (route, method, response.status_code)
            assert _snapshot(web) == before, (route, method)
    # the same links do act when posted: the test above could have seen a change
    assert web.client().post(routes[0]).status_code == 200 and web.status(BOB) == "confirmed"
    assert web.client().post(routes[1]).status_code == 200 and web.status(ANN) == "unsubscribed"
    assert web.client().post(routes[2]).status_code == 200 and web.status(CARL) == "confirmed"


# -- 3. a link names one subscriber for good ------------------------------------------------
def test_a_removed_subscribers_links_die_and_never_reach_the_next_one(web: Web) -> None:
    web.store.add_subscriber("daily", ANN, "", "confirmed")
    old = {p: _path(web, p, ANN) for p in (UNSUBSCRIBE, MANAGE, DATA)}
    gone = web.store.get_subscriber(("daily", ANN))
    assert subscribers.remove(web.store, "daily", ANN)
    newcomer = web.store.add_subscriber("daily", BOB, "", "confirmed")
    assert newcomer.id != gone.id
    for path in old.values():
        assert web.client().get(path).status_code == 404
        assert web.client().post(path).status_code == 404
    one_click = web.client().post(old[UNSUBSCRIBE], data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and "not subscribed" in one_click.text
    # even a link forged for the newcomer's id with the old key does nothing
    forged = Tokens(SECRET, web.clock).make(UNSUBSCRIBE, newcomer.id, gone.link_key)
    assert web.client().post(f"/unsubscribe/{forged}").status_code == 404
    assert web.status(BOB) == "confirmed"


# -- 4. an opt-out ends only by the person's own confirmation -------------------------------
@pytest.mark.parametrize("opted_out", ["unsubscribed", "bounced"])
def test_a_stranger_cannot_erase_an_opt_out(web: Web, opted_out: str) -> None:
    web.store.add_subscriber("daily", ANN, "", opted_out)
    stranger = web.client(ip="198.51.100.66")
    assert web.subscribe(stranger, ANN).status_code == 200
    assert web.status(ANN) == opted_out
    [mail] = web.mail(ANN)
    assert mail["Subject"].startswith("Confirm your subscription")
    # an operator's import afterwards keeps the opt-out too, and says so
    report = subscribers.import_csv(web.store, "daily", f"email\n{ANN}\n".splitlines(True))
    assert report.kept == [(2, ANN, opted_out)] and web.status(ANN) == opted_out
    # only the person, through the link in their mailbox, ends it
    assert web.client().post(path_of(link(mail, "confirm"))).status_code == 200
    assert web.status(ANN) == "confirmed"


# -- 8. the data download -------------------------------------------------------------------
def test_the_data_download_is_the_subscribers_data_not_smtp_diagnostics(
    web: Web, tmp_path: Path
) -> None:
    ann = web.store.add_subscriber("daily", ANN, "Ann", "confirmed")
    digest_id = make_digest(web.store, tmp_path)
    web.store.create_deliveries(digest_id)
    [row] = web.store.deliveries(digest_id)
    diagnostic = "550 5.1.1 <ann@example.com>: user unknown (mx3.corp.internal [10.20.30.40])"
    web.store.mark_failed(row.id, diagnostic)
    response = web.client().post(_path(web, DATA, ANN))
    assert response.status_code == 200
    for internal in ("10.20.30.40", "mx3.corp.internal", "550", ann.link_key, ann.confirm_key):
        assert internal not in response.text
    stored = json.loads(response.text)
    assert stored["subscriber"]["email"] == ANN and stored["subscriber"]["name"] == "Ann"
    assert [d["status"] for d in stored["deliveries"]] == ["not delivered"]
    assert stored["deliveries"][0]["digest_subject"].startswith("Example News")


def test_a_data_link_expires_and_a_manage_link_gives_no_data(web: Web) -> None:
    web.store.add_subscriber("daily", ANN, "", "confirmed")
    data_path = _path(web, DATA, ANN)
    manage_path = _path(web, MANAGE, ANN)
    assert web.client().post(f"/data/{manage_path.rsplit('/', 1)[1]}").status_code == 400
    web.clock.advance(hours=24, minutes=1)
    expired = web.client().post(data_path)
    assert expired.status_code == 400 and "24 hours" in expired.text
    assert web.client().get(manage_path).status_code == 200  # manage links do not expire


# -- 7. recipient headers -------------------------------------------------------------------
def test_confirmation_and_welcome_mail_are_addressed_to_the_address_only(web: Web) -> None:
    evil = "=?utf-8?q?evil=40attacker=2Eexample=2C?=ann@example.com"
    answer = web.subscribe(web.client(), evil)
    assert answer.status_code == 400 and web.store.count_subscribers() == 0
    composer = web.app.extensions[EXTENSION].outbox.compose
    stored = web.store.add_subscriber("daily", evil.lower(), "", "confirmed")  # an old row
    with pytest.raises(SendError, match="malformed address"):
        composer(MailJob(WELCOME, stored))
    plain = web.store.add_subscriber("daily", "o'brien+news@example.com", "", "confirmed")
    data = composer(MailJob(WELCOME, plain)).data
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert [h for h in head if h.lower().startswith(b"to:")] == [b"To: o'brien+news@example.com"]


# -- 9. logs, proxies, debug ----------------------------------------------------------------
def test_tokens_stay_out_of_the_servers_and_the_apps_logs(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    web.store.add_subscriber("daily", ANN, "", "confirmed")
    path = _path(web, UNSUBSCRIBE, ANN)
    token = path.rsplit("/", 1)[1]
    server = make_server("127.0.0.1", 0, web.app, threaded=True, request_handler=_RedactingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    caplog.set_level(logging.INFO)
    try:
        url = f"http://127.0.0.1:{server.server_port}{path}?x=1"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
    finally:
        server.shutdown()
        thread.join(10)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /unsubscribe/***?x=1 HTTP/1.1" in logged and token not in logged
    # an error while answering a token URL is logged without the token
    caplog.clear()
    manage = _path(web, MANAGE, ANN)
    web.app.extensions[EXTENSION].store.close()  # reading the store now fails
    assert web.client().get(manage).status_code == 500
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /manage/***" in logged and manage.rsplit("/", 1)[1] not in logged


def _proxied(web: Web, **site) -> Flask:
    config = dataclasses.replace(
        web.config,
        site=dataclasses.replace(web.config.site, **site),
        web=dataclasses.replace(WebConfig(), trusted_proxies=1),
    )
    app = create_app(config, store=web.store, clock=web.clock)
    web.app = app  # so the fixture closes its outbox
    return app


def test_client_sent_forwarded_host_and_prefix_do_not_steer_links_or_forms(web: Web) -> None:
    app = _proxied(web, url="https://news.example.org/letters")
    evil = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Prefix": "/evil"}
    for path in ("/letters/subscribe", "/subscribe"):  # a proxy that keeps or strips the prefix
        page = client(app).get(path, headers=evil)
        assert page.status_code == 200
        assert 'action="/letters/subscribe"' in page.text
        assert 'href="/letters/style.css"' in page.text
        assert "evil" not in page.text
    web.store.add_subscriber("daily", BOB, "", "pending")
    token = _path(web, CONFIRM, BOB).rsplit("/", 1)[1]
    shown = client(app).get(f"/letters/confirm/{token}", headers=evil)
    assert f'action="/letters/confirm/{token}"' in shown.text
    # a form posted through the proxy still works (the session cookie and CSRF token match)
    c = client(app)
    form = c.get("/letters/subscribe", headers=evil).text
    done = c.post(
        "/letters/subscribe", data={"csrf_token": csrf_token(form), "email": ANN}, headers=evil
    )
    assert done.status_code == 200 and web.status(ANN) == "pending"


def test_flask_debug_from_the_environment_is_ignored(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = _proxied(web, url="https://news.example.org")
    assert app.debug is False and app.config["DEBUG"] is False

    def explode() -> str:
        raise RuntimeError("secret internals")

    app.add_url_rule("/explode", view_func=explode)
    response = client(app).get("/explode")
    assert response.status_code == 500 and "Something went wrong" in response.text
    assert "secret internals" not in response.text and "Traceback" not in response.text


# -- the Blueprints stand alone -------------------------------------------------------------
def test_the_link_pages_work_as_a_blueprint_alone(web: Web) -> None:
    web.store.add_subscriber("daily", ANN, "", "confirmed")
    app = Flask("alone")
    app.extensions[EXTENSION] = web.app.extensions[EXTENSION]
    app.register_blueprint(links.bp)
    c = client(app)
    path = _path(web, UNSUBSCRIBE, ANN)
    assert "Unsubscribe</button>" in c.get(path).text
    assert c.post(path).status_code == 200 and web.status(ANN) == "unsubscribed"


# -- dry runs -------------------------------------------------------------------------------
def test_dry_run_messages_are_readable_by_their_owner_only(web: Web, tmp_path: Path) -> None:
    web.store.add_subscriber("daily", ANN, "", "confirmed")
    digest_id = make_digest(web.store, tmp_path)
    old = os.umask(0o022)
    try:
        [report] = deliver.send(web.config, web.store, digest=digest_id, dry_run=True)
        # `send --dry-run --to`: the same folder and modes (it wrote 0644 in a 0755 folder)
        shutil.rmtree(report.folder)
        one = deliver.dry_run_to(web.config, web.store, digest_id, "me@example.org")
    finally:
        os.umask(old)
    assert one.folder == report.folder
    folder = Path(report.folder)
    [eml] = folder.glob("*.eml")
    assert eml.stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700
    assert b"/unsubscribe/" in eml.read_bytes()


def test_links_in_mail_follow_the_site_url_not_the_request(web: Web) -> None:
    """Links in mail come from [site] url only, never from the request that caused them."""
    app = _proxied(web, url="https://news.example.org")
    c = client(app)
    c.environ_base["HTTP_HOST"] = "evil.example"
    form = c.get("/subscribe", headers={"X-Forwarded-Host": "evil.example"}).text
    c.post("/subscribe", data={"csrf_token": csrf_token(form), "email": ANN})
    [mail] = web.mail(ANN)
    assert link(mail, "confirm").startswith("https://news.example.org/confirm/")


def test_links_from_before_keys_existed_only_unsubscribe(web: Web) -> None:
    """Digests sent by an older version carry bare-id tokens: they still unsubscribe; any
    other old link says it is out of date and where to get a new one."""
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    clock = web.clock

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock().timestamp())

    ann = web.store.add_subscriber("daily", ANN, "", "confirmed")
    old = {
        p: URLSafeTimedSerializer(SECRET, salt=p, signer=Then).dumps(ann.id)
        for p in (UNSUBSCRIBE, MANAGE)
    }
    stale = web.client().get(f"/manage/{old[MANAGE]}")
    assert stale.status_code == 400 and "This link is out of date" in stale.text
    assert web.client().post(f"/unsubscribe/{old[UNSUBSCRIBE]}").status_code == 200
    assert web.status(ANN) == "unsubscribed"
