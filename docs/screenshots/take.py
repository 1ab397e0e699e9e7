"""Build a digest from real feeds of ../shared/datasets/feeds_real_world and screenshot its
mail HTML at 375 and 600 px, light and dark, with Debian's Chromium (offline: remote images
become grey boxes of the same place). Run from the repository:

    .venv/bin/python docs/screenshots/take.py

Writes docs/screenshots/real-<width>-<scheme>.png (the mail; a very long one is cropped).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FEEDS = REPO.parent / "shared" / "datasets" / "feeds_real_world" / "files"
CHOSEN = [
    "rss-parser/guardian.rss",
    "miniflux-parser/urdu_UTF8.xml",
    "miniflux-parser/rdf_UTF8.xml",
    "netnewswire/DaringFireball.json",
    "netnewswire/cloudblog.rss",
    "netnewswire/macworld.rss",
    "netnewswire/medscape.rss",
    "rss-parser/uolNoticias.rss",
    "rss-parser/reddit.rss",
    "netnewswire/atp.rss",
]
MAX_HEIGHT = 3400  # px of the page kept in each picture
GREY = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="552" height="310">'
    '<rect width="100%" height="100%" fill="#9ca3af"/></svg>'
)


def build(folder: Path) -> Path:
    config = folder / "newsletter.toml"
    lines = [
        "[site]",
        'name = "Real Feeds Digest"',
        'url = "https://news.example.org"',
        'language = "en"',
        "[list]",
        'name = "daily"',
        'from = "Real Feeds <digest@news.example.org>"',
        "[digest]",
        "mail_items = 8",  # a short mail, so one picture holds all of it
        "per_section = 2",
    ]
    for path in CHOSEN:
        lines += ["[[feeds]]", f'url = "{FEEDS / path}"']
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    newsletter = Path(sys.executable).with_name("newsletter")
    subprocess.run([str(newsletter), "build", "-c", str(config)], check=True, cwd=folder)
    return next((folder / "output" / "daily").glob("*/digest.html"))


def shoot(html: Path) -> None:
    from playwright.sync_api import sync_playwright

    def route(r) -> None:  # offline: the file itself, and a grey box for each image
        if r.request.url.startswith("file:"):
            r.continue_()
        elif r.request.resource_type == "image":
            r.fulfill(content_type="image/svg+xml", body=GREY)
        else:
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for width in (375, 600):
            for scheme in ("light", "dark"):
                context = browser.new_context(
                    viewport={"width": width, "height": 900}, color_scheme=scheme
                )
                page = context.new_page()
                page.route("**/*", route)
                page.goto(html.as_uri())
                height = min(MAX_HEIGHT, page.evaluate("document.documentElement.scrollHeight"))
                out = HERE / f"real-{width}-{scheme}.png"
                clip = {"x": 0, "y": 0, "width": width, "height": height}
                page.screenshot(path=str(out), clip=clip, full_page=True)
                context.close()
                print(out.relative_to(REPO), f"{height} px,", out.stat().st_size, "bytes")
        browser.close()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        shoot(build(Path(tmp)))
