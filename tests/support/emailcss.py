"""Just enough CSS for the email lint: colours, declarations, <style> rules, selector
matching, and WCAG contrast of every piece of visible text in light and dark mode.

This is not a browser. The cascade is simplified on purpose: stylesheet rules apply in
source order (no specificity), below inline styles, and `!important` lifts a declaration
above normal ones. That is the model email templates are written for: base styles inline,
overrides in `@media` blocks with `!important`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import html as lxml_html

RGB = tuple[int, int, int]
TRANSPARENT = "transparent"

_NAMED: dict[str, RGB] = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "red": (255, 0, 0),
    "green": (0, 128, 0),
    "blue": (0, 0, 255),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "silver": (192, 192, 192),
    "navy": (0, 0, 128),
    "yellow": (255, 255, 0),
    "orange": (255, 165, 0),
    "purple": (128, 0, 128),
    "maroon": (128, 0, 0),
    "teal": (0, 128, 128),
    "lime": (0, 255, 0),
    "aqua": (0, 255, 255),
    "fuchsia": (255, 0, 255),
    "olive": (128, 128, 0),
    "darkgray": (169, 169, 169),
    "lightgray": (211, 211, 211),
    "whitesmoke": (245, 245, 245),
}
_COLOR_TOKEN = re.compile(
    r"#[0-9a-fA-F]{3,8}\b|rgba?\([^)]*\)|\b(?:transparent|" + "|".join(_NAMED) + r")\b", re.I
)
# What a client shows when nothing is set: browser defaults, and in dark mode the dark
# canvas of a client that honours <meta name="color-scheme" content="light dark">.
LIGHT_DEFAULTS = {"color": (0, 0, 0), "background": (255, 255, 255), "link": (0, 0, 238)}
DARK_DEFAULTS = {"color": (255, 255, 255), "background": (18, 18, 18), "link": (158, 158, 255)}


def parse_color(value: str) -> RGB | str | None:
    """An (r, g, b) tuple, TRANSPARENT, or None for unknown/inherit values."""
    v = value.strip().lower()
    if v in _NAMED:
        return _NAMED[v]
    if v == TRANSPARENT:
        return TRANSPARENT
    if v.startswith("#"):
        h = v[1:]
        if len(h) in (3, 4):
            h = "".join(c * 2 for c in h[:3])
        elif len(h) in (6, 8):
            if len(h) == 8 and int(h[6:], 16) == 0:
                return TRANSPARENT
            h = h[:6]
        else:
            return None
        try:
            return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))
        except ValueError:
            return None
    m = re.fullmatch(r"rgba?\(([^)]*)\)", v)
    if m:
        parts = [p for p in re.split(r"[\s,/]+", m.group(1).strip()) if p]
        if len(parts) < 3:
            return None
        if len(parts) > 3 and _number(parts[3], 1.0) == 0:
            return TRANSPARENT
        rgb = [_number(p, 255.0) for p in parts[:3]]
        if any(c is None for c in rgb):
            return None
        return tuple(max(0, min(255, round(c))) for c in rgb)  # type: ignore[return-value]
    return None


def _number(text: str, percent_of: float) -> float | None:
    try:
        if text.endswith("%"):
            return float(text[:-1]) * percent_of / 100
        return float(text)
    except ValueError:
        return None


def first_color(value: str) -> RGB | str | None:
    """The first colour in a shorthand value such as `background: #fff url(x) no-repeat`."""
    m = _COLOR_TOKEN.search(value)
    return parse_color(m.group(0)) if m else None


def luminance(rgb: RGB) -> float:
    """WCAG 2 relative luminance."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: RGB, bg: RGB) -> float:
    """WCAG 2 contrast ratio, 1.0 to 21.0."""
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def hex_color(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def parse_declarations(style: str) -> dict[str, tuple[str, bool]]:
    """`a:b; c:d !important` -> {"a": ("b", False), "c": ("d", True)}."""
    out: dict[str, tuple[str, bool]] = {}
    for part in re.split(r";(?![^(]*\))", style or ""):
        if ":" not in part:
            continue
        prop, value = part.split(":", 1)
        prop = prop.strip().lower()
        value = value.strip()
        important = bool(re.search(r"!\s*important\s*$", value, re.I))
        value = re.sub(r"!\s*important\s*$", "", value, flags=re.I).strip()
        if prop:
            out[prop] = (value, important)
    return out


@dataclass(frozen=True)
class Rule:
    """One style rule and the @media condition it sits in ("" at top level)."""

    selectors: tuple[str, ...]
    declarations: dict[str, tuple[str, bool]]
    media: str = ""


def strip_comments(css: str) -> str:
    return re.sub(r"/\*.*?\*/", "", css, flags=re.S)


def parse_stylesheet(css: str) -> list[Rule]:
    """The rules of a stylesheet, descending into @media blocks; other at-rules skipped."""
    return list(_rules(strip_comments(css), ""))


def _rules(css: str, media: str) -> Iterator[Rule]:
    pos = 0
    while True:
        brace = css.find("{", pos)
        if brace < 0:
            return
        prelude = css[pos:brace].strip()
        end = _matching_brace(css, brace)
        body = css[brace + 1 : end]
        pos = end + 1
        if prelude.startswith("@"):
            # a stray `;`-terminated at-rule (@import, @charset) can precede the prelude
            prelude = prelude.rsplit(";", 1)[-1].strip()
            if prelude.lower().startswith("@media"):
                condition = prelude[6:].strip()
                yield from _rules(body, f"{media} and {condition}" if media else condition)
            continue
        prelude = prelude.rsplit(";", 1)[-1].strip()
        selectors = tuple(s.strip() for s in prelude.split(",") if s.strip())
        if selectors:
            yield Rule(selectors, parse_declarations(body), media)


def _matching_brace(css: str, start: int) -> int:
    depth = 0
    for i in range(start, len(css)):
        if css[i] == "{":
            depth += 1
        elif css[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return len(css)


def is_dark_media(media: str) -> bool:
    return bool(re.search(r"prefers-color-scheme\s*:\s*dark", media, re.I))


_COMPOUND = re.compile(r"^(?P<tag>\*|[a-zA-Z][\w-]*)?(?P<rest>(?:[.#][\w-]+|\[[^\]]+\]|:[\w-]+)*)$")


def matches(el: lxml_html.HtmlElement, selector: str) -> bool:
    """Does `el` match a simple selector (tags, classes, ids, [attr], :root; descendant
    and child combinators)? Anything fancier never matches, which is the safe side."""
    tokens = re.findall(r">|[^\s>]+", selector.strip())
    if not tokens:
        return False
    return _match_from(el, tokens)


def _match_from(el: lxml_html.HtmlElement | None, tokens: list[str]) -> bool:
    if el is None or not _compound(el, tokens[-1]):
        return False
    rest = tokens[:-1]
    if not rest:
        return True
    if rest[-1] == ">":
        return _match_from(el.getparent(), rest[:-1]) if len(rest) > 1 else False
    parent = el.getparent()
    while parent is not None:
        if _match_from(parent, rest):
            return True
        parent = parent.getparent()
    return False


def _compound(el: lxml_html.HtmlElement, text: str) -> bool:
    m = _COMPOUND.match(text)
    if not m or not isinstance(el.tag, str):
        return False
    tag = m.group("tag")
    if tag and tag != "*" and tag.lower() != el.tag.lower():
        return False
    classes = set((el.get("class") or "").split())
    for part in re.findall(r"[.#][\w-]+|\[[^\]]+\]|:[\w-]+", m.group("rest")):
        if part.startswith("."):
            ok = part[1:] in classes
        elif part.startswith("#"):
            ok = el.get("id") == part[1:]
        elif part.startswith("["):
            name, _, value = part[1:-1].partition("=")
            ok = el.get(name.strip()) is not None and (
                not value or el.get(name.strip()) == value.strip("\"' ")
            )
        else:
            ok = part == ":root" and el.getparent() is None
        if not ok:
            return False
    return True


@dataclass(frozen=True)
class ContrastIssue:
    """Text whose colour is too close to the colour behind it."""

    scheme: str  # "light" | "dark"
    ratio: float
    fg: RGB
    bg: RGB
    sample: str  # the first words of the text
    count: int  # how many elements share this colour pair


def contrast_issues(
    root: lxml_html.HtmlElement, minimum: float = 4.5
) -> tuple[list[ContrastIssue], dict[str, float]]:
    """Text below `minimum` contrast in light and dark mode, and the lowest ratio per scheme.

    Dark mode is checked only when the document has a prefers-color-scheme: dark block.
    """
    rules = [r for style in root.iter("style") for r in parse_stylesheet(style.text or "")]
    base = [r for r in rules if not r.media]
    dark = [r for r in rules if is_dark_media(r.media)]
    schemes = {"light": (base, LIGHT_DEFAULTS)}
    if dark:
        schemes["dark"] = (base + dark, DARK_DEFAULTS if _declares_dark(root) else LIGHT_DEFAULTS)
    issues: list[ContrastIssue] = []
    lowest: dict[str, float] = {}
    for scheme, (sheet, defaults) in schemes.items():
        computed = _Computed(sheet, defaults)
        pairs: dict[tuple[RGB, RGB], list[str]] = {}
        for el in _text_elements(root):
            if computed.hidden(el):
                continue
            fg, bg = computed.fg(el), computed.bg(el)
            pairs.setdefault((fg, bg), []).append(_own_text(el))
        for (fg, bg), samples in pairs.items():
            ratio = contrast(fg, bg)
            lowest[scheme] = min(lowest.get(scheme, 21.0), ratio)
            if ratio < minimum:
                issues.append(ContrastIssue(scheme, ratio, fg, bg, samples[0][:60], len(samples)))
    return issues, lowest


def _declares_dark(root: lxml_html.HtmlElement) -> bool:
    for meta in root.iter("meta"):
        if (meta.get("name") or "").lower() == "color-scheme":
            return "dark" in (meta.get("content") or "").lower()
    return False


def _own_text(el: lxml_html.HtmlElement) -> str:
    parts = [el.text or ""] + [child.tail or "" for child in el]
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def _text_elements(root: lxml_html.HtmlElement) -> Iterator[lxml_html.HtmlElement]:
    body = root.find("body")
    for el in (body if body is not None else root).iter():
        if not isinstance(el.tag, str) or el.tag in ("style", "script", "title", "head"):
            continue
        if re.search(r"\w", _own_text(el)):
            yield el


class _Computed:
    """Colour and visibility of elements under one scheme's stylesheet."""

    def __init__(self, sheet: list[Rule], defaults: dict[str, RGB]) -> None:
        self.sheet = sheet
        self.defaults = defaults
        # Keyed by the element itself: holding the proxy keeps lxml from handing out a new
        # one (with a recycled id()) for the same node.
        self.cache: dict[lxml_html.HtmlElement, dict[str, str]] = {}

    def styles(self, el: lxml_html.HtmlElement) -> dict[str, str]:
        """The winning declarations on `el` (not inherited)."""
        key = el
        if key not in self.cache:
            normal: dict[str, str] = {}
            important: dict[str, str] = {}
            for rule in self.sheet:
                if any(matches(el, s) for s in rule.selectors):
                    for prop, (value, imp) in rule.declarations.items():
                        (important if imp else normal)[prop] = value
            for prop, (value, imp) in parse_declarations(el.get("style") or "").items():
                if imp:
                    important[prop] = value
                elif prop not in important:
                    normal[prop] = value
            self.cache[key] = {**normal, **important}
        return self.cache[key]

    def hidden(self, el: lxml_html.HtmlElement | None) -> bool:
        while el is not None:
            styles = self.styles(el)
            if styles.get("display", "").lower() == "none" or el.get("hidden") is not None:
                return True
            if styles.get("mso-hide", "").lower() == "all" and styles.get("max-height") in (
                "0",
                "0px",
            ):
                return True
            el = el.getparent()
        return False

    def fg(self, el: lxml_html.HtmlElement) -> RGB:
        node: lxml_html.HtmlElement | None = el
        while node is not None:
            color = parse_color(self.styles(node).get("color", ""))
            if isinstance(color, tuple):
                return color
            if node.tag == "a":  # an unstyled link shows the client's link colour
                return self.defaults["link"]
            node = node.getparent()
        return self.defaults["color"]

    def bg(self, el: lxml_html.HtmlElement) -> RGB:
        node: lxml_html.HtmlElement | None = el
        while node is not None:
            styles = self.styles(node)
            for value in (styles.get("background-color"), styles.get("background")):
                color = first_color(value) if value else None
                if isinstance(color, tuple):
                    return color
            attr = parse_color(node.get("bgcolor") or "")
            if isinstance(attr, tuple):
                return attr
            node = node.getparent()
        return self.defaults["background"]
