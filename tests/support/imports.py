"""What a fresh interpreter has imported after running some code: the lean-import checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("sklearn", "scipy", "nltk", "sumy.summarizers")
# what a build with nothing new needs none of: the parser, the analysis, the templates, the
# parser's worker process (its module loads pickle and subprocess)
PARSING_AND_AFTER = ("feedparser", "lxml", "numpy", "jinja2", "newsletter.children", *HEAVY)
TESTS = Path(__file__).parent.parent  # the tests folder: probes import `support`


def loaded_after(code: str, heavy: tuple[str, ...] = HEAVY, cwd: Path = TESTS) -> list[str]:
    """The `heavy` packages a fresh interpreter holds after running `code`."""
    probe = (
        f"{code}\nimport sys, json\n"
        f"print(json.dumps(sorted({{m.split('.')[0] if m.split('.')[0] != 'sumy' else m "
        f"for m in sys.modules if m.startswith({heavy!r})}})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env={**os.environ, "NEWSLETTER_SECRET_KEY": "k" * 40},
    ).stdout
    return json.loads(out.splitlines()[-1])
