"""Benchmark-only: time the stages of `python -m newsletter build` without changing it.

benchmarks/build.py runs the real command with this folder on PYTHONPATH and
NEWSLETTER_BENCH_STAGES=<json file>. Python imports `sitecustomize` at start-up; this one
wraps a few module-level functions of the product (ingest, fetch, parse, store writes,
summaries, dedupe, themes, render) with timers and writes what they measured to the file
at exit. Without the variable it does nothing. Names the product no longer has are skipped
and listed under "missing", so a refactor never breaks the benchmark.
"""

from __future__ import annotations

import os

_OUT = os.environ.get("NEWSLETTER_BENCH_STAGES")


def _install(out: str) -> None:
    import atexit
    import functools
    import importlib
    import importlib.abc
    import importlib.util
    import json
    import resource
    import sys
    import threading
    import time

    start = time.perf_counter()
    lock = threading.Lock()
    stats: dict[str, dict[str, float]] = {}
    missing: list[str] = []

    def maxrss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def record(name: str, t0: float, t1: float, units: int, grew: float) -> None:
        with lock:
            s = stats.setdefault(
                name,
                {
                    "calls": 0,
                    "total": 0.0,
                    "first": t0 - start,
                    "last": 0.0,
                    "units": 0,
                    "rss_grew_mb": 0.0,  # how much the process's peak RSS rose inside it
                },
            )
            s["calls"] += 1
            s["rss_grew_mb"] += grew
            s["total"] += t1 - t0
            s["first"] = min(s["first"], t0 - start)
            s["last"] = max(s["last"], t1 - start)
            s["units"] += units

    def timed(name: str, fn, count=None):  # type: ignore[no-untyped-def]
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            rss0 = maxrss_mb()
            t0 = time.perf_counter()
            try:
                result = fn(*args, **kwargs)
            finally:
                t1 = time.perf_counter()
            grew = maxrss_mb() - rss0
            units = 0
            if count is not None:
                try:
                    units = count(args, kwargs, result)
                except Exception:
                    units = 0
            record(name, t0, t1, units, grew)
            return result

        wrapper.__bench_wrapped__ = True  # type: ignore[attr-defined]
        return wrapper

    def wrap(module_name: str, attr: str, name: str, count=None) -> None:  # type: ignore[no-untyped-def]
        if module_name in LAZY and module_name not in sys.modules:
            # the product imports these only when it needs them: importing them here would
            # add their cost (scikit-learn, sumy) to every measured start-up
            deferred.setdefault(module_name, []).append((module_name, attr, name, count))
            return
        try:
            owner = importlib.import_module(module_name)
        except Exception as e:  # the product is mid-change: say so, measure the rest
            missing.append(f"{module_name} ({type(e).__name__}: {e})")
            return
        target = owner
        path = attr.split(".")
        for part in path[:-1]:
            target = getattr(target, part, None)
            if target is None:
                missing.append(f"{module_name}.{attr}")
                return
        fn = getattr(target, path[-1], None)
        if fn is None or getattr(fn, "__bench_wrapped__", False):
            if fn is None:
                missing.append(f"{module_name}.{attr}")
            return
        setattr(target, path[-1], timed(name, fn, count))

    def n_items(args, kwargs, result):  # type: ignore[no-untyped-def]
        return len(args[0]) if args else 0

    def n_result_items(args, kwargs, result):  # type: ignore[no-untyped-def]
        return len(getattr(result, "items", ()) or ())

    LAZY = {
        "newsletter.analysis.summary.summarize",
        "newsletter.analysis.dedupe.merge",
        "newsletter.analysis.themes.sections",
        "newsletter.analysis.themes.topics",
        "newsletter.analysis.dedupe.index",
        "newsletter.render.renderer",
        "newsletter.ingest.entries",
    }
    deferred: dict[str, list[tuple]] = {}

    class AfterImport(importlib.abc.MetaPathFinder):
        """Applies the deferred wraps right after a lazily imported module has run."""

        def find_spec(self, fullname, path, target=None):  # type: ignore[no-untyped-def]
            if fullname not in deferred:
                return None
            sys.meta_path.remove(self)
            try:
                spec = importlib.util.find_spec(fullname)
            finally:
                sys.meta_path.insert(0, self)
            if spec is None or spec.loader is None:
                return None
            run_module = spec.loader.exec_module

            def exec_module(module):  # type: ignore[no-untyped-def]
                run_module(module)
                for args in deferred.pop(fullname, []):
                    wrap(*args)

            spec.loader.exec_module = exec_module  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, AfterImport())

    # Order matters: wrap leaves in the modules that call them, then the pipeline.
    wrap("newsletter.ingest.feeds", "fetch", "fetch")
    wrap("newsletter.ingest.entries", "read_feed", "parse.feedparser")
    wrap("newsletter.ingest.entries", "make_items", "parse.normalize", lambda a, k, r: len(r[0]))
    wrap("newsletter.ingest.entries", "parse_feed", "parse", n_result_items)
    wrap("newsletter.store", "Store.upsert_items", "store.upsert", lambda a, k, r: len(a[1]))
    wrap("newsletter.store", "Store.record_fetch", "store.record_fetch")
    wrap("newsletter.store", "Store.item_heads", "store.items", lambda a, k, r: len(r))
    wrap("newsletter.store", "Store.items_by_id", "store.items", lambda a, k, r: len(r))
    wrap("newsletter.run.digest", "ingest", "ingest")
    wrap(
        "newsletter.analysis.summary.summarize",
        "summarize_many",
        "summarize.compute",
        lambda a, k, r: len(a[0]),
    )
    wrap("newsletter.run.digest", "summaries_for", "summarize")
    wrap(
        "newsletter.analysis.dedupe.merge", "merge_duplicates", "dedupe", lambda a, k, r: len(a[0])
    )
    wrap("newsletter.analysis.dedupe.index", "story_groups", "dedupe", lambda a, k, r: len(a[0]))
    wrap(
        "newsletter.analysis.themes.sections", "group_sections", "themes", lambda a, k, r: len(a[0])
    )
    wrap("newsletter.analysis.themes.topics", "fit_topics", "themes.fit", lambda a, k, r: len(a[0]))
    wrap("newsletter.run.digest", "select_items", "select", lambda a, k, r: len(r))
    wrap("newsletter.render.renderer", "render_digest", "render")
    wrap("newsletter.render.renderer", "write_digest", "write")
    wrap("newsletter.run.digest", "plan_digest", "plan")
    wrap("newsletter.run.digest", "write_plan", "write_plan")
    wrap("newsletter.run.digest", "build", "build")
    imported = time.perf_counter()

    def dump() -> None:
        data = {
            "stages": stats,
            "missing": missing,
            "import_s": imported - start,
            "process_s": time.perf_counter() - start,
        }
        with open(out, "w", encoding="utf-8") as f:
            json.dump(data, f)

    atexit.register(dump)


# Only the process the benchmark started measures: worker processes it spawns inherit the
# environment (and would otherwise overwrite the file with their own empty stats).
if _OUT and os.environ.setdefault("NEWSLETTER_BENCH_STAGES_OWNER", str(os.getpid())) == str(
    os.getpid()
):
    _install(_OUT)
