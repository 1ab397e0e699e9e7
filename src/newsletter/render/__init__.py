"""Render: a built digest to HTML, text and the web archive.

`view` turns a digest into the plain dicts the templates read, `renderer` renders them
with Jinja2 (CSS inlined once) and writes the files, `archive` finds them again on disk.
"""

from newsletter.render.renderer import RenderedDigest, make_environment, render_digest, write_digest

__all__ = ["RenderedDigest", "make_environment", "render_digest", "write_digest"]
