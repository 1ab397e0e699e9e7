"""Which store file a config uses, and the upgrade from the old shared default.

A config without `[store] path` keeps its store beside itself, named after it
(`news/tech.toml` -> `news/tech.sqlite`), so two configs in one folder never mix their
lists, items or digests. Earlier versions put every such config's store at
`data/newsletter.sqlite` under the config's folder. `settle_store` finds such a store and
decides, so that a list with subscribers never silently starts over empty:

- it keeps using it when it holds one of this config's lists and no other config in the
  folder can claim it (the usual single-config upgrade);
- it leaves it alone when it holds none of this config's lists, or another config names
  it in `[store] path`;
- it stops with the fix (set `[store] path` in the config that owns it) when several
  configs in the folder could own it.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import tomllib
from pathlib import Path

from newsletter.config import STORE_FROM_CONFIG, Config
from newsletter.errors import ConfigError

logger = logging.getLogger(__name__)

LEGACY_STORE = Path("data") / "newsletter.sqlite"


def settle_store(config: Config) -> Config:
    """The config with the store it should use (see the module docstring)."""
    if config.store_origin == STORE_FROM_CONFIG or Path(config.store_path).exists():
        return config
    legacy = config.base_dir / LEGACY_STORE
    if not legacy.is_file() or legacy == config.store_path:
        return config
    held = lists_in_store(legacy)
    mine = sorted(held.keys() & {lst.name for lst in config.lists})
    if not mine:
        return config
    owners, sharers = _other_configs(config, legacy, set(mine))
    if owners:
        return config  # another config names it in [store] path: it is theirs
    this = config.source.name if config.source else "the built-in sample (no config)"
    if sharers:
        subscribers = sum(held[name] for name in mine)
        raise ConfigError(
            f"{legacy} is the store that every config in {config.base_dir} without "
            f"[store] path used to share; it holds list {', '.join(map(repr, mine))} "
            f"({subscribers} subscribers), which {this} and {', '.join(sharers)} all define. "
            f'Add [store] path = "{LEGACY_STORE.as_posix()}" to the config whose list it is; '
            f"the others then get a store of their own beside them (this one: "
            f"{config.store_path.name})"
        )
    logger.info(
        "using %s, the store of list %s from before stores were named after their config; "
        'add [store] path = "%s" to make that explicit',
        legacy,
        ", ".join(mine),
        LEGACY_STORE.as_posix(),
    )
    return dataclasses.replace(config, store_path=legacy)


def lists_in_store(path: Path) -> dict[str, int]:
    """{list name: subscribers} of every list with subscribers, digests or run state in
    the store at `path`, read without changing it."""
    found: dict[str, int] = {}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as e:
        raise ConfigError(
            f"cannot read {path} to tell whose store it is ({e}); set [store] path in the "
            "config to the store it should use"
        ) from e
    try:
        for sql in (
            "SELECT list_name, COUNT(*) FROM subscribers GROUP BY list_name",
            "SELECT DISTINCT list_name, 0 FROM digests",
            "SELECT list_name, 0 FROM list_state",
        ):
            try:
                for name, count in db.execute(sql):
                    found[name] = found.get(name, 0) + count
            except sqlite3.Error:  # an older schema lacks the table: nothing of it there
                continue
    finally:
        db.close()
    return found


def _other_configs(config: Config, legacy: Path, lists: set[str]) -> tuple[list[str], list[str]]:
    """Other configs in the folder: (those naming `legacy` in [store] path, those without
    [store] path that define one of `lists`)."""
    owners: list[str] = []
    sharers: list[str] = []
    for path in sorted(config.base_dir.glob("*.toml")):
        if config.source is not None and path.resolve() == config.source.resolve():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or not ({"list", "lists", "feeds", "site"} & data.keys()):
            continue  # not a newsletter config (pyproject.toml, ...)
        store = data.get("store") if isinstance(data.get("store"), dict) else {}
        named = store.get("path") if isinstance(store.get("path"), str) else ""
        if named:
            target = Path(named).expanduser()
            target = target if target.is_absolute() else config.base_dir / target
            if target.resolve() == legacy.resolve():
                owners.append(path.name)
        elif _list_names(data) & lists:
            sharers.append(path.name)
    return owners, sharers


def _list_names(data: dict) -> set[str]:
    tables = data.get("lists") if "lists" in data else [data.get("list", {})]
    if not isinstance(tables, list):
        return set()
    return {
        t.get("name", "digest") if isinstance(t.get("name", "digest"), str) else ""
        for t in tables
        if isinstance(t, dict)
    }
