"""The architecture holds: imports point down the layers, SQL lives in the store, click in
the CLI, Flask in the web modules, smtplib in the transport."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "newsletter"

# rank of each module; a module may import modules of its own rank or below
BASE = {"errors", "model", "text", "emailcss", "ratelimit", "web_csrf", "sanitize"}
PIPELINE = {"ingest", "digest", "deliver", "sendloop", "runner", "runreport", "preview"}
INTERFACE = {"cli", "web", "web_common", "web_forms", "web_links", "__main__"}


def rank(module: str) -> int:
    parts = module.split(".")[1:] or ["__init__"]
    head = parts[0]
    if head in INTERFACE:
        return 3
    if head in PIPELINE:
        return 2
    if head in BASE or head == "__init__":
        return 0
    return 1  # services: config, store, summarize, themes, render, mail, transport, …


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(p for p in parts if p != "__init__")
        found[name] = path
    return found


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_imports_point_down():
    wrong = []
    for name, path in modules().items():
        for target in imports(path):
            if target.startswith("newsletter.") and rank(target) > rank(name):
                wrong.append(f"{name} (layer {rank(name)}) imports {target} (layer {rank(target)})")
    assert wrong == []


def test_third_party_edges_stay_in_their_module():
    owners = {
        "click": "newsletter.cli",
        "flask": "newsletter.web",
        "smtplib": "newsletter.transport",
    }
    for name, path in modules().items():
        for target in imports(path):
            top = target.split(".")[0]
            if top in owners:
                allowed = owners[top]
                ok = name.startswith(allowed) or (top == "flask" and name == "newsletter.preview")
                assert ok, f"{name} imports {top}; only {allowed}* may"


SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b"
)


def test_sql_lives_in_the_store():
    for name, path in modules().items():
        if name.startswith("newsletter.store"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not SQL.search(node.value), f"SQL in {name}: {node.value[:60]!r}"


def test_no_module_grows_past_about_600_lines():
    for name, path in modules().items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 620, f"{name} has {lines} lines: split it"
