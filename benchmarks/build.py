"""Build performance: does a build cost what its new items cost, in bounded memory, on
any kind of text?

Two generated corpora, each 100 feeds x 30 items served from 127.0.0.x (every feed on a
loopback address of its own, as feeds come from different sites) with 200 ms latency per
response and ETag/304: "prose" (benchmarks/corpus.py: ~800-word articles on ten topics)
and "templated" (benchmarks/templated.py: machine-written press releases, market updates
and results from a small vocabulary, where many items look alike). Per corpus, in one run:

  bare         a plain sequential script (urllib, feedparser.parse, sumy TextRank with a
               regex tokenizer for the 60 newest items; then for all the others, which is
               the yardstick of the every-item digest), run as a subprocess;
  cold         `python -m newsletter -v build -c <config>` on an empty store;
  unchanged    the same build again: every feed answers 304, nothing may be parsed or
               summarized;
  fresh        the same, the feeds sending `Cache-Control: max-age=1800`: nothing requested;
  incremental  5 % of the items new or edited (in a quarter of the feeds);
  every item   a cold build with `--max-items 5000`: every item of the corpus in the digest;
  fetch        the fetch layer alone, against ceil(feeds/concurrency) x latency;
  scale        every-item digests of 300, 1,000, 3,000 and 10,000 items read from LOCAL
               FILES (no HTTP): time and peak memory per size.

`--repeat N` runs the HTTP scenarios N times; each ratio is taken within one repeat and
the median is reported (the machine is shared: absolute times move, ratios less).
Every build is the real command in a child process. Stage times and the stage in which
the peak memory rose come from benchmarks/stagetimer/sitecustomize.py; peak memory is the
child's ru_maxrss from wait4 and the sampled PSS of its whole process tree. Writes the
tables to benchmarks/results/build.md and ends with one line of ratios.

    .venv/bin/python benchmarks/build.py --repeat 3      # full run, ~30 minutes
    .venv/bin/python benchmarks/build.py --quick         # smoke run, small corpora
    .venv/bin/python benchmarks/build.py --corpus templated --skip-scale
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sqlite3
import statistics
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

from benchmarks.corpus import (  # noqa: E402
    Corpus,
    CorpusServer,
    evolve,
    make_corpus,
    write_files,
)
from benchmarks.templated import make_templated  # noqa: E402

PYTHON = sys.executable
STAGETIMER = REPO / "benchmarks" / "stagetimer"
RESULTS = REPO / "benchmarks" / "results" / "build.md"
SEND_BENCH = REPO / "benchmarks" / "send.py"


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
    cpu: float = 0.0  # user + system seconds, reaped worker processes included
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
    # An installed package has its bytecode compiled (pip does it); a run from a source
    # tree with PYTHONDONTWRITEBYTECODE set would compile every module at every start.
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
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
    run.cpu = usage.ru_utime + usage.ru_stime
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


def build_argv(config: Path, *extra: str) -> list[str]:
    return [PYTHON, "-m", "newsletter", "-v", "build", "-c", str(config), *extra]


PRODUCT_ENV: dict[str, str] = {}
IMPORTS = (
    "import newsletter.cli, newsletter.run.digest, newsletter.analysis.dedupe.index, "
    "newsletter.analysis.themes.sections, newsletter.analysis.summary.summarize, "
    "newsletter.render.renderer"
)  # --env NAME=VALUE: applied to every product child


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
def bare_child(urls_file: str, newest: int) -> None:
    """fetch (urllib) -> feedparser.parse for every feed, one at a time; then sumy TextRank
    for the `newest` newest items (what a default digest shows), then for all the others
    (what an every-item digest needs). Prints the time of each part as JSON."""
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
    times = {"fetch": 0.0, "parse": 0.0}
    entries = []
    for url in urls:
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read()
        t1 = time.perf_counter()
        entries.extend(feedparser.parse(body).entries)
        times["fetch"] += t1 - t0
        times["parse"] += time.perf_counter() - t1
    entries.sort(key=lambda e: tuple(e.get("published_parsed") or ()), reverse=True)
    tokenizer = RegexTokenizer()
    summarizer = TextRankSummarizer()

    def summarize(batch: list) -> int:
        done = 0
        for entry in batch:
            content = entry.get("content")
            raw = content[0].value if content else entry.get("summary", "")
            text = html.unescape(tag.sub(" ", block_end.sub("\n\n", raw)))
            document = PlaintextParser.from_string(text, tokenizer).document
            done += bool(" ".join(str(s) for s in summarizer(document, 3)))
        return done

    t2 = time.perf_counter()
    summarize(entries[:newest])
    t3 = time.perf_counter()
    summarize(entries[newest:])
    t4 = time.perf_counter()
    times.update(tr_newest=t3 - t2, tr_rest=t4 - t3)
    print(json.dumps({"items": len(entries), "newest": min(newest, len(entries)), **times}))


# -- fetch layer alone (runs as a child: `build.py --fetch-child config`) ---------------------
def fetch_child(config_path: str) -> None:
    """Every feed through newsletter.ingest.fetch.fetch in `concurrency` threads, no parsing."""
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


def make(style: str, feeds: int, items: int, words: int, total: int | None = None) -> Corpus:
    """A corpus of one of the two styles (benchmarks/corpus.py, benchmarks/templated.py)."""
    if style == "templated":
        return make_templated(feeds, items, total_items=total)
    return make_corpus(feeds, items, words, total_items=total)


def run_http(args: argparse.Namespace, work: Path, style: str, rep: int) -> dict[str, Result]:
    """bare, cold, unchanged, incremental, fresh, every-item and the fetch layer over HTTP."""
    out: dict[str, Result] = {}
    corpus = make(style, args.feeds, args.items, args.words)
    work = work / f"{style}-{rep}"
    with CorpusServer(corpus, latency=args.latency) as server:
        urls = server.urls()
        urls_file = work / "urls.json"
        work.mkdir(parents=True, exist_ok=True)
        urls_file.write_text(json.dumps(urls))

        _log(f"{style} #{rep + 1}: bare script (urllib + feedparser + TextRank)")
        server.reset()
        argv = [PYTHON, __file__, "--bare-child", str(urls_file), "--newest", str(args.newest)]
        bare = run_child(argv).check()
        stats = json.loads(bare.stdout.strip().splitlines()[-1])
        bare_wall = bare.wall - stats["tr_rest"]  # the same run without the older items
        out["bare"] = Result(
            "bare",
            bare,
            corpus.items,
            extra={**stats, "wall": bare_wall, "wall_all": bare.wall},
            notes=f"fetch {stats['fetch']:.1f} s, parse {stats['parse']:.1f} s, TextRank "
            f"{stats['newest']} newest {stats['tr_newest']:.1f} s (all {corpus.items}: "
            f"+{stats['tr_rest']:.1f} s = {bare.wall:.1f} s)",
        )

        config = write_config(work / "http", urls, args.concurrency)
        store_path = config.parent / "store.sqlite"

        # The floor of any build with something new: start the interpreter and import
        # what planning a digest needs (scikit-learn, SciPy, sumy, Jinja...).
        out["imports"] = Result("imports", run_child([PYTHON, "-c", IMPORTS]).check(), 0)

        _log(f"{style} #{rep + 1}: cold, unchanged, incremental")
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

        server.reset()
        unchanged = run_child(build_argv(config), stages=True).check()
        after_unchanged = store_state(store_path)
        b200, b304, bad = _bodies(server)
        out["unchanged"] = Result(
            "unchanged",
            unchanged,
            corpus.items,
            extra={
                "bodies": b200,
                "not_modified": b304,
                "other": bad,
                "parsed_feeds": int(unchanged.stage("parse", "calls")),
                "parsed_items": int(unchanged.stage("parse.normalize", "units")),
                "summarized": after_unchanged.summaries - after_cold.summaries,
                "items_changed": sum(
                    1 for k, v in after_unchanged.items.items() if after_cold.items.get(k) != v
                ),
                "computed": int(unchanged.stage("summarize.compute", "units")),
            },
        )

        # The same, with more requests at once: the network is all an unchanged build
        # costs, and its floor is ceil(feeds / concurrency) x latency.
        wide = write_config(work / "http", urls, args.wide)
        server.reset()
        wide_run = run_child(build_argv(wide), stages=True).check()
        b200, b304, bad = _bodies(server)
        out["wide"] = Result(
            f"unchanged, concurrency {args.wide}",
            wide_run,
            corpus.items,
            extra={"bodies": b200, "not_modified": b304, "other": bad},
        )
        config = write_config(work / "http", urls, args.concurrency)

        nxt, counts = evolve(corpus, fraction=args.fraction)
        server.publish(nxt)
        server.reset()
        inc = run_child(build_argv(config), stages=True).check()
        after_inc = store_state(store_path)
        b200, b304, bad = _bodies(server)
        out["incremental"] = Result(
            "incremental",
            inc,
            nxt.items,
            extra={
                **counts,
                "bodies": b200,
                "not_modified": b304,
                "other": bad,
                "parsed_items": int(inc.stage("parse.normalize", "units")),
                "stored_new": sum(1 for k in after_inc.items if k not in after_unchanged.items),
                "stored_edited": sum(
                    1
                    for k, v in after_inc.items.items()
                    if k in after_unchanged.items and after_unchanged.items[k] != v
                ),
                "summarized": after_inc.summaries - after_unchanged.summaries,
            },
        )

        # The same feeds with `Cache-Control: max-age=1800`: once a build has seen it, the
        # next one does not ask at all.
        server.publish(nxt, cache_control="max-age=1800")
        run_child(build_argv(config)).check()
        server.reset()
        fresh = run_child(build_argv(config), stages=True).check()
        b200, b304, bad = _bodies(server)
        out["fresh"] = Result(
            "unchanged, max-age",
            fresh,
            nxt.items,
            extra={"bodies": b200, "not_modified": b304, "other": bad},
        )
        server.publish(corpus, cache_control="")

        _log(f"{style} #{rep + 1}: every item in one digest (--max-items {args.every_max})")
        every_config = write_config(work / "every", urls, args.concurrency)
        server.reset()
        every = run_child(
            build_argv(every_config, "--max-items", str(args.every_max)), stages=True
        ).check()
        out["every"] = Result(
            f"every item ({corpus.items:,})",
            every,
            corpus.items,
            extra={"entries": _digest_entries(every_config.parent)},
        )

        if rep == 0:
            server.reset()
            fetch_run = run_child([PYTHON, __file__, "--fetch-child", str(config)]).check()
            out["fetch"] = Result(
                "fetch layer", fetch_run, 0, extra=json.loads(fetch_run.stdout.splitlines()[-1])
            )
    shutil.rmtree(work, ignore_errors=True)
    return out


def _digest_entries(folder: Path) -> int:
    """Stories in the newest digest.json under the folder's output."""
    found = sorted((folder / "output").glob("**/digest.json"))
    if not found:
        return 0
    data = json.loads(found[-1].read_text(encoding="utf-8"))
    return sum(len(s.get("items", ())) for s in data.get("sections", ()))


def run_scale(args: argparse.Namespace, work: Path, style: str) -> list[Result]:
    """Every-item digests of growing size from LOCAL FILES (no HTTP: CPU and memory only)."""
    out = []
    for n in args.scale:
        feeds = math.ceil(n / args.items)
        _log(f"{style}: every item, {n:,} items ({feeds} local feed files)")
        corpus = make(style, feeds, args.items, args.words, total=n)
        folder = work / f"scale-{style}-{n}"
        paths = write_files(corpus, folder / "feeds")
        config = write_config(folder, [str(p) for p in paths], args.concurrency)
        every = str(max(args.every_max, n))
        run = run_child(build_argv(config, "--max-items", every), stages=True).check()
        out.append(
            Result(
                f"every item {n:,}",
                run,
                corpus.items,
                extra={"feeds": feeds, "entries": _digest_entries(folder)},
            )
        )
        shutil.rmtree(folder, ignore_errors=True)
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


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _spread(values: list[float], fmt: str = "{:.2f}") -> str:
    if len(values) < 2:
        return ""
    return f" (runs: {', '.join(fmt.format(v) for v in values)})"


def _rss_note(r: Result) -> str:
    """The stages the process's peak memory rose in, biggest first."""
    stages = r.run.stages.get("stages", {})
    leaves = ("parse", "store.items", "summarize", "dedupe", "themes", "render")
    grew = sorted(((stages.get(k, {}).get("rss_grew_mb", 0.0), k) for k in leaves), reverse=True)
    return ", ".join(f"{k} +{v:.0f}" for v, k in grew if v >= 5)


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
        f"{_s(st.stage('parse.normalize'))} ({int(st.stage('parse.normalize', 'units'))})",
        _s(st.stage("store.upsert")),
        f"{_s(st.stage('summarize'))} ({int(st.stage('summarize.compute', 'units'))})",
        _s(st.stage("dedupe")),
        _s(st.stage("themes")),
        _s(st.stage("render") + st.stage("write")),
        _s(build - accounted) if build else "",
        f"{r.run.peak_mb:.0f}" + (f" ({_rss_note(r)})" if _rss_note(r) else ""),
    ]


STAGE_HEAD = [
    "run",
    "wall s",
    "start-up+exit s",
    "ingest s",
    "fetch span s",
    "parse = feedparser + normalize s (items normalized) ¹",
    "store s",
    "summaries s (computed)",
    "dedupe s",
    "themes s",
    "render+write s",
    "other s",
    "peak MB (peak rose in, MB)",
]


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class Verdict:
    name: str
    value: float
    shown: str
    goal: str
    met: bool


def style_report(
    args: argparse.Namespace, style: str, reps: list[dict[str, Result]], scale: list[Result]
) -> tuple[list[str], list[Verdict]]:
    """The issue's table for one corpus (medians over repeats), then the details of run 1."""
    first = reps[0]
    bare = [r["bare"].extra["wall"] for r in reps]
    bare_all = [r["bare"].extra["wall_all"] for r in reps]
    cold = [r["cold"].run.wall for r in reps]
    unchanged = [r["unchanged"].run.wall for r in reps]
    fresh = [r["fresh"].run.wall for r in reps]
    wide = [r["wide"].run.wall for r in reps]
    imports = [r["imports"].run.wall for r in reps]
    inc = [r["incremental"].run.wall for r in reps]
    every = [r["every"].run.wall for r in reps]
    every_mb = [r["every"].run.peak_mb for r in reps]
    cb = [c / b for c, b in zip(cold, bare, strict=True)]
    uc = [u / c for u, c in zip(unchanged, cold, strict=True)]
    fc = [f / c for f, c in zip(fresh, cold, strict=True)]
    wc = [w / c for w, c in zip(wide, cold, strict=True)]
    floor = [(i + u) / c for i, u, c in zip(imports, unchanged, cold, strict=True)]
    ic = [i / c for i, c in zip(inc, cold, strict=True)]
    eb = [e / b for e, b in zip(every, bare_all, strict=True)]
    n = first["cold"].items
    e_inc = first["incremental"].extra
    verdicts = [
        Verdict("cold/bare", _median(cb), f"{_median(cb):.3f}", "<= 0.3", _median(cb) <= 0.3),
        Verdict("unchanged/cold", _median(uc), f"{_median(uc):.3f}", "<= 0.1", _median(uc) <= 0.1),
        Verdict(
            "incremental/cold", _median(ic), f"{_median(ic):.3f}", "<= 0.2", _median(ic) <= 0.2
        ),
        Verdict("every/bare-all", _median(eb), f"{_median(eb):.3f}", "<= 0.3", _median(eb) <= 0.3),
        Verdict(
            f"every-item peak MB at {n:,}",
            _median(every_mb),
            f"{_median(every_mb):.0f}",
            "< 500",
            _median(every_mb) < 500,
        ),
    ]
    # No faster than linear: memory per item may fall as items grow, never rise (10 % slack).
    per_item = [(r.items, r.run.peak_mb / r.items) for r in scale]
    linear = all(b <= a * 1.1 for (_, a), (_, b) in zip(per_item, per_item[1:], strict=False))
    sizes = " / ".join(f"{r.items:,}" for r in scale)
    peaks = " / ".join(f"{r.run.peak_mb:.0f}" for r in scale)
    if scale:
        verdicts.append(Verdict(f"peak MB {sizes}", 0.0, peaks, "linear or better", linear))
    met = {v.name: "yes" if v.met else "**NO**" for v in verdicts}
    reps_note = f"median of {len(reps)} runs" if len(reps) > 1 else "one run"
    rows = [
        [
            f"cron cold ({n:,} new items → default digest)",
            f"{_median(cold):.1f} s = **{_median(cb):.2f}x** the bare script "
            f"({_median(bare):.1f} s){_spread(cb)}",
            "<= 0.3x",
            met["cold/bare"],
        ],
        [
            "unchanged (every feed answers 304)",
            f"{_median(unchanged):.2f} s = **{_median(uc):.2f}x** cold{_spread(uc)}",
            "<= 0.1x",
            met["unchanged/cold"],
        ],
        [
            f"unchanged, `fetch.concurrency = {args.wide}` (every feed answers 304)",
            f"{_median(wide):.2f} s = **{_median(wc):.2f}x** cold{_spread(wc)}",
            "",
            "",
        ],
        [
            "unchanged, feeds send `Cache-Control: max-age=1800` (none requested)",
            f"{_median(fresh):.2f} s = **{_median(fc):.2f}x** cold{_spread(fc)}",
            "",
            "",
        ],
        [
            "floor of a build with news: start-up and imports + 304 round trips",
            f"{_median(imports):.2f} s + {_median(unchanged):.2f} s = "
            f"**{_median(floor):.2f}x** cold{_spread(floor)}",
            "",
            "",
        ],
        [
            f"incremental (+{e_inc['changes']} items, {args.fraction:.0%})",
            f"{_median(inc):.2f} s = **{_median(ic):.2f}x** cold{_spread(ic)}",
            "<= 0.2x",
            met["incremental/cold"],
        ],
        [
            f"every item in the digest (`--max-items {args.every_max}`), {n:,} items",
            f"{_median(every):.1f} s = **{_median(eb):.2f}x** a bare script that summarizes "
            f"all ({_median(bare_all):.1f} s){_spread(eb)}; peak **{_median(every_mb):.0f} MB**",
            "<= 0.3x; < 500 MB",
            f"{met['every/bare-all']}; {met[f'every-item peak MB at {n:,}']}",
        ],
    ]
    if scale:
        slope = " / ".join(f"{mb * 1000:.0f}" for _, mb in per_item)
        rows.append(
            [
                f"every-item digests of {sizes} items (local files)",
                f"peak {peaks} MB; {slope} MB per 1,000 items; wall "
                + " / ".join(f"{r.run.wall:.1f}" for r in scale)
                + " s",
                "memory no faster than the items",
                "yes" if linear else "**NO**",
            ]
        )
    md = [
        f"## {style.capitalize()} corpus ({reps_note})",
        "",
        table(["build", "measured", "goal", "met"], rows),
        "",
    ]
    md += details(args, first, scale)
    return md, verdicts


def details(args: argparse.Namespace, first: dict[str, Result], scale: list[Result]) -> list[str]:
    bare, cold, unchanged, wide, inc, fresh, every = (
        first[k] for k in ("bare", "cold", "unchanged", "wide", "incremental", "fresh", "every")
    )
    rows = [
        [
            bare.name,
            _s(bare.run.wall),
            _s(bare.run.cpu),
            f"{bare.items:,}",
            f"{bare.run.peak_mb:.0f}",
            bare.notes,
        ]
    ]
    for r in (cold, unchanged, wide, fresh, inc):
        e = r.extra
        note = f"200: {e['bodies']}, 304: {e['not_modified']}" + (
            f", other: {e['other']}" if e["other"] else ""
        )
        rows.append(
            [r.name, _s(r.run.wall), _s(r.run.cpu), f"{r.items:,}", f"{r.run.peak_mb:.0f}", note]
        )
    rows.append(
        [
            every.name,
            _s(every.run.wall),
            _s(every.run.cpu),
            f"{every.items:,}",
            f"{every.run.peak_mb:.0f}",
            f"{every.extra['entries']:,} stories in the digest",
        ]
    )
    if "fetch" in first:
        f = first["fetch"].extra
        rows.append(
            [
                "fetch layer",
                _s(f["wall"]),
                _s(first["fetch"].run.cpu),
                f"{f['feeds']} feeds",
                f"{first['fetch'].run.peak_mb:.0f}",
                f"{f['bytes'] / 1e6:.1f} MB of bodies"
                + (f"; errors: {f['errors']}" if f["errors"] else ""),
            ]
        )
    for r in scale:
        rows.append(
            [
                f"{r.name} (files)",
                _s(r.run.wall),
                _s(r.run.cpu),
                f"{r.items:,}",
                f"{r.run.peak_mb:.0f}",
                f"{r.extra['entries']:,} stories; maxrss {r.run.maxrss_mb:.0f} MB, "
                f"tree PSS {r.run.peak_pss_mb:.0f} MB",
            ]
        )
    u, i, c = unchanged.extra, inc.extra, cold.extra
    work = [
        ["bodies fetched (HTTP 200)", str(c["bodies"]), str(u["bodies"]), str(i["bodies"])],
        ["304 answers", str(c["not_modified"]), str(u["not_modified"]), str(i["not_modified"])],
        [
            "entries normalized",
            str(int(cold.run.stage("parse.normalize", "units"))),
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
    return [
        "Runs (the first repeat):",
        "",
        table(["run", "wall s", "cpu s", "items", "peak MB ²", "notes"], rows),
        "",
        "Work done (should follow the new items):",
        "",
        table(["", "cold", "unchanged", f"incremental ({args.fraction:.0%})"], work),
        "",
        "Where the time and memory go (stage timers):",
        "",
        table(
            STAGE_HEAD, [stage_row(r) for r in (cold, unchanged, wide, fresh, inc, every, *scale)]
        ),
        "",
    ]


def report(
    args: argparse.Namespace,
    results: dict[str, tuple[list[dict[str, Result]], list[Result]]],
    send_line: str,
) -> tuple[str, str]:
    """(markdown report, last line of ratios)."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    md = [
        "# Build benchmark",
        "",
        f"`{' '.join(['python', 'benchmarks/build.py', *sys.argv[1:]])}` on {os.cpu_count()} "
        f"cores, {when}. Each corpus: {args.feeds} feeds x {args.items} items, every feed on "
        f"its own loopback address (a site of its own) behind {args.latency * 1000:.0f} ms "
        f"latency with ETag/304; fetch.concurrency = {args.concurrency}, per_host = 2. "
        "Ratios are taken within one repeat (same minute, same machine load), then the "
        "median over repeats is shown. The bare script fetches every feed with urllib, "
        f"parses it with feedparser and summarizes the {args.newest} newest items with sumy "
        "TextRank, one after the other; for the every-item row it summarizes all of them."
        + (f" Extra environment: {' '.join(args.env)}." if args.env else ""),
        "",
    ]
    line_parts = []
    targets = []
    for style, (reps, scale) in results.items():
        part, verdicts = style_report(args, style, reps, scale)
        md += part
        for v in verdicts:
            targets.append([f"{style}: {v.name}", v.shown, v.goal, "yes" if v.met else "**NO**"])
            line_parts.append(f"{style}:{v.name}={v.shown}")
    md += [
        "¹ parse runs on the main thread while the fetch threads wait on the network, and in "
        "a parser process beside it when many feeds changed: the column counts only what the "
        'main thread parsed (its items in brackets), "ingest" holds both. "fetch span" is '
        "first fetch start to last fetch end. ² the larger of the child's ru_maxrss and the "
        "sampled PSS of its process tree (parser and summary workers included).",
        "",
        "## Targets",
        "",
        table(["target", "measured", "goal", "met"], targets),
        "",
        f"send: {send_line}",
        "",
    ]
    line = "ratios: " + "  ".join(line_parts) + f"  send: {send_line}"
    md += ["```", line, "```", ""]
    return "\n".join(md), line


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Build performance benchmark (see module docstring)."
    )
    parser.add_argument("--quick", action="store_true", help="small corpora: a smoke run")
    parser.add_argument(
        "--corpus",
        default="prose,templated",
        help="comma-separated corpora: prose (benchmarks/corpus.py), templated "
        "(benchmarks/templated.py)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="repeats of the HTTP runs (medians)")
    parser.add_argument("--skip-scale", action="store_true", help="skip the every-item scale runs")
    parser.add_argument(
        "--scale-only", action="store_true", help="only the every-item scale runs (prints them)"
    )
    parser.add_argument("--skip-send", action="store_true", help="do not run benchmarks/send.py")
    parser.add_argument("--feeds", type=int)
    parser.add_argument("--items", type=int, help="items per feed")
    parser.add_argument("--words", type=int, default=800, help="words per prose item")
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument(
        "--concurrency", type=int, default=128, help="fetch.concurrency (the default)"
    )
    parser.add_argument(
        "--wide", type=int, default=256, help="fetch.concurrency of the extra unchanged run"
    )
    parser.add_argument("--fraction", type=float, default=0.05, help="share of items new/edited")
    parser.add_argument("--newest", type=int, default=60, help="items the bare script summarizes")
    parser.add_argument("--every-max", type=int, default=5000, help="--max-items of every-item")
    parser.add_argument(
        "--scale",
        type=lambda s: [int(x) for x in s.split(",")],
        help="comma-separated item counts of the every-item runs (default 300,1000,3000,10000)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the product's builds (what-if runs); repeatable",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--no-write", action="store_true", help="do not write results/build.md")
    parser.add_argument("--bare-child", help=argparse.SUPPRESS)
    parser.add_argument("--fetch-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_child:
        return bare_child(args.bare_child, args.newest)
    if args.fetch_child:
        return fetch_child(args.fetch_child)
    for pair in args.env:
        name, _, value = pair.partition("=")
        PRODUCT_ENV[name] = value
    args.feeds = args.feeds or (20 if args.quick else 100)
    args.items = args.items or (15 if args.quick else 30)
    args.scale = args.scale or ([300, 1000] if args.quick else [300, 1000, 3000, 10000])
    styles = [s.strip() for s in args.corpus.split(",") if s.strip()]
    work = Path(tempfile.mkdtemp(prefix="nl-bench-build-"))
    _log(f"work folder {work}")
    results: dict[str, tuple[list[dict[str, Result]], list[Result]]] = {}
    try:
        for style in styles:
            if args.scale_only:
                for r in run_scale(args, work, style):
                    print(
                        f"{style} {r.name}: wall {r.run.wall:.1f} s, cpu {r.run.cpu:.1f} s, "
                        f"peak {r.run.peak_mb:.0f} MB ({_rss_note(r)})",
                        flush=True,
                    )
                continue
            reps = [run_http(args, work, style, rep) for rep in range(args.repeat)]
            scale = [] if args.skip_scale else run_scale(args, work, style)
            results[style] = (reps, scale)
        if args.scale_only:
            return
        send_line = "skipped (--skip-send)" if args.skip_send else run_send(args)
        md, line = report(args, results, send_line)
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
