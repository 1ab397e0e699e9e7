"""Benchmark: send one ~40 KB digest to N subscribers through a local SMTP sink.

Two runs against the same sink (a minimal asyncio SMTP server in a child process, so it
does not compete with the sender for the GIL), with the same number of connections:

  newsletter  `send_digest`: delivery rows, per-row state changes in SQLite, tokens,
              per-subscriber message bytes, SMTP over reused connections
  bare        a plain smtplib loop (`sendmail`) pushing one pre-built message of the same
              size to the same N addresses: the transport's upper bound

Prints messages/s of both and their ratio (goal >= 0.8), and a last line of ratios.

    python benchmarks/send.py                      # 20,000 subscribers, 2 connections
    python benchmarks/send.py --subscribers 2000 --connections 4
    python benchmarks/send.py --pipelining         # the sink offers PIPELINING (RFC 2920)
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from newsletter.config import SmtpConfig, config_from_dict
from newsletter.mail.compose import Recipient
from newsletter.mail.deliver import prepare_message, send_digest
from newsletter.render.placeholders import Placeholders, fill
from newsletter.store import Store

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.sink import Sink  # noqa: E402

SENDER = "digest@news.example.org"


# -- the sink (child process) ------------------------------------------------------------------
def serve(pipelining: bool) -> None:
    """Run the sink on 127.0.0.1 and print its port; stop when stdin closes."""
    Sink.pipelining = pipelining

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Sink, "127.0.0.1", 0, backlog=128)
        print(server.sockets[0].getsockname()[1], flush=True)
        await loop.run_in_executor(None, sys.stdin.read)
        server.close()

    asyncio.run(main())


# -- the digest --------------------------------------------------------------------------------
def digest_html(target_bytes: int) -> str:
    """A table-based digest of about `target_bytes` with inline styles and the placeholders."""
    head = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<title>Example News</title></head><body style="margin:0;padding:0;background:#f4f4f5">'
        '<table role="presentation" width="600" align="center" cellpadding="0" cellspacing="0" '
        'style="width:600px;background:#ffffff">\n'
        '<tr><td style="padding:16px;font-family:Arial,sans-serif">Hello %%RECIPIENT%%</td></tr>\n'
    )
    item = (
        '<tr><td style="padding:12px 16px;font-family:Arial,sans-serif;font-size:15px;'
        'line-height:1.5;color:#1f2937"><a href="https://example.org/2026/01/05/story-{n}'
        '?utm_source=digest" style="color:#1d4ed8;font-weight:bold;text-decoration:none">'
        "Story {n}: a headline of ordinary length about caf\u00e9 prices</a><br>"
        "A two-sentence summary of the story, written here so that the digest has the size and "
        "shape of a real one. It mentions na\u00efve numbers, like {n} percent.</td></tr>\n"
    )
    foot = (
        '<tr><td style="padding:16px;font-size:12px;color:#6b7280">'
        '<a href="%%UNSUBSCRIBE_URL%%">Unsubscribe</a> \u00b7 '
        '<a href="%%MANAGE_URL%%">Preferences</a></td></tr></table></body></html>\n'
    )
    body, n = [head], 0
    while sum(len(p.encode()) for p in body) + len(foot) < target_bytes:
        n += 1
        body.append(item.format(n=n))
    return "".join(body) + foot


def digest_text(items: int) -> str:
    """The text part of the same digest."""
    lines = ["Hello %%RECIPIENT%%", ""]
    for n in range(1, items + 1):
        lines += [
            f"Story {n}: a headline of ordinary length about caf\u00e9 prices",
            f"https://example.org/2026/01/05/story-{n}?utm_source=digest",
            "A two-sentence summary of the story. It mentions na\u00efve numbers.",
            "",
        ]
    lines += ["Unsubscribe: %%UNSUBSCRIBE_URL%%", "Preferences: %%MANAGE_URL%%", ""]
    return "\n".join(lines)


# -- the two runs ------------------------------------------------------------------------------
def bare_loop(port: int, message: bytes, recipients: list[str], connections: int) -> float:
    """smtplib.sendmail of the same bytes to every recipient over `connections`; seconds."""
    shares = [recipients[i::connections] for i in range(connections)]

    def push(share: list[str]) -> None:
        smtp = smtplib.SMTP("127.0.0.1", port, timeout=30)
        try:
            for rcpt in share:
                smtp.sendmail(SENDER, [rcpt], message)
        finally:
            smtp.quit()

    threads = [threading.Thread(target=push, args=(s,)) for s in shares]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--html-kb", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side (best kept)")
    parser.add_argument(
        "--pipelining",
        action="store_true",
        help="the sink offers PIPELINING (newsletter uses it; smtplib's sendmail cannot)",
    )
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.pipelining)
        return

    sink = subprocess.Popen(
        [sys.executable, __file__, "--serve"] + (["--pipelining"] if args.pipelining else []),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(sink.stdout.readline())  # type: ignore[union-attr]
        results = run(port, args.subscribers, args.connections, args.html_kb * 1024, args.repeat)
    finally:
        sink.stdin.close()  # type: ignore[union-attr]
        sink.wait(timeout=10)
    results["sink_pipelining"] = args.pipelining
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"ratios: newsletter/bare = {results['ratio']:.2f} "
        f"({results['newsletter_msgs_per_s']:,.0f} vs {results['bare_msgs_per_s']:,.0f} msg/s, "
        f"{args.subscribers:,} subscribers, {args.connections} connections"
        f"{', sink offers PIPELINING' if args.pipelining else ''}, goal >= 0.8)"
    )


def run(port: int, subscribers: int, connections: int, html_bytes: int, repeat: int = 2) -> dict:
    """Both runs against the sink on `port`, `repeat` times in alternating order (the best
    of each side is kept: the least disturbed by everything else on the machine)."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        html = digest_html(html_bytes)
        folder = base / "output" / "daily" / "20260105-070000"
        folder.mkdir(parents=True)
        # the templates' placeholders become this render's markers, as render_digest does
        marks = Placeholders.fresh()
        text = digest_text(html.count("Story "))
        (folder / "digest.html").write_text(fill(html, None, marks.as_dict()), encoding="utf-8")
        (folder / "digest.txt").write_text(fill(text, None, marks.as_dict()), encoding="utf-8")
        (folder / "digest.json").write_text(json.dumps({"placeholders": marks.as_dict()}))
        config = config_from_dict(
            {
                "site": {"name": "Example News", "url": "https://news.example.org"},
                "list": {"name": "daily", "from": f"Example News <{SENDER}>"},
            },
            base_dir=base,
            env={"NEWSLETTER_SECRET_KEY": "benchmark-secret-key-0123456789abcdef"},
        )
        smtp = SmtpConfig(host="127.0.0.1", port=port, security="none", connections=connections)
        config = dataclasses.replace(config, smtp=smtp)
        store = Store(base / "store.sqlite")
        t0 = time.perf_counter()
        with store.transaction():
            for i in range(subscribers):
                store.add_subscriber("daily", f"reader{i}@example.com", f"Reader {i}", "confirmed")
        setup = time.perf_counter() - t0
        built = datetime(2026, 1, 5, 7, tzinfo=UTC)
        links = "https://news.example.org/{}/MQ.aW1hZ2U.abcdefghijklmnopqrstuvwxyz0"
        recipient = Recipient(
            1,
            "reader0@example.com",
            "Reader 0",
            links.format("unsubscribe"),
            links.format("manage"),
        )
        recipients = [f"reader{i}@example.com" for i in range(subscribers)]
        ours: list[float] = []
        bare: list[float] = []
        sample = b""
        for n in range(repeat):
            # a fresh digest each time: the same work as the first send of a new issue
            digest_id = store.create_digest(
                "daily", built, str(folder), "Example News: Story 1", []
            )
            if not sample:
                record = store.get_digest(digest_id)
                sample = prepare_message(config, record).render(recipient, built).data  # type: ignore[arg-type]
            order = ("ours", "bare") if n % 2 == 0 else ("bare", "ours")
            for side in order:
                if side == "ours":
                    t0 = time.perf_counter()
                    report = send_digest(config, store, digest_id)
                    ours.append(time.perf_counter() - t0)
                    assert report.sent == subscribers, report.summary_line()
                else:
                    bare.append(bare_loop(port, sample, recipients, connections))
        store.close()
    best_ours, best_bare = min(ours), min(bare)
    return {
        "subscribers": subscribers,
        "connections": connections,
        "html_bytes": len(html.encode()),
        "message_bytes": len(sample),
        "setup_s": round(setup, 2),
        "newsletter_s": [round(x, 2) for x in ours],
        "bare_s": [round(x, 2) for x in bare],
        "newsletter_msgs_per_s": round(subscribers / best_ours, 1),
        "bare_msgs_per_s": round(subscribers / best_bare, 1),
        "ratio": round(best_bare / best_ours, 3),
        "cpus": os.cpu_count() or 0,
    }


if __name__ == "__main__":
    main()
