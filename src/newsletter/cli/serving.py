"""`newsletter serve` (the subscribe web app) and `newsletter preview`."""

from __future__ import annotations

import click

from newsletter.cli import _config_after_group, _load_any, cli, config_option, errors_to_exit


@cli.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.pass_context
def serve(ctx: click.Context, config_path: str | None, host: str, port: int) -> None:
    """Run the subscribe / confirm / unsubscribe / archive web app (development server).

    For production run `newsletter.web.app:make_wsgi_app` under waitress or gunicorn behind an
    HTTPS proxy (see the README). Needs NEWSLETTER_SECRET_KEY.

    \b
    Example:
      NEWSLETTER_SECRET_KEY=... newsletter serve --port 8080
    """
    from newsletter.web.app import serve as run_server

    _config_after_group(ctx, config_path)
    config = _load_any(ctx, note_sample=True)
    with errors_to_exit():
        config.require_secret()
        run_server(config, host=host, port=port)


@cli.command()
@config_option
@click.option("--list", "list_name", help="Which list (default: the first).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
@click.option(
    "--next",
    "next_",
    is_flag=True,
    help="Preview what the next send would contain, built now without changing anything.",
)
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
@click.pass_context
def preview(
    ctx: click.Context,
    config_path: str | None,
    list_name: str | None,
    host: str,
    port: int,
    next_: bool,
    no_browser: bool,
) -> None:
    """Serve the latest digest with a phone / desktop switch and its text version.

    \b
    Examples:
      newsletter preview
      newsletter preview --next --no-browser
    """
    from newsletter.web.preview import preview as run_preview

    _config_after_group(ctx, config_path)
    config = _load_any(ctx)
    with errors_to_exit():
        config.list(list_name)  # an unknown --list is a usage error, not "no digest"
        run_preview(
            config,
            host=host,
            port=port,
            next_=next_,
            open_browser=not no_browser,
            list_name=list_name,
        )
