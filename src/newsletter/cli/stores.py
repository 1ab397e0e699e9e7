"""`newsletter store copy`: move the store to another database (SQLite -> PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import click

from newsletter.cli import (
    UsageError,
    _config_after_group,
    _load_any,
    _open_store,
    cli,
    config_option,
    errors_to_exit,
)
from newsletter.config_rules import store_url_problem
from newsletter.errors import EXIT_FAILED


@cli.group("store")
def store_group() -> None:
    """The store itself: the SQLite file or PostgreSQL database behind everything.

    \b
    Example:
      newsletter store copy --to postgresql://newsletter@db.example.org:5432/newsletter
    """


@store_group.command("copy")
@config_option
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL|PATH",
    help="An empty PostgreSQL database (postgresql://user@host:5432/db; the password from "
    "NEWSLETTER_DATABASE_PASSWORD or ~/.pgpass) or a new SQLite file.",
)
@click.pass_context
def store_copy(ctx: click.Context, config_path: str | None, target: str) -> None:
    """Copy every row of the configured store into an empty one, then compare the row
    counts of every table. Stop `newsletter run`, `send` and the web app first: rows
    written during the copy would stay behind.

    \b
    Example (moving to PostgreSQL):
      createdb -O newsletter newsletter
      NEWSLETTER_DATABASE_PASSWORD=... newsletter store copy \\
          --to postgresql://newsletter@db.example.org:5432/newsletter
      # then in newsletter.toml: [store] url = "postgresql://..." instead of path
    """
    from newsletter.store import Store
    from newsletter.store.copy import copy_store

    _config_after_group(ctx, config_path)
    config = _load_any(ctx)
    with errors_to_exit():
        if target.startswith(("postgresql://", "postgres://")):
            problem = store_url_problem(target)
            if problem:
                raise UsageError(problem.replace("[store] url", "--to"))
            url = target
            if url == config.store_url:
                raise UsageError("--to names the configured store itself")
            where: str | Path = url
        else:
            path = Path(target).expanduser().resolve()  # as typed: from the current folder
            if not config.store_url and path == config.store_path.resolve():
                raise UsageError("--to names the configured store itself")
            if path.exists():
                raise UsageError(f"{path} exists; give the path of a new file")
            where = path
    source = _open_store(config)
    with errors_to_exit():
        try:
            destination = Store(where, password=config.database_password)
            try:
                report = copy_store(source, destination)
            finally:
                destination.close()
        except BaseException:
            if isinstance(where, Path):  # the new file holds nothing worth keeping
                for leftover in (where, *(Path(f"{where}{s}") for s in ("-wal", "-shm"))):
                    leftover.unlink(missing_ok=True)
            raise
        finally:
            source.close()
    click.echo(report.format())
    if not report.matches:
        ctx.exit(EXIT_FAILED)
    key = "url" if isinstance(where, str) else "path"
    click.echo(f'next: set [store] {key} = "{where}" in the config (and remove the other key)')
