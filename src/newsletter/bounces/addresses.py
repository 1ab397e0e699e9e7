"""Finding, normalizing and sanity-checking email addresses in report text and fields."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# Bounded quantifiers only: at each start position the engine looks at most 64 + 255 chars,
# so a megabyte of address-like garbage costs a linear scan, not a quadratic one.
_ADDRESS = re.compile(
    r"(?<![\w.%+\-=/!#$&'*^`{|}~])"  # \w: also no start inside "müller@"
    r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~\-][A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]{0,63})"
    r"@"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z][A-Za-z0-9\-]{1,62})"
)
_LOCAL_OK = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]{1,64}")
_LABEL_OK = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?")
_TLD_OK = re.compile(r"(?:[a-z]{2,63}|xn--[a-z0-9\-]{1,59})")

# Senders of reports and list machinery: never a bounced subscriber. Why: generic address
# scanning would otherwise report the daemon that wrote the bounce, or our own bounce box.
ROBOT_LOCALS = frozenset(
    {
        "mailer-daemon",
        "postmaster",
        "mail-daemon",
        "maildaemon",
        "mailerdaemon",
        "daemon",
        "root",
        "abuse",
        "noreply",
        "no-reply",
        "bounce",
        "bounces",
        "mail.delivery.subsystem",
        "nobody",
        "mdaemon",
        "qmail-send",
        "microsoftexchange329e71ec88ae4615bbc36ab6ce41109e",
    }
)


def normalize(raw: str) -> str | None:
    """'rfc822; <User@Example.COM>' -> 'User@example.com', or None when not plausible.

    The local part keeps its case (RFC 5321 lets it matter); the domain is lower-cased.
    """
    if not raw:
        return None
    text = raw.strip()[:512]
    if ";" in text:
        addr_type, _, rest = text.partition(";")
        if addr_type.strip().lower() not in ("rfc822", "smtp", "internet", "x-unknown"):
            if "@" not in addr_type:
                return None
        else:
            text = rest
    text = text.strip().strip("<>\"'()[],;: \t").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    text = text.split("?", 1)[0] if "?" in text and text.count("@") == 1 else text
    if text.count("@") != 1:
        return None
    local, domain = text.split("@")
    domain = domain.lower().rstrip(".")
    local = local.strip('"')
    if not plausible(local, domain):
        return None
    return f"{local}@{domain}"


def plausible(local: str, domain: str) -> bool:
    if not _LOCAL_OK.fullmatch(local) or local.startswith(".") or local.endswith("."):
        return False
    if ".." in local or len(domain) > 253:
        return False
    labels = domain.split(".")
    if len(labels) < 2 or not _TLD_OK.fullmatch(labels[-1]):
        return False
    return all(_LABEL_OK.fullmatch(label) for label in labels)


def is_robot(address: str) -> bool:
    """True for daemon/postmaster style addresses that write reports rather than read mail."""
    local = address.split("@", 1)[0].lower()
    base = local.split("+", 1)[0]
    return local in ROBOT_LOCALS or base in ROBOT_LOCALS


def find_addresses(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, normalized address) for each plausible address in `text`."""
    for match in _ADDRESS.finditer(text):
        address = normalize(f"{match.group(1)}@{match.group(2)}")
        if address:
            yield match.start(), match.end(), address


def first_address(text: str) -> str | None:
    for _, _, address in find_addresses(text):
        return address
    return None


def addresses_in(values: Iterable[str]) -> set[str]:
    """All plausible addresses in header values, lower-cased for comparisons."""
    found: set[str] = set()
    for value in values:
        for _, _, address in find_addresses(value[:4096]):
            found.add(address.lower())
    return found
