"""The tests exercise the package as installed, and the install carries every file it needs.

`.ci/run` installs the wheel (not an editable copy) and sets NEWSLETTER_TEST_INSTALLED=1, so
there the package must come from site-packages and hold every file of `src/newsletter`; a
file the wheel forgot fails here instead of in a user's first run.
"""

from __future__ import annotations

import os
from pathlib import Path

from support.paths import REPO

import newsletter
from newsletter.config import BUILTIN_TEMPLATES, BUNDLED_SEEDS

PACKAGE = Path(newsletter.__file__).resolve().parent
SOURCE = REPO / "src" / "newsletter"


def _files(root: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def test_templates_and_seeds_come_from_the_imported_package() -> None:
    assert BUILTIN_TEMPLATES == PACKAGE / "templates"
    assert BUNDLED_SEEDS == PACKAGE / "seeds"
    assert (BUILTIN_TEMPLATES / "digest.html").is_file()
    assert sorted(BUNDLED_SEEDS.glob("*.xml")), "no bundled seed feeds"


def test_the_installed_package_is_what_is_tested_and_holds_every_file() -> None:
    if os.environ.get("NEWSLETTER_TEST_INSTALLED") != "1":
        # a developer's editable install imports the source tree itself: nothing to compare
        assert PACKAGE == SOURCE.resolve()
        return
    assert PACKAGE != SOURCE.resolve(), "tests imported the source tree, not the installed wheel"
    assert "site-packages" in PACKAGE.parts
    missing = _files(SOURCE) - _files(PACKAGE)
    assert missing == set(), f"files missing from the installed package: {sorted(missing)}"
