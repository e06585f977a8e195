"""Settings: names exactly as documented, errors that name the variable, no secret echoes."""

import pytest

from bot.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The machine's own settings must not leak into these tests."""
    import os

    for name in list(os.environ):
        if name.startswith(("RAPPORT_", "TELEGRAM_", "SLACK_")):
            monkeypatch.delenv(name)


def test_defaults_need_nothing_configured(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no .env here
    settings = load_settings(RAPPORT_DATA_DIR=str(tmp_path / "data"))
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'data' / 'rapport.db'}"
    assert settings.timezone == "UTC"
    assert not settings.telegram_enabled and not settings.slack_enabled


def test_environment_names_are_read(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAPPORT_DATABASE_URL", "postgres://u@h/db")
    monkeypatch.setenv("RAPPORT_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("RAPPORT_HTTP_PORT", "9090")
    settings = load_settings()
    assert settings.resolved_database_url == "postgresql://u@h/db"
    assert settings.timezone == "Europe/Paris" and settings.http_port == 9090
    assert settings.telegram_enabled


def test_bad_values_are_reported_by_name_without_the_secret(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAPPORT_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("RAPPORT_HTTP_PORT", "not-a-port")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-super-secret-value")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "RAPPORT_TIMEZONE" in message and "RAPPORT_HTTP_PORT" in message
    assert "xoxb-super-secret-value" not in message


def test_placeholder_secrets_are_refused_outside_development(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAPPORT_ENV", "production")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "changeme")
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN"):
        load_settings()


def test_dotenv_file_is_read(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    # the suite switches `.env` off for every test (tests/conftest.py); this one wants it
    monkeypatch.setitem(Settings.model_config, "env_file", ".env")
    (tmp_path / ".env").write_text("RAPPORT_BUSINESS_NAME=Acme Bikes\n")
    assert load_settings().business_name == "Acme Bikes"
