"""Digests, configs and messages for the render, emailcheck and inbox tests.

All story text here is written for these tests (no dataset text). `sample_digest` looks like
the bundled sample (a few sections, a merged story, images); `big_digest` makes n stories.
`build_message` assembles a realistic multipart/alternative message with the stdlib, the
way the sending module does, so the .eml checks run on what a subscriber would receive.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from newsletter.config import Config, DigestConfig, ListConfig, SiteConfig
from newsletter.model import Digest, Entry, Item, Section
from newsletter.render.placeholders import ANY_MARKER
from newsletter.render.renderer import RenderedDigest
from support.paths import REPO

TOOLS = REPO / "tools"
REPORTS = REPO / "output" / "inbox"
SCREENSHOTS = REPO / "output" / "screenshots"
BUILT_AT = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
# The mail shows every story: for tests of the size budget and of the full layout.
EVERY_STORY: dict[str, object] = {"mail_items": 0, "per_section": 0, "lead": False}
SITE_URL = "https://news.example.org"


def make_config(
    output_dir: Path,
    budget_kb: int = 90,
    template_dir: str = "",
    language: str = "en",
    **shape: object,
) -> Config:
    """A config like a small real deployment: one daily list, a postal address. `shape`
    sets the digest's mail shape (mail_items=0, per_section=0, lead=False: every story)."""
    return Config(
        base_dir=output_dir.parent,
        site=SiteConfig(
            name="Field Notes",
            url=SITE_URL,
            language=language,
            address="Field Notes, 12 Orchard Lane, Bristol BS1 4AA, United Kingdom",
        ),
        lists=(
            ListConfig(
                name="daily",
                title="Field Notes Daily",
                sender="Field Notes <digest@news.example.org>",
                timezone="Europe/London",
            ),
        ),
        digest=DigestConfig(html_budget_kb=budget_kb, template_dir=template_dir, **shape),  # type: ignore[arg-type]
        output_dir=output_dir,
        store_path=output_dir.parent / "store.sqlite",
    )


def _item(n: int, title: str, source: str, host: str, **kw: object) -> Item:
    link = f"https://{host}/posts/{n}-{hashlib.sha1(title.encode()).hexdigest()[:8]}"
    return Item(
        key=link,
        feed_url=f"https://{host}/feed.xml",
        link=link,
        title=title,
        source=source,
        published=BUILT_AT - timedelta(hours=n * 3 + 1),
        **kw,  # type: ignore[arg-type]
    )


def _entry(item: Item, summary: str, also: tuple[tuple[str, str], ...] = ()) -> Entry:
    return Entry(item=item, summary=summary, sources=((item.source, item.link), *also))


def sample_digest() -> Digest:
    """Nine stories in three sections, one merged from two feeds, two hostile strings."""
    garden = "Allotment Diary"
    bikes = "Two Wheels Weekly"
    lab = "Bench Notes"
    rain = _item(
        1,
        "Rain gauges on every allotment: what a wet December taught us",
        garden,
        "allotment.example.net",
        author="Priya Natarajan",
        image="https://allotment.example.net/img/gauge.jpg",
        categories=("gardening", "weather"),
    )
    sections = (
        Section(
            label="Gardening",
            slug="gardening",
            entries=(
                _entry(
                    rain,
                    "Volunteers read twelve rain gauges each morning for a month. The wettest "
                    "plots were not the lowest ones but those next to the new car park, where "
                    "run-off pools after heavy showers. The committee will dig two soakaways "
                    "before spring sowing.",
                    also=(("Bristol Growers", "https://growers.example.com/notes/rain-gauges"),),
                ),
                _entry(
                    _item(
                        2,
                        "Seed swap moves to the library on Saturday mornings",
                        garden,
                        "allotment.example.net",
                        image="http://allotment.example.net/img/seeds.jpg",
                    ),
                    "The seed swap has outgrown the shed. From February it meets in the "
                    "library's community room, with a table for labelled envelopes and a "
                    "second one for cuttings that need a new home.",
                ),
                _entry(
                    _item(
                        3,
                        "Comfrey tea <script>alert(1)</script> & other fertilisers",
                        garden,
                        "allotment.example.net",
                        image="data:image/png;base64,iVBORw0KGgo=",
                    ),
                    "A side-by-side trial of comfrey tea, nettle tea and a shop-bought liquid "
                    "feed on tomatoes. The comfrey row cropped a week earlier; the nettle row "
                    "had the fewest split fruits.",
                ),
            ),
        ),
        Section(
            label="Cycling",
            slug="cycling",
            entries=(
                _entry(
                    _item(
                        4,
                        "New contraflow lane opens on Mill Street",
                        bikes,
                        "twowheels.example.org",
                        author="Sam O'Neill",
                    ),
                    "The council has opened a contraflow cycle lane on Mill Street, linking "
                    "the station to the river path without the detour around the one-way "
                    "loop. Counts in the first week show about 900 trips a day.",
                ),
                _entry(
                    _item(
                        5,
                        "Winter tyres: are they worth it for a commuter?",
                        bikes,
                        "twowheels.example.org",
                    ),
                    "Studded tyres roll slowly and cost more, but on the two icy mornings a "
                    "year they turn a fall into a non-event. Our tester's verdict: worth it "
                    "if your route has shaded hills.",
                ),
                _entry(
                    _item(
                        6,
                        "Bike kitchen extends its Thursday opening hours",
                        bikes,
                        "twowheels.example.org",
                    ),
                    "The volunteer-run workshop now stays open until nine on Thursdays, with "
                    "a mechanic on hand to teach brake and gear adjustments.",
                ),
            ),
        ),
        Section(
            label="Science & Nature",
            slug="",
            entries=(
                _entry(
                    _item(
                        7,
                        "Counting bats with a £20 detector",
                        lab,
                        "benchnotes.example.com",
                        author="Dr Ana Ribeiro",
                        image="https://benchnotes.example.com/bat.png",
                    ),
                    "A cheap ultrasonic detector and a phone app were enough to log three "
                    "species along the canal in one evening, though the app confused two "
                    "pipistrelles that call at similar frequencies.",
                ),
                _entry(
                    _item(
                        8,
                        "Why the river turned brown after the storm",
                        lab,
                        "benchnotes.example.com",
                    ),
                    "Suspended clay from eroded banks upstream, not pollution: samples "
                    "settled clear within two days. The sensor network will add a turbidity "
                    "probe at the weir.",
                ),
                _entry(
                    _item(
                        9,
                        'Quiet skies: the "dark hour" experiment results',
                        lab,
                        "benchnotes.example.com",
                    ),
                    "Switching off the streetlights in two parks for an hour doubled the "
                    "number of moths caught in light traps nearby, according to the "
                    "university's first-year report.",
                ),
            ),
        ),
    )
    return Digest(
        list_name="daily",
        site_name="Field Notes",
        site_url=SITE_URL,
        built_at=BUILT_AT,
        sections=sections,
        feeds_total=4,
        feeds_failed=(("https://broken.example.net/feed", "HTTP 503"),),
    )


_TOPICS = [
    ("Gardening", ["allotment", "orchard", "greenhouse", "compost heap", "herb bed", "pond"]),
    ("Cycling", ["cycle lane", "bike shed", "towpath", "hill climb", "repair cafe", "bridge"]),
    (
        "Local science",
        ["weather station", "river sensor", "bat survey", "moth trap", "soil test", "tide gauge"],
    ),
    ("Community", ["library", "market", "choir", "swimming pool", "museum", "park bench"]),
    (
        "Food",
        ["bakery", "cheese counter", "soup kitchen", "cider press", "bread oven", "spice stall"],
    ),
]
_VERBS = [
    "reopens after",
    "gets a new",
    "is measured for",
    "wins praise for",
    "plans a",
    "reports on a",
]
_NOUNS = ["winter season", "volunteer rota", "survey", "open day", "refit", "first year"]
_SENTENCES = [
    "Volunteers spent three weekends on the {thing} and kept a careful log of what worked.",
    "The figures from the {thing} surprised the organisers, who expected a quieter month.",
    "Neighbours asked for longer opening hours, and the committee agreed to a trial in March.",
    "A short report with photos and measurements is on the project's page for anyone curious.",
    "Next on the list is a shared calendar so that newcomers know when to drop by.",
]


def big_digest(n: int = 60) -> Digest:
    """n stories spread over five sections, every third one with an https image."""
    per: dict[str, list[Entry]] = {label: [] for label, _ in _TOPICS}
    for i in range(n):
        label, things = _TOPICS[i % len(_TOPICS)]
        thing = things[(i // len(_TOPICS)) % len(things)]
        title = (
            f"The {thing} {_VERBS[i % len(_VERBS)]} {_NOUNS[(i // 3) % len(_NOUNS)]} (part {i + 1})"
        )
        host = f"{label.split()[0].lower()}.example.org"
        image = f"https://{host}/images/{i}.jpg" if i % 3 == 0 else ""
        item = _item(
            i + 1,
            title,
            f"{label} Notes",
            host,
            image=image,
            author="Jo Bell" if i % 2 else "",
            categories=(label.lower(),),
        )
        summary = " ".join(s.format(thing=thing) for s in _SENTENCES[: 2 + i % 3])
        also = (("Town Crier", f"https://crier.example.com/s/{i}"),) if i % 7 == 0 else ()
        per[label].append(_entry(item, summary, also))
    sections = tuple(
        Section(label=label, slug="", entries=tuple(entries))
        for label, entries in per.items()
        if entries
    )
    return Digest(
        list_name="daily",
        site_name="Field Notes",
        site_url=SITE_URL,
        built_at=BUILT_AT,
        sections=sections,
        feeds_total=5,
    )


def personal_urls(email: str) -> dict[str, str]:
    """What the sender would put in place of the placeholders for one subscriber, by
    template variable."""
    token = hashlib.sha256(email.encode()).hexdigest()[:32]
    return {
        "unsubscribe_url": f"{SITE_URL}/unsubscribe/{token}",
        "manage_url": f"{SITE_URL}/manage/{token}",
        "recipient": email,
    }


def personalize(text: str, email: str) -> str:
    """Fill every placeholder by string replacement, as the sender does."""
    urls = personal_urls(email)
    return ANY_MARKER.sub(lambda m: urls[m.group(1).lower()], text)


def build_message(
    rendered: RenderedDigest,
    email: str = "reader@example.com",
    subject: str = "Field Notes: Rain gauges on every allotment and 8 more (5 January)",
) -> EmailMessage:
    """A multipart/alternative message with the List-* headers of RFC 2369/2919/8058."""
    urls = personal_urls(email)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address("Field Notes", "digest", "news.example.org")
    msg["To"] = email
    msg["Subject"] = subject
    msg["Date"] = format_datetime(BUILT_AT)
    msg["Message-ID"] = make_msgid(idstring="digest", domain="news.example.org")
    msg["List-Id"] = "Field Notes Daily <daily.news.example.org>"
    msg["List-Unsubscribe"] = (
        f"<{urls['unsubscribe_url']}>, <mailto:unsubscribe@news.example.org?subject=daily>"
    )
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(personalize(rendered.text, email), charset="utf-8")
    msg.add_alternative(personalize(rendered.html, email), subtype="html", charset="utf-8")
    return msg


def require_tool(name: str, hint: str = ".ci/inbox-deps.sh") -> str:
    """The path of an external program; a loud failure (never a skip) when it is missing."""
    path = shutil.which(name)
    if not path:
        pytest.fail(f"{name} is not installed; install the inbox-check tools with {hint}")
    return path


def require_node_tools() -> Path:
    """tools/node_modules with html-validate and caniemail, or a loud failure."""
    require_tool("node")
    for pkg in ("html-validate", "caniemail"):
        if not (TOOLS / "node_modules" / pkg / "package.json").is_file():
            pytest.fail(f"{pkg} is missing from tools/node_modules; run `cd tools && npm ci`")
    return TOOLS / "node_modules"


def spamassassin(raw: bytes) -> tuple[float, list[tuple[str, float]], str]:
    """Score a message offline with SpamAssassin: (score, [(rule, points)], report)."""
    exe = require_tool("spamassassin")
    with tempfile.TemporaryDirectory(prefix="sahome-") as home:
        env = {**os.environ, "HOME": home}
        proc = subprocess.run(
            [exe, "-L", "-t", "--cf=use_bayes 0", "--cf=bayes_auto_learn 0"],
            input=raw,
            capture_output=True,
            env=env,
            timeout=120,
            check=False,
        )
    out = proc.stdout.decode("utf-8", "replace")
    return _parse_spam_report(out, proc.stderr.decode("utf-8", "replace"))


def _parse_spam_report(out: str, err: str) -> tuple[float, list[tuple[str, float]], str]:
    """Read the X-Spam-Status score and the rule table out of `spamassassin -t` output."""
    import re

    status = re.search(r"^X-Spam-Status: \w+, score=(-?[\d.]+)", out, re.M)
    if not status:
        pytest.fail(f"spamassassin gave no X-Spam-Status header:\n{out[-2000:]}\n{err[-2000:]}")
    rules = [
        (m.group(2), float(m.group(1)))
        for m in re.finditer(r"^\s*(-?\d+\.\d+)\s+([A-Z0-9_]+)\s", out, re.M)
    ]
    report = out[out.find("Content analysis details") :] if "Content analysis" in out else out
    return float(status.group(1)), rules, report


def sent_message(config: Config, folder: Path, built_at: datetime, list_name: str) -> bytes:
    """The digest in `folder` as the product really sends it: a confirmed subscriber, the
    digest recorded in a store, and `newsletter send --dry-run` writing the .eml."""
    from dataclasses import replace

    from newsletter.audience import subscribers
    from newsletter.mail import deliver
    from newsletter.store import Store

    config = replace(config, secret_key="inbox-check-secret-0123456789abcdef")
    store = Store(config.store_path)
    try:
        subscribers.add(store, list_name, "reader@example.com", name="Reader", status="confirmed")
        store.create_digest(list_name, built_at, str(folder), subject="")
        (report,) = deliver.send(config, store, list_name, dry_run=True)
        assert report.written == 1, report.summary_line()
    finally:
        store.close()
    (eml,) = sorted((folder / "dry-run").glob("*.eml"))
    return eml.read_bytes()


def sample_build(output_dir: Path) -> tuple[Config, Path, datetime]:
    """The bundled sample digest, built from seeds/ exactly as `newsletter build` does."""
    from newsletter.config import default_config
    from newsletter.run.digest import build
    from newsletter.store import Store

    config = default_config(output_dir.parent)
    store = Store(config.store_path)
    try:
        _, result = build(config, store)
    finally:
        store.close()
    assert result is not None and result.folder is not None
    return config, result.folder, result.plan.digest.built_at


def html_part(raw: bytes) -> str:
    """The decoded text/html part of a message."""
    from email import message_from_bytes
    from email.policy import default

    message = message_from_bytes(raw, policy=default)
    return message.get_body(preferencelist=("html",)).get_content()
