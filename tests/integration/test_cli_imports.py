"""`rapport import` and `rapport export` through the real typer app on a SQLite data dir."""

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("RAPPORT_DATABASE_URL", "TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_import_dry_run_then_import_then_export_and_back(cli_env: Path) -> None:
    runner = CliRunner()
    source = str(FIXTURES / "hubspot_contacts.csv")
    dry = runner.invoke(app, ["import", source, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would create 3" in dry.output and "Contact owner -> owner" in dry.output
    assert "Favourite Biscuit" in dry.output
    done = runner.invoke(app, ["import", source])
    assert done.exit_code == 0 and "created 3, updated 0" in done.output
    again = runner.invoke(app, ["import", source])
    assert "created 0, updated 3" in again.output
    out = cli_env / "contacts.csv"
    export = runner.invoke(app, ["export", "contacts", str(out)])
    assert export.exit_code == 0 and "Exported 3 contacts" in export.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbfrapport_id,")  # BOM, for Excel
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert [r["name"] for r in rows] == ["Ada Quill", "Bram Otter", "Cleo Marsh"]
    assert rows[0]["custom: Favourite Biscuit"] == "Hobnob"
    # the older contacts command still reads its own format
    legacy = cli_env / "legacy.csv"
    legacy.write_text("name,email\nDee Legacy,dee@legacy.example.com\n")
    assert "created 1 contact(s)" in runner.invoke(app, ["contacts", "import", str(legacy)]).output


def test_import_options_map_type_and_clear_errors(cli_env: Path) -> None:
    runner = CliRunner()
    sheet = cli_env / "sheet.csv"
    sheet.write_text("Naam;Mail;Notitie\nEva;eva@example.nl;belt terug\n", encoding="cp1252")
    mapped = runner.invoke(app, ["import", str(sheet), "--map", "Naam=name", "--map", "Mail=email"])
    assert mapped.exit_code == 0, mapped.output
    assert "Naam -> name (--map)" in mapped.output and "custom field 'Notitie'" in mapped.output
    wrong = runner.invoke(app, ["import", str(sheet), "--map", "Shoe=name"])
    assert wrong.exit_code == 2 and "does not have: Shoe" in wrong.output
    skipped = runner.invoke(
        app, ["import", str(FIXTURES / "hubspot_contacts.csv"), "--type", "deals"]
    )
    assert skipped.exit_code == 1 and "skipped 3" in skipped.output
    purchases = runner.invoke(app, ["import", str(sheet), "--type", "purchases"])
    assert purchases.exit_code == 1 and "skipped 1" in purchases.output  # no customer
    missing = runner.invoke(app, ["import", str(cli_env / "nope.csv")])
    assert missing.exit_code == 2 and "Cannot read" in missing.output
    broken = cli_env / "broken.csv"
    broken.write_text('Name,Email\nAda,"a@example.com\n')
    refused = runner.invoke(app, ["import", str(broken)])
    assert refused.exit_code == 1 and "Line 2: a quote opened on this line" in refused.output
    assert "Traceback" not in refused.output
    unknown = runner.invoke(app, ["export", "widgets", str(cli_env / "w.csv")])
    assert unknown.exit_code == 2 and "Export one of" in unknown.output


def test_export_format_xlsx_and_import_of_the_workbook(cli_env: Path) -> None:
    from openpyxl import load_workbook

    runner = CliRunner()
    assert runner.invoke(app, ["import", str(FIXTURES / "hubspot_contacts.csv")]).exit_code == 0
    book = cli_env / "contacts.xlsx"
    export = runner.invoke(app, ["export", "contacts", str(book), "--format", "xlsx"])
    assert export.exit_code == 0 and "Exported 3 contacts" in export.output, export.output
    sheet = load_workbook(book).worksheets[0]
    assert [c.value for c in sheet[2]][1] == "Ada Quill"
    again = runner.invoke(app, ["import", str(book), "--dry-run"])
    assert again.exit_code == 0, again.output
    assert "Excel workbook, sheet 'contacts'" in again.output
    assert "would create 0, would update 3" in again.output
    wrong = runner.invoke(app, ["export", "contacts", str(cli_env / "c.ods"), "--format", "ods"])
    assert wrong.exit_code == 2 and "csv or xlsx" in wrong.output
