"""Load and validate `newsletter.toml`. All defaults live here, in one place.

Settings resolve as: defaults < file < command-line flags. Secrets never come from the
file: `NEWSLETTER_SMTP_PASSWORD`, `NEWSLETTER_SECRET_KEY` and
`NEWSLETTER_DATABASE_PASSWORD` are read from the environment mapping passed to
`load_config`.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from newsletter.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
# data files live inside the package, so a wheel and an editable install find them alike
BUILTIN_TEMPLATES = PACKAGE_DIR / "templates"
BUNDLED_SEEDS = PACKAGE_DIR / "seeds"


@dataclass(frozen=True)
class SiteConfig:
    name: str = "Newsletter"
    url: str = "https://newsletter.example.org"  # public base URL: archive, confirm, unsubscribe
    language: str = "en"
    address: str = ""  # postal address shown in the footer (CAN-SPAM)
    description: str = ""


@dataclass(frozen=True)
class FeedConfig:
    url: str = ""
    name: str = ""  # shown as the source; default: the feed's own title
    language: str = ""  # overrides the feed's declared language


@dataclass(frozen=True)
class ListConfig:
    name: str = "digest"
    title: str = ""  # human name for List-Id and pages; default: site name
    sender: str = "Newsletter <digest@newsletter.example.org>"  # TOML key: from
    reply_to: str = ""
    subject: str = "{site}: {headline} and {more} more ({date})"
    cadence: str = "every run"  # "every run" | "daily at HH:MM" | "weekly on <day> at HH:MM"
    timezone: str = "UTC"
    min_items: int = 1
    backlog: str = "days:7"  # first run: "days:N" (items of the last N days) | "none" | "all"
    resend_edited: bool = False  # an edited item already sent is not sent again as new
    feeds: tuple[str, ...] = ()  # feed URLs of this list; empty = every feed


@dataclass(frozen=True)
class FetchConfig:
    timeout: float = 20.0  # read timeout, seconds
    connect_timeout: float = 5.0
    max_bytes: int = 10_000_000
    concurrency: int = 16
    user_agent: str = ""  # default: "newsletter/<version> (+<site url>)"


@dataclass(frozen=True)
class SummaryConfig:
    algorithm: str = "newsletter"  # newsletter | lead | textrank | lexrank | lsa | luhn | ...
    max_words: int = 50
    sentences: int = 0  # >0: a fixed number of sentences instead of the word budget
    language: str = ""  # default: the item's, then the site's language


@dataclass(frozen=True)
class ThemesConfig:
    max_sections: int = 7
    min_section_size: int = 2
    other_label: str = "More stories"


@dataclass(frozen=True)
class DigestConfig:
    max_items: int = 60
    since_days: float = 0  # 0 = no age limit (the list's "new since last digest" rule applies)
    html_budget_kb: int = 90
    template_dir: str = ""


@dataclass(frozen=True)
class SmtpConfig:
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
    selector: str = ""
    domain: str = ""
    key_file: str = ""


@dataclass(frozen=True)
class WebConfig:
    confirm_max_age_days: int = 7
    subscribe_per_ip_per_hour: int = 10
    subscribe_per_address_per_hour: int = 3
    trusted_proxies: int = 0  # proxies in front of `serve` whose X-Forwarded-For is trusted


@dataclass(frozen=True)
class RunConfig:
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
    store_path: Path = Path("data/newsletter.sqlite")
    store_url: str = ""  # postgresql://user@host:port/db: a PostgreSQL store instead
    output_dir: Path = Path("output")
    source: Path | None = None  # the TOML file, None for built-in defaults
    secret_key: str = field(default="", repr=False)
    smtp_password: str = field(default="", repr=False)
    database_password: str = field(default="", repr=False)

    @property
    def store_target(self) -> str | Path:
        """What `Store` opens: the PostgreSQL URL when set, else the SQLite file."""
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
        if not self.secret_key:
            raise ConfigError(
                "NEWSLETTER_SECRET_KEY is not set: export a long random value "
                "(e.g. `export NEWSLETTER_SECRET_KEY=$(python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')`) before sending or serving"
            )
        return self.secret_key


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
}
_TOP_KEYS = set(_SECTIONS) | {"list", "lists", "feeds", "store", "output"}
_RENAMED = {"from": "sender"}  # TOML key -> field name (from is a Python keyword)


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


def _build(cls: type, table: object, where: str) -> object:
    """Make a section dataclass from a TOML table, naming any bad key and its fix."""
    if not isinstance(table, dict):
        raise ConfigError(
            f"[{where}] must be a table, e.g. [{where}] followed by key = value lines"
        )
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in table.items():
        name = _RENAMED.get(key, key)
        if name not in names:
            shown = {k for k, v in _RENAMED.items() if v in names} | (
                names - set(_RENAMED.values())
            )
            allowed = ", ".join(sorted(shown))
            raise ConfigError(f"unknown key {where}.{key}; allowed keys in [{where}]: {allowed}")
        hint = hints[name]
        if not _type_ok(value, hint):
            raise ConfigError(
                f"{where}.{key} must be {_type_name(hint)}, got {type(value).__name__} {value!r}"
            )
        values[name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def _check(config: Config) -> None:
    """Cross-field checks that a single key's type cannot express."""
    from newsletter.cadence import parse_cadence  # local: cadence is a sibling service

    if not config.lists:
        raise ConfigError("define at least one [[lists]] table")
    seen = set()
    for lst in config.lists:
        if lst.name in seen:
            raise ConfigError(f"two lists are named {lst.name!r}; list names must be unique")
        seen.add(lst.name)
        parse_cadence(lst.cadence)
        try:
            import zoneinfo

            zoneinfo.ZoneInfo(lst.timezone)
        except Exception as e:
            raise ConfigError(
                f"list {lst.name!r}: unknown timezone {lst.timezone!r}; use an IANA name such as "
                "'Europe/London'"
            ) from e
        if not (lst.backlog in ("none", "all") or lst.backlog.startswith("days:")):
            raise ConfigError(
                f"list {lst.name!r}: backlog must be 'days:N', 'none' or 'all', got {lst.backlog!r}"
            )
    if config.smtp.security not in ("starttls", "tls", "none"):
        raise ConfigError(
            f"smtp.security must be 'starttls', 'tls' or 'none', got {config.smtp.security!r}"
        )
    if not config.site.url.startswith(("https://", "http://")):
        raise ConfigError(f"site.url must be an absolute http(s) URL, got {config.site.url!r}")
    for feed in config.feeds:
        if not feed.url:
            raise ConfigError('every [[feeds]] entry needs url = "..." (a URL or a path)')
    if config.fetch.concurrency < 1:
        raise ConfigError("fetch.concurrency must be at least 1")
    if config.summary.max_words < 5 and config.summary.sentences < 1:
        raise ConfigError("summary.max_words must be at least 5 (or set summary.sentences)")


def default_config(base_dir: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """The embedded default: the bundled sample feeds, a store under ./data, ./output."""
    base = base_dir or Path.cwd()
    feeds = tuple(FeedConfig(url=str(p)) for p in sorted(BUNDLED_SEEDS.glob("*.xml")))
    env = env or {}
    return Config(
        base_dir=base,
        site=SiteConfig(name="Sample Digest", url="https://newsletter.example.org"),
        feeds=feeds,
        store_path=base / "data" / "newsletter.sqlite",
        output_dir=base / "output",
        secret_key=env.get("NEWSLETTER_SECRET_KEY", ""),
        smtp_password=env.get("NEWSLETTER_SMTP_PASSWORD", ""),
    )


def load_config(path: str | Path | None, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a TOML config; `None` gives the embedded default."""
    env = env or {}
    if path is None:
        return default_config(env=env)
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"config file {path} not found; create one with `newsletter init`")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e}); fix the syntax at that line") from e
    return config_from_dict(data, base_dir=path.parent, env=env, source=path)


def config_from_dict(
    data: dict, base_dir: Path, env: Mapping[str, str] | None = None, source: Path | None = None
) -> Config:
    """Validate an already-parsed TOML document."""
    env = env or {}
    unknown = set(data) - _TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(f"unknown top-level key {key!r}; allowed: {', '.join(sorted(_TOP_KEYS))}")
    sections = {name: _build(cls, data.get(name, {}), name) for name, cls in _SECTIONS.items()}
    if "list" in data and "lists" in data:
        raise ConfigError("use either [list] (one list) or [[lists]] (several), not both")
    raw_lists = data.get("lists", [data["list"]] if "list" in data else [{}])
    if not isinstance(raw_lists, list):
        raise ConfigError("lists must be an array of tables: write [[lists]] for each list")
    lists = tuple(_build(ListConfig, t, "lists") for t in raw_lists)
    raw_feeds = data.get("feeds", [])
    if not isinstance(raw_feeds, list):
        raise ConfigError("feeds must be an array of tables: write [[feeds]] before each url")
    feeds = tuple(_build(FeedConfig, t, "feeds") for t in raw_feeds)
    feeds = tuple(dataclasses.replace(f, url=_resolve_feed_url(f.url, base_dir)) for f in feeds)
    lists = tuple(
        dataclasses.replace(
            lst,
            title=lst.title or sections["site"].name,  # type: ignore[attr-defined]
            feeds=tuple(_resolve_feed_url(u, base_dir) for u in lst.feeds),
        )
        for lst in lists
    )
    store = _build(_StoreTable, data.get("store", {}), "store")
    output = _build(_PathTable, data.get("output", {}), "output")
    if store.path and store.url:  # type: ignore[attr-defined]
        raise ConfigError(
            "[store] has both path (SQLite) and url (PostgreSQL): keep the one to use"
        )
    config = Config(
        base_dir=base_dir,
        lists=lists,
        feeds=feeds,
        store_path=_resolve(store.path or "data/newsletter.sqlite", base_dir),  # type: ignore[attr-defined]
        store_url=check_store_url(store.url),  # type: ignore[attr-defined]
        output_dir=_resolve(output.dir or "output", base_dir),  # type: ignore[attr-defined]
        source=source,
        secret_key=env.get("NEWSLETTER_SECRET_KEY", ""),
        smtp_password=env.get("NEWSLETTER_SMTP_PASSWORD", ""),
        database_password=env.get("NEWSLETTER_DATABASE_PASSWORD", ""),
        **sections,  # type: ignore[arg-type]
    )
    _check(config)
    return config


@dataclass(frozen=True)
class _PathTable:
    path: str = ""
    dir: str = ""


@dataclass(frozen=True)
class _StoreTable:
    path: str = ""  # a SQLite file (the default: data/newsletter.sqlite)
    url: str = ""  # a PostgreSQL database instead


def check_store_url(url: str) -> str:
    """A PostgreSQL URL for [store] url (or `store copy --to`), refused when it carries a
    password: config files get copied, pasted and committed; passwords stay out of them."""
    if not url:
        return ""
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"[store] url must be a PostgreSQL URL such as postgresql://user@host:5432/dbname, "
            f"got {url.split('@')[-1]!r}; for SQLite set [store] path instead"
        )
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 (validates the port)
    except ValueError as e:
        raise ConfigError(f"[store] url has a bad port: {e}") from e
    query = {k.lower() for k, _ in parse_qsl(parts.query)}
    if parts.password is not None or "password" in query:
        raise ConfigError(
            "[store] url must not contain the database password: remove it from the URL and "
            "set NEWSLETTER_DATABASE_PASSWORD in the environment (or use a ~/.pgpass or "
            "pg_service.conf file)"
        )
    return url


def _resolve(path: str | Path, base_dir: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p


def _resolve_feed_url(url: str, base_dir: Path) -> str:
    """URLs stay as they are; a relative path resolves against the config's folder."""
    if "://" in url:
        return url
    return str(_resolve(url, base_dir))


def with_feeds(config: Config, urls: typing.Iterable[str]) -> Config:
    """The config with its feeds replaced (the `--feed` flag)."""
    feeds = tuple(FeedConfig(url=_resolve_feed_url(u, Path.cwd())) for u in urls)
    lists = tuple(dataclasses.replace(lst, feeds=()) for lst in config.lists)
    return dataclasses.replace(config, feeds=feeds, lists=lists)


INIT_TEMPLATE = """\
# newsletter.toml: configuration for `newsletter`. Relative paths resolve against this file.
# Secrets never go here: set NEWSLETTER_SECRET_KEY (signs links) and
# NEWSLETTER_SMTP_PASSWORD in the environment.

[site]
name = "My Site"
url = "https://news.example.org"          # public base URL of `newsletter serve`
language = "en"
address = ""                              # postal address for the footer (required by CAN-SPAM)

[list]                                    # several lists: use [[lists]] tables instead
name = "daily"
from = "My Site <digest@news.example.org>"
subject = "{site}: {headline} and {more} more ({date})"
cadence = "daily at 07:00"                # "every run" | "daily at HH:MM" | "weekly on monday at HH:MM"
timezone = "UTC"
min_items = 1                             # fewer new items than this: nothing is sent
backlog = "days:7"                        # first run: "days:N" | "none" (start from the next item) | "all"
resend_edited = false                     # an edited item that was already sent is not sent again

[[feeds]]
url = "https://example.org/feed.xml"      # an http(s) URL, a file:// URL or a path
# name = "Example"                        # shown as the source; default: the feed's title

[fetch]
concurrency = 16
timeout = 20
connect_timeout = 5
max_bytes = 10000000

[summary]
algorithm = "newsletter"                  # newsletter | lead | textrank | lexrank | lsa | luhn | reduction | sumbasic | kl | edmundson
max_words = 50
sentences = 0                             # > 0: a fixed number of sentences instead

[themes]
max_sections = 7
min_section_size = 2
other_label = "More stories"

[digest]
max_items = 60
since_days = 0                            # 0: no age limit
html_budget_kb = 90                       # larger digests are trimmed, the rest linked on the web
template_dir = ""                         # your templates; any single file overrides the built-in one

[smtp]
host = "smtp.example.org"
port = 587
security = "starttls"                     # "starttls" | "tls" | "none" (loopback only)
username = "digest"
connections = 2
rate = 0                                  # messages per second; 0 = no limit

[web]
confirm_max_age_days = 7                  # confirmation links expire
subscribe_per_ip_per_hour = 10
subscribe_per_address_per_hour = 3
trusted_proxies = 0                       # behind a reverse proxy: how many proxies to trust

# [dkim]
# selector = "mail"
# domain = "news.example.org"
# key_file = "dkim.key"

[store]
path = "data/newsletter.sqlite"
# url = "postgresql://newsletter@db.example.org:5432/newsletter"  # PostgreSQL instead of path:
#                                         # several hosts share it; the password goes in
#                                         # NEWSLETTER_DATABASE_PASSWORD or ~/.pgpass

[output]
dir = "output"
"""
