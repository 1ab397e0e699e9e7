"""The architecture holds: the folders are the layers and imports point down them; SQL lives
in the store, click in the CLI, Flask in the web app, smtplib in the transport.

A module's layer is its folder, so a new module is placed by where it is saved; a new
folder must be given a rank here before its modules may import anything of the package.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import newsletter

PACKAGE = Path(newsletter.__file__).resolve().parent

# rank of each folder (top-level modules are the shared base); a module may import
# modules of its own folder or of a lower rank, never sideways or up
RANKS = {
    "": 0,  # errors, model, text, config, cadence: the base every layer shares
    "store": 1,
    "ingest": 2,
    "analysis": 2,
    "render": 2,
    "audience": 2,
    "bounces": 2,
    "mail": 3,
    "run": 4,
    "web": 5,
    "cli": 6,
}


def folder(module: str) -> str:
    parts = module.split(".")[1:]
    return parts[0] if len(parts) > 1 or (parts and (PACKAGE / parts[0]).is_dir()) else ""


def rank(module: str) -> int:
    return RANKS[folder(module)]


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
            if node.module == "newsletter":
                names.update(f"newsletter.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_every_folder_has_a_rank():
    unknown = {folder(name) for name in modules()} - set(RANKS)
    assert unknown == set(), f"give these folders a rank in test_layers: {unknown}"


def test_imports_point_down():
    wrong = []
    for name, path in modules().items():
        for target in imports(path):
            if not target.startswith("newsletter.") or target == "newsletter.__version__":
                continue
            same_folder = folder(target) == folder(name)
            if not same_folder and rank(target) >= rank(name) and rank(name) > 0:
                wrong.append(f"{name} ({folder(name)}) imports {target} ({folder(target)})")
            if rank(name) == 0 and rank(target) > 0 and name != "newsletter.__main__":
                wrong.append(f"base module {name} imports {target}")
    assert wrong == []


def test_the_base_imports_no_layer_and_no_layer_module_sits_at_the_top():
    top = {name for name in modules() if folder(name) == "" and name != "newsletter"}
    assert top <= {
        "newsletter.__main__",
        "newsletter.errors",
        "newsletter.model",
        "newsletter.text",
        "newsletter.config",
        "newsletter.config_rules",  # the rule of every config key, checked at load
        "newsletter.langtag",  # language tags: config checks them, mail words and dates use them
        "newsletter.cadence",
        "newsletter.commands",  # commands printed for the user (-c FILE): mail, run, web, cli
        "newsletter.children",  # child processes for jobs: ingest (parsing), mail (send workers)
    }, f"put these in the folder of their job: {sorted(top)}"


def test_third_party_edges_stay_in_their_folder():
    owners = {
        "click": ("newsletter.cli",),
        "flask": ("newsletter.web",),
        "smtplib": ("newsletter.mail.transport",),
        "sqlite3": ("newsletter.store", "newsletter.run.lock"),
        "psycopg": ("newsletter.store",),
    }
    for name, path in modules().items():
        for target in imports(path):
            top = target.split(".")[0]
            if top in owners:
                assert name.startswith(owners[top]), f"{name} imports {top}; only {owners[top]}"


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
