"""`rapport api token ...` and `rapport webhooks ...` through the real typer app."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from crm import api_tokens
from crm.db import Store, make_engine


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("RAPPORT_DATABASE_URL", "TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_a_token_is_shown_once_stored_hashed_listed_and_revoked(data_dir: Path) -> None:
    code, out = run("api", "token", "create", "lead form", "--scopes", "read,write")
    assert code == 0, out
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("rp_")
    store = Store(make_engine(f"sqlite:///{data_dir / 'rapport.db'}"))
    with store.transaction() as session:
        [row] = api_tokens.list_tokens(session)
        assert secret not in row.secret_hash and api_tokens.verify(session, secret) is not None
    code, listed = run("api", "token", "list")
    assert "lead form" in listed and secret not in listed and "active" in listed
    assert run("api", "token", "revoke", str(row.id))[0] == 0
    with store.transaction() as session:
        assert api_tokens.verify(session, secret) is None
    store.dispose()
    code, out = run("api", "token", "create", "x", "--scopes", "superuser")
    assert code == 2 and "Scopes are read, write, admin" in out


def test_webhooks_are_added_listed_and_bad_input_is_explained(data_dir: Path) -> None:
    code, out = run(
        "webhooks", "add", "https://example.org/hook", "--events", "contact.created,deal.won"
    )
    assert code == 0 and "whsec_" in out
    assert "https://example.org/hook" in run("webhooks", "list")[1]
    assert "No deliveries yet." in run("webhooks", "deliveries")[1]
    code, out = run("webhooks", "add", "https://example.org/h", "--events", "deal.exploded")
    assert code == 2 and "Unknown events deal.exploded" in out
    code, out = run("webhooks", "add", "ftp://example.org", "--events", "*")
    assert code == 2 and "https://" in out
