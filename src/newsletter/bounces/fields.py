"""Parsing "Name: value" field blocks, the body syntax of message/delivery-status and
message/feedback-report parts (RFC 3464 section 2.1, RFC 5965 section 3.1)."""

from __future__ import annotations

import re

from .limits import MAX_LINE, MAX_LINES

_FIELD = re.compile(r"([A-Za-z][A-Za-z0-9\-]{0,76})[ \t]*:[ \t]*(.*)")

Block = list[tuple[str, str]]


def parse_blocks(text: str, starts_block: frozenset[str] = frozenset()) -> list[Block]:
    """Split text into blocks of (lower-cased name, value) pairs.

    Blocks end at blank lines. A name in `starts_block` that is already in the current block
    also starts a new one: some MTAs forget the blank line between recipients.
    """
    blocks: list[Block] = []
    current: Block = []
    seen: set[str] = set()
    for line in text.splitlines()[:MAX_LINES]:
        line = line[:MAX_LINE]
        if not line.strip():
            if current:
                blocks.append(current)
            current, seen = [], set()
            continue
        if line[0] in " \t" and current:
            name, value = current[-1]
            current[-1] = (name, f"{value} {line.strip()}"[:MAX_LINE])
            continue
        match = _FIELD.match(line)
        if not match:
            continue
        name = match.group(1).lower()
        if name in starts_block and name in seen:
            blocks.append(current)
            current, seen = [], set()
        current.append((name, match.group(2).strip()))
        seen.add(name)
    if current:
        blocks.append(current)
    return blocks


def first(block: Block, name: str) -> str:
    for key, value in block:
        if key == name:
            return value
    return ""


def every(block: Block, name: str) -> list[str]:
    return [value for key, value in block if key == name]
