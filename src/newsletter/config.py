"""Load and validate `newsletter.toml`. All defaults live here, in one place.

Settings resolve as: defaults < file < command-line flags. Secrets never come from the
file: `NEWSLETTER_SECRET_KEY`, the `NEWSLETTER_*_PASSWORD` variables and the webhook keys
(see `WebhookSecrets`) are read from the environment mapping passed to `load_config`.
"""

from __future__ import annotations

import dataclasses
import shlex
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from newsletter import config_rules
from newsletter.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
# data files live inside the package, so a wheel and an editable install find them alike
BUILTIN_TEMPLATES = PACKAGE_DIR / "templates"
BUNDLED_SEEDS = PACKAGE_DIR / "seeds"


@dataclass(frozen=True)
class SiteConfig:
    """[site]: the newsletter's name, public URL, language and postal address."""

    name: str = "Newsletter"
    url: str = "https://newsletter.example.org"  # public base URL: archive, confirm, unsubscribe
    language: str = "en"
    address: str = ""  # postal address shown in the footer (CAN-SPAM)
    description: str = ""


@dataclass(frozen=True)
class FeedConfig:
    """One [[feeds]] table: a feed's URL, and a name and language to use instead of its own."""

    url: str = ""
    name: str = ""  # shown as the source; default: the feed's own title
    language: str = ""  # overrides the feed's declared language


@dataclass(frozen=True)
class ListConfig:
    """[list] or one [[lists]] table: a mailing list, its sender, schedule and feeds."""

    name: str = "digest"
    title: str = ""  # human name for List-Id and pages; default: site name
    sender: str = "Newsletter <digest@newsletter.example.org>"  # TOML key: from
    reply_to: str = ""
    subject: str = ""  # "": the site language's subject (see mail.subject)
    cadence: str = "every run"  # "every run" | "daily at HH:MM" | "weekly on <day> at HH:MM"
    timezone: str = "UTC"
    min_items: int = 1
    backlog: str = "days:7"  # first run: "days:N" (items of the last N days) | "none" | "all"
    resend_edited: bool = False  # an edited item already sent is not sent again as new
    feeds: tuple[str, ...] = ()  # feed URLs of this list; empty = every feed


@dataclass(frozen=True)
class FetchConfig:
    """[fetch]: timeouts, size limits and politeness of feed requests."""

    timeout: float = 20.0  # read timeout, seconds
    connect_timeout: float = 5.0
    max_bytes: int = 10_000_000
    concurrency: int = 128  # requests at once in all; per_host keeps each site polite
    per_host: int = 2  # requests at once to one host (a site with many feeds)
    user_agent: str = ""  # default: "newsletter/<version> (+<site url>)"
    max_field_chars: int = 500  # title/author/category/feed title cut here, before parsing


@dataclass(frozen=True)
class SummaryConfig:
    """[summary]: which summarizer, how long a summary may be, in which language."""

    algorithm: str = "newsletter"  # newsletter | lead | textrank | lexrank | lsa | luhn | ...
    max_words: int = 50
    sentences: int = 0  # >0: a fixed number of sentences instead of the word budget
    language: str = ""  # default: the item's, then the site's language


@dataclass(frozen=True)
class ThemesConfig:
    """[themes]: how many sections stories are grouped into, and how small one may be."""

    max_sections: int = 7
    min_section_size: int = 2
    other_label: str = "More stories"


@dataclass(frozen=True)
class DigestConfig:
    """[digest]: how many stories a digest holds and how the mail shows them."""

    max_items: int = 60  # stories per digest (the web copy); the mail shows mail_items of them
    max_per_feed: int = 0  # 0: feeds take turns (a fair share each); N: also at most N per feed
    mail_items: int = 10  # stories in the mail, the lead included (0: all); the rest on the web
    per_section: int = 3  # stories per section in the mail (0: no limit)
    lead: bool = True  # the first story larger, with its image
    since_days: float = 0  # 0 = no age limit (the list's "new since last digest" rule applies)
    html_budget_kb: int = 90
    template_dir: str = ""


@dataclass(frozen=True)
class SmtpConfig:
    """[smtp]: the server that sends the mail (the password comes from the environment)."""

    host: str = "localhost"
    port: int = 587
    security: str = "starttls"  # starttls | tls | none
    username: str = ""
    allow_insecure: bool = False  # permit security = "none" to a non-loopback host
    timeout: float = 30.0
    connections: int = 2
    rate: float = 0.0  # messages per second across connections; 0 = unlimited
    max_retries: int = 4
    bounce_after: int = 3  # permanent failures before a subscriber becomes "bounced"


@dataclass(frozen=True)
class DkimConfig:
    """[dkim]: the selector, domain and key file that sign outgoing mail."""

    selector: str = ""
    domain: str = ""
    key_file: str = ""


@dataclass(frozen=True)
class WebConfig:
    """[web]: the web app's link lifetime, sign-up rate limits and trusted proxies."""

    confirm_max_age_days: int = 7
    subscribe_per_ip_per_hour: int = 10
    subscribe_per_address_per_hour: int = 3
    trusted_proxies: int = 0  # proxies in front of `serve` whose X-Forwarded-For is trusted


@dataclass(frozen=True)
class BouncesConfig:
    """[bounces]: where bounces and complaints go, and what they do to a subscriber."""

    address: str = ""  # envelope sender base, e.g. bounces@news.example.org ("": the list's from)
    mailbox: str = ""  # imaps://user@host/INBOX | imap://... (STARTTLS) | pop3s://... | pop3://...
    ca_file: str = ""  # CA certificates for a mailbox server with a private certificate
    move_to: str = ""  # IMAP: move processed messages to this folder (default: flag them)
    delete_processed: bool = False  # delete processed bounces instead of keeping them
    hard_after: int = 1  # hard bounces before an address becomes bounced
    soft_after: int = 3  # soft bounces within soft_days before an address becomes bounced
    soft_days: int = 14
    require_signature: bool = False  # ignore mailed reports without our signed delivery token
    timeout: float = 30.0  # mailbox connection timeout, seconds


@dataclass(frozen=True)
class WebhooksConfig:
    """[webhooks]: provider event endpoints of the web app (keys come from the environment)."""

    ses_topics: tuple[str, ...] = ()  # SNS topic ARNs accepted at /webhooks/ses
    postmark_user: str = "postmark"  # basic-auth user of /webhooks/postmark
    max_age: int = 300  # seconds a signed Mailgun/SendGrid timestamp stays acceptable


@dataclass(frozen=True)
class WebhookSecrets:
    """Webhook credentials, from the environment only; an empty one disables its endpoint."""

    mailgun_signing_key: str = field(default="", repr=False)  # NEWSLETTER_MAILGUN_SIGNING_KEY
    postmark_password: str = field(default="", repr=False)  # NEWSLETTER_POSTMARK_PASSWORD
    sendgrid_public_key: str = field(default="", repr=False)  # NEWSLETTER_SENDGRID_PUBLIC_KEY

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WebhookSecrets:
        return cls(
            mailgun_signing_key=env.get("NEWSLETTER_MAILGUN_SIGNING_KEY", ""),
            postmark_password=env.get("NEWSLETTER_POSTMARK_PASSWORD", ""),
            sendgrid_public_key=env.get("NEWSLETTER_SENDGRID_PUBLIC_KEY", ""),
        )


@dataclass(frozen=True)
class RunConfig:
    """[run]: the run lock, and when a feed that keeps failing is reported."""

    lock_file: str = ""  # default: next to the store
    failing_feed_runs: int = 3  # report a feed prominently after this many failed runs


@dataclass(frozen=True)
class Config:
    """Everything a command needs, loaded once at the edge and passed down."""

    base_dir: Path
    site: SiteConfig = SiteConfig()
    lists: tuple[ListConfig, ...] = (ListConfig(),)
    feeds: tuple[FeedConfig, ...] = ()
    fetch: FetchConfig = FetchConfig()
    summary: SummaryConfig = SummaryConfig()
    themes: ThemesConfig = ThemesConfig()
    digest: DigestConfig = DigestConfig()
    smtp: SmtpConfig = SmtpConfig()
    dkim: DkimConfig = DkimConfig()
    web: WebConfig = WebConfig()
    run: RunConfig = RunConfig()
    bounces: BouncesConfig = BouncesConfig()
    webhooks: WebhooksConfig = WebhooksConfig()
    store_path: Path = Path("newsletter.sqlite")
    store_origin: str = "config"  # config | default | output: see STORE_FROM_CONFIG below
    store_url: str = ""  # postgresql://user@host:port/db: a PostgreSQL store instead
    output_dir: Path = Path("output")
    source: Path | None = None  # the TOML file, None for built-in defaults
    secret_key: str = field(default="", repr=False)
    smtp_password: str = field(default="", repr=False)
    bounces_password: str = field(default="", repr=False)
    webhook_secrets: WebhookSecrets = WebhookSecrets()
    database_password: str = field(default="", repr=False)

    @property
    def store_target(self) -> str | Path:  # what `Store` opens
        return self.store_url or self.store_path

    def list(self, name: str | None = None) -> ListConfig:
        """The list called `name`, or the first one."""
        if name is None:
            return self.lists[0]
        for candidate in self.lists:
            if candidate.name == name:
                return candidate
        known = ", ".join(c.name for c in self.lists)
        raise ConfigError(f"no list named {name!r}; the config defines: {known}")

    def feeds_for(self, list_name: str | None = None) -> tuple[FeedConfig, ...]:
        """The feeds a list draws from (all feeds unless the list names some)."""
        wanted = self.list(list_name).feeds
        if not wanted:
            return self.feeds
        return tuple(f for f in self.feeds if f.url in wanted)

    def resolve(self, path: str | Path) -> Path:
        """A path from the config, relative to the config file's folder."""
        return _resolve(path, self.base_dir)

    def require_secret(self) -> str:
        """The link-signing key; ConfigError unless it is set and strong (see check_secret)."""
        return check_secret(self.secret_key)


SECRET_MIN_BYTES = 32
MAKE_SECRET = (
    "export NEWSLETTER_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
)


def check_secret(key: str) -> str:
    """`key` if it can sign links: set, at least SECRET_MIN_BYTES bytes, no whitespace.

    Anyone holding one signed link can test guesses of the key offline; a short key falls
    in seconds and then every subscriber's links can be forged. Whitespace is refused
    because it is nearly always a copy-and-paste accident (a trailing newline) that makes
    the web app and the sender sign with different keys.
    """
    if not key:
        raise ConfigError(
            f"NEWSLETTER_SECRET_KEY is not set: it signs every confirm, unsubscribe and manage "
            f"link; make one with `{MAKE_SECRET}` before sending or serving"
        )
    if any(c.isspace() for c in key):
        raise ConfigError(
            "NEWSLETTER_SECRET_KEY contains whitespace (a space, tab or line break: often a "
            f"newline copied from a file); use one random word, e.g. `{MAKE_SECRET}`"
        )
    size = len(key.encode("utf-8"))
    if size < SECRET_MIN_BYTES:
        raise ConfigError(
            f"NEWSLETTER_SECRET_KEY is too short ({size} bytes; at least {SECRET_MIN_BYTES}): "
            "a short key can be guessed from one link and then any link forged; make a "
            f"random one with `{MAKE_SECRET}`"
        )
    return key


_T = typing.TypeVar("_T")

_SECTIONS: dict[str, type] = {
    "site": SiteConfig,
    "fetch": FetchConfig,
    "summary": SummaryConfig,
    "themes": ThemesConfig,
    "digest": DigestConfig,
    "smtp": SmtpConfig,
    "dkim": DkimConfig,
    "web": WebConfig,
    "run": RunConfig,
    "bounces": BouncesConfig,
    "webhooks": WebhooksConfig,
}
_TOP_KEYS = set(_SECTIONS) | {"list", "lists", "feeds", "store", "output"}
_RENAMED = {"from": "sender"}  # TOML key -> field name (from is a Python keyword)
# where the store goes without [store] path, named in Config.store_origin
STORE_FROM_CONFIG = "config"  # [store] path
STORE_BESIDE_CONFIG = "default"  # <config file stem>.sqlite beside the config file
STORE_IN_OUTPUT = "output"  # no config file, or --feed: under the output folder
SQLITE = "newsletter.sqlite"
SCRATCH_STORE = Path(".newsletter") / SQLITE  # relative to the output folder


@dataclass(frozen=True)
class _StoreTable:
    """[store]: the SQLite file or PostgreSQL database of the store."""

    path: str = ""  # default: <config file stem>.sqlite beside the config file
    url: str = ""  # a PostgreSQL database instead (postgresql://user@host:port/dbname)


@dataclass(frozen=True)
class _OutputTable:
    """[output]: the folder digests are written to."""

    dir: str = "output"


def _type_ok(value: object, hint: object) -> bool:
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if typing.get_origin(hint) is tuple:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, hint)  # type: ignore[arg-type]


def _type_name(hint: object) -> str:
    if typing.get_origin(hint) is tuple:
        return "a list of strings"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        hint,
        str(hint),  # type: ignore[call-overload]
    )


def _unquoted(text: str) -> object:
    """What a quoted TOML number or boolean meant: `"587"` -> 587, `"true"` -> True."""
    try:
        return tomllib.loads(f"v = {text.strip().lower()}")["v"]
    except tomllib.TOMLDecodeError:
        return text


class _Problems(list):
    """Every problem of one config file, reported together."""

    def raise_any(self, source: Path | None) -> None:
        if not self:
            return
        where = f"{source}: " if source else ""
        if len(self) == 1:
            raise ConfigError(f"{where}{self[0]}")
        lines = "\n".join(f"  - {p}" for p in self)
        raise ConfigError(f"{where}{len(self)} problems:\n{lines}")


def _build(
    cls: type[_T], table: object, where: str, problems: _Problems, rules: str | None = None
) -> _T:
    """A section dataclass from a TOML table; every unknown key, wrong type or value that
    breaks its rule (see `config_rules`) is added to `problems` and left at its default."""
    if not isinstance(table, dict):
        problems.append(f"[{where}] must be a table, e.g. [{where}] followed by key = value lines")
        return cls()
    rules = rules or where
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {}
    for key, value in table.items():
        name = _RENAMED.get(key, key)
        if name not in names:
            shown = {k for k, v in _RENAMED.items() if v in names} | (
                names - set(_RENAMED.values())
            )
            allowed = ", ".join(sorted(shown))
            problems.append(f"unknown key {where}.{key}; allowed keys in [{where}]: {allowed}")
            continue
        hint = hints[name]
        if not _type_ok(value, hint):
            quoted = isinstance(value, str) and _type_ok(_unquoted(value), hint)
            problems.append(
                f"{where}.{key} must be {_type_name(hint)}, got {type(value).__name__} {value!r}"
                + (f"; write {where}.{key} = {value.lower()} without quotes" if quoted else "")
            )
            continue
        found = list(config_rules.key_problems(f"{rules}.{key}", f"{where}.{key}", value))
        if found:
            problems.extend(found)
            continue
        values[name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def _tables(data: dict, key: str, hint: str, problems: _Problems) -> list:
    """An array of tables ([[lists]], [[feeds]]); a problem if it is something else."""
    raw = data.get(key, [])
    if isinstance(raw, list) and all(isinstance(t, dict) for t in raw):
        return raw
    problems.append(f"{key} must be an array of tables: write {hint}")
    return []


def default_config(base_dir: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """The embedded default: the bundled sample feeds, ./output with its store inside."""
    base = base_dir or Path.cwd()
    feeds = tuple(FeedConfig(url=str(p)) for p in sorted(BUNDLED_SEEDS.glob("*.xml")))
    env = env or {}
    return Config(
        base_dir=base,
        site=SiteConfig(name="Sample Digest", url="https://newsletter.example.org"),
        feeds=feeds,
        store_path=base / "output" / SCRATCH_STORE,
        store_origin=STORE_IN_OUTPUT,
        output_dir=base / "output",
        secret_key=env.get("NEWSLETTER_SECRET_KEY", ""),
        smtp_password=env.get("NEWSLETTER_SMTP_PASSWORD", ""),
        bounces_password=env.get("NEWSLETTER_BOUNCES_PASSWORD", ""),
        webhook_secrets=WebhookSecrets.from_env(env),
    )


def load_config(path: str | Path | None, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a TOML config; `None` gives the embedded default."""
    env = env or {}
    if path is None:
        return default_config(env=env)
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        init = f"newsletter init --path {shlex.quote(str(path))}"
        raise ConfigError(f"config file {path} not found; create it with `{init}`")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e}); fix the syntax at that line") from e
    return config_from_dict(data, base_dir=path.parent, env=env, source=path)


def config_from_dict(
    data: dict, base_dir: Path, env: Mapping[str, str] | None = None, source: Path | None = None
) -> Config:
    """Validate an already-parsed TOML document: every key, then the rules across keys."""
    env = env or {}
    problems = _Problems()
    for key in sorted(set(data) - _TOP_KEYS):
        problems.append(f"unknown top-level key {key!r}; allowed: {', '.join(sorted(_TOP_KEYS))}")
    sections: dict[str, typing.Any] = {
        name: _build(cls, data.get(name, {}), name, problems) for name, cls in _SECTIONS.items()
    }
    if "list" in data and "lists" in data:
        problems.append("use either [list] (one list) or [[lists]] (several), not both")
    if "list" in data:
        raw_lists, names = [data["list"]], ["list"]
    else:
        raw_lists = _tables(data, "lists", "[[lists]] for each list", problems) or [{}]
        names = [f"lists[{n}]" for n in range(len(raw_lists))] if "lists" in data else ["list"]
    lists = tuple(
        _build(ListConfig, t, where, problems, "list")
        for t, where in zip(raw_lists, names, strict=True)
    )
    raw_feeds = _tables(data, "feeds", "[[feeds]] before each url", problems)
    feeds = tuple(
        _build(FeedConfig, t, f"feeds[{n}]", problems, "feeds") for n, t in enumerate(raw_feeds)
    )
    for n, feed in enumerate(feeds):
        if not feed.url and "url" not in raw_feeds[n]:
            problems.append(
                f'feeds[{n}] needs url = "..." (an http(s) URL, a file:// URL or a path)'
            )
    feeds = tuple(dataclasses.replace(f, url=_resolve_feed_url(f.url, base_dir)) for f in feeds)
    lists = tuple(
        dataclasses.replace(
            lst,
            title=lst.title or sections["site"].name,
            feeds=tuple(_resolve_feed_url(u, base_dir) for u in lst.feeds),
        )
        for lst in lists
    )
    store = _build(_StoreTable, data.get("store", {}), "store", problems)
    output = _build(_OutputTable, data.get("output", {}), "output", problems)
    problems.extend(config_rules.store_problems(store.path, store.url))
    if store.path or store.url:  # with a url, store_path is only named in messages
        store_path, origin = _resolve(store.path or SQLITE, base_dir), STORE_FROM_CONFIG
    else:
        stem = source.stem if source is not None else "newsletter"
        store_path, origin = base_dir / f"{stem}.sqlite", STORE_BESIDE_CONFIG
    # a bad value was left at its (valid) default: the rules across keys still run, so
    # the file's every problem is reported at once
    config = Config(
        base_dir=base_dir,
        lists=lists,
        feeds=feeds,
        store_path=store_path,
        store_origin=origin,
        store_url="" if config_rules.store_url_problem(store.url) else store.url,
        output_dir=_resolve(output.dir, base_dir),
        source=source,
        secret_key=env.get("NEWSLETTER_SECRET_KEY", ""),
        smtp_password=env.get("NEWSLETTER_SMTP_PASSWORD", ""),
        bounces_password=env.get("NEWSLETTER_BOUNCES_PASSWORD", ""),
        database_password=env.get("NEWSLETTER_DATABASE_PASSWORD", ""),
        webhook_secrets=WebhookSecrets.from_env(env),
        **sections,
    )
    problems.extend(config_rules.config_problems(config))
    problems.raise_any(source)
    return config


def _resolve(path: str | Path, base_dir: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p


def _resolve_feed_url(url: str, base_dir: Path) -> str:
    """URLs stay as they are; a relative path resolves against the config's folder."""
    if "://" in url:
        return url
    return str(_resolve(url, base_dir))


def with_output(config: Config, folder: str | Path) -> Config:
    """The config writing to another output folder (the `--output` flag); a store that
    lives in the output folder moves with it."""
    out = Path(folder).expanduser().resolve()
    config = dataclasses.replace(config, output_dir=out)
    if config.store_origin == STORE_IN_OUTPUT:
        config = dataclasses.replace(config, store_path=out / SCRATCH_STORE)
    return config


def with_feeds(config: Config, urls: typing.Iterable[str]) -> Config:
    """The config with its feeds replaced (the `--feed` flag). Such a quick try keeps its
    own store in the output folder, so its items never reach a list's store."""
    feeds = tuple(FeedConfig(url=_resolve_feed_url(u, Path.cwd())) for u in urls)
    for url in (f.url for f in feeds):
        if problem := config_rules.feed_url(url):
            raise ConfigError(f"--feed {url}: {problem}")
    lists = tuple(dataclasses.replace(lst, feeds=()) for lst in config.lists)
    return dataclasses.replace(
        config,
        feeds=feeds,
        lists=lists,
        store_path=config.output_dir / SCRATCH_STORE,
        store_origin=STORE_IN_OUTPUT,
        store_url="",  # not the list's PostgreSQL database either
    )


# what `newsletter init` writes: every key with its default and a comment
INIT_TEMPLATE = (PACKAGE_DIR / "init.toml").read_text(encoding="utf-8")
