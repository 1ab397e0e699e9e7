"""Count the defects an editor would see in digests built from real feeds.

Digests are built the product's way (ingest local files into a fresh store, then
`plan_digest` and `render_digest`) from:

* feeds of the shared corpus (`../shared/datasets/feeds_real_world`, read in place): 26
  real sites of many kinds, and per-genre groups (podcasts, link aggregators, non-English);
* the genre feeds in `benchmarks/feeds/` (invented text; see its README).

Per digest it counts what issue 17 lists: entities shown as text, escaped newlines, titles
that are not the item's own `<title>`, summaries that repeat the title or are a byline,
labels made of function words, the largest feed's share, the leftover section's share,
boilerplate by genre (sponsor reads, aggregator chrome, "read more" in any language, show
notes' timestamps and links), images shown wider than their natural size, logos or
repeated artwork as lead images, feed images that went missing, undated items ranked above
dated ones, the same story twice, and headlines whose subject the summary leaves out.

The same measuring code runs against two source trees in child processes (PYTHONPATH),
so "before" is the commit the work started from, checked out in a temporary worktree:

    git worktree add /tmp/base-17 <start-commit>
    .venv/bin/python benchmarks/real_feeds.py --base /tmp/base-17/src   # writes results
    .venv/bin/python benchmarks/real_feeds.py                            # this tree only

Nothing here touches the network. Measurement is independent of the product where it can
be: titles and natural image sizes are read from the feed files with lxml.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "datasets" / "feeds_real_world" / "files"
OWN = REPO / "benchmarks" / "feeds"
RESULTS = REPO / "benchmarks" / "results" / "real_feeds.md"
NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)

# 26 real feeds like the issue's: news sites, blogs, podcasts, Reddit, bioRxiv, JSON Feed,
# German, Portuguese, Slovak, Urdu.
REAL_26 = [
    "rss-parser/guardian.rss",
    "node-feedparser/wapowellness.xml",
    "netnewswire/livemint.xml",
    "netnewswire/macworld.rss",
    "netnewswire/medscape.rss",
    "node-feedparser/tpm.atom",
    "rss-parser/uolNoticias.rss",
    "miniflux-parser/rdf_UTF8.xml",
    "miniflux-parser/encoding_ISO-8859-1.xml",
    "rss-parser/encoding.rss",
    "netnewswire/aktuality.rss",
    "miniflux-parser/urdu_UTF8.xml",
    "rss-parser/heise.atom",
    "netnewswire/DaringFireball.atom",
    "netnewswire/inessential.json",
    "netnewswire/pxlnv.json",
    "netnewswire/3960.json",
    "netnewswire/cloudblog.rss",
    "rss-parser/many-links.rss",
    "netnewswire/scriptingNews.rss",
    "netnewswire/atp.rss",
    "rss-parser/giantbomb-podcast.rss",
    "netnewswire/theomnishow.rss",
    "rss-parser/itunes-missing-image.rss",
    "rss-parser/reddit.rss",
    "netnewswire/bio.rdf",
]
PODCASTS = [
    "netnewswire/atp.rss",
    "netnewswire/theomnishow.rss",
    "rss-parser/itunes-missing-image.rss",
    "rss-parser/itunes-keywords-astext.rss",
    "rss-parser/atom-customfields.atom",
]
NEWS = [
    "rss-parser/guardian.rss",
    "node-feedparser/wapowellness.xml",
    "netnewswire/livemint.xml",
    "netnewswire/macworld.rss",
    "netnewswire/medscape.rss",
    "node-feedparser/tpm.atom",
    "netnewswire/aktuality.rss",
]
BLOGS = [
    "netnewswire/cloudblog.rss",
    "netnewswire/DaringFireball.atom",
    "netnewswire/inessential.json",
    "netnewswire/pxlnv.json",
    "netnewswire/OneFootTsunami.atom",
    "netnewswire/rose.json",
    "rss-parser/many-links.rss",
    "rss-parser/feedburner.atom",
    "netnewswire/bio.rdf",
]
AGGREGATORS = ["rss-parser/reddit.rss", "rss-parser/reddit-atom.rss", "rss-parser/reddit-home.rss"]
NON_ENGLISH = [
    "rss-parser/uolNoticias.rss",
    "miniflux-parser/rdf_UTF8.xml",
    "miniflux-parser/encoding_ISO-8859-1.xml",
    "rss-parser/heise.atom",
    "rss-parser/encoding.rss",
    "netnewswire/aktuality.rss",
    "miniflux-parser/urdu_UTF8.xml",
    "netnewswire/3960.json",
    "miniflux-parser/no_encoding_ISO-8859-1.xml",
]
OTHER_LABEL = "More stories"
DEFECTS = (
    "entities as text",
    "escaped newlines as text",
    "title not the item's own",
    "summary repeats the title",
    "summary is a byline",
    "sponsor reads",
    "aggregator chrome",
    "read-more links",
    "show-notes stamps, glued links",
    "headline subject missing",
)


def digests() -> list[tuple[str, list[Path], int]]:
    """(name, feed files, max items; 0 = every item) of each digest measured."""
    own = sorted(p for p in OWN.iterdir() if p.suffix in (".xml", ".atom", ".rdf"))
    return [
        ("26 real feeds", [CORPUS / p for p in REAL_26], 60),
        ("real news", [CORPUS / p for p in NEWS], 0),
        ("real blogs", [CORPUS / p for p in BLOGS], 0),
        ("real podcasts", [CORPUS / p for p in PODCASTS], 0),
        ("real aggregators", [CORPUS / p for p in AGGREGATORS], 0),
        ("real non-English", [CORPUS / p for p in NON_ENGLISH], 0),
        ("genre feeds (ours)", own, 0),
    ]


# -- what counts as a defect -------------------------------------------------------------------

ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,9}|#[0-9]{2,7}|#[xX][0-9A-Fa-f]{2,6});")
ESCAPED_NEWLINE = re.compile(r"\\[nr]|(?<=[a-z0-9][.!?:])nn(?=[A-Z])")
SPONSOR = re.compile(
    r"\b(?:promo code|use (?:the )?code|with (?:the )?code|code \w+ (?:at checkout|for)|"
    r"sponsored by|brought to you by|thanks to \w+ for sponsoring|\d+\s?% off|\$\d+ off|"
    r"free (?:\d+-day )?trial)\b",
    re.I,
)
AGGREGATOR = re.compile(r"submitted by|\[link\]|\[\d+ comments?\]|/u/\S+ to /r/", re.I)
READ_MORE = re.compile(
    r"(?:read more|continue reading|keep reading|leia mais|saiba mais|continue lendo|"
    r"weiterlesen|mehr lesen|mehr…|lire la suite|en savoir plus|leer más|seguir leyendo|"
    r"continua a leggere|leggi tutto|lees meer|czytaj więcej|читать далее|مزید پڑھیں)",
    re.I,
)
GLUED_NOTES = re.compile(
    r"[^\s(\[\"'“«]https?://"  # a link glued to the word before it
    r"|[(\[]\d{1,2}:\d{2}(?::\d{2})?[)\]]"  # a chapter stamp: "(12:30)"
    r"|[^\W\d_]\d{1,2}:\d{2}\b|\b\d{1,2}:\d{2}(?::\d{2})?[^\W\d_]"  # "Hello02:10", "03:15The"
)
NAME = r"[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.-]*"
BYLINE = re.compile(
    rf"^(?:[Bb]y|[Pp]or|[Vv]on|[Pp]ar|[Dd]i|[Dd]oor|[Aa]v|[Aa]f)\s+(?:{NAME}\s*){{1,4}}"
    rf"(?:(?:,|and|&|und|et|y|e|en|och|og)\s*(?:{NAME}\s*){{1,4}})*[.]?$"
)
LOGO_URL = re.compile(r"favicon|apple-touch-icon|/logo|logo[._-]|avatar|gravatar|\.ico\b", re.I)
URL_SIZE = re.compile(r"(?<![0-9])(\d{2,4})x(\d{2,4})(?![0-9])|[?&](?:w|width)=(\d{2,4})\b")
# A few function words for languages sumy ships no list for.
EXTRA_STOP = {
    "ur": "اور میں کے کی کا سے کو پر نے ہے ہیں یہ وہ کہ بھی تو ایک جو اس ان".split(),
    "ru": "и в во не что он на я с со как а то все так его но да ты к у же вы за бы по".split(),
}


def words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.casefold())


def norm(text: str) -> str:
    """Text compared loosely: entities decoded (twice-escaped too), tags out, words only."""
    for _ in range(3):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return " ".join(words(re.sub(r"<[^>]+>", " ", text)))


def stop_words() -> frozenset[str]:
    from sumy.utils import get_stop_words

    found: set[str] = set()
    for lang in (
        "english german french spanish portuguese italian czech slovak polish "
        "ukrainian swedish greek"
    ).split():
        try:
            found |= {w.casefold() for w in get_stop_words(lang)}
        except LookupError:
            pass
    for extra in EXTRA_STOP.values():
        found |= set(extra)
    return frozenset(found)


# -- what the feed files say, read without the product -----------------------------------------


def read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def source_facts(path: Path) -> dict[str, Any]:
    """Each item's own title and the natural widths of the images the feed gives."""
    from lxml import etree

    data = read_bytes(path)
    titles: set[str] = set()
    widths: dict[str, int] = {}
    item_images: list[tuple[str, list[tuple[str, int]]]] = []
    if data.lstrip()[:1] == b"{":
        doc = json.loads(data)
        for it in doc.get("items") or []:
            titles.add(norm(str(it.get("title") or "")))
        return {"titles": titles, "widths": widths, "item_images": item_images}
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=True)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        if not re.match(rb"\s*<\?xml[^>]*encoding", data):
            # undeclared and not UTF-8: Windows-1252, as feed readers guess
            text = data.decode("cp1252", "replace")
            data = re.sub(r"^\s*<\?xml[^>]*\?>", "", text).encode("utf-8")
    try:
        root = etree.fromstring(data.lstrip(), parser)
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        return {"titles": titles, "widths": widths, "item_images": item_images}
    for item in root.iter("{*}item", "{*}entry"):
        for child in item:
            if isinstance(child.tag, str) and etree.QName(child).localname == "title":
                titles.add(norm("".join(child.itertext())))
        found: list[tuple[str, int]] = []
        for el in item.iter():
            if not isinstance(el.tag, str):
                continue
            name = etree.QName(el).localname
            url, width = "", 0
            if name in ("content", "thumbnail") and el.get("url"):
                url, width = el.get("url"), _int(el.get("width"))
            elif name == "enclosure" and (el.get("type") or "").startswith("image/"):
                url, width = el.get("url") or "", _int(el.get("width"))
            elif name == "image":
                child_url = next((c for c in el if _local(c) == "url"), None)
                url = el.get("href") or (child_url.text if child_url is not None else "") or ""
                child_w = next((c for c in el if _local(c) == "width"), None)
                width = _int(child_w.text if child_w is not None else "")
            url = (url or "").strip()
            if url:
                found.append((url, width))
            if el.text and "<img" in el.text:
                for tag in re.findall(r"<img\b[^>]*>", el.text):
                    src = re.search(r"""src\s*=\s*["']([^"']+)""", tag)
                    w = re.search(r"""width\s*=\s*["']?(\d+)""", tag)
                    if src:
                        found.append((html.unescape(src.group(1)), _int(w.group(1) if w else "")))
        for url, width in found:
            url = html.unescape(url)
            width = width or _url_width(url)
            if width and (url not in widths or width < widths[url]):
                widths[url] = width
        item_images.append((_item_link(item), found))
    return {"titles": titles, "widths": widths, "item_images": item_images}


def _item_link(item: Any) -> str:
    """The item's own link: an RSS <link> text or an Atom alternate link's href."""
    for child in item:
        if _local(child) == "link":
            href = child.get("href")
            if href and child.get("rel", "alternate") == "alternate":
                return href.strip()
            if not href and child.text and child.text.strip():
                return child.text.strip()
    return ""


def _local(el: Any) -> str:
    from lxml import etree

    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _int(value: str | None) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return 0


def _url_width(url: str) -> int:
    m = URL_SIZE.search(url)
    if not m:
        return 0
    return int(m.group(1) or m.group(3))


# -- building and measuring one digest -----------------------------------------------------------


def build(name: str, files: list[Path], max_items: int, workdir: Path) -> dict[str, Any]:
    """Build the digest with the product and count its defects."""
    from newsletter.config import config_from_dict
    from newsletter.ingest.feeds import ingest
    from newsletter.render.renderer import render_digest
    from newsletter.run.digest import plan_digest
    from newsletter.store import Store

    folder = workdir / re.sub(r"\W+", "-", name)
    folder.mkdir(parents=True)
    config = config_from_dict(
        {
            "site": {"name": "Bench", "url": "https://bench.example.org"},
            "feeds": [{"url": str(p)} for p in files],
            "digest": {"max_items": max_items},
            "store": {"path": str(folder / "store.sqlite")},
            "output": {"dir": str(folder / "out")},
        },
        base_dir=folder,
    )
    store = Store(folder / "store.sqlite", clock=lambda: NOW)
    ingest(config, store)
    plan = plan_digest(config, store)
    rendered = render_digest(plan.digest, config)
    everything = store.items(feed_urls=[str(p) for p in files])
    store.close()
    facts = {str(p): source_facts(p) for p in files}
    if os.environ.get("REAL_FEEDS_SHOW") == name:
        show(plan, rendered.web_html)
    return measure(plan, rendered.web_html, everything, facts)


def show(plan: Any, page: str) -> None:
    """Print the digest's stories (to stderr) for a reader to look at."""
    images = {
        html.unescape(src): tag
        for tag, src in re.findall(r'(<img\b[^>]*src="([^"]+)"[^>]*>)', page)
    }
    for section in plan.digest.sections:
        print(f"## {section.label}", file=sys.stderr)
        for e in section.entries:
            it = e.item
            when = it.published.date() if it.published else "undated"
            print(f"- {it.title}  [{it.source}, {when}]", file=sys.stderr)
            print(f"    {e.summary}", file=sys.stderr)
            if it.image:
                tag = images.get(it.image, "")
                size = " ".join(re.findall(r'(?:width|height|style)="[^"]*"', tag))
                print(f"    img {it.image} {size}", file=sys.stderr)


def measure(plan: Any, page: str, everything: list[Any], facts: dict[str, Any]) -> dict[str, Any]:
    stops = stop_words()
    entries = [(s.label, e) for s in plan.digest.sections for e in s.entries]
    n = len(entries)
    counts: Counter[str] = Counter({name: 0 for name in DEFECTS})
    feed_counts = Counter(e.item.feed_url for _, e in entries)
    for _, e in entries:
        item, summary = e.item, e.summary or ""
        both = f"{item.title}\n{summary}"
        counts["entities as text"] += bool(ENTITY.search(both))
        counts["escaped newlines as text"] += bool(ESCAPED_NEWLINE.search(both))
        source = facts.get(item.feed_url)
        if source and source["titles"] and norm(item.title) not in source["titles"]:
            counts["title not the item's own"] += 1
        t, s = norm(item.title), norm(summary)
        if len(t.split()) >= 3 and t in s:
            counts["summary repeats the title"] += 1
        if summary and BYLINE.match(summary.strip()):
            counts["summary is a byline"] += 1
        counts["sponsor reads"] += bool(SPONSOR.search(summary))
        counts["aggregator chrome"] += bool(AGGREGATOR.search(summary))
        counts["read-more links"] += bool(READ_MORE.search(summary))
        counts["show-notes stamps, glued links"] += bool(GLUED_NOTES.search(summary))
        counts["headline subject missing"] += _misses_subject(item, summary)
    labels = {label for label, _ in entries if label != OTHER_LABEL}
    counts["function-word labels"] = sum(_function_label(label, stops) for label in labels)
    counts["stretched images"], counts["logo/repeated lead images"] = _images(page, facts)
    counts["feed images missing"] = _missing_images(entries, facts)
    counts["undated above dated"] = _undated_above_dated(plan, everything)
    counts["duplicate stories"] = _duplicates(entries)
    return {
        "entries": n,
        "feeds": len(feed_counts),
        "max feed share %": round(100 * max(feed_counts.values()) / n) if n else 0,
        "leftover share %": round(100 * sum(lbl == OTHER_LABEL for lbl, _ in entries) / n)
        if n
        else 0,
        **counts,
    }


def _misses_subject(item: Any, summary: str) -> bool:
    """The headline's first proper noun (a word the article writes capitalized after a
    sentence's start and never in lower case) is not in the summary."""
    if not summary:
        return False
    upper: set[str] = set()
    lower: set[str] = set()
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", item.text):
        for w in re.findall(r"[^\W\d_][\w'’-]*", sentence)[1:]:
            (upper if w[0].isupper() else lower if w[0].islower() else set()).add(w.casefold())
    for w in re.findall(r"[^\W\d_][\w'’-]*", item.title):
        key = w.casefold().removesuffix("’s").removesuffix("'s")
        if len(w) >= 3 and w[0].isupper() and key in upper - lower:
            said = re.findall(r"[^\W\d_][\w'’-]*", summary.casefold())
            return not any(s.startswith(key) for s in said)
    return False


def _function_label(label: str, stops: frozenset[str]) -> bool:
    parts = [p for p in re.split(r"\s*[&,/·|]\s*|\s+and\s+", label) if p.strip()]
    return any(all(w in stops for w in words(p)) for p in parts if words(p))


def _images(page: str, facts: dict[str, Any]) -> tuple[int, int]:
    """Images rendered wider than the feed says they are, and lead images that are logos or
    the same picture on several stories."""
    widths: dict[str, int] = {}
    for f in facts.values():
        for url, w in f["widths"].items():
            widths.setdefault(html.unescape(url), w)
    shown = []
    for tag in re.findall(r"<img\b[^>]*class=\"[^\"]*item-image[^>]*>", page):
        src = re.search(r'src="([^"]+)"', tag)
        width = re.search(r'width="(\d+)"', tag)
        style = re.search(r"(?<![-\w])width:\s*(\d+|auto)(px|%)?", tag)
        cap = re.search(r"max-width:\s*(\d+)px", tag)
        if not src:
            continue
        url = html.unescape(src.group(1))
        rendered = int(width.group(1)) if width else 0
        if style and style.group(1) == "auto":
            rendered = 0  # the client shows the natural size (max-width keeps it in the column)
        elif style and style.group(2) == "%":
            rendered = 552  # a percentage fills the column...
        elif style:
            rendered = int(style.group(1))
        if cap:
            rendered = min(rendered, int(cap.group(1)))  # ...up to its max-width
        shown.append((url, rendered))
    stretched = sum(1 for url, w in shown if widths.get(url) and w > widths[url])
    repeats = Counter(url for url, _ in shown)
    logos = sum(
        1
        for url, _ in shown
        if repeats[url] > 1 or LOGO_URL.search(url) or 0 < widths.get(url, 0) < 100
    )
    return stretched, logos


def _missing_images(entries: list[tuple[str, Any]], facts: dict[str, Any]) -> int:
    """Stories shown without a picture although their item has its own (not shared with
    other items of the feed) https image at least 200 px wide."""
    missing = 0
    for _, e in entries:
        f = facts.get(e.item.feed_url)
        if e.item.image or not f:
            continue
        per_feed = Counter(u for _, imgs in f["item_images"] for u in {u for u, _ in imgs})
        for link, imgs in f["item_images"]:
            if link != e.item.link.strip():
                continue
            own = [
                u
                for u, w in imgs
                if per_feed[u] == 1 and u.startswith("https://") and (w or _url_width(u)) >= 200
            ]
            missing += bool(own)
            break
    return missing


def _undated_above_dated(plan: Any, everything: list[Any]) -> int:
    """Undated stories carried while a dated item of the same feeds was left out."""
    carried = {(i.feed_url, i.key) for i in plan.items}
    dated_left = [i for i in everything if i.published and (i.feed_url, i.key) not in carried]
    if not dated_left:
        return 0
    return sum(1 for e in plan.digest.entries if e.item.published is None)


def _duplicates(entries: list[tuple[str, Any]]) -> int:
    """Stories shown more than once: the same headline within two days (a column's
    recurring title a week later is another story), or the same article link (one that
    several items of a feed share stands in for a missing link and counts for nothing)."""
    seen_titles: dict[str, list[Any]] = {}
    seen_links: Counter[str] = Counter()
    extra = 0

    def key(link: str) -> str:
        link = re.sub(r"#.*$", "", link).lower()
        link = re.sub(r"[?&](?:utm_\w+|wt_mc|cmpid|ito|ref)=[^&]*", "", link).rstrip("/?")
        return link if "/" in link.split("://", 1)[-1] else ""  # a home page: no story

    # a link several items of one feed share is a stand-in (a show page, a broken feed)
    shared = Counter((e.item.feed_url, key(e.item.link)) for _, e in entries)
    for _, e in entries:
        t = norm(e.item.title)
        link = key(e.item.link)
        if shared[(e.item.feed_url, link)] > 1:
            link = ""
        when = e.item.published
        same_title = any(
            w is None or when is None or abs((w - when).total_seconds()) <= 2 * 86400
            for w in seen_titles.get(t, [])
        )
        if (t and same_title) or (link and seen_links[link]):
            extra += 1
        seen_titles.setdefault(t, []).append(when)
        seen_links[link] += 1
    return extra


# -- running ---------------------------------------------------------------------------------------


def measure_all() -> dict[str, Any]:
    """Every digest, measured with whichever `newsletter` is importable."""
    import logging

    logging.disable(logging.WARNING)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="realfeeds-") as tmp:
        for name, files, max_items in digests():
            out[name] = build(name, files, max_items, Path(tmp))
    return out


def run_tree(src: Path) -> dict[str, Any]:
    """measure_all() in a child process that imports `newsletter` from `src`."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run(
        [sys.executable, __file__, "--measure"], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"measuring {src} failed:\n{proc.stderr[-3000:]}")
    if env.get("REAL_FEEDS_SHOW"):
        print(f"# {src}\n{proc.stderr}", file=sys.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(results: dict[str, dict[str, Any]]) -> str:
    """One markdown table: a row per defect, a column per digest (before → after)."""
    runs = list(results)
    names = list(results[runs[-1]])
    metrics: list[str] = []
    for run in runs:
        for name in names:
            for key in results[run].get(name, {}):
                if key not in metrics:
                    metrics.append(key)
    head = "| defect | " + " | ".join(names) + " |"
    lines = [head, "|---|" + "---|" * len(names)]
    for key in metrics:
        cells = []
        for name in names:
            values = [results[r].get(name, {}).get(key, "–") for r in runs]
            cells.append(" → ".join(str(v) for v in values))
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", type=Path, help="src/ of the starting commit (the 'before' run)")
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--show", metavar="DIGEST", help="also print that digest's stories")
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(measure_all()))
        return
    if args.show:
        os.environ["REAL_FEEDS_SHOW"] = args.show
    results: dict[str, dict[str, Any]] = {}
    if args.base:
        results["before"] = run_tree(args.base)
    results["after"] = run_tree(REPO / "src")
    report = table(results)
    header = (
        "# Defects per digest over real feeds\n\n"
        "Command: `.venv/bin/python benchmarks/real_feeds.py"
        + (f" --base {args.base}" if args.base else "")
        + "`"
        + (" (cells: before → after)" if args.base else "")
        + "\n\nDigests: "
        + "; ".join(
            f"**{name}**: {len(files)} feeds, " + (f"max {m} items" if m else "every item")
            for name, files, m in digests()
        )
        + ".\n\n"
    )
    text = header + report
    print(text)
    if args.base:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
