"""`rapport --help` and `rapport db ...` do not import the heavy libraries.

Each check runs in a fresh interpreter, since this test process has imported everything."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("sklearn", "skops", "matplotlib", "scipy", "telegram", "slack_bolt", "bot.app")


def _modules_after(argv: list[str]) -> set[str]:
    code = textwrap.dedent(
        f"""
        import sys
        from bot.cli import app
        try:
            app({argv!r}, prog_name="rapport")
        except SystemExit:
            pass
        print("\\n".join(sorted(sys.modules)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


@pytest.mark.slow
def test_help_lists_every_command_without_importing_their_libraries() -> None:
    loaded = _modules_after(["--help"])
    assert not {name for name in HEAVY if name in loaded}


@pytest.mark.slow
def test_a_lazy_subcommand_is_loaded_when_it_is_asked_for() -> None:
    loaded = _modules_after(["classifier", "--help"])
    assert "bot.cli.classifier" in loaded
    assert "bot.cli.report" not in loaded


def test_help_names_the_lazy_subcommands() -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "classifier" in result.output and "report" in result.output
