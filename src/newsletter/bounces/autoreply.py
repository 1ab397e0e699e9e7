"""RFC 3834 automatic responses (vacation notices, "out of office"): never a bounce."""

from __future__ import annotations

import re

from . import mime
from .scan import Scan

# Subject prefixes used by common clients and servers, in several languages.
_SUBJECT = re.compile(
    r"(?i)^\s*(?:"
    r"out of (?:the )?office|automatic reply|auto(?:matic)?[ -]?(?:reply|response|respond)"
    r"|autoreply|auto:|vacation|on vacation|away from (?:the )?office|i am away|i'm away"
    r"|abwesenheitsnotiz|automatische antwort|abwesend|urlaub"
    r"|réponse automatique|reponse automatique|absence du bureau|absent du bureau"
    r"|respuesta automática|respuesta automatica|fuera de la oficina"
    r"|risposta automatica|fuori ufficio|automatisch antwoord|afwezig"
    r"|resposta automática|resposta automatica|fora do escritório|autosvar|automaattinen vastaus"
    r")"
)
# Lotus Notes: "John Doe is out of the office." (no prefix)
_SUBJECT_ANYWHERE = re.compile(r"(?i)\bis out of (?:the )?office\b|\bauto[- ]?reply\b")


def detect(scan: Scan) -> str | None:
    """The reason the message is an automatic reply, or None."""
    msg = scan.msg
    auto_submitted = mime.header(msg, "Auto-Submitted").lower()
    if auto_submitted.startswith("auto-replied"):
        # DSNs carry this too (RFC 3834 asks them to), so the caller runs the bounce
        # detectors first; here it only marks a reply of a person's robot.
        return "auto-submitted"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation"):
        value = mime.header(msg, name).lower()
        if value and value not in ("no", "false", "0"):
            return name.lower()
    for name in ("Precedence", "X-Precedence"):
        if mime.header(msg, name).lower().strip() == "auto_reply":
            return "precedence"
    if mime.header(msg, "X-Auto-Response-Suppress") and "oof" in scan.subject.lower():
        return "subject"
    if _SUBJECT.match(scan.subject) or _SUBJECT_ANYWHERE.search(scan.subject[:300]):
        return "subject"
    return None
