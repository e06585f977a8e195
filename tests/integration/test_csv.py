"""CSV import (dry run writes nothing, row-level errors) and export, via the CLI."""

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

GOOD_AND_BAD = """name,email,phone,company,tags
Jane Doe,jane@acme.com,+1 415 555 0100,Acme,#vip churn-risk
Bob Stone,bob@globex.com,,Globex,
,nobody@x.com,,,
Eve Bad,eve@@bad,,,
Jane Twin,JANE@acme.com,,,
Sam Phone,,+44 20 7946 0958,,
"""


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("RAPPORT_DATABASE_URL", "TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_dry_run_reports_rows_and_writes_nothing(cli_env: Path) -> None:
    source = cli_env / "contacts.csv"
    source.write_text(GOOD_AND_BAD)
    runner = CliRunner()
    dry = runner.invoke(app, ["contacts", "import", str(source), "--dry-run"])
    assert dry.exit_code == 1  # there were bad rows
    assert "would create 3 contact(s); 3 row(s) with problems" in dry.output
    assert "line 4: A contact needs a name." in dry.output
    assert "line 5:" in dry.output and "not a valid email" in dry.output
    assert "line 6: Jane Doe" in dry.output and "already has that email" in dry.output
    export = runner.invoke(app, ["contacts", "export", str(cli_env / "out.csv")])
    assert export.exit_code == 0 and "Exported 0 contact(s)" in export.output


def test_import_then_export_round_trip(cli_env: Path) -> None:
    source = cli_env / "contacts.csv"
    source.write_text(GOOD_AND_BAD)
    runner = CliRunner()
    result = runner.invoke(app, ["contacts", "import", str(source)])
    assert "created 3 contact(s)" in result.output
    out = cli_env / "out.csv"
    assert runner.invoke(app, ["contacts", "export", str(out)]).exit_code == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["name"] for r in rows] == ["Jane Doe", "Bob Stone", "Sam Phone"]
    jane = rows[0]
    assert jane["emails"] == "jane@acme.com" and jane["phones"] == "+14155550100"
    assert jane["company"] == "Acme" and jane["tags"] == "#vip #churn-risk"
    assert list(rows[0]) == [
        "id",
        "name",
        "emails",
        "phones",
        "company",
        "owner",
        "tags",
        "created",
    ]


def test_unreadable_or_headerless_files_get_a_clear_error(cli_env: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["contacts", "import", str(cli_env / "nope.csv")])
    assert missing.exit_code == 2 and "Cannot read" in missing.output
    headerless = cli_env / "bad.csv"
    headerless.write_text("just,some,values\n1,2,3\n")
    result = runner.invoke(app, ["contacts", "import", str(headerless)])
    assert result.exit_code == 2 and "`name` column" in result.output
