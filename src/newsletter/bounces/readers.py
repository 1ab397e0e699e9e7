"""Reading messages to parse: .eml files, maildir folders, mbox files, plain folders of
messages, and '-' for standard input. A source that cannot be read yields a ReadError entry
instead of raising, so one bad file does not stop a batch."""

from __future__ import annotations

import io
import mailbox
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# A message bigger than this is cut on reading; the parser looks at the first 1 MiB only
# (limits.MAX_MESSAGE_BYTES), so there is no point holding more in memory.
MAX_READ = 4 << 20


@dataclass(frozen=True)
class ReadError:
    """Stands in for the bytes of a message that could not be read."""

    message: str


Item = tuple[str, "bytes | ReadError"]


def read_messages(
    paths: Iterable[str | os.PathLike[str]], stdin: BinaryIO | None = None
) -> Iterator[Item]:
    """Yield (name, raw bytes or ReadError) for every message under `paths`.

    A file starting with "From " is an mbox (names "file#1", "file#2", ...); a folder with
    cur/ or new/ is a maildir; any other folder is read file by file (not recursively);
    any other file is one message. '-' reads standard input (one message, or an mbox).
    """
    for path in paths:
        name = os.fspath(path)
        try:
            if name == "-":
                stream = stdin if stdin is not None else sys.stdin.buffer
                yield from _from_bytes("-", stream.read(MAX_READ * 4))
                continue
            target = Path(name)
            if target.is_dir():
                yield from _read_dir(target)
            elif target.exists():
                yield from _read_file(target)
            else:
                yield name, ReadError("no such file or folder")
        except Exception as exc:  # noqa: BLE001 - an unreadable source is an entry, not a crash
            yield name, ReadError(f"{type(exc).__name__}: {exc}")


def _read_dir(folder: Path) -> Iterator[Item]:
    subdirs = [folder / "new", folder / "cur"]
    if any(d.is_dir() for d in subdirs):
        for sub in subdirs:
            if sub.is_dir():
                for item in sorted(sub.iterdir()):
                    if item.is_file() and not item.name.startswith("."):
                        yield from _read_one(item)
        return
    for item in sorted(folder.iterdir()):
        if item.is_file() and not item.name.startswith("."):
            yield from _read_file(item)


def _read_file(path: Path) -> Iterator[Item]:
    try:
        with path.open("rb") as handle:
            head = handle.read(5)
    except OSError as exc:
        yield str(path), ReadError(f"{type(exc).__name__}: {exc.strerror or exc}")
        return
    if head == b"From ":
        yield from _read_mbox(path)
    else:
        yield from _read_one(path)


def _read_one(path: Path) -> Iterator[Item]:
    try:
        with path.open("rb") as handle:
            yield str(path), handle.read(MAX_READ)
    except OSError as exc:
        yield str(path), ReadError(f"{type(exc).__name__}: {exc.strerror or exc}")


def _read_mbox(path: Path) -> Iterator[Item]:
    try:
        box = mailbox.mbox(path, create=False)
        keys = box.keys()
    except Exception as exc:  # noqa: BLE001 - mailbox raises several kinds
        yield str(path), ReadError(f"{type(exc).__name__}: {exc}")
        return
    try:
        for index, key in enumerate(keys, start=1):
            name = f"{path}#{index}"
            try:
                yield name, box.get_bytes(key)[:MAX_READ]
            except Exception as exc:  # noqa: BLE001
                yield name, ReadError(f"{type(exc).__name__}: {exc}")
    finally:
        box.close()


def _from_bytes(name: str, data: bytes) -> Iterator[Item]:
    """Standard input: an mbox stream when it starts with 'From ', else one message."""
    if not data.startswith(b"From "):
        yield name, data[:MAX_READ]
        return
    for index, chunk in enumerate(_split_mbox(data), start=1):
        yield f"{name}#{index}", chunk[:MAX_READ]


def _split_mbox(data: bytes) -> Iterator[bytes]:
    """Split an mbox stream on 'From ' lines after a blank line (mboxrd/mboxo style) and
    undo the '>From ' quoting."""
    current: list[bytes] = []
    previous_blank = True
    started = False
    for line in io.BytesIO(data):
        if line.startswith(b"From ") and previous_blank:
            if started:
                yield _unquote(current)
            current, started = [], True
            previous_blank = False
            continue
        current.append(line)
        previous_blank = line in (b"\n", b"\r\n")
    if started:
        yield _unquote(current)


def _unquote(lines: list[bytes]) -> bytes:
    out = []
    for line in lines:
        stripped = line.lstrip(b">")
        if stripped.startswith(b"From ") and line.startswith(b">"):
            line = line[1:]
        out.append(line)
    body = b"".join(out)
    # the blank line before the next separator belongs to the mbox format, not the message
    return body[:-1] if body.endswith(b"\n\n") else body
