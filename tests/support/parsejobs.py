"""Jobs for the parser worker's tests: module-level, so the worker can import them."""

from __future__ import annotations

import logging
import os

logger = logging.getLogger("support.parsejobs")


def whose_pid(tag: str) -> tuple[str, int]:
    return tag, os.getpid()


def warn(text: str) -> str:
    logger.warning("worker says %s", text)
    try:
        raise ValueError(text)
    except ValueError:
        logger.exception("and a traceback")
    return text.upper()


def die_unless_in(pid: int) -> str:
    """Kills the worker it runs in; returns when run by the caller (`pid`) itself."""
    if os.getpid() != pid:
        os._exit(3)
    return "parsed by the caller"
