"""Hard caps that keep the parser's work bounded on hostile input, and a meter that counts it.

Every stage takes its input through a `Budget`, so a test (or a curious operator) can check
how much was parsed and scanned instead of trusting the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass

# Bounces are small; a copy of our own digest makes them at most a few hundred KB. Past 1 MiB
# nothing useful is left to find, and the stdlib parser's cost grows with the input.
MAX_MESSAGE_BYTES = 1 << 20
# Nesting depth in the stdlib parser is one frame per MIME level and each level needs its own
# Content-Type header, so cutting the raw bytes at this many headers bounds the recursion.
MAX_CONTENT_TYPE_HEADERS = 200
# Our own walk over the parsed tree: real reports have fewer than a dozen parts, 3-4 deep.
MAX_PARTS = 200
MAX_DEPTH = 24
# Text of one body part that is looked at (encoded input is cut at 4/3 of it before decoding).
MAX_PART_TEXT = 256 * 1024
# Text of all parts together that the heuristics scan.
MAX_TOTAL_TEXT = 512 * 1024
# A line longer than this is cut before a regex sees it; no report line is this long.
MAX_LINE = 4096
# Lines of a report region the heuristics look at.
MAX_LINES = 4000
# Header values are cut at this length before decoding.
MAX_HEADER = 8192
# Recipients reported per message; a mass bounce with more is cut (and that is rare).
MAX_RECIPIENTS = 500


@dataclass
class Budget:
    """Counts the work one parse does. Stages call `text()` with everything they scan."""

    bytes_parsed: int = 0
    chars_scanned: int = 0
    parts_visited: int = 0
    max_depth_seen: int = 0

    def text(self, value: str, cap: int = MAX_PART_TEXT) -> str:
        """Cut `value` to `cap` characters and count what is left as scanned."""
        if len(value) > cap:
            value = value[:cap]
        self.chars_scanned += len(value)
        return value
