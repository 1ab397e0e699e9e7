"""`newsletter bounces process` and the bounce step of `newsletter run`: read reports from
files or from the bounce mailbox and apply them (see `apply` for the policy, `mailbox` for
what happens to processed messages)."""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Iterable
from typing import BinaryIO

from newsletter.config import Config
from newsletter.errors import ConfigError
from newsletter.store import Store

from .apply import Applier, Policy, Tally, message_key
from .classify import parse_message
from .mailbox import SESSION_ERRORS, MailboxError, open_mailbox, tls_context
from .model import BounceReport
from .readers import ReadError, read_messages
from .verp import key_from_secret

logger = logging.getLogger(__name__)

# what parse_message reports for bytes it could not take apart at all
_UNPARSED = ("error", "not-a-message")


def applier_for(config: Config, store: Store) -> Applier:
    """An Applier with the config's policy and the token key of its secret key."""
    return Applier(
        store, Policy.from_config(config.bounces), key_from_secret(config.require_secret())
    )


def apply_one(
    applier: Applier, name: str, data: bytes | ReadError, source: str, tally: Tally
) -> BounceReport | None:
    """Parse and apply one message; None (and an `unreadable` entry) when it cannot be read."""
    if isinstance(data, ReadError):
        tally.unreadable.append((name, data.message))
        return None
    report = parse_message(data)
    if report.source in _UNPARSED:
        tally.unreadable.append((name, "not a readable mail message"))
        return None
    applier.apply_report(report, message_key(data), source, tally)
    return report


def process_files(
    config: Config,
    store: Store,
    paths: Iterable[str | os.PathLike[str]],
    stdin: BinaryIO | None = None,
) -> Tally:
    """Apply the reports in files, maildir folders and mbox files ('-' is stdin)."""
    applier = applier_for(config, store)
    tally = Tally()
    for name, data in read_messages(paths, stdin):
        apply_one(applier, name, data, f"file {name}", tally)
    return tally


def process_mailbox(config: Config, store: Store, context: ssl.SSLContext | None = None) -> Tally:
    """Apply every report waiting in `[bounces] mailbox`, then mark, move or delete each
    one as configured. ConfigError without a mailbox; MailboxError when it cannot be read
    (what was applied until then stays applied, and marked)."""
    bounces = config.bounces
    if not bounces.mailbox:
        raise ConfigError(
            'no bounce mailbox: set [bounces] mailbox = "imaps://user@host/INBOX" (or '
            "pop3s://...) or pass the files to read"
        )
    applier = applier_for(config, store)
    box = open_mailbox(
        bounces, config.bounces_password, store, context or tls_context(bounces, config.resolve)
    )
    tally = Tally()
    source = f"mailbox {box.name}"
    try:
        for uid in box.pending():
            report = apply_one(applier, f"{box.name} uid {uid}", box.fetch(uid), source, tally)
            if report is not None:
                # mail from a person (kind not-bounce) is never deleted, only marked
                box.done(uid, deletable=report.kind != "not-bounce")
    except SESSION_ERRORS as e:
        raise MailboxError(f"{box.name}: {e}; what was processed so far is kept") from e
    finally:
        box.close()
    logger.info("%s: %s", box.name, tally.summary_line())
    return tally
