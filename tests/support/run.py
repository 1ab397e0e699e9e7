"""Helpers for the `newsletter run` tests: RSS built from numbered stories, a config wired to
a local feed server and a local SMTP server, and what each subscriber received.

The story text is generated here from a small invented vocabulary, so no fixture copies
anyone's writing; each story gets its own words, so the dedupe never merges two of them.
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from newsletter.config import Config, SmtpConfig, config_from_dict
from newsletter.run.runner import format_run_report, run
from newsletter.store import Store
from support.stores import store_table

SECRET = "run-tests-secret-key-0123456789abcdef"
START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)  # the conftest FakeClock's start

_THINGS = (
    "lighthouse",
    "orchard",
    "glacier",
    "tramway",
    "observatory",
    "vineyard",
    "aqueduct",
    "library",
    "ferry",
    "meadow",
    "foundry",
    "canal",
    "windmill",
    "quarry",
    "greenhouse",
    "harbour",
    "bakery",
    "archive",
    "bridge",
    "kiln",
    "monastery",
    "railway",
    "dune",
    "reservoir",
    "beehive",
    "mill",
    "pier",
    "lagoon",
    "terrace",
    "signal",
)
_DOINGS = (
    "reopens after a long winter",
    "wins a regional award",
    "doubles its opening hours",
    "welcomes a new keeper",
    "gets a fresh coat of paint",
    "starts a volunteer scheme",
    "publishes its first annual report",
    "trials electric vans",
    "plants a hundred trees",
    "hosts a night of music",
)


def title(n: int) -> str:
    """The title of story `n` (unique per n)."""
    return f"Story {n}: the {_THINGS[n % len(_THINGS)]} {_DOINGS[n % len(_DOINGS)]}"


def story_text(n: int, edit: int = 0) -> str:
    """A few sentences about story `n`; `edit` > 0 gives an edited version."""
    thing = _THINGS[n % len(_THINGS)]
    other = _THINGS[(n * 7 + 3) % len(_THINGS)]
    extra = f" Update {edit}: the council confirmed the figures on day {edit + n}." if edit else ""
    return (
        f"The {thing} number {n} surprised its neighbours this week. Visitors counted {n * 13 + 7} "
        f"lanterns along the path towards the {other}. Local historians say the {thing} was "
        f"last this busy in {1900 + n}. A spokesperson promised another update within "
        f"{n % 9 + 2} days.{extra}"
    )


def rss(
    stories: list[int | tuple[int, datetime] | tuple[int, datetime, int]],
    channel: str = "Town Crier",
) -> str:
    """An RSS 2.0 feed of numbered stories: n, (n, published) or (n, published, edit)."""
    parts = []
    for entry in stories:
        if isinstance(entry, int):
            n, published, edit = entry, START - timedelta(hours=entry), 0
        else:
            n, published, edit = (*entry, 0)[:3]  # type: ignore[misc]
        parts.append(
            f"<item><title>{escape(title(n))}</title>"
            f"<link>https://crier.example.org/stories/{n}</link>"
            f"<guid>https://crier.example.org/stories/{n}</guid>"
            f"<pubDate>{published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
            f"<description>{escape(story_text(n, edit))}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(channel)}</title><link>https://crier.example.org/</link>"
        f"<description>News</description>{''.join(parts)}</channel></rss>"
    )


def make_run_config(
    base: Path,
    feed_urls: list[str],
    smtp: SmtpConfig | None = None,
    run: dict[str, Any] | None = None,
    store: str | Path | None = None,
    **list_options: Any,
) -> Config:
    """A config for list "daily" reading `feed_urls`; output under `base`, the store in
    `store` (a PostgreSQL URL or a SQLite path), by default base/store.sqlite."""
    data: dict[str, Any] = {
        "site": {"name": "Town Crier", "url": "https://crier.example.org"},
        "list": {
            "name": "daily",
            "from": "Town Crier <digest@crier.example.org>",
            "cadence": "every run",
            "backlog": "all",
            **list_options,
        },
        "feeds": [{"url": u} for u in feed_urls],
        # every story in the mail: these tests count what reaches the reader's inbox
        "digest": {"mail_items": 0, "per_section": 0},
        "store": store_table(store),
        "output": {"dir": "output"},
        "run": run or {},
    }
    config = config_from_dict(data, base_dir=base, env={"NEWSLETTER_SECRET_KEY": SECRET})
    if smtp is not None:
        config = dataclasses.replace(config, smtp=smtp)
    return config


def add_readers(store: Store, count: int, list_name: str = "daily") -> list[str]:
    """`count` confirmed subscribers reader<i>@example.com; their addresses."""
    emails = [f"reader{i}@example.com" for i in range(count)]
    for i, email in enumerate(emails):
        store.add_subscriber(list_name, email, f"Reader {i}", "confirmed", "test")
    return emails


def story_numbers(raw: bytes) -> list[int]:
    """The story numbers a received digest mentions in its text part, in order."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    found = []
    for line in text.splitlines():
        line = line.strip().lstrip("#*-• ").strip()
        if line.startswith("Story ") and ":" in line:
            head = line[len("Story ") : line.index(":")]
            if head.isdigit() and int(head) not in found:
                found.append(int(head))
    return found


def child_run(argv: list[str]) -> int:
    """A whole `run` in a child process: base dir, SMTP port, fixed clock (ISO), "wait" (read
    a line from stdin first, so several children start together) or "go", the store (a
    path or a URL), feed URLs."""
    base, port, when, mode, target, *urls = argv
    smtp = SmtpConfig(
        host="127.0.0.1", port=int(port), security="none", timeout=10.0, connections=1
    )
    config = make_run_config(Path(base), urls, smtp, store=target)
    fixed = datetime.fromisoformat(when)
    store = Store(config.store_target, clock=lambda: fixed)
    if mode == "wait":
        print("ready", flush=True)
        sys.stdin.readline()
    report = run(config, store)
    print(format_run_report(report, verbose=True), flush=True)
    return report.exit_code
