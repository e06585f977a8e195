"""`rapport import FILE` and `rapport export TYPE FILE`: moving in from another CRM.

The engine is crm.imports; this module only opens the file, draws the rich progress bar
and prints the report.
"""

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from crm.actors import SYSTEM
from crm.errors import CRMError


def import_command(
    file: Path = typer.Argument(
        ..., help="CSV or .xlsx export of HubSpot, Salesforce, Pipedrive, Zoho..."
    ),
    type_: str | None = typer.Option(
        None, "--type", help="contacts|companies|deals|activities|purchases (default: guessed)"
    ),
    map_: list[str] = typer.Option(
        [], "--map", help='"Column=field", "Column=custom", "Column=ignore", "stage:Theirs=ours"'
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="report what would happen, write nothing"
    ),
    source: str | None = typer.Option(
        None, "--source", help="name of the system the ids come from"
    ),
    encoding: str | None = typer.Option(None, "--encoding", help="e.g. cp1252 (default: detected)"),
    batch_size: int = typer.Option(1000, "--batch-size", min=1, max=50_000),
    dateorder: str | None = typer.Option(
        None,
        "--dateorder",
        help="DMY or MDY: how dates like 04/03/2025 are read (default: RAPPORT_DATE_ORDER, "
        "else from RAPPORT_TIMEZONE)",
    ),
) -> None:
    """Import contacts, companies, deals, activities or purchases from a CSV or .xlsx file."""
    from bot.cli.common import build_app, fail, settings_or_exit
    from bot.import_options import import_options
    from crm.imports import run_import

    if dateorder is not None and dateorder.upper() not in ("DMY", "MDY"):
        fail(f"--dateorder is DMY (04/03/2025 is 4 March) or MDY (April 3), not '{dateorder}'.")
    settings = settings_or_exit()
    rapport = build_app(settings)
    options = import_options(
        settings, record_type=type_, overrides=list(map_), dry_run=dry_run, source=source,
        encoding=encoding, batch_size=batch_size, dateorder=dateorder and dateorder.upper(),
    )  # fmt: skip
    try:
        size = file.stat().st_size
        with file.open("rb") as raw, _progress() as bar:
            task = bar.add_task("dry run" if dry_run else "importing", total=size)
            report = run_import(
                rapport.store, raw, actor=SYSTEM, now=rapport.services.clock.now(),
                options=options, progress=lambda done: bar.update(task, completed=done),
            )  # fmt: skip
            bar.update(task, completed=size)
    except OSError as exc:
        fail(f"Cannot read {file}: {exc.strerror}.")
        return
    except CRMError as exc:
        fail(str(exc))
        return
    finally:
        rapport.close()
    typer.echo(report.summary())
    if not report.ok:  # stopped midway, or rows skipped: say so to scripts too
        raise typer.Exit(1)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    )  # fmt: skip


def export_command(
    record_type: str = typer.Argument(..., help="contacts|companies|deals|activities|purchases"),
    file: Path = typer.Argument(..., help="where to write the file"),
    format_: str = typer.Option("csv", "--format", help="csv or xlsx"),
) -> None:
    """Export every record of a type, custom fields included; `rapport import` reads it back."""
    from bot.cli.common import build_app, fail, settings_or_exit
    from crm.imports.export import export_records, export_xlsx

    format_ = format_.strip().lower()
    if format_ not in ("csv", "xlsx"):
        fail(f"--format is csv or xlsx, not '{format_[:20]}'.")
    settings = settings_or_exit()
    rapport = build_app(settings)
    try:
        if format_ == "xlsx":
            with file.open("wb") as binary:
                count = export_xlsx(rapport.store, record_type, binary, actor=SYSTEM)
        else:
            # with a BOM: Excel opens BOM-less UTF-8 as Windows-1252; the importer skips it
            with file.open("w", newline="", encoding="utf-8-sig") as stream:
                count = export_records(rapport.store, record_type, stream, actor=SYSTEM)
    except OSError as exc:
        fail(f"Cannot write {file}: {exc.strerror}.")
        return
    except CRMError as exc:
        fail(str(exc))
        return
    finally:
        rapport.close()
    typer.echo(f"Exported {count} {record_type} to {file}.")


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("export")(export_command)
