"""Find the web copies of built digests on disk: output/<list>/<stamp>/index.html.

The files are written by `newsletter.render.renderer.write_digest`; this module only reads them, and
only through names it has checked, so a URL can never reach outside the output folder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from newsletter.config import Config
from newsletter.render.placeholders import read_placeholders
from newsletter.render.renderer import web_version

_LIST = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_STAMP = re.compile(r"\d{8}-\d{6}")


def valid_names(list_name: str, stamp: str) -> bool:
    """True when both parts look like what render writes (no dots-only, no slashes)."""
    return bool(_LIST.fullmatch(list_name) and _STAMP.fullmatch(stamp)) and ".." not in list_name


def web_copy(config: Config, list_name: str, stamp: str) -> str | None:
    """The HTML of a digest's web copy, with no personal placeholders; None if absent.

    Falls back to the mail HTML made non-personal when a folder has no index.html (a
    digest built by an older version).
    """
    if not valid_names(list_name, stamp):
        return None
    folder = Path(config.output_dir) / list_name / stamp
    copy = folder / "index.html"
    if copy.is_file():
        return copy.read_text(encoding="utf-8")
    mail = folder / "digest.html"
    if mail.is_file():
        return web_version(mail.read_text(encoding="utf-8"), config, read_placeholders(folder))
    return None


def latest_stamp(config: Config, list_name: str) -> str | None:
    """The stamp of the newest digest of a list that has a web copy on disk, or None."""
    if not _LIST.fullmatch(list_name):
        return None
    folder = Path(config.output_dir) / list_name
    if not folder.is_dir():
        return None
    # stamps are YYYYmmdd-HHMMSS in UTC: the names sort like the times
    stamps = sorted(
        (p.name for p in folder.iterdir() if _STAMP.fullmatch(p.name) and p.is_dir()),
        reverse=True,
    )
    for stamp in stamps:
        if (folder / stamp / "index.html").is_file():
            return stamp
    return None


def web_copy_url(config: Config, list_name: str, stamp: str) -> str:
    """Public URL of a web copy: <site>/archive/<list>/<stamp>/."""
    return f"{config.site.url.rstrip('/')}/archive/{list_name}/{stamp}/"


def index_url(config: Config) -> str:
    """Public URL of the archive index."""
    return f"{config.site.url.rstrip('/')}/archive/"


def latest_url(config: Config, list_name: str) -> str:
    """The newest web copy of a list, else the archive index."""
    stamp = latest_stamp(config, list_name)
    return web_copy_url(config, list_name, stamp) if stamp else index_url(config)


def stories_in(folder: Path) -> int | None:
    """How many stories the digest in `folder` shows, from its digest.json; None if unreadable.

    For digests recorded before the store kept the count (`newsletter digests`)."""
    try:
        data = json.loads((folder / "digest.json").read_text(encoding="utf-8"))
        if isinstance(data.get("stories"), int):
            return int(data["stories"])
        return sum(len(s.get("items", [])) for s in data.get("sections", []))
    except (OSError, ValueError, TypeError, AttributeError):
        return None
