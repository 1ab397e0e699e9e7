"""Benchmark: the bounce parser against the expectations of the sample set.

For every sample in tests/data/bounces (expected.json says its kind and the recipients with
their hard/soft class), each parser is run on the raw bytes and scored:

  msgs/s        messages parsed per second (best of --repeat runs over the whole set)
  kind          share of samples whose kind (bounce/complaint/auto-reply/not-bounce) is right
  found         share of expected bounced/complained recipients the parser reported
  bounce found  the same, counting only the recipients of bounces (what flufl.bounce does)
  extra         recipients reported that the expectation does not have
  class agree   of the expected bounce recipients found, share with the expected hard/soft

The samples were composed together with the parser (the last ten in make_samples.py after
it was done, and all of them passed untouched), so the numbers say which formats and rules it
covers, not how it does on real traffic; they are a regression baseline.

flufl.bounce (the `bench` extra) is measured too when installed. It only knows bounces:
`all_failures` gives temporary (soft) and permanent (hard) failures, so its kind is
"bounce" when it finds any and "not-bounce" otherwise, and complaints count as not found.

    .venv/bin/python benchmarks/bounces.py            # markdown table
    .venv/bin/python benchmarks/bounces.py --misses   # also list each disagreement
"""

from __future__ import annotations

import argparse
import email
import importlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.bounces import parse_message

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "bounces"

# (kind, [(address lower-cased, class)])
Result = tuple[str, list[tuple[str, str | None]]]


def ours(raw: bytes) -> Result:
    report = parse_message(raw)
    return report.kind, [(r.address.lower(), r.cls) for r in report.recipients]


def run_flufl(raw: bytes) -> Result:
    from flufl.bounce import all_failures

    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)  # it logs each crash

    msg = email.message_from_bytes(raw)
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # noqa: BLE001 - a crash on a sample counts as "found nothing"
        return "not-bounce", []
    found: dict[str, str | None] = {}
    for value in temporary:
        found[_text(value)] = "soft"
    for value in permanent:
        found[_text(value)] = "hard"
    return ("bounce" if found else "not-bounce"), sorted(found.items())


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return text.strip().strip("<>").lower()


@dataclass
class Score:
    name: str
    seconds: float = 0.0
    messages: int = 0
    kinds_right: int = 0
    expected: int = 0
    found: int = 0
    bounce_expected: int = 0
    bounce_found: int = 0
    extra: int = 0
    class_total: int = 0
    class_agree: int = 0
    misses: list[str] = field(default_factory=list)


def load() -> list[tuple[str, bytes, dict]]:
    expected = json.loads((DATA / "expected.json").read_text())
    return [(name, (DATA / name).read_bytes(), want) for name, want in sorted(expected.items())]


def measure(name: str, parser: Callable[[bytes], Result], samples, repeat: int) -> Score:
    score = Score(name)
    best = float("inf")
    results: list[Result] = []
    for _ in range(repeat):
        start = time.perf_counter()
        results = [parser(raw) for _, raw, _ in samples]
        best = min(best, time.perf_counter() - start)
    score.seconds = best
    score.messages = len(samples)
    for (file, _, want), (kind, got) in zip(samples, results, strict=True):
        got_map = dict(got)
        if kind == want["kind"]:
            score.kinds_right += 1
        else:
            score.misses.append(f"{file}: kind {kind}, expected {want['kind']}")
        wanted = {r["address"].lower(): r["class"] for r in want["recipients"]}
        is_bounce = want["kind"] == "bounce"
        for address, cls in wanted.items():
            score.expected += 1
            score.bounce_expected += is_bounce
            if address not in got_map:
                score.misses.append(f"{file}: missed {address}")
                continue
            score.found += 1
            score.bounce_found += is_bounce
            if cls is not None:
                score.class_total += 1
                if got_map[address] == cls:
                    score.class_agree += 1
                else:
                    score.misses.append(f"{file}: {address} {got_map[address]}, expected {cls}")
        for address in got_map:
            if address not in wanted:
                score.extra += 1
                score.misses.append(f"{file}: extra {address}")
    return score


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--misses", action="store_true", help="list every disagreement")
    args = parser.parse_args()
    samples = load()
    parsers: list[tuple[str, Callable[[bytes], Result]]] = [("newsletter.bounces", ours)]
    try:
        importlib.import_module("flufl.bounce")

        parsers.append(("flufl.bounce", run_flufl))
    except ImportError:
        print("flufl.bounce is not installed (pip install -e '.[bench]'): measuring ours only")
    scores = [measure(name, func, samples, args.repeat) for name, func in parsers]
    bounces = sum(1 for _, _, want in samples if want["kind"] == "bounce")
    print(f"{len(samples)} samples ({bounces} bounces) in {DATA.relative_to(Path.cwd())}\n")
    print(
        "| parser | msgs/s | kind right | recipients found | bounce recipients found "
        "| extra | hard/soft agree |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for s in scores:
        print(
            f"| {s.name} | {s.messages / s.seconds:,.0f} | {pct(s.kinds_right, s.messages)} "
            f"| {pct(s.found, s.expected)} ({s.found}/{s.expected}) "
            f"| {pct(s.bounce_found, s.bounce_expected)} ({s.bounce_found}/{s.bounce_expected}) "
            f"| {s.extra} "
            f"| {pct(s.class_agree, s.class_total)} ({s.class_agree}/{s.class_total}) |"
        )
    if args.misses:
        for s in scores:
            print(f"\n{s.name}:")
            for line in s.misses:
                print(f"  {line}")


if __name__ == "__main__":
    main()
