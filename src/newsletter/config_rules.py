"""The rule of every config key, checked when the config loads, with the fix in the message.

Two kinds of rule, both plain functions that return what is wrong (None or nothing when
all is well):

- `KEY_RULES["section.key"]`: one value (already of the right TOML type) -> a problem.
  `[list]` and `[[lists]]` share the rules under "list."; `[[feeds]]` under "feeds.".
- `CONFIG_RULES`: the whole `Config` -> problems that span keys (list names unique, a
  list's feeds configured, DKIM all or nothing, ...).

A new rule is one more entry in either table. `config.load_config` reports every problem
found, one line each, as a single ConfigError.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from newsletter.cadence import parse_cadence
from newsletter.errors import ConfigError
from newsletter.langtag import language_tag_problem

if TYPE_CHECKING:
    from newsletter.config import Config, SmtpConfig

Check = Callable[[Any], str | None]
ConfigRule = Callable[["Config"], Iterable[str]]

# the summarizers `summary.algorithm` may name (analysis.summary.summarize.ALGORITHMS)
SUMMARY_ALGORITHMS = (
    "newsletter",
    "lead",
    "textrank",
    "lexrank",
    "lsa",
    "luhn",
    "reduction",
    "sumbasic",
    "kl",
    "edmundson",
)
SUBJECT_FIELDS = ("site", "headline", "more", "count", "date")
SMTP_SECURITY = ("starttls", "tls", "none")


# -- value checks -------------------------------------------------------------------------
def between(low: float | None = None, high: float | None = None, note: str = "") -> Check:
    """A number in [low, high]."""

    def check(value: float) -> str | None:
        if (low is None or value >= low) and (high is None or value <= high):
            return None
        if low is not None and high is not None:
            want = f"between {low:g} and {high:g}"
        elif low is not None:
            want = f"at least {low:g}"
        else:
            want = f"at most {high:g}"
        return f"must be {want}{note}"

    return check


def positive(value: float) -> str | None:
    return None if value > 0 else "must be more than 0"


def one_of(*choices: str) -> Check:
    def check(value: str) -> str | None:
        if value in choices:
            return None
        return "must be one of " + ", ".join(repr(c) for c in choices)

    return check


def not_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def one_line(value: str) -> str | None:
    return "must be one line (no line breaks)" if re.search(r"[\r\n\x00]", value) else None


def language(value: str) -> str | None:
    return language_tag_problem(value)


def optional_language(value: str) -> str | None:
    return language_tag_problem(value) if value else None


def http_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
        return "must be an absolute http(s) URL such as 'https://news.example.org'"
    return None


def feed_url(value: str) -> str | None:
    if not value.strip():
        return 'every [[feeds]] entry needs url = "..." (an http(s) URL, a file:// URL or a path)'
    scheme = urlsplit(value).scheme.lower() if "://" in value else ""
    if scheme in ("", "file", "http", "https"):
        return None
    if scheme == "feed":
        return "the feed:// scheme is not fetched; write the URL with https:// instead"
    return "must be an http(s) URL, a file:// URL or a path"


def address(value: str) -> str | None:
    """One mail address with a domain, with or without a display name."""
    from email import policy  # the header parser: loaded only for a config that sends mail

    try:
        header = policy.SMTP.header_factory("From", value)
        found = header.addresses
    except Exception:  # the header parser raises several types on garbage
        found = ()
    if (
        re.search(r"[\r\n]", value)
        or len(found) != 1
        or not (found[0].username and found[0].domain and "." in found[0].domain)
    ):
        return 'must be one address, e.g. "My Site <digest@news.example.org>"'
    return None


def optional_address(value: str) -> str | None:
    return address(value) if value else None


def list_name(value: str) -> str | None:
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
        return None
    return (
        "must be 1-64 letters, digits, '-', '_' or '.' (it names the output folder and "
        "is what --list takes), e.g. 'weekly'"
    )


def subject(value: str) -> str | None:
    if not value:
        return None  # the site language's own subject
    if problem := one_line(value):
        return problem
    try:
        value.format_map(dict.fromkeys(SUBJECT_FIELDS, 1))
    except (KeyError, IndexError, ValueError, AttributeError) as e:
        fields = ", ".join("{" + f + "}" for f in SUBJECT_FIELDS)
        return f"is not a valid template ({e}); use the fields {fields}"
    return None


def cadence(value: str) -> str | None:
    try:
        parse_cadence(value)
    except ConfigError as e:
        return str(e).removeprefix(f"cadence {value!r} ")
    return None


def timezone(value: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "is not a known time zone; use an IANA name such as 'Europe/London' or 'UTC'"
    return None


def backlog(value: str) -> str | None:
    if value in ("none", "all"):
        return None
    days = value.removeprefix("days:")
    try:
        ok = value.startswith("days:") and float(days) >= 0
    except ValueError:
        ok = False
    return None if ok else "must be 'days:N' (N >= 0), 'none' or 'all'"


def hostname(value: str) -> str | None:
    if "://" in value:
        return f"is a host name, not a URL: write {urlsplit(value).hostname or '...'!r}"
    if not value or not re.fullmatch(r"[A-Za-z0-9._:\[\]-]+", value):
        return "must be a host name such as 'smtp.example.org'"
    return None


def bounce_address(value: str) -> str | None:
    if not value:
        return None
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or any(c in value for c in " <>"):
        return "must be a plain address such as bounces@news.example.org"
    return None


def mailbox_url(value: str) -> str | None:
    if not value:
        return None
    if not value.startswith(("imaps://", "imap://", "pop3s://", "pop3://")):
        return (
            "must start with imaps://, imap://, pop3s:// or pop3:// "
            "(e.g. imaps://bounces@mail.example.org/INBOX)"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "must not contain control characters"
    userinfo = value.partition("://")[2].partition("/")[0].rpartition("@")[0]
    if ":" in userinfo:
        return (
            "must not contain a password; remove it from the URL and set "
            "NEWSLETTER_BOUNCES_PASSWORD in the environment"
        )
    return None


def sns_topics(value: tuple[str, ...]) -> str | None:
    for arn in value:
        if not re.fullmatch(r"arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w.-]+", str(arn)):
            return f"{arn!r} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)"
    return None


KEY_RULES: dict[str, tuple[Check, ...]] = {
    "site.name": (not_empty, one_line),
    "site.url": (http_url,),
    "site.language": (language,),
    "list.name": (list_name,),
    "list.title": (one_line,),
    "list.from": (address,),
    "list.reply_to": (optional_address,),
    "list.subject": (subject,),
    "list.cadence": (cadence,),
    "list.timezone": (timezone,),
    "list.min_items": (between(1, note=" (the fewest new stories worth a digest)"),),
    "list.backlog": (backlog,),
    "feeds.url": (feed_url,),
    "feeds.name": (one_line,),
    "feeds.language": (optional_language,),
    "fetch.timeout": (between(0.1, 600, " seconds"),),
    "fetch.connect_timeout": (between(0.1, 600, " seconds"),),
    "fetch.max_bytes": (between(1000, note=" bytes"),),
    "fetch.concurrency": (between(1, 256),),
    "fetch.per_host": (between(1, 256, " (requests at once to one host)"),),
    "fetch.user_agent": (one_line,),
    "fetch.max_field_chars": (between(20, note=" (shorter would cut titles short)"),),
    "summary.algorithm": (one_of(*SUMMARY_ALGORITHMS),),
    "summary.max_words": (between(1, 1000),),
    "summary.sentences": (between(0, 50),),
    "summary.language": (optional_language,),
    "themes.max_sections": (between(1, 50),),
    "themes.min_section_size": (between(1),),
    "themes.other_label": (not_empty, one_line),
    "digest.max_items": (between(0, note=" (0: no limit)"),),
    "digest.since_days": (between(0, note=" (0: no age limit)"),),
    "digest.max_per_feed": (between(0, note=" (0: feeds take turns, no fixed cap)"),),
    "digest.mail_items": (between(0, note=" (0: every story in the mail)"),),
    "digest.per_section": (between(0, note=" (0: no limit per section)"),),
    "digest.html_budget_kb": (between(10, note=" (Gmail clips mail over about 100 KB)"),),
    "smtp.host": (hostname,),
    "smtp.port": (between(1, 65535),),
    "smtp.security": (one_of(*SMTP_SECURITY),),
    "smtp.username": (one_line,),
    "smtp.timeout": (positive,),
    "smtp.connections": (between(1, 64),),
    "smtp.rate": (between(0, note=" messages per second (0: no limit)"),),
    "smtp.max_retries": (between(0, 20),),
    "smtp.bounce_after": (between(1),),
    "dkim.selector": (one_line,),
    "dkim.domain": (one_line,),
    "web.confirm_max_age_days": (between(1, 365),),
    "web.subscribe_per_ip_per_hour": (between(1),),
    "web.subscribe_per_address_per_hour": (between(1),),
    "web.trusted_proxies": (between(0, 10),),
    "run.failing_feed_runs": (between(1),),
    "bounces.address": (bounce_address,),
    "bounces.mailbox": (mailbox_url,),
    "bounces.ca_file": (one_line,),
    "bounces.move_to": (one_line,),
    "bounces.hard_after": (between(1),),
    "bounces.soft_after": (between(1),),
    "bounces.soft_days": (between(1),),
    "bounces.timeout": (between(0.1, 600, " seconds"),),
    "webhooks.postmark_user": (one_line,),
    "webhooks.ses_topics": (sns_topics,),
    "webhooks.max_age": (between(1, 86400, " seconds"),),
    "store.path": (not_empty,),
    "output.dir": (not_empty,),
}


def key_problems(rule_key: str, where: str, value: object) -> Iterator[str]:
    """`where = value: problem` for each rule of `rule_key` that `value` breaks."""
    for check in KEY_RULES.get(rule_key, ()):
        problem = check(value)
        if problem:
            yield f"{where} = {value!r}: {problem}"
            return  # the first problem of a key is enough


# -- [store] url: checked apart, so no message ever repeats a password it holds ---------
def store_url_problem(url: str) -> str | None:
    """What is wrong with a [store] url (or `store copy --to`), or None. A URL carrying a
    password is refused: config files get copied, pasted and committed."""
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        return (
            "[store] url must be a PostgreSQL URL such as postgresql://user@host:5432/dbname, "
            f"got {url.split('@')[-1]!r}; for SQLite set [store] path instead"
        )
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 (validates the port)
    except ValueError as e:
        return f"[store] url has a bad port: {e}"
    query = {k.lower() for k, _ in parse_qsl(parts.query)}
    if parts.password is not None or "password" in query:
        return (
            "[store] url must not contain the database password: remove it from the URL and "
            "set NEWSLETTER_DATABASE_PASSWORD in the environment (or use a ~/.pgpass or "
            "pg_service.conf file)"
        )
    return None


def store_problems(path: str, url: str) -> list[str]:
    """What is wrong with a [store] table's path and url together."""
    found = [store_url_problem(url)]
    if path and url:
        found.append("[store] has both path (SQLite) and url (PostgreSQL): keep the one to use")
    return [p for p in found if p]


# -- whole-config rules --------------------------------------------------------------------
def unique_lists(config: Config) -> Iterator[str]:
    if not config.lists:
        yield "define at least one list: a [list] table, or [[lists]] tables"
    seen: set[str] = set()
    for lst in config.lists:
        if lst.name in seen:
            yield f"two lists are named {lst.name!r}; give each list its own name"
        seen.add(lst.name)


def unique_feeds(config: Config) -> Iterator[str]:
    seen: set[str] = set()
    for feed in config.feeds:
        if feed.url in seen:
            yield f"feed {feed.url} is listed twice in [[feeds]]; remove one"
        seen.add(feed.url)


def list_feeds_exist(config: Config) -> Iterator[str]:
    urls = {f.url for f in config.feeds}
    for lst in config.lists:
        for url in lst.feeds:
            if url not in urls:
                yield (
                    f"list {lst.name!r}: its feeds name {url}, which no [[feeds]] entry has; "
                    "add a [[feeds]] entry with that url or fix the list's feeds"
                )


def summary_budget(config: Config) -> Iterator[str]:
    if config.summary.max_words < 5 and config.summary.sentences < 1:
        yield "summary.max_words must be at least 5 (or set summary.sentences to a count)"


def dkim_complete(config: Config) -> Iterator[str]:
    dkim = config.dkim
    given = {k: v for k, v in vars(dkim).items() if v}
    if given and len(given) < 3:
        missing = sorted(set(vars(dkim)) - set(given))
        yield (
            f"[dkim] is incomplete: set {', '.join('dkim.' + m for m in missing)} too "
            "(or remove [dkim] to send unsigned mail)"
        )
    elif given and not config.resolve(dkim.key_file).is_file():
        yield f"dkim.key_file: {config.resolve(dkim.key_file)} not found; fix the path"


def smtp_encrypted(config: Config) -> Iterator[str]:
    problem = unencrypted_smtp(config.smtp)
    if problem:
        yield problem


def unencrypted_smtp(smtp: SmtpConfig) -> str:
    """Why these settings would send mail in clear text over a network ("" if they don't);
    the config check and the transport both refuse on it."""
    if smtp.security == "none" and not is_loopback(smtp.host) and not smtp.allow_insecure:
        return (
            f'smtp.security = "none" would send mail to {smtp.host} unencrypted; use '
            '"starttls" (port 587) or "tls" (port 465), or set smtp.allow_insecure = true '
            "if the network path is trusted"
        )
    return ""


def template_dir_exists(config: Config) -> Iterator[str]:
    folder = config.digest.template_dir
    if folder and not Path(config.resolve(folder)).is_dir():
        yield (
            f"digest.template_dir: folder {config.resolve(folder)} not found; create it or "
            "fix the path"
        )


CONFIG_RULES: list[ConfigRule] = [
    unique_lists,
    unique_feeds,
    list_feeds_exist,
    summary_budget,
    dkim_complete,
    smtp_encrypted,
    template_dir_exists,
]


def config_problems(config: Config) -> list[str]:
    """Every whole-config rule's problems."""
    return [problem for rule in CONFIG_RULES for problem in rule(config)]


def is_loopback(host: str) -> bool:
    """True for localhost and loopback IP addresses."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
