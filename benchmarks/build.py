"""Build performance: does a build cost what its new items cost?

Serves a generated corpus (benchmarks/corpus.py: 100 feeds x 30 items of ~800 words) from
127.0.0.1 with 200 ms latency per response and ETag/304, and times in one run:

  bare         a plain sequential script (urllib, feedparser.parse, sumy TextRank with a
               regex tokenizer for every item), run as a subprocess;
  cold         `python -m newsletter -v build -c <config>` on an empty store;
  unchanged    the same build again: every feed answers 304, nothing may be parsed or
               summarized (checked via the server's statuses, the stage timers and the
               summaries table);
  incremental  5 % of the items new or edited (in a quarter of the feeds): work per stage
               is compared with the cold build;
  fetch        the fetch layer alone (newsletter.ingest.fetch.fetch in `fetch.concurrency`
               threads, 200 responses with bodies) against ceil(feeds/concurrency) x latency;
  scale        cold builds of 1,000, 3,000 and 10,000 items read from LOCAL FILES (no HTTP,
               so the CPU cost is isolated): time per item and peak memory.

Every build is the real command in a child process. Stage times come from
benchmarks/stagetimer/sitecustomize.py (timers wrapped around the product's functions,
enabled only by an environment variable); peak memory is the child's ru_maxrss from wait4
and the sampled PSS of its whole process tree. Writes the tables to
benchmarks/results/build.md and ends with one line of ratios.

    .venv/bin/python benchmarks/build.py                 # full run, a few minutes
    .venv/bin/python benchmarks/build.py --quick         # smoke run, small corpus
    .venv/bin/python benchmarks/build.py --skip-scale --profile
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.corpus import CorpusServer, evolve, make_corpus, write_files  # noqa: E402

PYTHON = sys.executable
STAGETIMER = REPO / "benchmarks" / "stagetimer"
RESULTS = REPO / "benchmarks" / "results" / "build.md"
SEND_BENCH = REPO / "benchmarks" / "send.py"

TARGETS = {
    "cold/bare": 0.3,
    "unchanged/cold": 0.1,
    "incremental/cold": 0.2,
    "scale": 1.5,
    "rss_mb": 500,
    "fetch_slack": 1.15,
    "send": 0.8,
}


# -- child processes --------------------------------------------------------------------------
@dataclass
class ChildRun:
    """One measured child process."""

    argv: list[str]
    wall: float = 0.0
    returncode: int = 0
    stdout: str = ""
    stderr: list[tuple[float, str]] = field(default_factory=list)  # (seconds since start, line)
    maxrss_mb: float = 0.0  # largest single process in the tree (wait4's ru_maxrss)
    peak_pss_mb: float = 0.0  # sampled sum over the process tree (PSS: shared pages split)
    stages: dict = field(default_factory=dict)

    @property
    def peak_mb(self) -> float:
        return max(self.maxrss_mb, self.peak_pss_mb)

    def stage(self, name: str, key: str = "total") -> float:
        return float(self.stages.get("stages", {}).get(name, {}).get(key, 0.0))

    def check(self) -> ChildRun:
        if self.returncode != 0:
            tail = "\n".join(line for _, line in self.stderr[-25:])
            raise SystemExit(
                f"child failed ({self.returncode}): {' '.join(self.argv)}\n{tail}\n{self.stdout}"
            )
        return self


def _descendants(root: int) -> list[int]:
    pids, i = [root], 0
    while i < len(pids):
        pid = pids[i]
        i += 1
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    pids.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return pids


def _tree_pss_kb(root: int) -> int:
    total = 0
    for pid in _descendants(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def run_child(
    argv: list[str],
    env: dict[str, str] | None = None,
    stages: bool = False,
    cwd: Path | None = None,
) -> ChildRun:
    """Run argv; wall time, exit code, output with arrival times, peak memory, stage timers."""
    full_env = dict(os.environ)
    full_env.update(PRODUCT_ENV)
    full_env.update(env or {})
    full_env.pop("NEWSLETTER_BENCH_STAGES_OWNER", None)
    stage_file = None
    if stages:
        fd, stage_file = tempfile.mkstemp(prefix="nl-stages-", suffix=".json")
        os.close(fd)
        full_env["NEWSLETTER_BENCH_STAGES"] = stage_file
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(STAGETIMER), full_env.get("PYTHONPATH", "")) if p
        )
    run = ChildRun(argv=argv)
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, cwd=cwd, text=True
    )
    out_parts: list[str] = []
    done = threading.Event()
    peak = [0]

    def read_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            run.stderr.append((time.perf_counter() - start, line.rstrip("\n")))

    def read_out() -> None:
        assert proc.stdout is not None
        out_parts.append(proc.stdout.read())

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], _tree_pss_kb(proc.pid))

    threads = [threading.Thread(target=f, daemon=True) for f in (read_err, read_out, sample)]
    for t in threads:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    run.wall = time.perf_counter() - start
    done.set()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in threads:
        t.join()
    run.returncode = proc.returncode
    run.stdout = "".join(out_parts)
    run.maxrss_mb = usage.ru_maxrss / 1024
    run.peak_pss_mb = peak[0] / 1024
    if stage_file:
        try:
            run.stages = json.loads(Path(stage_file).read_text() or "{}")
        except (OSError, ValueError):
            run.stages = {}
        os.unlink(stage_file)
    return run


# -- configs and stores -----------------------------------------------------------------------
def write_config(folder: Path, feeds: list[str], concurrency: int) -> Path:
    """A newsletter.toml for the benchmark: these feeds, a store and output in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "[site]",
        'name = "Benchmark Digest"',
        'url = "https://bench.example.org"',
        "",
        "[list]",
        'name = "bench"',
        "",
        "[fetch]",
        f"concurrency = {concurrency}",
        "",
        "[store]",
        'path = "store.sqlite"',
        "",
        "[output]",
        'dir = "output"',
        "",
    ]
    for url in feeds:
        lines += ["[[feeds]]", f"url = {json.dumps(url)}", ""]
    path = folder / "newsletter.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def build_argv(config: Path) -> list[str]:
    return [PYTHON, "-m", "newsletter", "-v", "build", "-c", str(config)]


PRODUCT_ENV: dict[str, str] = {}  # --env NAME=VALUE: applied to every product child


@dataclass
class StoreState:
    items: dict[int, str]  # id -> content hash
    summaries: int
    digests: int


def store_state(path: Path) -> StoreState:
    """What the store holds (read-only): item hashes, summary and digest counts."""
    if not path.exists():
        return StoreState({}, 0, 0)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        items = dict(db.execute("SELECT id, content_hash FROM items"))
        summaries = db.execute("SELECT count(*) FROM summaries").fetchone()[0]
        digests = db.execute("SELECT count(*) FROM digests").fetchone()[0]
    finally:
        db.close()
    return StoreState(items, summaries, digests)


# -- bare baseline (runs as a child: `build.py --bare-child urls.json`) ------------------------
def bare_child(urls_file: str) -> None:
    """fetch (urllib) -> feedparser.parse -> sumy TextRank for every item, one feed at a time."""
    import html
    import re
    import urllib.request

    import feedparser
    from sumy.parsers.plaintext import PlaintextParser
    from sumy.summarizers.text_rank import TextRankSummarizer

    class RegexTokenizer:
        """Sentences end at . ! ? before a capital; words are runs of letters."""

        _sentence = re.compile(r"(?<=[.!?])\s+(?=[\"“‘(]?[A-Z0-9])")
        _word = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")

        def to_sentences(self, paragraph: str) -> list[str]:
            return [s for s in self._sentence.split(paragraph) if s.strip()]

        def to_words(self, sentence: str) -> list[str]:
            return self._word.findall(sentence)

    block_end = re.compile(r"</(?:p|h\d|li|blockquote|figcaption|div)>", re.I)
    tag = re.compile(r"<[^>]+>")
    urls = json.loads(Path(urls_file).read_text())
    tokenizer = RegexTokenizer()
    summarizer = TextRankSummarizer()
    times = {"fetch": 0.0, "parse": 0.0, "summarize": 0.0}
    items = 0
    for url in urls:
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read()
        t1 = time.perf_counter()
        parsed = feedparser.parse(body)
        t2 = time.perf_counter()
        for entry in parsed.entries:
            content = entry.get("content")
            raw = content[0].value if content else entry.get("summary", "")
            text = html.unescape(tag.sub(" ", block_end.sub("\n\n", raw)))
            document = PlaintextParser.from_string(text, tokenizer).document
            summary = " ".join(str(s) for s in summarizer(document, 3))
            items += bool(summary)
        t3 = time.perf_counter()
        times["fetch"] += t1 - t0
        times["parse"] += t2 - t1
        times["summarize"] += t3 - t2
    print(json.dumps({"items": items, **times}))


# -- fetch layer alone (runs as a child: `build.py --fetch-child config`) ---------------------
def fetch_child(config_path: str) -> None:
    """Every feed through `ingest.fetch.fetch` in fetch.concurrency threads (no parsing)."""
    from concurrent.futures import ThreadPoolExecutor

    from newsletter.config import load_config
    from newsletter.ingest.fetch import fetch

    config = load_config(config_path)
    urls = [f.url for f in config.feeds]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=config.fetch.concurrency) as pool:
        responses = list(pool.map(lambda u: fetch(u, None, config), urls))
    wall = time.perf_counter() - start
    errors = [r.error for r in responses if r.error]
    print(
        json.dumps(
            {
                "wall": wall,
                "feeds": len(urls),
                "errors": errors[:3],
                "bytes": sum(len(r.body) for r in responses),
            }
        )
    )


# -- scenarios --------------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    run: ChildRun
    items: int  # items in the corpus the build saw
    notes: str = ""
    extra: dict = field(default_factory=dict)


def _log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def _bodies(server: CorpusServer) -> tuple[int, int, int]:
    s = server.statuses()
    return s.get(200, 0), s.get(304, 0), sum(v for k, v in s.items() if k not in (200, 304))


def run_http(args: argparse.Namespace, work: Path) -> dict[str, Result]:
    """bare, cold, unchanged, incremental and the fetch layer over the local HTTP server."""
    out: dict[str, Result] = {}
    _log(f"generating {args.feeds} feeds x {args.items} items")
    corpus = make_corpus(args.feeds, args.items, args.words)
    with CorpusServer(corpus, latency=args.latency) as server:
        urls = server.urls()
        urls_file = work / "urls.json"
        urls_file.write_text(json.dumps(urls))

        _log("bare: sequential urllib + feedparser + TextRank")
        server.reset()
        bare = run_child([PYTHON, __file__, "--bare-child", str(urls_file)]).check()
        bare_stats = json.loads(bare.stdout.strip().splitlines()[-1])
        out["bare"] = Result(
            "bare",
            bare,
            corpus.items,
            extra=bare_stats,
            notes=f"fetch {bare_stats['fetch']:.1f} s, parse "
            f"{bare_stats['parse']:.1f} s, TextRank {bare_stats['summarize']:.1f} s",
        )

        config = write_config(work / "http", urls, args.concurrency)
        store_path = config.parent / "store.sqlite"

        _log("cold: newsletter build on an empty store")
        server.reset()
        cold = run_child(build_argv(config), stages=True).check()
        after_cold = store_state(store_path)
        b200, b304, bad = _bodies(server)
        out["cold"] = Result(
            "cold",
            cold,
            corpus.items,
            extra={
                "bodies": b200,
                "not_modified": b304,
                "other": bad,
                "items_stored": len(after_cold.items),
                "summaries": after_cold.summaries,
            },
        )

        _log("unchanged: the same build again")
        server.reset()
        unchanged = run_child(build_argv(config), stages=True).check()
        after_unchanged = store_state(store_path)
        b200, b304, bad = _bodies(server)
        parsed = int(unchanged.stage("parse", "calls"))
        summarized = after_unchanged.summaries - after_cold.summaries
        changed_rows = sum(
            1 for k, v in after_unchanged.items.items() if after_cold.items.get(k) != v
        )
        out["unchanged"] = Result(
            "unchanged",
            unchanged,
            corpus.items,
            extra={
                "bodies": b200,
                "not_modified": b304,
                "other": bad,
                "parsed_feeds": parsed,
                "parsed_items": int(unchanged.stage("parse", "units")),
                "summarized": summarized,
                "items_changed": changed_rows,
                "computed": int(unchanged.stage("summarize.compute", "units")),
            },
        )

        _log("incremental: 5 % of the items new or edited")
        nxt, counts = evolve(corpus, fraction=args.fraction)
        server.publish(nxt)
        server.reset()
        inc = run_child(build_argv(config), stages=True).check()
        after_inc = store_state(store_path)
        b200, b304, bad = _bodies(server)
        new_rows = sum(1 for k in after_inc.items if k not in after_unchanged.items)
        edited_rows = sum(
            1
            for k, v in after_inc.items.items()
            if k in after_unchanged.items and after_unchanged.items[k] != v
        )
        out["incremental"] = Result(
            "incremental",
            inc,
            nxt.items,
            extra={
                **counts,
                "bodies": b200,
                "not_modified": b304,
                "other": bad,
                "parsed_items": int(inc.stage("parse", "units")),
                "stored_new": new_rows,
                "stored_edited": edited_rows,
                "summarized": after_inc.summaries - after_unchanged.summaries,
            },
        )

        _log("fetch layer: newsletter.ingest.fetch.fetch for every feed, no parsing")
        server.reset()
        fetch_run = run_child([PYTHON, __file__, "--fetch-child", str(config)]).check()
        stats = json.loads(fetch_run.stdout.strip().splitlines()[-1])
        out["fetch"] = Result("fetch", fetch_run, 0, extra=stats)

        if args.profile:
            _log("profile: cProfile of a cold build (fresh store)")
            server.publish(corpus)
            out["profile"] = profile_cold(work, urls, args)
    return out


def profile_cold(work: Path, feeds: list[str], args: argparse.Namespace) -> Result:
    """A cold build under cProfile; the top functions go into the report."""
    import pstats

    config = write_config(work / "profile", feeds, args.concurrency)
    prof = work / "cold.prof"
    run = run_child(
        [PYTHON, "-m", "cProfile", "-o", str(prof), "-m", "newsletter", "build", "-c", str(config)]
    ).check()
    lines = []
    for sort in ("tottime", "cumulative"):
        import io

        buf = io.StringIO()
        stats = pstats.Stats(str(prof), stream=buf)
        stats.sort_stats(sort).print_stats(args.profile_top)
        text = buf.getvalue()
        start = text.find("   ncalls")
        lines.append(f"sorted by {sort}:\n" + text[start:].rstrip())
    return Result("profile", run, 0, extra={"text": "\n\n".join(lines)})


def run_scale(args: argparse.Namespace, work: Path) -> list[Result]:
    """Cold builds over local files of growing size."""
    out = []
    for n in args.scale:
        feeds = math.ceil(n / args.items)
        _log(f"scale: {n} items ({feeds} local feed files)")
        corpus = make_corpus(feeds, args.items, args.words, total_items=n)
        folder = work / f"scale-{n}"
        paths = write_files(corpus, folder / "feeds")
        config = write_config(folder, [str(p) for p in paths], args.concurrency)
        run = run_child(build_argv(config), stages=True).check()
        state = store_state(folder / "store.sqlite")
        out.append(
            Result(
                f"scale {n:,}",
                run,
                corpus.items,
                extra={"feeds": feeds, "stored": len(state.items)},
            )
        )
        shutil.rmtree(folder / "output", ignore_errors=True)
    return out


def run_send(args: argparse.Namespace) -> str:
    """benchmarks/send.py's last line (its ratio), when that benchmark exists."""
    if not SEND_BENCH.exists():
        return "benchmarks/send.py not found: send ratio not measured"
    argv = [PYTHON, str(SEND_BENCH)] + (["--subscribers", "2000"] if args.quick else [])
    _log("send: " + " ".join(argv[1:]))
    run = run_child(argv)
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    if run.returncode != 0 or not lines:
        tail = " | ".join(line for _, line in run.stderr[-3:])
        return f"benchmarks/send.py failed ({run.returncode}): {tail}"
    return lines[-1].strip()


# -- report -----------------------------------------------------------------------------------
def _ms(x: float) -> str:
    return f"{x * 1000:.1f}"


def _s(x: float) -> str:
    return f"{x:.2f}"


def stage_row(r: Result) -> list[str]:
    st = r.run

    def span(name: str) -> float:
        s = st.stages.get("stages", {}).get(name)
        return (s["last"] - s["first"]) if s else 0.0

    build = st.stage("build")
    accounted = st.stage("ingest") + st.stage("plan") + st.stage("write_plan")
    return [
        r.name,
        _s(r.run.wall),
        _s(r.run.wall - build),  # interpreter, imports, config, store open, exit
        _s(st.stage("ingest")),
        _s(span("fetch")),
        f"{_s(st.stage('parse'))} = {_s(st.stage('parse.feedparser'))} + "
        f"{_s(st.stage('parse.normalize'))} ({int(st.stage('parse', 'units'))})",
        _s(st.stage("store.upsert")),
        f"{_s(st.stage('summarize'))} ({int(st.stage('summarize.compute', 'units'))})",
        _s(st.stage("dedupe")),
        _s(st.stage("themes")),
        _s(st.stage("render") + st.stage("write")),
        _s(build - accounted) if build else "",
    ]


STAGE_HEAD = [
    "run",
    "wall s",
    "start-up+exit s",
    "ingest s",
    "fetch span s",
    "parse = feedparser + normalize s (items) ¹",
    "store s",
    "summaries s (computed)",
    "dedupe s",
    "themes s",
    "render+write s",
    "other s",
]


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report(
    args: argparse.Namespace, http: dict[str, Result], scale: list[Result], send_line: str
) -> tuple[str, str]:
    """(markdown report, last line of ratios)."""
    bare, cold, unchanged, inc, fetch = (
        http[k] for k in ("bare", "cold", "unchanged", "incremental", "fetch")
    )
    ratios: dict[str, str] = {}
    checks: list[list[str]] = []

    def check(name: str, value: float, limit: float, ok: bool, shown: str, limit_text: str) -> None:
        ratios[name] = shown
        checks.append([name, shown, limit_text, "yes" if ok else "**NO**"])

    cb = cold.run.wall / bare.run.wall
    check("cold/bare", cb, TARGETS["cold/bare"], cb <= TARGETS["cold/bare"], f"{cb:.3f}", "<= 0.3")
    uc = unchanged.run.wall / cold.run.wall
    clean = (
        unchanged.extra["bodies"] == 0
        and unchanged.extra["parsed_feeds"] == 0
        and unchanged.extra["summarized"] == 0
        and unchanged.extra["computed"] == 0
    )
    check(
        "unchanged/cold",
        uc,
        TARGETS["unchanged/cold"],
        uc <= TARGETS["unchanged/cold"] and clean,
        f"{uc:.3f}" + ("" if clean else " (work done!)"),
        "<= 0.1, nothing parsed/summarized",
    )
    ic = inc.run.wall / cold.run.wall
    check(
        "incremental/cold",
        ic,
        TARGETS["incremental/cold"],
        ic <= TARGETS["incremental/cold"],
        f"{ic:.3f}",
        "<= 0.2",
    )
    budget = TARGETS["fetch_slack"] * math.ceil(args.feeds / args.concurrency) * args.latency
    fw = fetch.extra["wall"]
    check(
        "fetch wall s",
        fw,
        budget,
        fw <= budget and not fetch.extra["errors"],
        f"{fw:.2f}",
        f"<= {budget:.2f} (1.15 x ceil({args.feeds}/{args.concurrency}) x {args.latency})",
    )
    by_n = {r.items: r for r in scale}
    if scale:
        small, large = scale[0], scale[-1]

        def per_item(r: Result, key: str) -> float:
            return (r.run.wall if key == "wall" else r.run.stage("build")) / r.items

        sr_wall = per_item(large, "wall") / per_item(small, "wall")
        sr_build = per_item(large, "build") / per_item(small, "build")
        sr = max(sr_wall, sr_build)
        check(
            f"per item {large.items:,}/{small.items:,}",
            sr,
            TARGETS["scale"],
            sr <= TARGETS["scale"],
            f"{sr:.2f}",
            "<= 1.5 (worse of wall and build())",
        )
        mid = by_n.get(3000) or scale[len(scale) // 2]
        check(
            f"peak MB at {mid.items:,}",
            mid.run.peak_mb,
            TARGETS["rss_mb"],
            mid.run.peak_mb < TARGETS["rss_mb"],
            f"{mid.run.peak_mb:.0f}",
            "< 500",
        )
    ratios["send"] = send_line
    checks.append(["send (benchmarks/send.py)", send_line, ">= 0.8 x bare smtplib", "see line"])

    main_rows = []
    for r in (bare, cold, unchanged, inc):
        n = r.items
        note = r.notes
        if r.name in ("cold", "unchanged", "incremental"):
            e = r.extra
            note = f"200: {e['bodies']}, 304: {e['not_modified']}" + (
                f", other: {e['other']}" if e["other"] else ""
            )
        main_rows.append(
            [r.name, _s(r.run.wall), f"{n:,}", _ms(r.run.wall / n), f"{r.run.peak_mb:.0f}", note]
        )
    main_rows.append(
        [
            "fetch layer",
            _s(fw),
            f"{fetch.extra['feeds']} feeds",
            "",
            f"{fetch.run.peak_mb:.0f}",
            f"{fetch.extra['bytes'] / 1e6:.1f} MB of bodies"
            + (f"; errors: {fetch.extra['errors']}" if fetch.extra["errors"] else ""),
        ]
    )
    for r in scale:
        main_rows.append(
            [
                f"{r.name} (files)",
                _s(r.run.wall),
                f"{r.items:,}",
                _ms(r.run.wall / r.items),
                f"{r.run.peak_mb:.0f}",
                f"build() {_ms(r.run.stage('build') / r.items)} ms/item; "
                f"maxrss {r.run.maxrss_mb:.0f} MB, tree PSS {r.run.peak_pss_mb:.0f} MB",
            ]
        )

    u, i = unchanged.extra, inc.extra
    c = cold.extra
    work_rows = [
        ["bodies fetched (HTTP 200)", str(c["bodies"]), str(u["bodies"]), str(i["bodies"])],
        ["304 answers", str(c["not_modified"]), str(u["not_modified"]), str(i["not_modified"])],
        [
            "items parsed",
            str(int(cold.run.stage("parse", "units"))),
            str(u["parsed_items"]),
            str(i["parsed_items"]),
        ],
        [
            "items stored new / edited",
            f"{c['items_stored']} / 0",
            f"0 / {u['items_changed']}",
            f"{i['stored_new']} / {i['stored_edited']} (corpus: {i['new']} / {i['edited']})",
        ],
        ["summaries computed", str(c["summaries"]), str(u["summarized"]), str(i["summarized"])],
    ]
    stage_rows = [stage_row(r) for r in (cold, unchanged, inc, *scale)]

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    cpu = os.cpu_count()
    md = [
        "# Build benchmark",
        "",
        f"`{' '.join(['python', 'benchmarks/build.py', *sys.argv[1:]])}` on {cpu} cores, {when}. "
        f"HTTP corpus: {args.feeds} feeds x {args.items} items (~{args.words} words each), "
        f"served from 127.0.0.1 with {args.latency * 1000:.0f} ms latency per response and "
        "ETag/304; "
        f"fetch.concurrency = {args.concurrency}. Scale runs read local files (no HTTP)."
        + (f" Extra environment for every child: {' '.join(args.env)}." if args.env else ""),
        "",
        "## Runs",
        "",
        table(["run", "wall s", "items", "ms/item", "peak MB ²", "notes"], main_rows),
        "",
        "## Work done (should follow the new items)",
        "",
        table(["", "cold", "unchanged", f"incremental ({args.fraction:.0%})"], work_rows),
        "",
        "## Where the time goes (stage timers)",
        "",
        table(STAGE_HEAD, stage_rows),
        "",
        "¹ parse runs in the fetch threads: its time is a sum over threads, not wall time. "
        '"fetch span" is first fetch start to last fetch end inside ingest (with parsing '
        "interleaved in the same threads).",
        "² the larger of the child's ru_maxrss (largest single process) and the sampled PSS of "
        "its process tree (summary worker processes included).",
        "",
        "## Targets",
        "",
        table(["target", "measured", "limit", "met"], checks),
        "",
    ]
    if "profile" in http:
        md += [
            "## Profile of a cold build (cProfile)",
            "",
            "```",
            http["profile"].extra["text"],
            "```",
            "",
        ]
    line = "ratios: " + "  ".join(f"{k}={v}" for k, v in ratios.items() if k != "send")
    line += f"  send: {send_line}"
    md += ["```", line, "```", ""]
    return "\n".join(md), line


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Build performance benchmark (see module docstring)."
    )
    parser.add_argument(
        "--quick", action="store_true", help="small corpus: a smoke run in about a minute"
    )
    parser.add_argument("--skip-scale", action="store_true", help="skip the 1k/3k/10k cold builds")
    parser.add_argument("--skip-send", action="store_true", help="do not run benchmarks/send.py")
    parser.add_argument(
        "--profile", action="store_true", help="also profile a cold build (cProfile)"
    )
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument("--feeds", type=int)
    parser.add_argument("--items", type=int, help="items per feed")
    parser.add_argument("--words", type=int, default=800)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--fraction", type=float, default=0.05, help="share of items new/edited")
    parser.add_argument(
        "--scale",
        type=lambda s: [int(x) for x in s.split(",")],
        help="comma-separated item counts (default 1000,3000,10000)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the product's builds (what-if runs, e.g. "
        "OMP_NUM_THREADS=1); repeatable",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--no-write", action="store_true", help="do not write results/build.md")
    parser.add_argument("--bare-child", help=argparse.SUPPRESS)
    parser.add_argument("--fetch-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_child:
        return bare_child(args.bare_child)
    if args.fetch_child:
        return fetch_child(args.fetch_child)
    for pair in args.env:
        name, _, value = pair.partition("=")
        PRODUCT_ENV[name] = value
    args.feeds = args.feeds or (20 if args.quick else 100)
    args.items = args.items or (15 if args.quick else 30)
    args.scale = args.scale or ([300, 1000] if args.quick else [1000, 3000, 10000])
    work = Path(tempfile.mkdtemp(prefix="nl-bench-build-"))
    _log(f"work folder {work}")
    try:
        http = run_http(args, work)
        scale = [] if args.skip_scale else run_scale(args, work)
        send_line = "skipped (--skip-send)" if args.skip_send else run_send(args)
        md, line = report(args, http, scale, send_line)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(md)
    if not args.no_write and not args.quick and not args.env:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(md, encoding="utf-8")
        _log(f"wrote {RESULTS.relative_to(REPO)}")
    print(line)


if __name__ == "__main__":
    main()
