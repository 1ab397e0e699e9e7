"""The commands the software prints for its user to run: with `-c FILE` when a config file
was used, so that they work as printed (a bare `newsletter send` reads ./newsletter.toml,
or the sample, never tech.toml)."""

from __future__ import annotations

import shlex
from pathlib import Path


def command(config_file: str | Path | None, rest: str) -> str:
    """`newsletter -c FILE REST`, or `newsletter REST` when no config file is known."""
    if not config_file:
        return f"newsletter {rest}"
    return f"newsletter -c {shlex.quote(shown_path(config_file))} {rest}"


def config_name(config_file: str | Path | None) -> str:
    """The config file to edit, as shown to the user ("newsletter.toml" when unknown)."""
    return shown_path(config_file) if config_file else "newsletter.toml"


def shown_path(path: str | Path) -> str:
    """A path as typed in the current folder: relative when inside it, else as it is."""
    p = Path(path)
    if p.is_absolute():
        try:
            return str(p.relative_to(Path.cwd()))
        except ValueError:
            pass
    return str(path)
