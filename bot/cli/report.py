"""`rapport report <name>`: the chat reports from the terminal, as a table, CSV or JSON.

A single-command typer app whose callback takes the report name, so that once mounted
(`app.add_typer(report_app, name="report")`) the command reads `rapport report needs`
rather than `rapport report report needs`. Settings (database, time zone, pipeline,
CLV and churn parameters) come from the environment / `.env` like the rest of Rapport;
options given here win.
"""

import csv
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from bot.reports import CHARTED, REPORT_NAMES, Assumptions, ReportResult, run_report
from bot.settings import SettingsError, load_settings
from crm import migrate
from crm.csvio import safe_cell
from crm.db import Store, make_engine
from crm.deals import Pipeline
from crm.errors import CRMError

FORMATS = ("table", "csv", "json")

report_app = typer.Typer(
    help=f"Reports: {', '.join(REPORT_NAMES)}.",
    add_completion=False,
    no_args_is_help=True,
    subcommand_metavar="",  # it has no subcommands: keep "COMMAND [ARGS]" out of usage
    # mounted, this is a click Group, which by default stops reading options at the
    # first positional (the report name); reports take their options after the name
    context_settings={"allow_interspersed_args": True},
)


def _now() -> datetime:
    """The wall clock (a function so tests can pin it)."""
    return datetime.now(UTC)


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(2)


def _period_text(start: str | None, end: str | None, period: str | None, tz: str) -> str | None:
    """--from/--to (inclusive dates) or --period words, as text for `parse_period`."""
    if period and (start or end):
        _fail("Give either --period or --from/--to, not both.")
    if end and not start:
        _fail("--to needs --from too, e.g. --from 2026-01-01 --to 2026-03-31.")
    if start:
        last = end or _now().astimezone(ZoneInfo(tz)).date().isoformat()
        for value in (start, last):
            try:
                date.fromisoformat(value)
            except ValueError:
                _fail(f"'{value}' is not a date; use YYYY-MM-DD.")
        return f"{start} to {last}"
    return period


@report_app.callback(invoke_without_command=True)
def report(
    name: str = typer.Argument(..., metavar="NAME", help=f"One of: {', '.join(REPORT_NAMES)}."),
    start: str | None = typer.Option(None, "--from", help="First day, YYYY-MM-DD."),
    end: str | None = typer.Option(None, "--to", help="Last day (included), YYYY-MM-DD."),
    period: str | None = typer.Option(
        None, "--period", help='Words instead of dates: "last month", "this quarter"...'
    ),
    output: str = typer.Option("table", "--format", help="table, csv or json."),
    chart: Path | None = typer.Option(
        None, "--chart", help=f"Also write the chart (PNG) here: {', '.join(CHARTED)}."
    ),
    database_url: str | None = typer.Option(
        None, "--database-url", help="Default: RAPPORT_DATABASE_URL, else the data dir's SQLite."
    ),
    tz: str | None = typer.Option(
        None, "--tz", help="Time zone for the period (RAPPORT_TIMEZONE)."
    ),
    owner: int | None = typer.Option(None, "--owner", help="Only this rep's book (rep id)."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Compute as on this day (YYYY-MM-DD, included): no later data."
    ),
    horizon: str | None = typer.Option(
        None, "--horizon", help="Value horizon for clv/value/churn: 39w, 12m (default), 90d."
    ),
) -> None:
    """Print a report; the default period is the last 30 days."""
    name = name.strip().lower()
    if name not in REPORT_NAMES:
        _fail(f"There is no '{name}' report. Reports: {', '.join(REPORT_NAMES)}.")
    if output not in FORMATS:
        _fail(f"--format must be one of {', '.join(FORMATS)}.")
    no_chart = chart is not None and name not in CHARTED
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(str(exc))
    zone = tz or settings.timezone
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError):
        _fail(f"'{zone}' is not a time zone; use a name like Europe/Paris.")
    if as_of is not None:
        start, end, period = _as_of(as_of, start, end, period)
    engine = make_engine(database_url or settings.resolved_database_url)
    try:
        migrate.upgrade(engine)
        with Store(engine, report_work_mem=settings.report_work_mem).report() as session:
            result = run_report(
                session,
                name=name,
                period_text=_period_text(start, end, period, zone),
                tz=zone,
                now=_now(),
                pipeline=Pipeline(settings.stages),
                assumptions=Assumptions.from_settings(settings),
                owner_id=owner,
                horizon=horizon,
            )
    except CRMError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    _print(result, output)
    if no_chart:  # the report is still what was asked for: print it, then say so
        typer.echo(
            f"The {name} report has no chart (charts: {', '.join(CHARTED)}); nothing written "
            f"to {chart}.",
            err=True,
        )
    elif chart is not None and result.chart is not None:
        chart.write_bytes(result.chart)
        typer.echo(f"Chart written to {chart}", err=True)


def _as_of(
    as_of: str, start: str | None, end: str | None, period: str | None
) -> tuple[str, str, None]:
    """--as-of D: the period ends with day D (the 30 days up to it unless --from says)."""
    if end or period:
        _fail("--as-of is the period's last day; give it instead of --to or --period.")
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        _fail(f"'{as_of}' is not a date; use YYYY-MM-DD.")
    first = start or (day - timedelta(days=29)).isoformat()
    return first, day.isoformat(), None


def _column_style(column: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Single-word columns (dates, need names, amounts) never break mid-word: they keep
    their width and the text columns wrap at spaces instead."""
    values = [str(row.get(column)) for row in rows if row.get(column) is not None]
    if all(" " not in value for value in values):
        width = max([len(column), *(len(v) for v in values)])
        return {"no_wrap": True, "min_width": min(width, 32), "overflow": "ellipsis"}
    return {"overflow": "fold"}


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every key in first-seen order (needs rows differ by which needs occur)."""
    return list(dict.fromkeys(key for row in rows for key in row))


def _print(result: ReportResult, output: str) -> None:
    if output == "json":
        payload = {"title": result.title, "text": result.text, "rows": result.rows}
        payload.update(result.extra)
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
        return
    if output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=_columns(result.rows), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: safe_cell(v) for k, v in row.items()} for row in result.rows)
        sys.stdout.flush()
        return
    console = Console()
    console.print(f"[bold]{result.title}[/bold]", highlight=False)
    console.print(result.text, highlight=False, markup=False)
    if result.rows:
        table = Table(show_lines=False)
        columns = _columns(result.rows)
        for column in columns:
            table.add_column(column, **_column_style(column, result.rows))
        for row in result.rows:
            table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
        console.print(table)
