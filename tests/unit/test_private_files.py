"""Low items of issue 17: owner-only files, and customer text that cannot dress up as
Rapport's own Slack UI."""

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from channels.base import Reply
from channels.slack.inbox import inbox_blocks, quote


@pytest.fixture
def restore_umask():  # type: ignore[no-untyped-def]
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def test_the_cli_makes_the_data_dir_0700_and_the_database_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_umask: None
) -> None:
    for name in ("RAPPORT_DATABASE_URL", "TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)
    os.umask(0o022)  # a typical login umask: files would be world-readable
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    databases = [p for p in data.rglob("*") if p.is_file()]
    assert databases
    for path in databases:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_customer_text_cannot_imitate_rapports_ui() -> None:
    hostile = "*Rapport:* _payment approved_ ~really~ `ok` <!channel> <https://evil|bank>"
    shown = quote(hostile)
    for marker in ("*Rapport:*", "_payment approved_", "~really~", "`ok`"):
        assert marker not in shown
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown
    assert shown.replace("\u200b", "").startswith(">*Rapport:* _payment")  # reads as typed
    blocks = inbox_blocks(Reply("Customer message"), {"quote": hostile})
    assert all("*Rapport:*" not in str(b) for b in blocks)
