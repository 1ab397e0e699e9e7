"""Subscriber rules: address validation, name cleaning, CSV import and export.

Addresses are validated offline (email-validator, no DNS), stored in their ASCII form
(an internationalized domain becomes punycode, so plain SMTP can carry it) and lower-cased:
mailbox providers treat the local part case-insensitively, and one person typing
"Ann@x.org" and later "ann@x.org" must not end up subscribed twice.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from email_validator import EmailNotValidError, validate_email

from newsletter.errors import SubscriberError
from newsletter.model import Subscriber
from newsletter.store import Store
from newsletter.store.subscribers import STATUSES
from newsletter.text import safe_header_value

logger = logging.getLogger(__name__)

NAME_MAX = 100
CSV_COLUMNS = ("email", "name", "status")
# statuses an import may never undo: an opt-out or a dead address stays that way
_FINAL = ("unsubscribed", "bounced")


def normalize_email(address: str) -> str:
    """The canonical form of an address; SubscriberError saying why it is not valid."""
    text = (address or "").strip()
    if not text:
        raise SubscriberError("the email address is empty")
    try:
        result = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as e:
        raise SubscriberError(f"{text!r} is not a valid email address: {e}") from e
    address = str(result.ascii_email).lower()
    if "=?" in address:
        # legal, but mail software decodes "=?charset?q?...?=" into other text (even extra
        # recipients) when it builds or reads the To header
        raise SubscriberError(
            f"{text!r} is not accepted: an address containing '=?' reads as encoded text in "
            "mail headers"
        )
    return address


def clean_name(name: str) -> str:
    """A display name safe for headers and pages: one line without control characters,
    at most NAME_MAX characters (the rules of every header value, see `mail`)."""
    return safe_header_value(name, limit=NAME_MAX)


def add(
    store: Store,
    list_name: str,
    email: str,
    name: str = "",
    status: str = "pending",
    source: str = "",
) -> Subscriber:
    """Validate and add one subscriber; SubscriberError if invalid or already on the list."""
    address = normalize_email(email)
    existing = store.get_subscriber((list_name, address))
    if existing is not None:
        raise SubscriberError(
            f"{address} is already on the list {list_name!r} (status {existing.status})"
        )
    return store.add_subscriber(list_name, address, clean_name(name), status, source)


def find(store: Store, list_name: str, email: str) -> Subscriber | None:
    """The subscriber with this address (any spelling of it) on a list, or None."""
    return store.get_subscriber((list_name, normalize_email(email)))


def remove(store: Store, list_name: str, email: str) -> bool:
    """Delete a subscriber (and their delivery history) by address; False if not found."""
    subscriber = find(store, list_name, email)
    return subscriber is not None and store.remove_subscriber(subscriber.id)


@dataclass
class ImportReport:
    """What a CSV import did, row by row where it matters."""

    added: int = 0
    updated: int = 0  # an existing row changed (confirmed, opted out, renamed)
    unchanged: int = 0  # already there as imported, or kept unsubscribed/bounced
    kept_out: int = 0  # of `unchanged`: unsubscribed/bounced rows the import would change
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (line, email, reason)
    kept: list[tuple[int, str, str]] = field(default_factory=list)  # (line, email, status)

    def kept_lines(self) -> list[str]:
        """One line per opted-out address the import left as it was."""
        return [
            f"line {line}: {email} stays {status}: its row is left as it is, name included; "
            "an opt-out ends only when the person confirms a new subscription themselves "
            "(the subscribe form mails them a link)"
            for line, email, status in self.kept
        ]

    def summary_line(self) -> str:
        """One line for the CLI, e.g. `added 120, updated 3, unchanged 7, rejected 2`."""
        line = (
            f"added {self.added:,}, updated {self.updated:,}, unchanged {self.unchanged:,}, "
            f"rejected {len(self.rejected):,}"
        )
        if self.kept_out:
            line += f" ({self.kept_out:,} unsubscribed or bounced addresses kept out)"
        return line


def import_csv(
    store: Store,
    list_name: str,
    source: TextIO | str | Path,
    status: str = "confirmed",
    origin: str = "import",
) -> ImportReport:
    """Import subscribers from CSV with a header row `email,name[,status]`.

    `status` applies to rows without one. An address already on the list as unsubscribed
    or bounced is left entirely as it is, status and name (each row that would have changed
    it is listed in `kept`); a pending one can be confirmed or opted out.
    """
    if status not in STATUSES:
        raise SubscriberError(f"unknown status {status!r}; use one of: {', '.join(STATUSES)}")
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8-sig", newline="") as handle:
            return import_csv(store, list_name, handle, status, origin)
    reader = csv.reader(source)
    header = _read_header(reader)
    report = ImportReport()
    seen: dict[str, int] = {}
    batch: list[tuple[int, dict[str, str]]] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue  # blank lines are not data
        values = dict(zip(header, (cell.strip() for cell in row), strict=False))
        if len(row) > len(header):
            report.rejected.append((reader.line_num, values.get("email", ""), "too many columns"))
            continue
        batch.append((reader.line_num, values))
        if len(batch) >= 500:
            _import_batch(store, list_name, batch, status, origin, seen, report)
            batch = []
    _import_batch(store, list_name, batch, status, origin, seen, report)
    logger.info("import into %s: %s", list_name, report.summary_line())
    return report


def _read_header(reader: Iterable[list[str]]) -> list[str]:
    for row in reader:
        header = [cell.strip().lower().lstrip("\ufeff") for cell in row]
        if not any(header):
            continue
        unknown = [h for h in header if h not in CSV_COLUMNS]
        if unknown or "email" not in header:
            raise SubscriberError(
                f"the CSV header must be email,name[,status]; found {','.join(header)!r}"
            )
        return header
    raise SubscriberError("the CSV file is empty; it needs a header row email,name[,status]")


def _import_batch(
    store: Store,
    list_name: str,
    batch: list[tuple[int, dict[str, str]]],
    default_status: str,
    origin: str,
    seen: dict[str, int],
    report: ImportReport,
) -> None:
    # one short transaction per batch: fast, yet the web app's writes are not starved
    with store.transaction():
        for line, values in batch:
            raw = values.get("email", "")
            try:
                address = normalize_email(raw)
            except SubscriberError as e:
                report.rejected.append((line, raw, str(e)))
                continue
            wanted = (values.get("status") or default_status).lower()
            if wanted not in STATUSES:
                reason = f"unknown status {wanted!r}; use one of: {', '.join(STATUSES)}"
                report.rejected.append((line, raw, reason))
                continue
            if address in seen:
                report.rejected.append((line, raw, f"duplicate of line {seen[address]}"))
                continue
            seen[address] = line
            name = clean_name(values.get("name", ""))
            existing = store.get_subscriber((list_name, address))
            if existing is None:
                store.add_subscriber(list_name, address, name, wanted, origin)
                report.added += 1
                continue
            if existing.status in _FINAL:
                # an opted-out person's row is theirs: not even the name an old list had
                if wanted != existing.status or (name and name != existing.name):
                    report.kept_out += 1
                    report.kept.append((line, address, existing.status))
                report.unchanged += 1
                continue
            changed = False
            if _moves_forward(existing.status, wanted):
                store.set_status(existing.id, wanted)
                changed = True
            if name and name != existing.name:
                store.set_subscriber_name(existing.id, name)
                changed = True
            if changed:
                report.updated += 1
            else:
                report.unchanged += 1


def _moves_forward(current: str, wanted: str) -> bool:
    """pending -> confirmed, or anything live -> unsubscribed/bounced; never backwards."""
    if current == wanted or current in _FINAL:
        return False
    if wanted in _FINAL:
        return True
    return current == "pending" and wanted == "confirmed"


def export_csv(
    store: Store, list_name: str, target: TextIO | str | Path, status: str | None = None
) -> int:
    """Write the list as CSV (header email,name,status, same as import); the row count."""
    if isinstance(target, str | Path):
        with open(target, "w", encoding="utf-8", newline="") as handle:
            return export_csv(store, list_name, handle, status)
    writer = csv.writer(target, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for subscriber in store.list_subscribers(list_name, status):
        writer.writerow((subscriber.email, subscriber.name, subscriber.status))
        count += 1
    return count


def export_csv_text(store: Store, list_name: str, status: str | None = None) -> str:
    """The CSV export as a string (for the CLI's stdout)."""
    buffer = io.StringIO()
    export_csv(store, list_name, buffer, status)
    return buffer.getvalue()
