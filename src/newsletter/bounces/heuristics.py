"""Bounces that are not RFC 3464 DSNs: the plain-text formats MTAs still send.

Each known format is described by a signature (how to recognise it), where its recipient list
starts, and how it says "this is only a delay". One shared extractor then reads the
"address + reason" blocks that all of them use in some shape:

    <addr>: host said: 550 5.1.1 user unknown        (Postfix, qmail, Yahoo, Courier)
      addr\\n    SMTP error ... 550 ...               (Exim, Sendmail, GroupWise, Domino)
    addr\\n#550 5.1.10 RESOLVER.ADR.RecipientNotFound (Exchange)

Every regex here is a literal alternation or has bounded repeats, and runs on text that is
already capped (limits.py), so hostile input costs linear time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import dsn, mime
from .addresses import find_addresses, is_robot, normalize
from .limits import MAX_LINE, MAX_LINES, MAX_RECIPIENTS
from .model import Recipient
from .scan import Scan
from .severity import best_status, classify, find_reply_code, find_status


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Format:
    """How one MTA family writes its reports.

    `signature` recognises it; the recipient list starts after `start` when that matches
    (else at the signature); `transient` marks the whole report as a delay warning;
    `sections` are headings inside the list whose group 1 says transient (non-empty) or not.
    """

    name: str
    signature: re.Pattern[str]
    start: re.Pattern[str] | None = None
    transient: re.Pattern[str] | None = None
    sections: re.Pattern[str] | None = None


FORMATS: tuple[Format, ...] = (
    Format(
        "qmail",
        _rx(
            r"this is the qmail-send program|i'm afraid i wasn't able to deliver your message"
            r"|this is the (?:mta|deliver|qmail) program at"
        ),
        start=_rx(r"to the following addresses\.?|this is a permanent error; i've given up\."),
    ),
    Format(
        "exim",
        _rx(
            r"this message was created automatically by mail delivery software"
            r"|a message that you sent could not be delivered to one or more of its"
            r"|a message that you sent has not yet been delivered to one or more"
        ),
        start=_rx(
            r"the following address(?:\(es\)|es)? failed:?"
            r"|the address(?:es)? to which the message has not yet been delivered (?:is|are):"
        ),
        transient=_rx(r"has not yet been delivered|no action is required on your part"),
    ),
    Format(
        "postfix",
        _rx(
            r"this is the mail system at host|i'm sorry to have to inform you that your message"
            r"|this is the postfix program at host"
        ),
        start=_rx(r"^[ \t]*the mail system[ \t]*$"),
        transient=_rx(r"this is a warning only|could not be delivered for more than"),
    ),
    Format(
        "sendmail",
        _rx(
            r"-{2,} ?the following addresses had (?:permanent fatal|transient non-fatal) errors"
            r"|this is a warning message only|-{2,} ?transcript of session follows"
        ),
        start=_rx(r"the original message was received at[^\n]{0,200}"),
        transient=_rx(r"this is a warning message only"),
        sections=_rx(
            r"-{2,} ?the following addresses had (?:permanent fatal|(transient) non-fatal) errors"
        ),
    ),
    Format(
        "exchange",
        _rx(
            r"delivery has failed to these recipients or groups"
            r"|your message did not reach some or all of the intended recipients"
            r"|the following recipient\(s\) (?:cannot|could not) be reached"
            r"|remote server returned '|resolver\.adr\.|diagnostic information for administrators"
            r"|your message to [^\n]{1,300} couldn't be delivered"
            r"|delivery is delayed to these recipients or groups"
            r"|die zustellung an folgende empfänger oder gruppen ist fehlgeschlagen"
            r"|la remise aux destinataires ou groupes suivants a échoué"
            r"|error al entregar a estos destinatarios o grupos"
            r"|recapito non riuscito a questi destinatari o gruppi"
            r"|bezorging is mislukt voor deze ontvangers of groepen"
            r"|falha na entrega para estes destinatários ou grupos"
        ),
        transient=_rx(
            r"delivery is delayed to|delivery has been delayed|hasn't been delivered yet"
            r"|will keep trying|zustellung verzögert|la remise est retardée"
        ),
    ),
    Format(
        "gmail",
        _rx(
            r"delivery to the following recipients? (?:failed permanently|has been delayed)"
            r"|\*\* ?(?:address not found|message not delivered|message blocked|message delayed)"
            r"|your message wasn't delivered to|there was a (?:temporary )?problem delivering"
            r"|the email account that you tried to reach"
        ),
        transient=_rx(
            r"has been delayed|temporary problem delivering|technical details of temporary"
            r"|will retry for|message delayed"
        ),
    ),
    Format(
        "yahoo",
        _rx(
            r"sorry, we were unable to deliver your message to the following address"
            r"|unable to deliver message to the following address"
        ),
        start=_rx(r"to the following address(?:\(es\)|es)?\.?"),
        transient=_rx(r"we will continue trying|will retry later|message is delayed"),
    ),
    Format(
        "ses",
        _rx(r"an error occurred while trying to deliver the mail to the following recipients"),
    ),
    Format(
        "microsoft",
        _rx(
            r"delivery to the following recipients (?:failed|has been delayed)"
            r"|this is an automatically generated delivery status notification"
        ),
        start=_rx(r"delivery to the following recipients (?:failed|has been delayed)\.?"),
        transient=_rx(r"delivery to the following recipients has been delayed"),
    ),
    Format(
        "domino",
        _rx(
            r"was not delivered to:|not listed in (?:domino|public name)"
            r"|delivery failure report|wurde nicht zugestellt an:"
        ),
        start=_rx(r"was not delivered to:|wurde nicht zugestellt an:"),
    ),
    Format(
        "groupwise",
        _rx(
            r"the message that you sent was undeliverable to the following"
            r"|message status - undeliverable|had the following undeliverable recipient"
        ),
        start=_rx(r"undeliverable to the following:?|undeliverable recipient\(s\):"),
    ),
    Format(
        "mdaemon",
        _rx(
            r"the attached message had permanent fatal delivery errors"
            r"|the attached message has not yet been delivered|mdaemon"
        ),
        start=_rx(r"-{2,} ?session transcript ?-{2,}"),
        transient=_rx(r"has not yet been delivered|message delivery has been delayed"),
    ),
    Format(
        "courier",
        _rx(
            r"running the courier mail server|your message to the following recipients cannot"
            r"|your message to the following recipients has not been delivered yet"
            r"|^[ \t]*(?:undeliverable|delayed) mail[ \t]*$"
        ),
        start=_rx(
            r"to the following recipients (?:cannot be delivered|has not been delivered"
            r" yet):?"
        ),
        transient=_rx(r"^[ \t]*delayed mail[ \t]*$|has not been delivered yet"),
    ),
    Format(
        "iplanet",
        _rx(
            r"this message was undeliverable due to the following reason"
            r"|this report relates to a message you sent"
            r"|the following destination addresses were unknown|your message was not delivered"
            r" because"
        ),
        start=_rx(r"cannot be delivered to the following recipients:?"),
    ),
    Format(
        "imail",
        _rx(r"^unknown user: |^user mailbox exceeds allowed size: |delivery failed \d+ attempts"),
    ),
    Format(
        "localized",
        _rx(
            r"konnte nicht zugestellt werden|nicht zugestellt werden konnte"
            r"|n'a pas pu être (?:remis|délivré|distribué)|n'a pas pu etre (?:remis|delivre)"
            r"|no se (?:ha )?pudo entregar|non è stato possibile recapitare"
            r"|non e' stato possibile recapitare|kon niet worden (?:bezorgd|afgeleverd)"
            r"|não (?:foi possível|pôde ser) entreg|nie (?:mogła|mogla) zostać dostarczona"
        ),
        transient=_rx(
            r"verzögert|noch nicht zugestellt|retardé|retrasad|ritardat|vertraagd|atrasad"
        ),
    ),
)

# Subjects and senders of bounce reports of any format; with a robot sender (or a subject
# like these) an unknown format still counts as a bounce.
_BOUNCE_SUBJECT = _rx(
    r"undeliver|undelivered|delivery (?:status notification|failure|failed|problem|report"
    r"|notification|incomplete|delayed)|returned mail|mail delivery (?:failed|failure|system)"
    r"|failure notice|non[- ]?delivery|could not be delivered|nicht zustellbar|unzustellbar"
    r"|non remis|non distribuibile|onbestelbaar|no entregado|não entregue|não entregável"
    r"|message not delivered|delivery has failed|warning: could not send|delayed mail"
    r"|mail system error|permanent delivery failure|^fail(?:ed|ure):|rejected:"
    r"|non recapitabile|non consegnato|no se puede entregar|zustellung fehlgeschlagen"
    r"|retardé|nicht zugestellt"
)
# Lines whose addresses are message ids or copies, never recipients.
_SKIP_LINE = _rx(
    r"message[- ]?id|msg[- ]?id|in-reply-to|references:|^[ \t>]*from:|^[ \t>]*sender:"
    r"|^[ \t>]*reply-to:|^[ \t>]*return-path:|errors-to:|mail from:|envelope-from"
    r"|list-unsubscribe|original-mail-from"
)
_ALIAS = _rx(r"(?:generated|expanded) from:? ?<?([^\s<>()]{3,320}?)>?\)")
_CODE_LINE = re.compile(r"(?<![\d.\-])(?:[245]\d\d[ \-]|[245]\.\d{1,3}\.\d{1,3}(?![\d.]*\d))")
_EMBEDDED_DSN = _rx(r"^final-recipient[ \t]*:")
_MAX_BLOCK_LINES = 12
_SIGNATURE_WINDOW = 64 * 1024


@dataclass(frozen=True)
class HeuristicResult:
    """`is_bounce` is true when the message is recognisably a failure report, even when no
    recipient could be read from it (the caller then falls back to the copy's To)."""

    source: str
    is_bounce: bool
    recipients: tuple[Recipient, ...]
    diagnostic: str | None = None
    transient: bool = False


@dataclass
class _Block:
    address: str
    offset: int
    lines: list[str] = field(default_factory=list)


def detect(scan: Scan) -> HeuristicResult | None:
    text = scan.report_text
    if _EMBEDDED_DSN.search(text[:65536]):
        got, _ = dsn.read_fields(text)
        if got:
            return HeuristicResult("dsn-text", True, tuple(got[:MAX_RECIPIENTS]))
    # reports say what they are near the top: look for signatures in the first 64 KB only
    head = text[:_SIGNATURE_WINDOW]
    for fmt in FORMATS:
        signature = fmt.signature.search(head)
        if not signature:
            continue
        start = fmt.start.search(head) if fmt.start else None
        # the list normally follows its heading; a heading before the signature is an
        # earlier paragraph of the same report and also fine
        offset = start.end() if start else signature.end()
        if fmt.name in ("exchange", "gmail", "ses", "iplanet", "imail", "localized", "domino"):
            # these name the recipient in the sentence that identifies them
            offset = min(offset, _line_start(text, signature.start()))
        transient = bool(fmt.transient and fmt.transient.search(head))
        region = text[offset:]
        recipients, diagnostic = extract(region, scan.own_addresses, transient, fmt.sections)
        return HeuristicResult(fmt.name, True, recipients, diagnostic, transient)
    # Unknown formats: only from a robot, or with a failure subject and the null envelope
    # sender that RFC 5321 requires of bounces (a person asking "why was my issue
    # undelivered?" has a return path of their own).
    null_sender = mime.header(scan.msg, "Return-Path").strip() in ("<>", "")
    subject_says = bool(_BOUNCE_SUBJECT.search(scan.subject[:300]))
    if scan.from_robot or (subject_says and null_sender and scan.msg.get("Return-Path")):
        if not _looks_like_failure(scan, text):
            return None
        transient = bool(re.search(r"(?i)delay|warning|verzögert|retard", scan.subject[:300]))
        recipients, diagnostic = extract(text, scan.own_addresses, transient, None)
        return HeuristicResult("generic", True, recipients, diagnostic, transient)
    return None


def _looks_like_failure(scan: Scan, text: str) -> bool:
    """A robot's message that is not a failure (a list's 'confirm your subscription', a
    delivery receipt) has no failure words in subject or text."""
    if _BOUNCE_SUBJECT.search(scan.subject[:300]):
        return True
    sample = text[:8192].lower()
    return any(
        word in sample
        for word in (
            "undeliver",
            "could not be delivered",
            "delivery failed",
            "failed permanently",
            "permanent error",
            "user unknown",
            "does not exist",
            "mailbox",
            "not delivered",
            "nicht zugestellt",
            "rejected",
        )
    )


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def extract(
    region: str,
    own: set[str],
    transient: bool,
    sections: re.Pattern[str] | None,
) -> tuple[tuple[Recipient, ...], str | None]:
    """Read "address + reason" blocks from a report region.

    A line with an address not seen before starts a block; following non-blank lines are its
    reason, up to a blank line. A later line that names a known address (a transcript's
    "RCPT TO:<x>" / "<<< 550 <x> ...", an Exchange diagnostic section) adds to that block.
    """
    blocks: dict[str, _Block] = {}
    current: _Block | None = None
    offset = 0
    for raw_line in region.splitlines()[:MAX_LINES]:
        line = raw_line[:MAX_LINE]
        line_offset = offset
        offset += len(raw_line) + 1
        if not line.strip():
            current = None
            continue
        alias = _ALIAS.search(line)
        original = normalize(alias.group(1)) if alias else None
        if alias and original:
            others = [a for _, _, a in find_addresses(line) if a.lower() != original.lower()]
            if not others and current is not None:
                # Exim's "(generated from alias@x)" under the final address: report the
                # address we sent to, which is the one the subscriber list knows
                _rename(blocks, current, original)
                continue
            if original.lower() not in own and original.lower() not in blocks:
                # Postfix's "<final@x> (expanded from <alias@x>): reason": same reason
                current = _Block(original, line_offset, [line[alias.end() :]])
                blocks[original.lower()] = current
                continue
        if _SKIP_LINE.search(line):
            continue
        found = [a for _, _, a in find_addresses(line) if a.lower() not in own and not is_robot(a)]
        new = [a for a in found if a.lower() not in blocks]
        if new:
            for address in new[:MAX_RECIPIENTS]:
                block = _Block(address, line_offset, [line])
                blocks[address.lower()] = block
            current = blocks[new[0].lower()]
            if len(blocks) >= MAX_RECIPIENTS:
                break
            continue
        if found:
            current = blocks[found[0].lower()]
        if current is not None and len(current.lines) < _MAX_BLOCK_LINES:
            current.lines.append(line)
    region_diag = _code_line(region.splitlines()[:200])
    section_marks = _sections(region, sections)
    recipients = []
    for block in blocks.values():
        diag = _code_line(block.lines) or " ".join(" ".join(block.lines).split())
        if not _has_code(diag) and len(blocks) == 1 and region_diag:
            diag = region_diag
        soft = transient or _in_transient_section(block.offset, section_marks)
        status = best_status(None, diag)
        recipients.append(
            Recipient(
                address=block.address,
                cls=classify(status, diag, transient=soft),
                status=status,
                diagnostic=_trim(diag),
                delayed=soft,
            )
        )
    return tuple(recipients), region_diag


def _rename(blocks: dict[str, _Block], block: _Block, address: str) -> None:
    blocks.pop(block.address.lower(), None)
    block.address = address
    blocks[address.lower()] = block


def _has_code(text: str) -> bool:
    return bool(find_status(text) or find_reply_code(text))


def _code_line(lines: list[str]) -> str | None:
    """The first line that carries an SMTP reply or enhanced status code, with the line
    after it when it continues the reply (indented, or a multi-line 550- reply)."""
    for index, line in enumerate(lines):
        line = line[:MAX_LINE]
        if _CODE_LINE.search(line) and _has_code(line):
            text = line.strip()
            if index + 1 < len(lines) and lines[index + 1][:1] in (" ", "\t"):
                text += " " + lines[index + 1].strip()
            return " ".join(text.split())
    return None


def _sections(region: str, sections: re.Pattern[str] | None) -> list[tuple[int, bool]]:
    if sections is None:
        return []
    return [(m.start(), bool(m.group(1))) for m in sections.finditer(region)]


def _in_transient_section(offset: int, marks: list[tuple[int, bool]]) -> bool:
    transient = False
    for start, is_transient in marks:
        if start <= offset:
            transient = is_transient
    return transient


def _trim(text: str | None) -> str | None:
    if not text:
        return None
    return " ".join(text.split())[:500] or None
