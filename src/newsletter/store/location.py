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
    return _settle(config)


def sharing_warning(config: Config) -> str:
    """A warning when another config in the folder keeps a list of the same name in the
    same store (two `newsletter init` files of older versions do), else ""."""
    twins = [] if config.store_url else _sharing(config)
    if not twins:
        return ""
    this = config.source.name if config.source else "the bundled sample"
    own = (config.source.stem if config.source else "newsletter") + ".sqlite"
    lists = ", ".join(repr(lst.name) for lst in config.lists)
    return (
        f"warning: {this} keeps list {lists} in {config.store_path}, as {', '.join(twins)} "
        f"does: their subscribers and digests mix; unless that is meant, give {this} its own "
        f'store ([store] path = "{own}")'
    )


def _settle(config: Config) -> Config:
    if config.store_url:  # PostgreSQL: the URL names the database
        return config
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
    for path, data in _siblings(config):
        raw = data.get("store")
        store = raw if isinstance(raw, dict) else {}
        named = store.get("path") if isinstance(store.get("path"), str) else ""
        if named:
            if _resolve(config, named) == legacy.resolve():
                owners.append(path.name)
        elif _list_names(data) & lists:
            sharers.append(path.name)
    return owners, sharers


def _sharing(config: Config) -> list[str]:
    """Other configs in the folder whose [store] path is this config's store and that
    define a list of the same name (two `newsletter init` files of older versions do)."""
    if config.source is None:
        return []
    mine = {lst.name for lst in config.lists}
    found = []
    for path, data in _siblings(config):
        raw = data.get("store")
        store = raw if isinstance(raw, dict) else {}
        named = store.get("path") if isinstance(store.get("path"), str) else ""
        if named and _resolve(config, named) == Path(config.store_path).resolve():
            if _list_names(data) & mine:
                found.append(path.name)
    return found


def _siblings(config: Config) -> list[tuple[Path, dict]]:
    """(path, parsed TOML) of the other newsletter configs in the config's folder."""
    found = []
    for path in sorted(config.base_dir.glob("*.toml")):
        if config.source is not None and path.resolve() == config.source.resolve():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and {"list", "lists", "feeds", "site"} & data.keys():
            found.append((path, data))  # not pyproject.toml and the like
    return found


def _resolve(config: Config, named: str) -> Path:
    target = Path(named).expanduser()
    return (target if target.is_absolute() else config.base_dir / target).resolve()


def _list_names(data: dict) -> set[str]:
    tables = data.get("lists") if "lists" in data else [data.get("list", {})]
    if not isinstance(tables, list):
        return set()
    return {
        t.get("name", "digest") if isinstance(t.get("name", "digest"), str) else ""
        for t in tables
        if isinstance(t, dict)
    }
