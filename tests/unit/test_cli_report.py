"""`rapport report <name>` mounted the way the main CLI mounts it."""

import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.cli import report as cli_report
from bot.cli.report import report_app
from crm.db import Store, make_engine
from crm.migrate import upgrade
from tests.analytics_world import build_world

MARCH = ["--from", "2026-03-01", "--to", "2026-03-31"]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    """A throwaway root app with the report app mounted, run from an empty directory."""
    monkeypatch.chdir(tmp_path)  # no stray .env; the default data dir lands in tmp
    for name in ("RAPPORT_DATABASE_URL", "RAPPORT_DATA_DIR", "RAPPORT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli_report, "_now", lambda: datetime(2026, 4, 1, 9, tzinfo=UTC))
    app = typer.Typer()
    app.add_typer(report_app, name="report")

    @app.command()
    def version() -> None:  # a second command, so the root is a group like the real CLI
        typer.echo("0")

    return app


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'world.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with Store(engine).transaction() as session:
        build_world(session)
    engine.dispose()
    return url


def run(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["report", *args])
    return result.exit_code, result.output


def test_table_output_shows_the_summary_and_the_rows(cli: typer.Typer, db_url: str) -> None:
    code, out = run(cli, "pipeline", *MARCH, "--database-url", db_url)
    assert code == 0, out
    assert "Open pipeline: 4 deals" in out
    assert "negotiation" in out and "4000.00" in out


def test_csv_output_is_parseable(cli: typer.Typer, db_url: str) -> None:
    code, out = run(cli, "inbox", "--database-url", db_url, *MARCH, "--format", "csv")
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["by"] == "all" and rows[0]["first_response_p90_s"] == "6120.0"
    assert {r["key"] for r in rows if r["by"] == "rep"} == {"Alice", "Bob", "unassigned"}


def test_json_output_carries_title_text_and_rows(cli: typer.Typer, db_url: str) -> None:
    code, out = run(
        cli, "churn", "--period", "last month", "--format", "json", "--database-url", db_url
    )
    assert code == 0, out
    payload = json.loads(out)
    assert payload["rows"][0]["churned"] == 3 and payload["rows"][0]["churn_rate"] == 0.6
    assert payload["title"] == "Churn: last month (2026-03-01 to 2026-03-31)"


def test_chart_option_writes_a_png(cli: typer.Typer, db_url: str, tmp_path: Path) -> None:
    target = tmp_path / "needs.png"
    code, out = run(cli, "needs", *MARCH, "--chart", str(target), "--database-url", db_url)
    assert code == 0, out
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_default_database_is_the_data_dirs_sqlite_migrated_on_the_way(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path / "data"))
    code, out = run(cli, "segments", "--format", "json")
    assert code == 0, out
    assert (tmp_path / "data" / "rapport.db").exists()
    assert json.loads(out)["rows"][0]["customers"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sales"], "There is no 'sales' report"),
        (["needs", "--format", "xml"], "--format must be one of table, csv, json"),
        (["needs", "--to", "2026-03-01"], "--to needs --from too"),
        (["needs", "--from", "2026-13-01"], "'2026-13-01' is not a date"),
        (["needs", "--period", "someday"], "I don't understand the period 'someday'"),
    ],
)
def test_mistakes_get_a_sentence_and_exit_code_2(
    cli: typer.Typer, db_url: str, args: list[str], message: str
) -> None:
    code, out = run(cli, *args, "--database-url", db_url)
    assert code == 2 and message in out


def test_clv_as_of_with_a_horizon_gives_per_customer_json_and_the_model(
    cli: typer.Typer, db_url: str
) -> None:
    code, out = run(
        cli, "clv", "--as-of", "2026-03-31", "--horizon", "39w", "--format", "json",
        "--database-url", db_url,
    )  # fmt: skip
    assert code == 0, out
    data = json.loads(out)
    assert data["as_of"] == "2026-03-31"
    # the world's won deals count as sales, but it has no repeat buyers: RFM fallback, said so
    assert data["customers"] and all("p_alive" in c and "segment" in c for c in data["customers"])
    assert "not enough data" in data["note"]
    assert data["model"]["method"] == "rfm"
    code, out = run(cli, "value", "--horizon", "soon", "--database-url", db_url)
    assert code == 2 and "39w" in out
    code, out = run(cli, "clv", "--as-of", "2026-03-31", "--to", "2026-03-31")
    assert code == 2 and "--as-of" in out


def test_a_chart_for_a_report_without_one_prints_the_report_and_says_so(
    cli: typer.Typer, db_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "out.png"
    code, out = run(cli, "clv", *MARCH, "--chart", str(target), "--database-url", db_url)
    assert code == 0, out
    assert "Customer lifetime value" in out
    assert "The clv report has no chart" in out and not target.exists()


def test_table_columns_of_single_words_never_break_mid_word(
    cli: typer.Typer, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")  # a narrow terminal
    code, out = run(cli, "pipeline", *MARCH, "--database-url", db_url)
    assert code == 0, out
    lines = out.splitlines()
    dates = [line for line in lines if "2026-" in line]
    assert dates and all(re.search(r"2026-\d\d-\d\d", line) for line in dates), out
