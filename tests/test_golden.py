"""Golden files: the sample digest's HTML, text and one sent message, as a user gets them.

The bundled sample feeds are built with the installed `newsletter` command in a fresh folder,
a confirmed reader gets a dry-run copy, and the three files are compared with
`tests/golden/` after the fields that change every run (dates, build stamps, Message-ID,
MIME boundaries, signed tokens) are replaced by fixed markers.

After an intended change to the templates or the pipeline, rewrite them and review the diff:

    NEWSLETTER_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("NEWSLETTER_UPDATE_GOLDEN") == "1"
SECRET = "golden-files-secret-key-0123456789abcdef"

MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
    "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
DAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Mon|Tue|Wed|Thu|Fri|Sat|Sun"
VOLATILE = [
    # the build's own time; the items' dates come from the feeds and stay
    (re.compile(r"\d{8}-\d{6}"), "<STAMP>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?"), "<ISO-TIME>"),
    (re.compile(r"^Message-ID: .*$", re.M), "Message-ID: <MSGID>"),
    (re.compile(r"%%([A-Z_]+?)_[0-9A-F]{16,}%%"), r"%%\1_<RANDOM>%%"),  # per-build markers
    (re.compile(r"boundary=\"[^\"]+\""), 'boundary="<BOUNDARY>"'),
    (
        re.compile(r"/(confirm|unsubscribe|manage|resubscribe|u|m|c)/[A-Za-z0-9_.\-]{16,}"),
        r"/\1/<TOKEN>",
    ),
    (re.compile(r"[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{6,}\.[A-Za-z0-9_\-]{10,}"), "<TOKEN>"),
]


def normalize(text: str, today: list[str]) -> str:
    text = text.replace("\r\n", "\n")
    for phrase in today:  # "Sunday 6 December 2026" and the like, the day the test ran
        text = text.replace(phrase, "<TODAY>")
    for pattern, marker in VOLATILE:
        text = pattern.sub(marker, text)
    return text


def _run(args: list[str], cwd: Path) -> str:
    env = dict(os.environ, NEWSLETTER_SECRET_KEY=SECRET)
    env.pop("NEWSLETTER_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "newsletter", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"newsletter {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("golden")
    _run(["build"], folder)
    digest = next((folder / "output").glob("*/*/digest.html")).parent
    _run(["subscribers", "add", "reader@example.org", "--status", "confirmed"], folder)
    _run(["send", "--dry-run"], folder)
    eml = next(digest.rglob("*.eml"))
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    today = _today_phrases(str(message["Date"]))
    return {
        "digest.html": normalize((digest / "digest.html").read_text(encoding="utf-8"), today),
        "digest.txt": normalize((digest / "digest.txt").read_text(encoding="utf-8"), today),
        "message.eml": normalize(_readable(message), today),
    }


def _readable(message: EmailMessage) -> str:
    """The message as a client shows it: decoded headers, then each part decoded (the
    transfer encoding and MIME boundaries are random or mechanical, not worth a golden)."""
    lines = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        if part.is_multipart():
            continue
        lines += ["", f"--- {part.get_content_type()} ---", part.get_content()]
    return "\n".join(lines)


def _today_phrases(date_header: str) -> list[str]:
    from email.utils import parsedate_to_datetime

    when = parsedate_to_datetime(date_header)
    day, month, year = when.day, when.strftime("%B"), when.year
    return [
        date_header,
        f"{when.strftime('%A')}, {day} {month} {year}",
        f"{when.strftime('%A')} {day} {month} {year}",
        f"({when.strftime('%b')} {day})",
        f"{day} {month} {year}",
        f"{day} {when.strftime('%b')} {year}",
        f"({day} {month})",
        f"({day} {when.strftime('%b')})",
    ]


@pytest.mark.parametrize("name", ["digest.html", "digest.txt", "message.eml"])
def test_sample_digest_matches_its_golden_file(sample: dict[str, str], name: str) -> None:
    golden = GOLDEN / name
    if UPDATE:
        golden.write_text(sample[name], encoding="utf-8")
    assert golden.is_file(), f"no golden file {golden}; create it with NEWSLETTER_UPDATE_GOLDEN=1"
    expected = golden.read_text(encoding="utf-8")
    assert sample[name] == expected, (
        f"{name} differs from tests/golden/{name}; if the change is intended, rewrite the "
        "golden files (see this module's docstring) and review the diff"
    )


def test_the_normalizer_keeps_what_matters() -> None:
    # volatile fields go, content stays: a changed headline must still fail the comparison
    text = "Built 20261206-022847 at 2026-12-06T02:28:47+00:00: Harbour wall repairs finish"
    assert normalize(text, []) == "Built <STAMP> at <ISO-TIME>: Harbour wall repairs finish"
    assert normalize("Sunday 6 December 2026", ["Sunday 6 December 2026"]) == "<TODAY>"
