"""The suite never reads the developer's environment or `.env` (tests/conftest.py)."""

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
from bot.settings import Settings, load_settings


def test_probe():
    settings = load_settings()
    assert settings.database_url is None
    assert settings.slack_bot_token is None
    assert settings.business_name == "Rapport"
    assert Settings().database_url is None
"""


@pytest.mark.slow
def test_a_test_sees_neither_exported_variables_nor_a_dotenv_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_probe=PROBE)
    (pytester.path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-dotenv\n", encoding="utf-8")
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite:///{pytester.path / 'developer.db'}")
    monkeypatch.setenv("RAPPORT_BUSINESS_NAME", "The developer's own")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "developer.db").exists()
