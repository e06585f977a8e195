"""The `rapport` command line (typer): run, shell, db, contacts, classifier, report."""

import asyncio
import logging
import os
import sys
from pathlib import Path

import typer

from bot.cli.common import build_app, fail, settings_or_exit
from bot.cli.imports import register as register_imports
from bot.cli.lazy import LazyCommand, lazy_group

LAZY_COMMANDS = (
    LazyCommand(
        "classifier",
        "bot.cli.classifier:classifier_app",
        "Train, evaluate and try the need classifier.",
    ),
    LazyCommand("report", "bot.cli.report:report_app", "Reports as a table, CSV or JSON."),
    LazyCommand("api", "bot.cli.api:api_app", "API tokens for the REST API (/api/v1)."),
    LazyCommand("webhooks", "bot.cli.api:webhooks_app", "Webhook subscriptions and deliveries."),
)

app = typer.Typer(
    help="Rapport, a chat-first CRM.",
    no_args_is_help=True,
    add_completion=False,
    cls=lazy_group(*LAZY_COMMANDS),
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
contacts_app = typer.Typer(help="Import and export contacts (CSV).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(contacts_app, name="contacts")

register_imports(app)  # rapport import / rapport export (crm/imports)


def _log_to_file(path: Path) -> None:
    """An interactive shell keeps its prompt clean: INFO lines go to a file in the data
    dir (warnings too; `tail -f` it to watch)."""

    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)


@app.command()
def shell(
    as_: str = typer.Option("rep", "--as", help="rep or customer"),
    name: str | None = typer.Option(
        None,
        "--name",
        help="who you are; the same name is the same person (default: me as a rep, Guest as "
        "a customer)",
    ),
    classify: bool = typer.Option(True, help="tag customer messages with the need classifier"),
) -> None:
    """Talk to Rapport in the terminal, as a rep or as a customer."""
    if as_ not in {"rep", "customer"}:
        fail("--as must be rep or customer")
    settings = settings_or_exit()
    rapport = build_app(settings)
    if sys.stdin.isatty():
        _log_to_file(settings.data_dir / "shell.log")
    if as_ == "customer" and classify:
        rapport.load_classifier()
    from bot.cli.shell import ShellNameTaken, run_shell

    try:
        default = "Guest" if as_ == "customer" else "me"
        asyncio.run(run_shell(rapport, as_=as_, name=name or default))
    except KeyboardInterrupt:
        pass
    except ShellNameTaken as exc:
        fail(str(exc))
    finally:
        rapport.close()


@app.command()
def run() -> None:
    """Start every configured channel and the scheduler (the long-running service)."""
    settings = settings_or_exit()
    if not (settings.telegram_enabled or settings.slack_enabled or settings.api_enabled):
        fail(
            "No channel is configured and the API is off, so there is nothing to run.\n"
            "Set TELEGRAM_BOT_TOKEN (customers on Telegram) and/or SLACK_BOT_TOKEN with "
            "SLACK_SIGNING_SECRET or SLACK_APP_TOKEN (reps on Slack), in the environment or .env.\n"
            "Or leave RAPPORT_API_ENABLED on to serve the REST API alone. "
            "To try Rapport without any of them: rapport shell",
            code=1,
        )
    rapport = build_app(settings)
    from bot.runtime.service import serve
    from bot.settings import SettingsError

    try:
        asyncio.run(serve(rapport))
    except SettingsError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        pass
    finally:
        rapport.close()


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply database migrations (needed for PostgreSQL; automatic on SQLite)."""
    from bot.app import RapportApp
    from crm import migrate

    settings = settings_or_exit()
    rapport = RapportApp.build(settings)
    try:
        migrate.upgrade(rapport.store.engine, revision)
    except Exception as exc:  # noqa: BLE001
        fail(f"Migration failed: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    typer.echo(f"Database at revision {migrate.current_revision(rapport.store.engine)}.")
    rapport.close()


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database."""
    from bot.app import RapportApp
    from crm import migrate

    settings = settings_or_exit()
    rapport = RapportApp.build(settings)
    current, head = migrate.current_revision(rapport.store.engine), migrate.head_revision()
    typer.echo(f"current: {current or 'empty'}; latest: {head}")
    rapport.close()


@contacts_app.command("import")
def contacts_import(
    file: Path = typer.Argument(..., help="CSV with a header: name,email,phone,company,tags,owner"),
    dry_run: bool = typer.Option(False, "--dry-run", help="report problems, write nothing"),
) -> None:
    """Import contacts from CSV. Rows whose email or phone already exists are reported."""
    from crm.actors import SYSTEM
    from crm.csvio import import_file
    from crm.errors import CRMError

    settings = settings_or_exit()
    rapport = build_app(settings)
    try:
        report = import_file(
            rapport.store,
            file,
            actor=SYSTEM,
            now=rapport.services.clock.now(),
            dry_run=dry_run,
            region=settings.default_phone_region,
        )
    except CRMError as exc:
        fail(str(exc))
        return
    finally:
        rapport.close()
    typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


@contacts_app.command("export")
def contacts_export(file: Path = typer.Argument(..., help="where to write the CSV")) -> None:
    """Export every contact as CSV (id, name, emails, phones, company, owner, tags, created)."""
    from crm.actors import SYSTEM
    from crm.csvio import export_contacts

    settings = settings_or_exit()
    rapport = build_app(settings)
    try:
        with file.open("w", newline="", encoding="utf-8") as stream:
            count = export_contacts(rapport.store, stream, actor=SYSTEM)
    except OSError as exc:
        fail(f"Cannot write {file}: {exc.strerror}.")
        return
    finally:
        rapport.close()
    typer.echo(f"Exported {count} contact(s) to {file}.")


@app.callback()
def _private_files() -> None:
    """Every file Rapport writes (database, WAL, models, charts, exports) is owner-only:
    they hold customers' personal data.  The data directory itself is made 0700 by
    RapportApp.build."""
    os.umask(0o077)


def main() -> None:  # pragma: no cover - console script entry
    app()
