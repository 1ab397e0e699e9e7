"""Fixtures shared by the sending tests: a config, a rendered digest on disk, subscribers.

The digest files are written here (small HTML and text with the personalization
placeholders), so these tests do not depend on the renderer.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsletter.config import Config, config_from_dict
from newsletter.render.placeholders import Placeholders
from newsletter.store import Store

SECRET = "test-secret-key-0123456789abcdefghij"
SITE_URL = "https://news.example.org"
# the send-time markers of the test digests (a real render draws fresh random ones)
MARKS = Placeholders(
    unsubscribe_url="%%UNSUBSCRIBE_URL_" + "5E7D" * 8 + "%%",
    manage_url="%%MANAGE_URL_" + "5E7D" * 8 + "%%",
    recipient="%%RECIPIENT_" + "5E7D" * 8 + "%%",
)

DIGEST_HTML = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Digest</title></head>
<body>
<p>Hello {MARKS.recipient}, here is what is new. Caf\u00e9 \u2014 na\u00efve \u2603.</p>
<p><a href="https://example.org/story?a=1&amp;b=2">A story with a long title that goes on
and on so that quoted-printable has to wrap this line at least once or twice</a></p>
.a line starting with a dot
<p style="color:#333">=?UTF-8?Q?not_a_header?= stays as text</p>
<p><a href="{MARKS.unsubscribe_url}">Unsubscribe</a> \u00b7
<a href="{MARKS.manage_url}">Preferences</a></p>
</body></html>
"""

DIGEST_TEXT = f"""Hello {MARKS.recipient}, here is what is new. Caf\u00e9 \u2014 na\u00efve \u2603.

A story with a long title: https://example.org/story?a=1&b=2
.a line starting with a dot

Unsubscribe: {MARKS.unsubscribe_url}
Preferences: {MARKS.manage_url}
"""


def make_config(base: Path, smtp: Any = None, **list_overrides: Any) -> Config:
    """A config for list "daily" on news.example.org with a secret key."""
    data = {
        "site": {"name": "Example News", "url": SITE_URL},
        "list": {
            "name": "daily",
            "from": "Example News <digest@news.example.org>",
            **list_overrides,
        },
    }
    config = config_from_dict(data, base_dir=base, env={"NEWSLETTER_SECRET_KEY": SECRET})
    if smtp is not None:
        config = dataclasses.replace(config, smtp=smtp)
    return config


def write_digest(
    folder: Path, html: str = DIGEST_HTML, text: str = DIGEST_TEXT, marks: Placeholders = MARKS
) -> Path:
    """digest.html, digest.txt and a digest.json recording their markers in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "digest.html").write_text(html, encoding="utf-8")
    (folder / "digest.txt").write_text(text, encoding="utf-8")
    data = {"placeholders": marks.as_dict()}
    (folder / "digest.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def make_digest(
    store: Store,
    base: Path,
    subject: str = "Example News: Big story and 4 more (5 Jan 2026)",
    name: str = "2026-01-05T0700",
    html: str = DIGEST_HTML,
    text: str = DIGEST_TEXT,
) -> int:
    """A rendered digest folder under base/output/daily/<name> and its store row."""
    folder = write_digest(base / "output" / "daily" / name, html, text)
    return store.create_digest(
        "daily", datetime(2026, 1, 5, 7, tzinfo=UTC), str(folder), subject, []
    )


def add_people(
    store: Store, count: int, status: str = "confirmed", prefix: str = "reader"
) -> list[int]:
    """`count` subscribers prefix<i>@example.com with names, all of one status; their ids."""
    return [
        store.add_subscriber("daily", f"{prefix}{i}@example.com", f"Reader {i}", status, "test").id
        for i in range(count)
    ]


def write_config_file(base: Path, smtp_port: int) -> Path:
    """base/newsletter.toml for list "daily" (store base/store.sqlite), sending through
    127.0.0.1:`smtp_port` on one connection; what the CLI tests pass to `-c`."""
    path = base / "newsletter.toml"
    path.write_text(
        f"""
[site]
name = "Example News"
url = "{SITE_URL}"

[list]
name = "daily"
from = "Example News <digest@news.example.org>"

[store]
path = "store.sqlite"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
connections = 1
timeout = 20
""",
        encoding="utf-8",
    )
    return path
