"""What fetching many feeds over https costs, with the system's CA certificates trusted.

The build benchmark's feeds are plain http on loopback; real feeds are https, where each
connection checks the server's certificate against the CA certificates a TLS context
loaded. This serves N feeds over https from 127.0.0.1 (a certificate made here with the
`openssl` command, trusted next to the system's bundle through SSL_CERT_FILE, so a
context loads as much as on a real machine) behind a fixed latency, and ingests them
twice into a fresh store: every feed new (HTTP 200), then every feed unchanged (304).

Prints the cost of making one TLS context, and the wall and CPU time of each ingest (the
server runs in this process: its TLS handshakes are in the CPU figure too).

    python benchmarks/fetch_tls.py                 # 100 feeds, 200 ms latency
    python benchmarks/fetch_tls.py --feeds 300
"""

from __future__ import annotations

import argparse
import os
import shutil
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for path in (REPO / "src", REPO / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from support.feedserver import FeedServer  # noqa: E402
from support.tls import self_signed  # noqa: E402

from newsletter.config import Config, FeedConfig, FetchConfig, SiteConfig  # noqa: E402
from newsletter.ingest.feeds import ingest  # noqa: E402
from newsletter.store import Store  # noqa: E402

FEED = (
    "<?xml version='1.0'?><rss version='2.0'><channel><title>Feed {n}</title>"
    "<item><title>Story {n}</title><link>https://feed{n}.example/story</link>"
    "<description>The first story of feed {n}.</description></item></channel></rss>"
)


def _trust(folder: Path) -> ssl.SSLContext:
    """A server context for 127.0.0.1 whose certificate every client context made from
    now on trusts, beside the system's own CA certificates."""
    cert, key = self_signed(folder)
    system = Path(ssl.get_default_verify_paths().cafile or "")
    bundle = folder / "bundle.pem"
    bundle.write_bytes((system.read_bytes() if system.is_file() else b"") + cert.read_bytes())
    os.environ["SSL_CERT_FILE"] = str(bundle)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    return server


def _context_ms(repeat: int = 10) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        ssl.create_default_context()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per response")
    args = parser.parse_args(argv)
    if shutil.which("openssl") is None:
        raise SystemExit("needs the openssl command (Debian package openssl)")

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        server_context = _trust(folder)
        print(f"one TLS context with the system's CA certificates: {_context_ms():.1f} ms\n")
        config = Config(
            base_dir=folder,
            site=SiteConfig(url="https://digest.example.org"),
            # every feed at once, as from as many sites (here all on 127.0.0.1)
            fetch=FetchConfig(concurrency=args.feeds, per_host=args.feeds),
        )
        store = Store(folder / "store.sqlite")
        with FeedServer(ssl_context=server_context, latency=args.latency) as server:
            for n in range(args.feeds):
                server.set(f"/feed{n}.xml", FEED.format(n=n).encode())
            feeds = [FeedConfig(url=server.url(f"/feed{n}.xml")) for n in range(args.feeds)]
            print(
                f"| {args.feeds} https feeds, {args.latency * 1000:.0f} ms latency | wall s "
                "| cpu s | failed |"
            )
            print("|---|---|---|---|")
            for label in ("every feed new (200)", "every feed unchanged (304)"):
                cpu, wall = time.process_time(), time.perf_counter()
                report = ingest(config, store, feeds)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                print(f"| {label} | {wall:.2f} | {cpu:.2f} | {len(report.failed)} |")
        store.close()


if __name__ == "__main__":
    main()
