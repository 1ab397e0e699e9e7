"""Send-time placeholders: where each subscriber's own links and name go in a digest.

A digest is rendered once and personalized per subscriber by splitting its bodies on
placeholder strings (see `newsletter.mail.compose`). Feed text sits in the same bodies, so a
placeholder must be a string no feed can have written: every render draws fresh random
markers (`%%UNSUBSCRIBE_URL_<32 hex digits>%%`), gives them to the templates as the
variables `unsubscribe_url`, `manage_url` and `recipient`, and records them in digest.json
for the sender. The markers do not exist until the feeds have been read, so no byte of feed
text can equal one: a feed that imitates a placeholder only ever shows its own text.

Templates written for older versions put the fixed strings `%%UNSUBSCRIBE_URL%%`,
`%%MANAGE_URL%%` and `%%RECIPIENT%%` in their source. `TemplateSource` turns those into the
variables as a template is loaded: template source is the operator's, never a feed's.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import jinja2

# template variable -> the fixed placeholder that older templates wrote
LEGACY = {
    "unsubscribe_url": "%%UNSUBSCRIBE_URL%%",
    "manage_url": "%%MANAGE_URL%%",
    "recipient": "%%RECIPIENT%%",
}
# any placeholder, fixed or per-render (what a leftover in a finished message looks like);
# group 1 is the template variable in upper case
ANY_MARKER = re.compile(r"%%(UNSUBSCRIBE_URL|MANAGE_URL|RECIPIENT)(?:_[0-9A-F]{32})?%%")
_FRESH = re.compile(r"%%(UNSUBSCRIBE_URL|MANAGE_URL|RECIPIENT)_[0-9A-F]{32}%%")


@dataclass(frozen=True)
class Placeholders:
    """The markers of one render; the field names are the template variables."""

    unsubscribe_url: str
    manage_url: str
    recipient: str

    @classmethod
    def fresh(cls) -> Placeholders:
        """New markers, unguessable (128 random bits), drawn after the feeds were read."""
        nonce = secrets.token_hex(16).upper()
        return cls(*(f"%%{name.upper()}_{nonce}%%" for name in LEGACY))

    def as_dict(self) -> dict[str, str]:
        """variable -> marker, as the templates and digest.json get them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: object) -> Placeholders | None:
        """The markers recorded in a digest.json, or None when absent or malformed."""
        if not isinstance(data, Mapping):
            return None
        values: list[str] = []
        for name in LEGACY:
            value = data.get(name)
            if not isinstance(value, str):
                return None
            match = _FRESH.fullmatch(value)
            if match is None or match.group(1).lower() != name:
                return None
            values.append(value)
        return cls(*values)


def read_placeholders(folder: str | Path) -> Placeholders | None:
    """The markers a rendered digest folder was written with (its digest.json), or None for
    a folder rendered by an older version or missing its digest.json."""
    try:
        data = json.loads((Path(folder) / "digest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Placeholders.from_dict(data.get("placeholders") if isinstance(data, dict) else None)


def fill(text: str, placeholders: Placeholders | None, values: Mapping[str, str]) -> str:
    """`text` with each marker replaced by `values[variable]` (non-personal web copies).

    Without recorded markers (an old folder) the fixed placeholders are replaced instead.
    """
    markers = placeholders.as_dict() if placeholders is not None else LEGACY
    for name, marker in markers.items():
        text = text.replace(marker, values.get(name, ""))
    return text


class TemplateSource(jinja2.BaseLoader):
    """A loader that hands out another loader's templates with the fixed placeholders of
    older templates turned into the template variables."""

    def __init__(self, inner: jinja2.BaseLoader) -> None:
        self.inner = inner

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self.inner.get_source(environment, template)
        for name, fixed in LEGACY.items():
            source = source.replace(fixed, f"{{{{ {name} }}}}")
        return source, filename, uptodate

    def list_templates(self) -> list[str]:
        return self.inner.list_templates()
