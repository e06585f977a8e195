"""Report names are declared once (bot.reports.REPORTS): the chat grammar, its usage line,
the CLI and the weekly summary all agree with the registry."""

import re
from pathlib import Path

from typer.testing import CliRunner

from bot.cli.report import report_app
from bot.language.commands import ParseError, Report
from bot.language.help import USAGE
from bot.language.verbs import parse
from bot.outbound import periodic
from bot.reports import CHARTED, REPORT_NAMES, REPORTS, WEEKLY_REPORTS, report_named


def test_names_and_aliases_are_unique() -> None:
    words = [w for spec in REPORTS for w in (spec.name, *spec.aliases)]
    assert len(words) == len(set(words)) and tuple(s.name for s in REPORTS) == REPORT_NAMES


def test_the_grammar_reads_every_name_and_alias_and_nothing_else() -> None:
    for spec in REPORTS:
        for word in (spec.name, *spec.aliases, spec.name.upper()):
            assert parse(f"report {word} last week") == Report(spec.name, "last week")
    refused = parse("report nosuch")
    assert isinstance(refused, ParseError) and refused.command == "report"
    assert refused.message.endswith("Reports: " + ", ".join(REPORT_NAMES) + ".")
    assert report_named("nosuch") is None


def test_the_report_usage_line_lists_the_registry() -> None:
    listed = re.match(r"report (\S+) \[period\]", USAGE["report"])
    assert listed is not None and tuple(listed[1].split("|")) == REPORT_NAMES


ROOT = Path(__file__).resolve().parents[2]


def test_the_cli_knows_the_registry() -> None:
    runner = CliRunner()
    result = runner.invoke(report_app, ["nosuch"])
    assert result.exit_code == 2
    assert f"Reports: {', '.join(REPORT_NAMES)}." in result.output
    assert CHARTED == tuple(s.name for s in REPORTS if s.chart) == ("needs", "pipeline", "segments")
    # a report without a chart still prints, and names the reports that have one (issue 16;
    # the run against a store is tests/unit/test_cli_report.py)
    source = (ROOT / "bot" / "cli" / "report.py").read_text(encoding="utf-8")
    assert "report has no chart (charts: {', '.join(CHARTED)})" in source


def test_the_weekly_summary_posts_the_registrys_weekly_reports_in_order() -> None:
    assert periodic.WEEKLY_REPORTS is WEEKLY_REPORTS
    assert WEEKLY_REPORTS == ("pipeline", "needs", "inbox", "value")
    assert set(WEEKLY_REPORTS) == {s.name for s in REPORTS if s.weekly}
