"""Scale out: one digest to 100,000 confirmed subscribers by 1, 2 and 4 sender processes on a
PostgreSQL store, and by one on SQLite, side by side.

Each configuration gets a fresh store with the same subscribers and one built digest, and
runs, all on 127.0.0.1:

  sink      an asyncio SMTP server that answers each message's final "." only after
            `--delay-ms` (a remote server's latency: the sink, not the database, is the
            limit) and counts the copies each recipient gets
  web       the web app under waitress on the same store, with `--clients` visitors
            looping GET /subscribe -> POST /subscribe (a new address each time) during the send
  senders   N `newsletter send` processes started together on the same digest, each with
            `--connections` SMTP connections (as N hosts would)

Checked: every subscriber got exactly one copy, no request failed. Measured: the send's
wall time and messages/s, the speed-up over one process, the web app's p50/p95 while the
senders ran, and each sender's peak memory (max RSS). Prints a table and writes
benchmarks/results/scale.md.

    .venv/bin/python benchmarks/scale.py                 # 100,000 subscribers (~35 min)
    .venv/bin/python benchmarks/scale.py --quick         # 5,000, a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
for extra in (REPO, REPO / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from benchmarks.child import Child  # noqa: E402
from benchmarks.sink import Sink  # noqa: E402

PYTHON = sys.executable
RESULTS = REPO / "benchmarks" / "results" / "scale.md"
LIST = "bench"
SENDER = "digest@bench.example.org"


# -- the sink (child process) -------------------------------------------------------------------
def sink_child(delay: float) -> None:
    """Serve on a free port (printed); each stdin line asks for the counts (one JSON line),
    "reset" clears them; EOF stops."""
    Sink.delay = delay

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Sink, "127.0.0.1", 0, backlog=512)
        print(server.sockets[0].getsockname()[1], flush=True)
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            if line.strip() == "reset":
                Sink.counts = {}
                print("{}", flush=True)
                continue
            readers = [n for r, n in Sink.counts.items() if r.startswith("reader-")]
            print(
                json.dumps(
                    {
                        "readers": len(readers),
                        "copies": sum(readers),
                        "duplicates": sum(1 for n in readers if n > 1),
                    }
                ),
                flush=True,
            )
        server.close()

    asyncio.run(main())


def web_child(config_path: str) -> None:
    """The web app under waitress (8 threads) on a free port (printed)."""
    import logging

    from waitress import create_server

    from newsletter.config import load_config
    from newsletter.web.app import create_app

    logging.basicConfig(level=logging.WARNING)
    app = create_app(load_config(config_path, env=os.environ))
    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    print(server.effective_port, flush=True)
    server.run()


# -- the store ----------------------------------------------------------------------------------
def write_config(
    folder: Path, store: dict[str, str], smtp_port: int, connections: int, name: str
) -> Path:
    table = "\n".join(f"{k} = {json.dumps(v)}" for k, v in store.items())
    text = f"""
[site]
name = "Bench News"
url = "https://bench.example.org"

[list]
name = "{LIST}"
from = "Bench News <{SENDER}>"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
connections = {connections}
timeout = 60

[web]  # one client address makes every request
subscribe_per_ip_per_hour = 10000000
subscribe_per_address_per_hour = 1000

[store]
{table}

[output]
dir = "output"
"""
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def prepare(config_path: Path, subscribers: int, env: dict[str, str]) -> tuple[int, float]:
    """`subscribers` confirmed readers (written in one COPY / batch) and one digest with its
    files; (digest id, seconds)."""
    from send import digest_html, digest_text

    from newsletter.config import load_config
    from newsletter.store import open_store

    started = time.perf_counter()
    config = load_config(config_path, env=env)
    folder = config.output_dir / LIST / "20260105-070000"
    folder.mkdir(parents=True, exist_ok=True)
    html = digest_html(40 * 1024)
    (folder / "digest.html").write_text(html, encoding="utf-8")
    (folder / "digest.txt").write_text(digest_text(html.count("Story ")), encoding="utf-8")
    now = "2026-01-05T06:00:00.000000Z"
    columns = ["id", "list_name", "email", "name", "status", "source", "created_at"]
    rows = (
        (i + 1, LIST, f"reader-{i:06d}@bench.example.org", f"Reader {i}", "confirmed", "", now)
        for i in range(subscribers)
    )
    with open_store(config) as store:
        with store.transaction():
            store.db.copy_rows("subscribers", columns, rows)
            store.db.after_copy("subscribers")
        digest_id = store.create_digest(
            LIST, datetime(2026, 1, 5, 7, tzinfo=UTC), str(folder), "Bench News: Story 1", []
        )
        store.create_deliveries(digest_id)  # as `send` would, before the senders start
    return digest_id, time.perf_counter() - started


# -- children -----------------------------------------------------------------------------------
# -- web load -----------------------------------------------------------------------------------
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Load:
    """`clients` visitors, each subscribing a new address again and again."""

    def __init__(self, port: int, clients: int) -> None:
        self.port = port
        self.clients = clients
        self.seconds: list[float] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def _request(
        self, conn: http.client.HTTPConnection, method: str, path: str, cookie: str, body=None
    ) -> tuple[int, str, str]:
        headers = {"Cookie": cookie} if cookie else {}
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        took = time.perf_counter() - started
        set_cookie = response.getheader("Set-Cookie") or ""
        with self.lock:
            self.seconds.append(took)
            if response.status >= 400:
                self.errors.append(f"{method} {path}: HTTP {response.status}")
        return response.status, text, set_cookie.split(";", 1)[0] or cookie

    def _client(self, n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        serial = 0
        try:
            while not self.stop.is_set():
                serial += 1
                try:
                    _, page, cookie = self._request(conn, "GET", "/subscribe", "")
                    token = _TOKEN.search(page)
                    email = f"web-{n}-{serial}-{secrets.token_hex(3)}@bench.example.org"
                    form = {
                        "email": email,
                        "list": LIST,
                        "csrf_token": token.group(1) if token else "",
                    }
                    self._request(conn, "POST", "/subscribe", cookie, form)
                except (OSError, http.client.HTTPException) as e:
                    with self.lock:
                        self.errors.append(f"{type(e).__name__}: {e}")
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                time.sleep(0.1)  # visitors, not a flood: the senders are what is measured
        finally:
            conn.close()

    def start(self) -> None:
        self.threads = [
            threading.Thread(target=self._client, args=(n,), daemon=True)
            for n in range(self.clients)
        ]
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- one configuration --------------------------------------------------------------------------
@dataclass
class Result:
    engine: str
    senders: int
    subscribers: int
    seconds: float = 0.0
    sent: int = 0
    readers: int = 0
    duplicates: int = 0
    web_requests: int = 0
    web_errors: int = 0
    web_p50: float = 0.0
    web_p95: float = 0.0
    peak_rss_mb: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)
    prepare_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    @property
    def exactly_once(self) -> bool:
        return self.readers == self.subscribers and self.duplicates == 0


def measure(
    engine: str,
    senders: int,
    store: dict[str, str],
    work: Path,
    args: argparse.Namespace,
    sink: Child,
    env: dict[str, str],
) -> Result:
    name = f"{engine}-{senders}"
    result = Result(engine, senders, args.subscribers)
    config_path = write_config(work, store, sink.port, args.connections, name)
    digest_id, result.prepare_seconds = prepare(config_path, args.subscribers, env)
    sink.ask("reset")
    web = Child([PYTHON, __file__, "--web-child", str(config_path)], env, port=True)
    load = Load(web.port, args.clients)
    load.start()
    time.sleep(1.0)  # the web app warm: its first requests load templates
    with load.lock:
        load.seconds.clear()
    print(f"[{name}] {senders} sender(s) on {args.subscribers:,} subscribers", file=sys.stderr)
    argv = [PYTHON, "-m", "newsletter", "-q", "send", "-c", str(config_path)]
    argv += ["--digest", str(digest_id)]
    started = time.perf_counter()
    procs = [Child(argv, env, port=False) for _ in range(senders)]
    for proc in procs:
        code, rss, cpu = proc.wait_with_rusage()
        result.exit_codes.append(code)
        result.peak_rss_mb.append(rss / 1024)
        result.cpu_seconds.append(cpu)
        if code != 0:
            result.notes.append(f"a sender exited {code}: {' | '.join(proc.err[-3:])}")
    result.seconds = time.perf_counter() - started
    load.finish()
    web.stop()
    counts = sink.ask()
    result.readers, result.duplicates = counts["readers"], counts["duplicates"]
    result.sent = counts["copies"]
    result.web_requests, result.web_errors = len(load.seconds), len(load.errors)
    result.web_p50, result.web_p95 = _pct(load.seconds, 0.5), _pct(load.seconds, 0.95)
    if load.errors:
        result.notes.append(f"web errors, first: {load.errors[0]}")
    print(
        f"[{name}] {result.sent:,} copies in {result.seconds:.1f} s ({result.rate:,.0f}/s), "
        f"web p95 {result.web_p95 * 1000:.0f} ms, exactly once: {result.exactly_once}",
        file=sys.stderr,
    )
    return result


# -- report -------------------------------------------------------------------------------------
def table(results: list[Result]) -> list[str]:
    base = next((r.rate for r in results if r.engine == "postgresql" and r.senders == 1), 0.0)
    lines = [
        "| store | senders | seconds | messages/s | vs 1 sender | exactly once | "
        "web p50 ms | web p95 ms | web requests (errors) | peak RSS per sender MB | "
        "sender CPU ms per message |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        speedup = f"{r.rate / base:.2f}x" if base and r.engine == "postgresql" else "-"
        lines.append(
            f"| {r.engine} | {r.senders} | {r.seconds:.1f} | {r.rate:,.0f} | {speedup} | "
            f"{'yes' if r.exactly_once else 'NO'} ({r.readers:,} of {r.subscribers:,}, "
            f"{r.duplicates} twice) | {r.web_p50 * 1000:.0f} | {r.web_p95 * 1000:.0f} | "
            f"{r.web_requests:,} ({r.web_errors}) | "
            f"{', '.join(f'{m:.0f}' for m in r.peak_rss_mb)} | "
            f"{sum(r.cpu_seconds) * 1000 / max(r.sent, 1):.2f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int)
    parser.add_argument("--quick", action="store_true", help="5,000 subscribers")
    parser.add_argument("--senders", default="1,2,4", help="PostgreSQL sender counts")
    parser.add_argument("--connections", type=int, default=16, help="SMTP connections per sender")
    parser.add_argument("--delay-ms", type=float, default=100.0, help="the sink's reply delay")
    parser.add_argument("--clients", type=int, default=2, help="web visitors during the send")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--sink-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--web-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink_child:
        return sink_child(args.delay_ms / 1000)
    if args.web_child:
        return web_child(args.web_child)
    args.subscribers = args.subscribers or (5_000 if args.quick else 100_000)

    from support.postgres import PostgresServer

    work = Path(tempfile.mkdtemp(prefix="nl-bench-scale-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["NEWSLETTER_SECRET_KEY"] = secrets.token_urlsafe(32)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    results: list[Result] = []
    sink = Child(
        [PYTHON, __file__, "--sink-child", "--delay-ms", str(args.delay_ms)],
        env,
        port=True,
        stdin=True,
    )
    try:
        with PostgresServer() as server:
            for senders in [int(n) for n in args.senders.split(",")]:
                url = server.url(server.create_database())
                results.append(measure("postgresql", senders, {"url": url}, work, args, sink, env))
            if not args.no_sqlite:
                path = str(work / "sqlite.sqlite")
                results.append(measure("sqlite", 1, {"path": path}, work, args, sink, env))
    finally:
        sink.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    lines = table(results)
    notes = [n for r in results for n in r.notes]
    four = next((r for r in results if r.engine == "postgresql" and r.senders == 4), None)
    one = next((r for r in results if r.engine == "postgresql" and r.senders == 1), None)
    verdict = ""
    if four and one and one.rate:
        verdict = f"4 senders / 1 sender = {four.rate / one.rate:.2f} (goal >= 3)"
    report = [
        "# Scale out: senders on one PostgreSQL store",
        "",
        f"`python benchmarks/scale.py{' --quick' if args.quick else ''}` on {os.cpu_count()} "
        f"cores, {datetime.now(UTC):%Y-%m-%d %H:%M UTC}: {args.subscribers:,} confirmed "
        f"subscribers, one ~40 KB digest; each sender a `newsletter send` process with "
        f"{args.connections} SMTP connections to a local sink that answers each message "
        f"after {args.delay_ms:.0f} ms; {args.clients} web visitors subscribing during the "
        "send (waitress, 8 threads, same store). PostgreSQL: Debian's server, started by the "
        "benchmark (fsync off, as in the tests).",
        "",
        *lines,
        "",
        *([f"- {verdict}"] if verdict else []),
        *[f"- {n}" for n in notes],
        "",
    ]
    print("\n".join(lines))
    if verdict:
        print(verdict)
    RESULTS.write_text("\n".join(report), encoding="utf-8")
    print(f"written to {RESULTS.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
