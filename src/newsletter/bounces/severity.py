"""Hard or soft: does a failure mean the address is dead, or may it pass?

A hard bounce makes the list stop mailing an address, so the rules lean to "soft" whenever the
failure is about the message, the sending host or the moment rather than the mailbox itself:
wrongly dropping a reader costs more than one more failed delivery.

Order of evidence: the RFC 3463 enhanced status code when it is specific, then phrases in the
diagnostic text, then the bare SMTP reply code, then the status class.
"""

from __future__ import annotations

import re

from .model import Severity

_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_REPLY = re.compile(r"(?<![\d.\-])([245]\d\d)(?=[ \-]|$)")

# Specific codes whose meaning is settled by the code alone.
_BY_CODE: dict[str, Severity] = {
    # X.1.x addressing: the mailbox, its syntax or its domain is wrong or gone.
    "5.1.1": "hard",
    "5.1.2": "hard",  # bad destination system: the domain does not exist / has no MX
    "5.1.3": "hard",
    "5.1.4": "hard",
    "5.1.6": "hard",  # mailbox moved, no forwarding
    "5.1.10": "hard",  # Microsoft: RESOLVER.ADR.RecipientNotFound
    # X.2.2 mailbox full: RFC 3463 itself calls it a "persistent transient failure": the reader
    # can delete mail and the address works again.
    "5.2.2": "soft",
    # X.2.3 / X.3.4 message too big: about this digest, not about the address.
    "5.2.3": "soft",
    "5.3.4": "soft",
    # X.3.1 mail system full, X.3.2 not accepting messages: the receiving system's state.
    "5.3.1": "soft",
    "5.3.2": "soft",
    # X.4.4 unable to route: no MX / no such domain - the address cannot work.
    "5.4.4": "hard",
    # X.4.6 routing loop, X.4.7 delivery time expired: repeated transient failures.
    "5.4.6": "soft",
    "5.4.7": "soft",
    # X.7.13 / X.7.14 (RFC 3463 update) user account disabled / trust relationship required.
    "5.7.13": "hard",
}

# Classes of codes where the code is too broad and the text decides; the value is the default
# when the text says nothing. X.5.x (protocol) and X.6.x (media) are about our message; X.7.x
# (security/policy) is mostly blocklists, spam filters and DMARC, which are about the sender -
# but servers also put "5.7.1 ... User unknown" or O365's "5.4.1 Recipient address rejected:
# Access denied" (directory-based edge blocking of non-existent users) there, hence the text.
_TEXT_DECIDES: dict[str, Severity] = {
    "5.0": "hard",  # generic permanent failure
    "5.1": "hard",
    "5.2": "hard",
    "5.3": "soft",
    "5.4": "soft",
    "5.5": "soft",
    "5.6": "soft",
    "5.7": "soft",
}

# A full mailbox is the most common soft failure and often comes with a 550/5.x.x code.
_QUOTA = (
    "mailbox full|mailbox is full|mailbox is over|quota exceeded|exceeded (?:his|her|the|its)"
    "|over quota|overquota|over the quota|exceeds quota|exceed quota|quota exceed"
    "|storage allocation|insufficient storage|insufficient system storage|out of storage"
    "|disk quota|mailbox size limit|mailfolder is full|user is over|inbox is full"
    "|mailbox[^\n]{0,80} is full|postfach[^\n]{0,80}voll|speicherplatz|quota überschritten"
    "|kontingent"
    "|boîte (?:aux lettres )?pleine|boite (?:aux lettres )?pleine|quota dépassé|quota depasse"
    "|buzón (?:está )?lleno|buzon lleno|cuota excedida|casella (?:di posta )?piena"
    "|quota superata|mailbox vol|postvak vol|caixa (?:postal )?cheia|cota excedida"
)
# Phrases that say the address itself is gone (several languages).
_HARD = (
    "user unknown|unknown user|unknown recipient|recipient unknown|no such user|no such mailbox"
    "|no such recipient|no such address|no such account|user not found|recipient not found"
    "|address not found|mailbox not found|mailbox unavailable|mailbox does not exist"
    "|does not exist|doesn't exist|does not have an account|doesn't have a|not a valid mailbox"
    "|invalid recipient|invalid mailbox|invalid address|bad address|address unknown"
    "|recipientnotfound|resolver\\.adr|account (?:has been |is )?disabled|mailbox disabled"
    "|account (?:has been |is )?deactivated|account (?:has been |is )?(?:closed|deleted|removed)"
    "|no longer (?:active|available|valid|in use)|no mailbox here|unrouteable|unroutable"
    "|not listed in (?:domino|public name)|not listed in the|address couldn't be found"
    "|couldn't be found|could not be found|name service error|host not found|domain not found"
    "|no mx |no mx$|non-existent|nonexistent|inexistent|not our customer|unknown local part"
    "|user doesn't exist|access denied\\. as\\(|recipient address rejected: access denied"
    "|benutzer unbekannt|unbekannter benutzer|empfänger unbekannt|unbekannter empfänger"
    "|existiert nicht|adresse unbekannt|gibt es nicht|ungültige adresse|ungueltige adresse"
    "|utilisateur inconnu|destinataire inconnu|adresse inconnue|n'existe pas|introuvable"
    "|usuario desconocido|destinatario desconocido|no existe|dirección no válida"
    "|utente sconosciuto|destinatario sconosciuto|non esiste|indirizzo inesistente"
    "|onbekende gebruiker|gebruiker onbekend|bestaat niet|onbekende ontvanger"
    "|usuário desconhecido|utilizador desconhecido|não existe|nao existe"
    "|okänd användare|finns inte|nie istnieje|nieznany użytkownik"
)
# Phrases of transient trouble and of policy blocks that are about the sender.
_SOFT = (
    "temporar|try again|try later|retry|greylist|graylist|too many|rate limit|ratelimit"
    "|throttl|deferred|timed out|timeout|connection refused|connection reset|try to deliver"
    "|resources temporarily|service unavailable|service not available|not available now"
    "|blocked|blacklist|blocklist|block list|spamhaus|spam|junk|policy|reputation|dmarc"
    "|dkim|spf|rejected due to content|content rejected|message too large|message size"
    "|size limit|too big|delivery time expired|message expired|too long|has been delayed"
    "|not yet been delivered|will keep trying|will retry|still trying|administrative prohibition"
    "|vorübergehend|voruebergehend|später|spaeter|temporairement|réessayer|plus tard"
    "|temporalmente|más tarde|temporaneamente|più tardi|tijdelijk|temporariamente"
)
_QUOTA_RE = re.compile(_QUOTA)
_HARD_RE = re.compile(_HARD)
_SOFT_RE = re.compile(_SOFT)
_MAX_TEXT = 2000


def find_status(text: str) -> str | None:
    """The first enhanced status code (e.g. '5.1.1') in a diagnostic text."""
    match = _STATUS.search(text[:_MAX_TEXT])
    return f"{match.group(1)}.{match.group(2)}.{match.group(3)}" if match else None


def find_reply_code(text: str) -> str | None:
    """The first plausible SMTP reply code (e.g. '550') in a diagnostic text."""
    match = _REPLY.search(text[:_MAX_TEXT])
    return match.group(1) if match else None


def clean_status(value: str | None) -> str | None:
    """'5.1.1 (bad mailbox)' -> '5.1.1'; None when not a status code."""
    if not value:
        return None
    found = _STATUS.search(value[:200])
    if not found:
        return None
    return f"{found.group(1)}.{found.group(2)}.{found.group(3)}"


def best_status(status: str | None, diagnostic: str | None) -> str | None:
    """The given status, or a more specific one from the diagnostic when the given one is
    generic (x.0.0) or missing. Why: many MTAs write 'Status: 5.0.0' and put the real
    '550 5.1.1 user unknown' only in the Diagnostic-Code."""
    status = clean_status(status)
    found = find_status(diagnostic or "")
    if status is None:
        return found
    if found and status.endswith(".0.0") and found[0] == status[0] and found != status:
        return found
    return status


def text_says(text: str) -> Severity | None:
    """What the words alone say: quota (soft) beats user-unknown (hard) beats trouble (soft)."""
    lower = text[:_MAX_TEXT].lower()
    if _QUOTA_RE.search(lower):
        return "soft"
    if _HARD_RE.search(lower):
        return "hard"
    if _SOFT_RE.search(lower):
        return "soft"
    return None


def classify(status: str | None, diagnostic: str | None, transient: bool = False) -> Severity:
    """Hard or soft for one failed recipient.

    `transient` is set by callers that know the report is a delay warning (DSN Action:
    delayed, "THIS IS A WARNING ONLY"): that is always soft, the MTA is still trying.
    """
    text = diagnostic or ""
    code = best_status(status, text)
    if transient:
        return "soft"
    if code and code[0] == "4":
        # RFC 3463 class 4: persistent transient. An MTA that gave up after retrying a 4xx
        # still never heard that the address is gone.
        return "soft"
    if code and code[0] == "5":
        if code in _BY_CODE:
            return _BY_CODE[code]
        subject = code.rsplit(".", 1)[0]
        said = text_says(text)
        if said:
            return said
        return _TEXT_DECIDES.get(subject, "hard")
    said = text_says(text)
    reply = find_reply_code(text)
    if reply:
        if reply[0] == "4":
            # 4xx: transient by definition
            return "soft"
        if said:
            return said
        if reply == "552":
            # "exceeded storage allocation" (RFC 5321); Yahoo also sends "552 ... mailbox not
            # found", which the words above catch as hard
            return "soft"
        # 550/551/553: mailbox unavailable / not local / name not allowed. 554 is also used
        # for spam blocks, but those carry words the soft list catches above.
        return "hard"
    if said:
        return said
    # Nothing to go on: a failure report without reason. Hard, because the MTA called it a
    # failure and did not say it would retry.
    return "hard"
