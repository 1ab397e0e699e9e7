"""Editorial quality on BBC News Summary dev: summaries, sections, one entry per story.

Runs the three benchmarks in turn and prints their tables (each also writes its own file
under benchmarks/results/). Needs ../shared/datasets beside the repository and the
`bench` extra (`pip install '.[bench]'` for rouge-score).

    python benchmarks/quality.py                 # everything (about 10 minutes on 2 cores)
    python benchmarks/quality.py --quick         # smaller samples, a smoke run
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import quality_dedupe  # noqa: E402
import quality_sections  # noqa: E402
import quality_summaries  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="200 articles, 40 digests per size; writes no results"
    )
    args = parser.parse_args(argv)
    runs = [
        (
            "summaries",
            quality_summaries.main,
            ["--limit", "200", "--no-write"] if args.quick else [],
        ),
        (
            "sections",
            quality_sections.main,
            ["--samples", "40", "--no-write"] if args.quick else [],
        ),
        ("one entry per story", quality_dedupe.main, ["--no-write"] if args.quick else []),
    ]
    for name, run, run_args in runs:
        start = time.perf_counter()
        print(f"\n== {name} ==", flush=True)
        run(run_args)
        print(f"({name}: {time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
