"""Keep link tokens out of logs.

A token in a URL is a credential (it unsubscribes, manages, confirms). Access logs are read
by more people, kept longer and shipped further than the mail that carried the link, so
every line the app or its development server logs has tokens replaced by "***".
"""

from __future__ import annotations

import re

from newsletter.audience.tokens import PURPOSES

# /<purpose>/<token> anywhere in a logged line (request lines, paths, full URLs)
_TOKEN_PATH = re.compile(rf"(/(?:{'|'.join(PURPOSES)})/)[^/\s?#\"']+")


def redact(text: str) -> str:
    """`text` with the token of every /<purpose>/<token> path replaced by "***"."""
    return _TOKEN_PATH.sub(r"\1***", text)
