"""Inbox quality with external tools: SpamAssassin, html-validate, caniemail, Chromium.

These run on the sample-like digest and a generated 60-story digest, as a subscriber would
receive them (placeholders filled). A missing tool is a loud failure, never a skip:
install them with .ci/inbox-deps.sh. Reports and screenshots go to output/inbox/ and
output/screenshots/ (generated, not committed).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from lxml import html as lxml_html
from support.inbox import (
    REPO,
    REPORTS,
    SCREENSHOTS,
    TOOLS,
    big_digest,
    html_part,
    make_config,
    require_node_tools,
    require_tool,
    sample_build,
    sent_message,
    spamassassin,
)

from newsletter.render.renderer import render_digest, write_digest

SPAM_LIMIT = 1.0
DIGESTS = ("sample", "sixty")
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _write(path: Path, data: bytes) -> None:
    """Write atomically: parallel test workers may produce the same artefact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each digest as sent (<name>.html, <name>.eml), its web copy and the archive index,
    written to output/inbox/ so a human can open what the tools checked.

    "sample" is the bundled seeds/ digest built by the real pipeline; "sixty" a generated
    60-story digest. Both messages come from `newsletter send --dry-run` (the real mail.py).
    """
    out: dict[str, Path] = {}
    for name in DIGESTS:
        root = tmp_path_factory.mktemp(name)
        if name == "sample":
            config, folder, built_at = sample_build(root / "output")
            list_name = config.list().name
        else:
            config = make_config(root / "output")
            rendered = render_digest(big_digest(), config)
            built_at, list_name = rendered.built_at, "daily"
            folder = write_digest(rendered, config, list_name, built_at)
        raw = sent_message(config, folder, built_at, list_name)
        files = {
            f"{name}.html": html_part(raw).encode(),
            f"{name}.eml": raw,
            f"{name}-web.html": (folder / "index.html").read_bytes(),
            f"{name}-archive.html": (config.output_dir / "index.html").read_bytes(),
        }
        for file_name, data in files.items():
            _write(REPORTS / file_name, data)
            out[file_name] = REPORTS / file_name
    return out


# --- SpamAssassin ------------------------------------------------------------------------


@pytest.mark.inbox
@pytest.mark.parametrize("name", list(DIGESTS))
def test_spamassassin_scores_below_one(artefacts, name: str) -> None:
    raw = artefacts[f"{name}.eml"].read_bytes()
    score, rules, _report = spamassassin(raw)
    print(
        f"{name}: SpamAssassin {score} ({len(raw)} bytes) rules: "
        + ", ".join(f"{r} {p:+.1f}" for r, p in rules)
    )
    assert score < SPAM_LIMIT, rules


@pytest.mark.inbox
def test_spamassassin_harness_sees_a_bad_message() -> None:
    """Negative control: HTML only, no Date or Message-ID, shouting subject."""
    raw = (
        b"From: deals@bulk.example\r\nTo: you@example.com\r\n"
        b"Subject: ACT NOW LIMITED TIME OFFER WINNER\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: text/html; charset="utf-8"\r\n\r\n'
        b'<html><body><p style="color:#fefefe;background:#ffffff">hidden</p>'
        b"<p>Click here now!!!</p></body></html>\r\n"
    )
    score, rules, _ = spamassassin(raw)
    print(f"negative control: {score} rules: {rules}")
    names = {r for r, _ in rules}
    assert score >= 2.0 and {"MISSING_DATE", "MISSING_MID"} <= names


# --- html-validate -----------------------------------------------------------------------


def _html_validate(*files: Path) -> subprocess.CompletedProcess[str]:
    modules = require_node_tools()
    return subprocess.run(
        [
            require_tool("node"),
            str(modules / "html-validate" / "bin" / "html-validate.mjs"),
            "-c",
            str(REPO / ".htmlvalidate-email.json"),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=TOOLS,
    )


@pytest.mark.inbox
def test_html_validate_has_zero_errors(artefacts) -> None:
    files = [artefacts[f"{n}{s}"] for n in DIGESTS for s in (".html", "-web.html")]
    files.append(artefacts["sample-archive.html"])
    proc = _html_validate(*files)
    print(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.inbox
def test_html_validate_catches_a_broken_digest(tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text(
        "<!DOCTYPE html><html><head><title>x</title></head><body>"
        '<h1>Title<p id="a">one</p><p id="a">two</p><img src="https://e.org/i.png">'
        "</body></html>"
    )
    proc = _html_validate(broken)
    assert proc.returncode == 1
    for rule in ("element-required-attributes", "no-dup-id", "wcag/h37"):
        assert rule in proc.stdout, proc.stdout


# --- caniemail ---------------------------------------------------------------------------


def _caniemail(report: Path, files: list[Path]) -> tuple[subprocess.CompletedProcess[str], list]:
    require_node_tools()
    json_path = report.with_suffix(".json")
    proc = subprocess.run(
        [
            require_tool("node"),
            str(TOOLS / "caniemail-report.mjs"),
            "--report",
            str(report),
            "--json",
            str(json_path),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=TOOLS,
    )
    results = json.loads(json_path.read_text()) if json_path.is_file() else []
    return proc, results


@pytest.mark.inbox
def test_caniemail_report_has_nothing_blocking(artefacts) -> None:
    report = REPORTS / "caniemail-report.md"
    proc, results = _caniemail(report, [artefacts["sample.html"], artefacts["sixty.html"]])
    print(report.read_text() if report.is_file() else proc.stderr)
    assert proc.returncode == 0, proc.stderr
    assert [r["blocking"] for r in results] == [[], []]
    accepted = set().union(*(r["accepted"] for r in results))
    print("accepted:", sorted(accepted))
    # the report must be about the real clients, not an empty run
    assert {"gmail.desktop-webmail", "outlook.windows", "apple-mail.macos"} <= set(
        results[0]["perClient"]
    )


@pytest.mark.inbox
def test_accepted_features_stay_where_the_policy_says(artefacts) -> None:
    """display:none and overflow only on the preheader, local anchors only in the contents:
    the conditions under which caniemail-report.mjs accepts them."""
    for name in DIGESTS:
        root = lxml_html.document_fromstring(artefacts[f"{name}.html"].read_text())
        preheader = root.find("body")[0]
        for el in root.iter():
            if not isinstance(el.tag, str) or el is preheader:
                continue
            style = (el.get("style") or "").replace(" ", "")
            assert "display:none" not in style and "overflow" not in style, el.tag
        anchors = [a for a in root.iter("a") if (a.get("href") or "").startswith("#")]
        assert anchors and all("toc-link" in a.get("class", "") for a in anchors)


@pytest.mark.inbox
def test_caniemail_blocks_structural_features(tmp_path: Path) -> None:
    bad = tmp_path / "flex.html"
    bad.write_text(
        '<!DOCTYPE html><html lang="en"><head><title>x</title></head><body>'
        '<div style="display:flex;background-image:url(https://e.org/b.png)">'
        "<p>two columns</p></div></body></html>"
    )
    proc, results = _caniemail(tmp_path / "bad.md", [bad])
    assert proc.returncode == 1
    blocked = {(b["title"], b["client"]) for b in results[0]["blocking"]}
    assert ("display:flex", "outlook.windows") in blocked, blocked
    assert any(b["structural"] for b in results[0]["blocking"])


# --- screenshots -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    exe = require_tool("chromium", ".ci/inbox-deps.sh (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed in the virtualenv: pip install playwright")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=BROWSER_ARGS)
        yield b
        b.close()


def _block_remote(route) -> None:
    """Offline and deterministic: only the file itself loads; images show their alt text."""
    if route.request.url.startswith("file:"):
        route.continue_()
    else:
        route.abort()


@pytest.mark.browser
@pytest.mark.parametrize("name", list(DIGESTS))
@pytest.mark.parametrize("width", [375, 600])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshot_fits_and_follows_the_colour_scheme(
    browser, artefacts, name: str, width: int, scheme: str
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    try:
        page = context.new_page()
        page.route("**/*", _block_remote)
        page.goto(artefacts[f"{name}.html"].as_uri())
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        card = page.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor")
        summary = page.evaluate("getComputedStyle(document.querySelector('.summary')).color")
        padding = page.evaluate("getComputedStyle(document.querySelector('.item')).paddingLeft")
        shot = SCREENSHOTS / f"{name}-{width}-{scheme}.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
    finally:
        context.close()
    print(f"{shot.relative_to(REPO)}: scrollWidth {scroll_width}, card {card}")
    assert scroll_width <= width
    assert padding == "16px"  # the max-width:620px rules applied at both sizes
    if scheme == "dark":
        assert card == "rgb(30, 41, 59)" and summary == "rgb(226, 232, 240)"
    else:
        assert card == "rgb(255, 255, 255)" and summary == "rgb(31, 41, 55)"
    assert shot.stat().st_size > 10_000


# --- structural lint of the real messages --------------------------------------------------


@pytest.mark.inbox
@pytest.mark.parametrize("name", list(DIGESTS))
def test_sent_message_passes_the_structural_lint(artefacts, name: str) -> None:
    from support.emailcheck import check_message, errors

    raw = artefacts[f"{name}.eml"].read_bytes()
    problems = check_message(raw)
    print(f"{name}: {len(raw):,} bytes, html {artefacts[f'{name}.html'].stat().st_size:,} bytes")
    for problem in problems:
        print(f"  {problem.level} {problem.code}: {problem.message}")
    assert errors(problems) == []
    assert artefacts[f"{name}.html"].stat().st_size < 90 * 1024
