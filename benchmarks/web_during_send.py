"""The web app stays fast and error-free while a large send runs on the same SQLite store.

Sets up a store with one built digest and 20,000 confirmed subscribers, then runs four
processes on 127.0.0.1: a counting SMTP sink (aiosmtpd), the web app
(`newsletter.web.app.create_app`) under waitress, the sender (`newsletter.mail.deliver.send`, what
`newsletter send` runs) and this script as the client: 50 concurrent workers, each looping
through a full flow of six requests:

    GET /subscribe -> POST /subscribe (a new address; the form's own fields, CSRF included)
    GET /confirm/<token> -> POST it        (token signed with the store's secret)
    GET /unsubscribe/<token> -> POST it

first with no send running ("idle"), then while the 20,000-message send runs ("during
send"). Every answer must be 2xx/3xx; "database is locked" must appear nowhere (responses,
web log, sender log); every subscriber of the send must get exactly one message. Prints
p50/p95/max per phase side by side and writes benchmarks/results/web_during_send.md.

    .venv/bin/python benchmarks/web_during_send.py            # 20,000 subscribers
    .venv/bin/python benchmarks/web_during_send.py --quick    # 2,000, a short smoke run
"""

from __future__ import annotations

import argparse
import csv
import html
import http.client
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.child import Child  # noqa: E402

PYTHON = sys.executable
RESULTS = REPO / "benchmarks" / "results" / "web_during_send.md"
LOCKED = "database is locked"
LIST = "bench"


# -- child processes: SMTP sink, web server, sender -------------------------------------------
def sink_child() -> None:
    """An aiosmtpd server that only counts messages per recipient (prints its port).

    Each line on stdin asks for the counts, answered as one JSON line; EOF stops it.
    """
    from aiosmtpd.controller import Controller

    class Counter:
        def __init__(self) -> None:
            self.per_rcpt: dict[str, int] = {}
            self.messages = 0
            self.bytes = 0

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def] # noqa: N802
            self.messages += 1
            self.bytes += len(envelope.original_content or envelope.content or b"")
            for rcpt in envelope.rcpt_tos:
                self.per_rcpt[rcpt] = self.per_rcpt.get(rcpt, 0) + 1
            return "250 OK"

    class Ctl(Controller):
        def _trigger_server(self) -> None:  # learn the real port of port 0 first
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    handler = Counter()
    controller = Ctl(handler, hostname="127.0.0.1", port=0, data_size_limit=50_000_000)
    controller.start()
    print(controller.port, flush=True)
    for _ in sys.stdin:
        readers = {k: v for k, v in list(handler.per_rcpt.items()) if k.startswith("reader-")}
        print(
            json.dumps(
                {
                    "messages": handler.messages,
                    "bytes": handler.bytes,
                    "readers": len(readers),  # subscribers of the send who got a message
                    "reader_messages": sum(readers.values()),
                    "duplicates": sum(1 for n in readers.values() if n > 1),
                }
            ),
            flush=True,
        )
    controller.stop()


def web_child(config_path: str, threads: int) -> None:
    """The web app under waitress on a free port (prints the port)."""
    import logging

    from waitress import create_server

    from newsletter.config import load_config
    from newsletter.web.app import create_app

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = load_config(config_path, env=os.environ)
    app = create_app(config)
    server = create_server(app, host="127.0.0.1", port=0, threads=threads)
    print(server.effective_port, flush=True)
    server.run()


def send_child(config_path: str) -> None:
    """`newsletter send` for the list, via the library; prints a JSON report."""
    import logging

    from newsletter.config import load_config
    from newsletter.mail.deliver import send
    from newsletter.store import Store

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = load_config(config_path, env=os.environ)
    store = Store(config.store_path)
    start = time.perf_counter()
    reports = send(config, store, LIST)
    wall = time.perf_counter() - start
    print(
        json.dumps(
            {
                "wall": wall,
                "sent": sum(r.sent for r in reports),
                "failed": sum(r.failed for r in reports),
                "pending": sum(r.pending for r in reports),
                "lines": [r.summary_line() for r in reports],
            }
        ),
        flush=True,
    )


# -- the client -------------------------------------------------------------------------------
_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_FIELD = re.compile(r"<(input|button|textarea)\b([^>]*)>", re.I)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")


def _attrs(text: str) -> dict[str, str]:
    return {
        m.group(1).lower(): html.unescape(next(g for g in m.groups()[1:] if g is not None))
        for m in _ATTR.finditer(text)
    }


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str]
    names: list[str]


def forms(page: str) -> list[Form]:
    """The forms of a page with their default values (hidden fields, first submit button)."""
    out = []
    for m in _FORM.finditer(page):
        attrs = _attrs(m.group(1))
        fields: dict[str, str] = {}
        names: list[str] = []
        button_done = False
        for fm in _FIELD.finditer(m.group(2)):
            tag, a = fm.group(1).lower(), _attrs(fm.group(2))
            name = a.get("name")
            if not name:
                continue
            names.append(name)
            kind = a.get("type", "submit" if tag == "button" else "text").lower()
            if kind in ("submit", "image") or tag == "button":
                if not button_done and "value" in a:
                    fields[name] = a["value"]
                button_done = True
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    fields[name] = a.get("value", "on")
            else:
                fields[name] = a.get("value", "")
        out.append(Form(attrs.get("action", ""), attrs.get("method", "get").lower(), fields, names))
    return out


@dataclass
class Sample:
    phase: str
    step: str
    seconds: float
    status: int
    error: str = ""


class Client:
    """One keep-alive HTTP connection with a cookie jar (one simulated visitor)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: dict[str, str] | None = None
    ) -> tuple[int, str, dict]:
        headers = {"User-Agent": "nl-bench", "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                k, _, v = value.split(";", 1)[0].partition("=")
                self.cookies[k.strip()] = v.strip()
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return response.status, text, dict(response.getheaders())

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _path(url: str, default: str) -> str:
    if not url:
        return default
    parts = urlsplit(url)
    return (parts.path or default) + (f"?{parts.query}" if parts.query else "")


class Load:
    """`workers` visitors looping through subscribe -> confirm -> unsubscribe."""

    def __init__(self, port: int, store_path: Path, secret: str, workers: int) -> None:
        from newsletter.audience.tokens import Tokens

        self.port = port
        self.store_path = store_path
        self.tokens = Tokens(secret)
        self.workers = workers
        self.samples: list[Sample] = []
        self.lock = threading.Lock()
        self.phase = "idle"
        self.stop = threading.Event()
        self.flows = 0
        self.serial = 0
        self.locked_in_responses = 0

    def _email(self) -> str:
        with self.lock:
            self.serial += 1
            return f"web-{self.serial:06d}-{secrets.token_hex(3)}@bench.example.org"

    def _id(self, db: sqlite3.Connection, email: str) -> tuple[int, dict[str, str]] | None:
        """The subscriber's id and the key each purpose's link carries."""
        row = db.execute(
            "SELECT id, link_key, confirm_key FROM subscribers WHERE list_name = ? AND email = ?",
            (LIST, email),
        ).fetchone()
        return (row[0], {"confirm": row[2], "unsubscribe": row[1]}) if row else None

    def _step(
        self, client: Client, step: str, method: str, path: str, body: dict[str, str] | None = None
    ) -> tuple[int, str]:
        phase = self.phase
        t0 = time.perf_counter()
        error = ""
        try:
            status, text, _ = client.request(method, path, body)
        except Exception as e:  # a refused/reset connection is an error, not a crash
            status, text, error = 0, "", f"{type(e).__name__}: {e}"
        took = time.perf_counter() - t0
        if LOCKED in text:
            error = LOCKED
            with self.lock:
                self.locked_in_responses += 1
        elif status >= 400 or status == 0:
            error = error or f"HTTP {status} {method} {path.split('/')[1]}: {_snippet(text)}"
        with self.lock:
            self.samples.append(Sample(phase, step, took, status, error))
        return status, text

    def _post_form(
        self,
        client: Client,
        step: str,
        page: str,
        page_path: str,
        want: str,
        extra: dict[str, str] | None = None,
    ) -> int:
        candidates = [f for f in forms(page) if f.method == "post"]
        chosen = next((f for f in candidates if want in f.names), None) if want else None
        chosen = chosen or next(
            (f for f in candidates if page_path.split("/")[1] in (f.action or page_path)), None
        )
        if chosen is None:
            with self.lock:
                self.samples.append(
                    Sample(self.phase, step, 0.0, 0, f"no form on {page_path.split('/')[1]} page")
                )
            return 0
        fields = dict(chosen.fields)
        fields.update(extra or {})
        status, _ = self._step(client, step, "POST", _path(chosen.action, page_path), fields)
        return status

    def flow(self, db: sqlite3.Connection) -> None:
        client = Client(self.port)
        try:
            email = self._email()
            status, page = self._step(client, "subscribe GET", "GET", "/subscribe")
            if status != 200:
                return
            status = self._post_form(
                client, "subscribe POST", page, "/subscribe", "email", {"email": email}
            )
            if status >= 400 or status == 0:
                return
            found = self._id(db, email)
            if found is None:
                with self.lock:
                    self.samples.append(
                        Sample(
                            self.phase,
                            "subscribe POST",
                            0.0,
                            0,
                            "subscribe answered but no pending row was stored",
                        )
                    )
                return
            sub_id, keys = found
            for purpose in ("confirm", "unsubscribe"):
                path = f"/{purpose}/{self.tokens.make(purpose, sub_id, keys[purpose])}"
                status, page = self._step(client, f"{purpose} GET", "GET", path)
                if status != 200:
                    return
                status = self._post_form(client, f"{purpose} POST", page, path, "")
                if status >= 400 or status == 0:
                    return
            with self.lock:
                self.flows += 1
        finally:
            client.close()

    def _worker(self) -> None:
        db = sqlite3.connect(f"file:{self.store_path}?mode=ro", uri=True, timeout=30)
        try:
            while not self.stop.is_set():
                self.flow(db)
        finally:
            db.close()

    def run(self, until: threading.Event | None, seconds: float | None) -> None:
        """Run the workers until `until` is set or `seconds` pass."""
        self.stop.clear()
        threads = [threading.Thread(target=self._worker, daemon=True) for _ in range(self.workers)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + seconds if seconds else None
        while True:
            if until is not None and until.wait(0.05):
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            if until is None and deadline is None:
                break
        self.stop.set()
        for t in threads:
            t.join()


def _snippet(text: str) -> str:
    plain = re.sub(r"<[^>]+>", " ", text)
    return " ".join(plain.split())[:120]


# -- setup ------------------------------------------------------------------------------------
def write_config(folder: Path, feeds: list[Path], smtp_port: int, connections: int) -> Path:
    lines = [
        "[site]",
        'name = "Benchmark Digest"',
        'url = "https://bench.example.org"',
        "",
        "[list]",
        f'name = "{LIST}"',
        'from = "Bench <digest@bench.example.org>"',
        "",
        "[smtp]",
        'host = "127.0.0.1"',
        f"port = {smtp_port}",
        'security = "none"',
        f"connections = {connections}",
        "timeout = 60",
        "",
        # one client address sends every request: the per-IP limit would stop the benchmark
        "[web]",
        "subscribe_per_ip_per_hour = 10000000",
        "subscribe_per_address_per_hour = 1000",
        "",
        "[store]",
        'path = "store.sqlite"',
        "",
        "[output]",
        'dir = "output"',
        "",
    ]
    for path in feeds:
        lines += ["[[feeds]]", f"url = {json.dumps(str(path))}", ""]
    path = folder / "newsletter.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def prepare(
    work: Path, subscribers: int, env: dict[str, str], smtp_port: int, connections: int
) -> Path:
    """A config, a built digest and `subscribers` confirmed subscribers."""
    from benchmarks.corpus import make_corpus, write_files
    from newsletter.audience.subscribers import import_csv
    from newsletter.config import load_config
    from newsletter.store import Store

    corpus = make_corpus(feeds=4, items_per_feed=8, words=400, seed=7)
    feeds = write_files(corpus, work / "feeds")
    config_path = write_config(work, feeds, smtp_port, connections)
    build = subprocess.run(
        [PYTHON, "-m", "newsletter", "build", "-c", str(config_path)],
        env=env,
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        raise SystemExit(f"newsletter build failed:\n{build.stderr[-3000:]}")
    config = load_config(config_path, env=env)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["email", "name"])
    for i in range(subscribers):
        writer.writerow([f"reader-{i:06d}@bench.example.org", f"Reader {i}"])
    buf.seek(0)
    store = Store(config.store_path)
    try:
        report = import_csv(store, LIST, buf, status="confirmed")
    finally:
        store.close()
    if report.added != subscribers:
        raise SystemExit(f"import added {report.added} of {subscribers}: {report.summary_line()}")
    return config_path


# -- report -----------------------------------------------------------------------------------
def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def summarize(samples: list[Sample], phase: str) -> dict:
    mine = [s for s in samples if s.phase == phase]
    ok = [s.seconds for s in mine if not s.error]
    return {
        "requests": len(mine),
        "errors": sum(1 for s in mine if s.error),
        "p50": _pct(ok, 0.50),
        "p95": _pct(ok, 0.95),
        "max": max(ok) if ok else 0.0,
        "steps": {
            step: _pct([s.seconds for s in mine if s.step == step and not s.error], 0.95)
            for step in dict.fromkeys(s.step for s in mine)
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Web latency and errors during a large send.")
    parser.add_argument("--quick", action="store_true", help="2,000 subscribers, short phases")
    parser.add_argument("--subscribers", type=int)
    parser.add_argument("--workers", type=int, default=50, help="concurrent web clients")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--connections", type=int, default=2, help="SMTP connections of the sender")
    parser.add_argument("--idle-seconds", type=float)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--sink-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--web-child", help=argparse.SUPPRESS)
    parser.add_argument("--send-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sink_child:
        return sink_child()
    if args.web_child:
        return web_child(args.web_child, args.threads)
    if args.send_child:
        return send_child(args.send_child)
    try:
        import newsletter.web.app  # noqa: F401
    except ImportError as e:
        raise SystemExit(
            f"newsletter.web.app is not importable yet ({e}); nothing to measure"
        ) from e
    subscribers = args.subscribers or (2_000 if args.quick else 20_000)
    idle_seconds = args.idle_seconds or (5.0 if args.quick else 15.0)

    work = Path(tempfile.mkdtemp(prefix="nl-bench-web-"))
    env = dict(os.environ)
    env["NEWSLETTER_SECRET_KEY"] = secret = secrets.token_urlsafe(32)
    children: list[Child] = []
    try:
        sink = Child([PYTHON, __file__, "--sink-child"], env, stdin=True)
        children.append(sink)
        print(f"[setup] {subscribers:,} subscribers, SMTP sink on :{sink.port}", file=sys.stderr)
        t0 = time.perf_counter()
        config_path = prepare(work, subscribers, env, sink.port, args.connections)
        print(f"[setup] store ready in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        web = Child(
            [PYTHON, __file__, "--web-child", str(config_path), "--threads", str(args.threads)], env
        )
        children.append(web)
        load = Load(web.port, config_path.parent / "store.sqlite", secret, args.workers)

        print(f"[idle] {args.workers} clients for {idle_seconds:.0f} s", file=sys.stderr)
        load.phase = "idle"
        load.run(None, idle_seconds)
        idle_flows = load.flows

        print(
            f"[send] sending to {subscribers:,} while {args.workers} clients run", file=sys.stderr
        )
        before_send = sink.ask()
        load.phase = "during send"
        finished = threading.Event()
        sender = Child([PYTHON, __file__, "--send-child", str(config_path)], env, port=False)
        children.append(sender)
        send_start = time.perf_counter()

        def wait_sender() -> None:
            sender.proc.wait()
            finished.set()

        threading.Thread(target=wait_sender, daemon=True).start()
        load.run(finished, None)
        send_wall = time.perf_counter() - send_start
        assert sender.proc.stdout is not None
        send_out = sender.proc.stdout.read().strip().splitlines()
        send_report = json.loads(send_out[-1]) if send_out and send_out[-1].startswith("{") else {}
        time.sleep(0.5)
        after = sink.ask()
    finally:
        for child in reversed(children):
            child.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    idle = summarize(load.samples, "idle")
    during = summarize(load.samples, "during send")
    logs_locked = sum(LOCKED in line for c in children for line in c.err)
    tracebacks = sum(line.startswith("Traceback") for c in children for line in c.err)
    digest_messages = after["messages"] - before_send["messages"]
    errors = [s for s in load.samples if s.error]
    ratio = during["p95"] / idle["p95"] if idle["p95"] else float("inf")
    sent_ok = (
        send_report.get("sent") == subscribers
        and not send_report.get("failed")
        and after["readers"] == subscribers
        and after["duplicates"] == 0
    )
    ok = (
        not errors
        and not logs_locked
        and not load.locked_in_responses
        and ratio <= 3.0
        and sent_ok
        and during["requests"] > 0
    )

    rows = [
        ["requests", str(idle["requests"]), str(during["requests"])],
        ["errors", str(idle["errors"]), str(during["errors"])],
        ["p50 ms", f"{idle['p50'] * 1000:.1f}", f"{during['p50'] * 1000:.1f}"],
        ["p95 ms", f"{idle['p95'] * 1000:.1f}", f"{during['p95'] * 1000:.1f}"],
        ["max ms", f"{idle['max'] * 1000:.1f}", f"{during['max'] * 1000:.1f}"],
    ]
    for step in idle["steps"]:
        rows.append(
            [
                f"p95 ms {step}",
                f"{idle['steps'][step] * 1000:.1f}",
                f"{during['steps'].get(step, 0.0) * 1000:.1f}",
            ]
        )
    lines = [
        "# Web during send",
        "",
        f"`python benchmarks/web_during_send.py{' --quick' if args.quick else ''}` on "
        f"{os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d %H:%M UTC}: "
        f"{args.workers} concurrent "
        f"clients (subscribe -> confirm -> unsubscribe, 6 requests per flow) against waitress "
        f"({args.threads} threads); a send to {subscribers:,} confirmed subscribers over "
        f"{args.connections} SMTP connections to a local sink, same SQLite store.",
        "",
        "| | idle | during send |",
        "|---|---|---|",
        *["| " + " | ".join(r) + " |" for r in rows],
        "",
        f"- send: {send_report.get('sent', '?')} sent, {send_report.get('failed', '?')} failed in "
        f"{send_wall:.1f} s ({(send_report.get('sent') or 0) / max(send_wall, 1e-9):.0f} msgs/s); "
        f"sink: {after['readers']:,} of {subscribers:,} subscribers got the digest, "
        f"{after['duplicates']} got it more than once; {digest_messages:,} messages in all "
        f"during the send phase (digests + confirm/welcome mails)",
        f"- flows completed: {idle_flows} idle, {load.flows - idle_flows} during send",
        f'- "{LOCKED}": {load.locked_in_responses} in responses, {logs_locked} in logs; '
        f"tracebacks in logs: {tracebacks}",
    ]
    if errors:
        shown = {}
        for s in errors:
            shown.setdefault(s.error, 0)
            shown[s.error] += 1
        lines.append("- errors: " + "; ".join(f"{n} x {e}" for e, n in list(shown.items())[:5]))
    if tracebacks or logs_locked:
        tail = [line for c in children for line in c.err if "Error" in line or LOCKED in line]
        lines.append("- log lines: " + " | ".join(tail[:5]))
    verdict = (
        f"p95 idle {idle['p95'] * 1000:.1f} ms, during send {during['p95'] * 1000:.1f} ms, "
        f"ratio {ratio:.2f} (<= 3); errors {len(errors)}; "
        f"locked {load.locked_in_responses + logs_locked}; "
        f"send {send_report.get('sent', '?')}/{subscribers} -> {'PASS' if ok else 'FAIL'}"
    )
    lines += ["", "```", verdict, "```", ""]
    md = "\n".join(lines)
    print(md)
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(md, encoding="utf-8")
    print(verdict)


if __name__ == "__main__":
    main()
