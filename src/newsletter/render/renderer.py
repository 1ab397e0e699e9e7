"""Render a Digest into the HTML and text of an email, and write the archive to disk.

The HTML is rendered once per digest with Jinja2 (autoescaped: every feed string is
untrusted), its CSS inlined once with css-inline, and trimmed to the size budget so Gmail
does not clip it. Per-subscriber links stay as placeholders drawn fresh for each render
(see `newsletter.render.placeholders`) that the sender fills per subscriber; the web copies
get non-personal links instead.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import css_inline
import jinja2

from newsletter.config import BUILTIN_TEMPLATES, Config
from newsletter.errors import ConfigError, NewsletterError
from newsletter.model import Digest
from newsletter.render.archive_list import archive_entries
from newsletter.render.i18n import install
from newsletter.render.placeholders import Placeholders, TemplateSource, fill
from newsletter.render.shape import Shape, full_shape, plan_shape
from newsletter.render.view import (
    OTHER_LABEL,
    SectionView,
    digest_data,
    lead_view,
    make_preheader,
    section_views,
)

logger = logging.getLogger(__name__)

STAMP_FORMAT = "%Y%m%d-%H%M%S"

# keep_at_rules leaves @media (mobile + dark mode) in one <style>; everything else is inlined.
# No remote stylesheet is ever fetched: rendering must work offline and be deterministic.
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False, minify_css=True)
_CHARSET_META = '<meta charset="utf-8">'
_ATTRIBUTE = re.compile(r'="[^"<>]*[<>][^"]*"')


@dataclass(frozen=True)
class RenderedDigest:
    """One digest rendered: the mail (html, text) and the full web copy."""

    html: str  # mail HTML, CSS inlined, placeholders intact, trimmed to the budget
    text: str  # plain-text part, placeholders intact
    placeholders: Placeholders  # the markers of this render (also in data["placeholders"])
    preheader: str
    data: dict[str, Any]  # JSON-able, written as digest.json
    list_name: str
    built_at: datetime
    trimmed: int = 0  # entries left out of the mail (they are in the web copy)
    web_html: str = ""  # every entry, placeholders replaced by non-personal links
    web_url: str = ""  # where the web copy is served (archive_url)


def make_environment(template_dir: str | Path | None = None) -> jinja2.Environment:
    """A Jinja2 environment: the user's folder first, then the built-in templates.

    A user's template can extend the original it replaces with
    `{% extends "default:digest.html" %}`.
    """
    builtin = jinja2.FileSystemLoader(str(BUILTIN_TEMPLATES))
    loaders: list[jinja2.BaseLoader] = []
    if template_dir:
        folder = Path(template_dir).expanduser()
        if not folder.is_dir():
            raise ConfigError(
                f"template folder {folder} not found; fix digest.template_dir in the config "
                "or create the folder"
            )
        loaders.append(jinja2.FileSystemLoader(str(folder)))
    loaders += [jinja2.PrefixLoader({"default": builtin}, delimiter=":"), builtin]
    env = jinja2.Environment(
        loader=TemplateSource(jinja2.ChoiceLoader(loaders)),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,  # a typo in a template fails the build, not the mail
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
        # compiled templates kept between runs (per user, checked against their source):
        # compiling them anew is a tenth of a second of every build
        bytecode_cache=_bytecode_cache(),
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters["wrap"] = wrap_text
    return env


class _KeptTemplates(jinja2.FileSystemBytecodeCache):
    """Jinja's cache of compiled templates in the temp folder (a folder of this user's, mode
    0700, each entry checked against its template's source); a cache that cannot be read
    or written only means compiling again."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, ValueError, EOFError):
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    try:
        return _KeptTemplates()
    except (RuntimeError, OSError):  # no temp folder that is safely ours: compile each time
        return None


def _autoescape(name: str | None) -> bool:
    """Escape everything except the plain-text templates."""
    return not (name or "").endswith(".txt")


def wrap_text(text: str, width: int = 72) -> str:
    """Wrap plain text at `width` columns without ever splitting a word or a URL."""
    return "\n".join(
        textwrap.fill(line, width=width, break_long_words=False, break_on_hyphens=False)
        for line in str(text).splitlines()
    )


def stamp(built_at: datetime) -> str:
    """The archive folder name of a digest: its build time in UTC, YYYYmmdd-HHMMSS."""
    if built_at.tzinfo is None:
        built_at = built_at.replace(tzinfo=UTC)
    return built_at.astimezone(UTC).strftime(STAMP_FORMAT)


def archive_url(config: Config, list_name: str, built_at: datetime) -> str:
    """Public URL of a digest's web copy (output/<list>/<stamp>/index.html)."""
    return f"{config.site.url.rstrip('/')}/archive/{list_name}/{stamp(built_at)}/"


def public_links(config: Config) -> dict[str, str]:
    """What a web copy shows where the mail has personal links: the token-less pages."""
    base = config.site.url.rstrip("/")
    return {
        "unsubscribe_url": f"{base}/unsubscribe",
        "manage_url": f"{base}/manage",
        "recipient": "",
    }


def web_version(html: str, config: Config, placeholders: Placeholders | None) -> str:
    """Mail HTML or text with its placeholders replaced by non-personal links (previews, and
    web copies of folders written by older versions)."""
    return fill(html, placeholders, public_links(config))


def render_digest(
    digest: Digest, config: Config, env: jinja2.Environment | None = None
) -> RenderedDigest:
    """Render the mail HTML and text of a digest, trimmed to config.digest.html_budget_kb."""
    if env is None:
        folder = config.digest.template_dir
        env = make_environment(config.resolve(folder) if folder else None)
    lst = config.list(digest.list_name)
    tz = ZoneInfo(lst.timezone)
    tr = install(env, config.site.language)
    web_url = archive_url(config, digest.list_name, digest.built_at)
    date_display = tr.long_date(digest.built_at, tz)
    shape = plan_shape(
        digest, config.digest.mail_items, config.digest.per_section, config.digest.lead
    )
    lead = lead_view(digest, shape, tz, tr)
    preheader = make_preheader(
        digest, config.site.name, date_display, lead["title"] if lead else "", tr
    )
    placeholders = Placeholders.fresh()
    base = {
        "site": config.site,
        "language": tr.tag,
        "dir": tr.direction,
        "list_name": digest.list_name,
        "list_title": lst.title or config.site.name,
        "date_display": date_display,
        "story_count": len(digest.entries),
        "preheader": preheader,
        "web_url": web_url,
        "lead": lead,
        "other_label": tr.gettext(OTHER_LABEL),
        **placeholders.as_dict(),
    }

    def views(caps: _Caps, chosen: Shape = shape) -> list[SectionView]:
        return section_views(digest, tz, web_url, caps[0], caps[1], chosen, tr)

    def render_html(caps: _Caps) -> str:
        return inline_css(_render(env, "digest.html", _context(base, views(caps))))

    caps, html = _fit(render_html, digest, config.digest.html_budget_kb * 1024)
    shown = views(caps)
    trimmed = len(digest.entries) - sum(len(v.items) for v in shown) - (1 if lead else 0)
    text = _render_text(env, _context(base, shown))
    full = views(_NO_CAPS, full_shape(digest, shape.lead))
    # The web copy has every story (it is the page "N more on the web" points to) and no
    # "View on the web" link to itself.
    public = {**base, "web_url": "", **public_links(config)}
    web_html = inline_css(_render(env, "digest.html", _context(public, full)))
    in_mail = {(s, j) for s, js in enumerate(shape.shown) for j in js[: caps[0] or None]}
    in_mail = {(s, j) for s, j in in_mail if caps[1] is None or s < caps[1]}
    if shape.lead is not None:
        in_mail.add(shape.lead)
    data = digest_data(digest, config, str(base["list_title"]), full, shape, in_mail)
    data.update(
        preheader=preheader,
        web_url=web_url,
        trimmed=trimmed,
        placeholders=placeholders.as_dict(),
    )
    logger.debug("rendered %s: %d bytes of HTML, %d trimmed", digest.list_name, len(html), trimmed)
    return RenderedDigest(
        html=html,
        text=text,
        placeholders=placeholders,
        preheader=preheader,
        data=data,
        trimmed=trimmed,
        web_html=web_html,
        web_url=web_url,
        list_name=digest.list_name,
        built_at=digest.built_at,
    )


_Caps = tuple[int | None, int | None]  # (stories per section, sections shown); None = all
_NO_CAPS: _Caps = (None, None)


def _fit(render: Callable[[_Caps], str], digest: Digest, budget: int) -> tuple[_Caps, str]:
    """Render within `budget` bytes by leaving out whole stories, never cutting markup.

    First everything; then the largest per-section cap k that fits (each section keeps its
    first k stories, the rest become "N more in <section> on the web"); if even one story
    per section is too big, trailing sections are left out as well. Each step re-renders.
    """
    html = render(_NO_CAPS)
    if _size(html) <= budget:
        return _NO_CAPS, html
    longest = max((len(s.entries) for s in digest.sections), default=0)
    k = _largest(1, longest - 1, lambda n: _size(render((n, None))) <= budget)
    if k is not None:
        caps: _Caps = (k, None)
    else:
        shown = _largest(1, len(digest.sections) - 1, lambda n: _size(render((1, n))) <= budget)
        caps = (1, shown or 1)
    html = render(caps)
    if _size(html) > budget:
        logger.warning(
            "digest %s is %d bytes with one story; over the %d byte budget (html_budget_kb)",
            digest.list_name,
            _size(html),
            budget,
        )
    return caps, html


def _largest(low: int, high: int, fits: Callable[[int], bool]) -> int | None:
    """The largest n in [low, high] with fits(n), for a monotone fits; None if none fits."""
    best = None
    while low <= high:
        mid = (low + high) // 2
        if fits(mid):
            best, low = mid, mid + 1
        else:
            high = mid - 1
    return best


def _size(html: str) -> int:
    return len(html.encode("utf-8"))


def _context(base: dict[str, Any], views: list[SectionView]) -> dict[str, Any]:
    """Template context: sections with stories, and the totals of sections left out."""
    dropped = [v for v in views if not v.items and v.total]
    return {
        **base,
        "sections": [v.as_dict() for v in views if v.items],
        # "3 more stories in Sport, Health on the web"; the leftovers go unnamed
        "omitted_sections": [v.label for v in dropped if v.label != base.get("other_label")],
        "omitted_sections_stories": sum(v.total for v in dropped),
    }


def _render_text(env: jinja2.Environment, context: dict[str, Any]) -> str:
    """The text part, with trailing spaces and runs of blank lines removed."""
    text = _render(env, "digest.txt", context)
    lines = [line if line == "-- " else line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def _render(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateError as e:
        where = getattr(e, "filename", None) or name
        raise ConfigError(
            f"template {where} failed: {e}; fix the template (digest.template_dir) or remove "
            "your override to use the built-in one"
        ) from e


def inline_css(html: str) -> str:
    """Inline the <style> rules into style attributes, keeping @media rules in <head>."""
    out = _INLINER.inline(html)
    # The HTML5 serializer leaves < and > unescaped inside attribute values. That is valid,
    # but a feed title like "<script>" in an alt or aria-label would then trip naive
    # filters on the way to the inbox; text content is already escaped.
    out = _ATTRIBUTE.sub(lambda m: m.group(0).replace("<", "&lt;").replace(">", "&gt;"), out)
    # css-inline puts the kept <style> first in <head>; the charset declaration goes first.
    if _CHARSET_META in out:
        out = out.replace(_CHARSET_META, "", 1).replace("<head>", "<head>" + _CHARSET_META, 1)
    return out


def claim_folder(config: Config, list_name: str, built_at: datetime) -> datetime:
    """The first build time from `built_at` on, a second at a time, whose output folder
    (output/<list>/<stamp>/) did not exist: it is created here, empty, for the caller.

    Two builds in the same second (two configs sharing an output folder and a list name,
    or any two processes) would otherwise write one folder, the later over the earlier;
    `mkdir` succeeds for one of them only, and the other takes the next second.
    """
    parent = Path(config.output_dir) / list_name
    parent.mkdir(parents=True, exist_ok=True)
    when = built_at
    for _ in range(3600):
        try:
            (parent / stamp(when)).mkdir()
            return when
        except FileExistsError:
            when = when.replace(microsecond=0) + timedelta(seconds=1)
    raise NewsletterError(f"no free output folder under {parent} for an hour of build times")


def release_folder(config: Config, list_name: str, built_at: datetime) -> None:
    """Remove a claimed folder that nothing was written to (a build that failed)."""
    try:
        (Path(config.output_dir) / list_name / stamp(built_at)).rmdir()
    except OSError:
        pass  # not empty, or already gone: leave it


def write_digest(
    rendered: RenderedDigest, config: Config, list_name: str, built_at: datetime
) -> Path:
    """Write digest.html/.txt/.json and the web copies; rebuild output/index.html.

    The folder is taken as it is (see `claim_folder` for one no other build writes to)."""
    out = Path(config.output_dir)
    folder = out / list_name / stamp(built_at)
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_write(folder / "digest.html", rendered.html)
    _atomic_write(folder / "digest.txt", rendered.text)
    _write_data(rendered, folder)
    web = rendered.web_html or web_version(rendered.html, config, rendered.placeholders)
    _atomic_write(folder / "index.html", web)
    _atomic_write(out / "latest.html", web)
    write_index(config)
    return folder


def write_index(config: Config, env: jinja2.Environment | None = None) -> Path:
    """Rebuild output/index.html from the digest.json files on disk, newest first."""
    out = Path(config.output_dir)
    path = out / "index.html"
    _atomic_write(path, render_index(config, env))
    return path


def render_index(config: Config, env: jinja2.Environment | None = None) -> str:
    """The archive page of every digest.json under the output folder, in the site's
    language (no digest yet: a page that says so)."""
    out = Path(config.output_dir)
    if env is None:
        folder = config.digest.template_dir
        env = make_environment(config.resolve(folder) if folder else None)
    digests = archive_entries(out, config) if out.is_dir() else []
    tr = install(env, config.site.language)
    return _render(
        env,
        "index.html",
        {
            "site": config.site,
            "language": tr.tag,
            "dir": tr.direction,
            "digests": digests,
            "latest": (out / "latest.html").exists(),
        },
    )


def note_digest_id(rendered: RenderedDigest, folder: Path, digest_id: int) -> None:
    """Write the store's id of the digest into the digest.json `write_digest` wrote to
    `folder` (the id exists only once the written digest is recorded)."""
    rendered.data["digest_id"] = digest_id
    _write_data(rendered, folder)


def _write_data(rendered: RenderedDigest, folder: Path) -> None:
    _atomic_write(folder / "digest.json", json.dumps(rendered.data, indent=2, ensure_ascii=False))


def _atomic_write(path: Path, content: str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
