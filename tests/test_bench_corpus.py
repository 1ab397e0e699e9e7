"""The build benchmark's own parts: the generated corpus, its server and the stage timers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import feedparser
from support.paths import REPO

sys.path.insert(0, str(REPO))

from benchmarks.corpus import (  # noqa: E402
    CorpusServer,
    evolve,
    make_corpus,
    render_feed,
)

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_corpus_is_repeatable_sized_and_topical() -> None:
    a = make_corpus(feeds=6, items_per_feed=5, now=NOW)
    b = make_corpus(feeds=6, items_per_feed=5, now=NOW)
    assert [render_feed(f, a.now) for f in a.feeds] == [render_feed(f, b.now) for f in b.feeds]
    assert a.items == 30
    words = [i.words for f in a.feeds for i in f.items]
    assert 700 <= sum(words) / len(words) <= 950
    assert len({i.topic for f in a.feeds for i in f.items}) >= 4
    assert {f.kind for f in a.feeds} == {"content", "description", "atom"}


def test_every_feed_kind_parses_with_full_html() -> None:
    corpus = make_corpus(feeds=5, items_per_feed=3, now=NOW)
    for feed in corpus.feeds:
        parsed = feedparser.parse(render_feed(feed, corpus.now))
        assert not parsed.bozo, (feed.kind, parsed.bozo_exception)
        assert len(parsed.entries) == 3
        entry = parsed.entries[0]
        body = entry.content[0].value if entry.get("content") else entry.summary
        assert "<p>" in body and "<img " in body and "<a href=" in body


def test_evolve_changes_only_the_chosen_feeds() -> None:
    corpus = make_corpus(feeds=20, items_per_feed=10, now=NOW)
    nxt, counts = evolve(corpus, fraction=0.05, feed_share=0.25)
    assert counts == {"new": 7, "edited": 3, "feeds": 5, "changes": 10}
    changed = [
        render_feed(a, corpus.now) != render_feed(b, nxt.now)
        for a, b in zip(corpus.feeds, nxt.feeds, strict=True)
    ]
    assert sum(changed) == 5
    old = {i.guid: i.html for f in corpus.feeds for i in f.items}
    new = {i.guid: i.html for f in nxt.feeds for i in f.items}
    assert sum(g not in old for g in new) == 7
    assert sum(g in old and old[g] != new[g] for g in new) == 3
    assert nxt.items == corpus.items  # feeds keep their window


def test_server_answers_304_to_its_etag() -> None:
    corpus = make_corpus(feeds=2, items_per_feed=2, now=NOW)
    with CorpusServer(corpus, latency=0.0) as server:
        url = server.urls()[0]
        with urllib.request.urlopen(url) as response:
            etag = response.headers["ETag"]
            assert response.read() == render_feed(corpus.feeds[0], corpus.now)
        request = urllib.request.Request(url, headers={"If-None-Match": etag})
        try:
            urllib.request.urlopen(request)
            status = 200
        except urllib.error.HTTPError as e:
            status = e.code
        assert status == 304
        assert server.statuses() == {200: 1, 304: 1}


def test_stage_timers_wrap_the_product_only_when_asked(tmp_path: Path) -> None:
    out = tmp_path / "stages.json"
    code = (
        "import newsletter.run.digest as d, newsletter.analysis.dedupe.merge as dd; "
        "dd.merge_duplicates([], {}); "
        "print(hasattr(d.build, '__bench_wrapped__'))"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO / "benchmarks" / "stagetimer"))
    env.pop("NEWSLETTER_BENCH_STAGES_OWNER", None)
    plain = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert plain.stdout.strip() == "False", plain.stderr
    env["NEWSLETTER_BENCH_STAGES"] = str(out)
    timed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert timed.stdout.strip() == "True", timed.stderr
    data = json.loads(out.read_text())
    assert data["stages"]["dedupe"]["calls"] == 1
    assert data["missing"] == []
