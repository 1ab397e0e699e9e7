"""The list of built digests on the archive page, each digest.json read once.

Every build rewrites output/index.html, the list of every digest built so far. Reading
every digest.json again for it made each build slower the longer a list had run (70 ms a
build after a year of daily digests, and growing). What the list needs of a digest (when
it was built, its list, its sections and first headlines) is kept in
output/.archive-list.json, under the digest.json's size and times (modified and changed)
and inode: a digest whose file is unchanged is not read again, one that changed or
appeared is, and one that is gone drops out. A kept entry of the wrong shape (a damaged or
hand-edited file) is read past.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from newsletter.config import Config
from newsletter.errors import ConfigError
from newsletter.render.i18n import translator

logger = logging.getLogger(__name__)

KEPT = ".archive-list.json"
_VERSION = 1


def archive_entries(output_dir: Path, config: Config) -> list[dict[str, Any]]:
    """One summary dict per digest.json under output_dir/<list>/<stamp>/, newest first."""
    kept = _load(output_dir / KEPT)
    fresh: dict[str, dict[str, Any]] = {}
    for path in output_dir.glob("*/*/digest.json"):
        name = path.relative_to(output_dir).as_posix()
        try:
            found = path.stat()
        except OSError:
            continue  # removed meanwhile
        if not stat.S_ISREG(found.st_mode):
            continue  # not a file render wrote (a FIFO would block the read)
        # the change time too: an edit that keeps the size and puts the old time back
        # (touch -r) still changes it
        mark = [found.st_mtime_ns, found.st_size, found.st_ctime_ns, found.st_ino]
        entry = kept.get(name)
        if not _valid(entry) or entry.get("mark") != mark:
            entry = _summary(path, mark)
        if entry is not None:
            fresh[name] = entry
    changed = fresh.keys() != kept.keys()
    listed = []
    for name, entry in fresh.items():
        view, redated = _shown(entry, name, config)
        listed.append(view)
        changed = changed or redated or entry is not kept.get(name)
    if changed:
        _save(output_dir / KEPT, fresh)
    listed.sort(key=lambda d: d["built_at"], reverse=True)
    return listed


def _summary(path: Path, mark: list[int]) -> dict[str, Any] | None:
    """What the archive list needs of one digest.json (None: unreadable, skipped)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        datetime.fromisoformat(data["built_at"])
        sections = data.get("sections") or []
        lst = data.get("list") or {}
        titles = [i.get("title", "") for s in sections for i in s.get("items", [])[:1]]
        return {
            "mark": mark,
            "built_at": str(data["built_at"]),
            "list": str(lst.get("name") or path.parent.parent.name),
            "list_title": str(lst.get("title") or ""),
            "stories": sum(len(s.get("items", [])) for s in sections),
            "section_labels": [str(s.get("label", "")) for s in sections],
            "headlines": [str(t) for t in titles if t][:3],
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        logger.warning("skipping %s in the archive index: %s", path, e)
        return None


def _valid(entry: Any) -> TypeGuard[dict[str, Any]]:
    """Whether a kept entry has the shape `_summary` gives (the file may be damaged)."""
    if not isinstance(entry, dict):
        return False
    texts = [entry.get(k) for k in ("built_at", "list", "list_title")]
    lists = [entry.get(k) for k in ("section_labels", "headlines")]
    if not (
        all(isinstance(t, str) for t in texts)
        and all(isinstance(x, list) and all(isinstance(t, str) for t in x) for x in lists)
        and isinstance(entry.get("stories"), int)
        and all(isinstance(entry.get(k, ""), str) for k in ("shown_as", "date_display"))
    ):
        return False
    try:
        datetime.fromisoformat(entry["built_at"])
    except ValueError:
        return False
    return True


def _shown(entry: dict[str, Any], name: str, config: Config) -> tuple[dict[str, Any], bool]:
    """The entry as the archive template shows it: its date in the list's time zone and
    the site's language (written out once, and kept with the entry until either changes);
    and whether that date was written out now."""
    built = datetime.fromisoformat(entry["built_at"])
    if built.tzinfo is None:  # written by hand: render writes UTC times with their offset
        built = built.replace(tzinfo=UTC)
    list_name = entry["list"]
    try:
        zone = config.list(list_name).timezone
    except ConfigError:  # a list removed from the config still has its archive
        zone = "UTC"
    shown_as = f"{config.site.language}|{zone}"
    redated = entry.get("shown_as") != shown_as or not isinstance(entry.get("date_display"), str)
    if redated:
        entry["shown_as"] = shown_as
        entry["date_display"] = translator(config.site.language).long_date_time(
            built, ZoneInfo(zone)
        )
    view = {
        "built_at": built,
        "href": f"{name.rsplit('/', 1)[0]}/index.html",
        "list_title": entry["list_title"] or list_name,
        "date_display": entry["date_display"],
        "stories": entry["stories"],
        "section_labels": entry["section_labels"],
        "headlines": entry["headlines"],
    }
    return view, redated


def _load(path: Path) -> dict[str, dict[str, Any]]:
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise ValueError("not a file")
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") == _VERSION and isinstance(data.get("digests"), dict):
            return data["digests"]
    except FileNotFoundError:
        pass
    except (OSError, ValueError, AttributeError, RecursionError) as e:  # damaged: read again
        logger.info("archive list %s not reused: %s", path, e)
    return {}


def _save(path: Path, digests: dict[str, dict[str, Any]]) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"version": _VERSION, "digests": digests}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:  # a read-only folder costs the next build the reads, nothing more
        logger.info("cannot keep the archive list in %s: %s", path, e)
        tmp.unlink(missing_ok=True)
