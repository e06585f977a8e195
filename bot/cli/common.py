"""What every `rapport` command shares: settings or a clean exit, the app, one-line failures.

Its own module so that the subcommand modules (bot/cli/imports.py, ...) can use it without
importing the typer app that registers them (an import cycle)."""

import logging
import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # the app and settings import the whole store: only when a command runs
    from bot.app import RapportApp
    from bot.settings import Settings


def fail(message: str, code: int = 2) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def settings_or_exit() -> "Settings":
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc))
        raise  # unreachable, for type checkers
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    # libraries' housekeeping ("generated new fontManager") is not news to a rep
    for noisy in ("alembic", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return settings


def build_app(settings: "Settings") -> "RapportApp":
    from bot.app import RapportApp, SchemaOutOfDate

    rapport = RapportApp.build(settings)
    try:
        rapport.prepare_database()
    except SchemaOutOfDate as exc:
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - name the problem, never a traceback
        fail(f"Cannot open the database: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    return rapport
