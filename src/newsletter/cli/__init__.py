"""The `newsletter` command line: thin click commands over the library.

Commands live in sibling modules (build, mailing, serving, running) and register on `cli`.

Exit codes are in newsletter.errors: 0 success, 1 the work could not be done (e.g. no
digest), 2 usage or config errors, 6 another command holds the run lock (as `newsletter
run`'s). `newsletter run` adds its own codes (see its --help and the README).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from newsletter import __version__
from newsletter.commands import command
from newsletter.config import Config, load_config, with_feeds
from newsletter.errors import (
    EXIT_DELIVERY,
    EXIT_LOCKED,
    EXIT_USAGE,
    ConfigError,
    LockedError,
    NewsletterError,
)
from newsletter.store import Store, open_store
from newsletter.store.location import settle_store, sharing_warning


class UsageError(click.ClickException):
    exit_code = EXIT_USAGE


class LockedExit(click.ClickException):
    exit_code = EXIT_LOCKED


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Library errors become one clear line on stderr and an exit code."""
    try:
        yield
    except ConfigError as e:
        raise UsageError(str(e)) from e
    except LockedError as e:
        raise LockedExit(str(e)) from e
    except NewsletterError as e:
        raise click.ClickException(str(e)) from e


def _load_any(ctx: click.Context, feeds: tuple[str, ...] = (), note_sample: bool = False) -> Config:
    """The config from -c, else $NEWSLETTER_CONFIG (as the web app), else ./newsletter.toml,
    else the built-in sample. With `note_sample`, a command that changes or mails a list
    says on stderr when it works on the sample's list (most likely the wrong folder)."""
    path = ctx.obj.get("config") or os.environ.get("NEWSLETTER_CONFIG") or None
    if path is None and Path("newsletter.toml").is_file():
        path = "newsletter.toml"
    with errors_to_exit():
        config = load_config(path, env=os.environ)
        # --feed is a quick try with a store of its own; otherwise find the config's store
        config = with_feeds(config, feeds) if feeds else settle_store(config)
    warning = "" if feeds else sharing_warning(config)
    if warning and not ctx.obj.get("quiet"):
        click.echo(warning, err=True)
    if path is None and note_sample and not ctx.obj.get("quiet"):
        click.echo(
            "note: no config (-c, $NEWSLETTER_CONFIG or ./newsletter.toml), so this is the "
            f"bundled sample's list, stored in {config.store_path}; `newsletter init` writes "
            "a config",
            err=True,
        )
    return config


def _load(ctx: click.Context, feeds: tuple[str, ...] = ()) -> Config:
    """Like `_load_any`, for commands that fetch: at least one feed is required."""
    config = _load_any(ctx, feeds)
    if not config.feeds:
        raise UsageError("no feeds configured: add [[feeds]] to the config or pass --feed URL")
    return config


def _open_store(config: Config) -> Store:
    """The config's store, closed when the command ends (SQLite then folds its write-ahead
    log back into the database file)."""
    with errors_to_exit():
        store = open_store(config)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(store.close)
    return store


def _hint(ctx: click.Context, rest: str) -> str:
    """A command to suggest, `newsletter -c FILE <rest>` when -c was given: the same config,
    not whatever the current folder holds."""
    return command(ctx.obj.get("config"), rest)


@contextmanager
def stopped_cleanly(ctx: click.Context, what: str, again: str) -> Iterator[None]:
    """A systemd stop (SIGTERM) or Ctrl-C lets a send under way finish the messages in
    flight and stop (its report says so; exit 4); before any send, the command stops at
    once, says how to carry on, and exits 4 too. Nothing is ever left in doubt by a stop."""
    from newsletter.mail.sendloop import stop_on_signal

    previous = {sig: signal.signal(sig, stop_on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    except KeyboardInterrupt:
        click.echo(
            f"{what} was stopped by a signal; nothing was left in flight: "
            f"`{_hint(ctx, again)}` carries on",
            err=True,
        )
        ctx.exit(EXIT_DELIVERY)  # a send stopped early is a delivery problem
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _progress(label: str, length: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal, nothing otherwise (logs say what happens)."""
    if sys.stderr.isatty() and length > 1:
        with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
            yield bar.update
    else:
        yield lambda n: None


config_option = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="The config file (default: $NEWSLETTER_CONFIG, else ./newsletter.toml if present, "
    "else the bundled sample).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newsletter")
@config_option
@click.option("-v", "--verbose", count=True, help="More detail on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, quiet: bool) -> None:
    """Turn RSS/Atom feeds into summarized, themed email digests.

    \b
    Example:
      newsletter build                      # the bundled sample feeds -> output/latest.html
      newsletter init && newsletter build   # your own feeds, from newsletter.toml
    """
    level = (
        logging.ERROR if quiet else [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    )
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.ensure_object(dict)
    ctx.obj["config"] = config_path
    ctx.obj["verbose"] = verbose
    ctx.obj["quiet"] = quiet


def _config_after_group(ctx: click.Context, config_path: str | None) -> None:
    """`-c` is accepted before or after the command name."""
    if config_path:
        ctx.obj["config"] = config_path


def main() -> None:
    """Console-script entry point."""
    try:
        cli(prog_name="newsletter")
    finally:
        # Nothing is collected after the command: the interpreter's last collections,
        # over every object a build left (the analysis libraries' included), cost a cron
        # build ~0.1 s for memory the exit frees anyway.
        gc.freeze()


# the command modules register themselves on `cli`; imported last because they import it
from newsletter.cli import bounces, build, mailing, running, serving, stores  # noqa: E402,F401
