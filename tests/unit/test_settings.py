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


@pytest.mark.parametrize(
    ("variable", "value", "fix"),
    [
        ("RAPPORT_BUSINESS_HOURS", "whenever", "'whenever' is not like 'Mon-Fri 09:00-17:00'"),
        ("RAPPORT_QUIET_HOURS", "night", "'night' is not like '21:00-08:00' (or 'off')"),
        ("RAPPORT_DIGEST_TIME", "25:99", "'25:99' is not a time like 09:00"),
        ("RAPPORT_LUNCH_ENDS", "after two", "'after two' is not a time like 09:00"),
        ("RAPPORT_PIPELINE_STAGES", "lead:ten", "stage 'lead' needs a whole-number percentage"),
    ],
)
def test_a_malformed_structured_setting_stops_start_up_by_name(  # type: ignore[no-untyped-def]
    tmp_path, monkeypatch, variable, value, fix
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert f"- {variable}: {fix}. Fix it in the environment or .env." in message
    assert message.count("\n- ") == 1  # one line: only the bad variable is named


def test_all_three_bad_hours_settings_are_named_in_one_message(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAPPORT_BUSINESS_HOURS", "whenever")
    monkeypatch.setenv("RAPPORT_QUIET_HOURS", "night")
    monkeypatch.setenv("RAPPORT_DIGEST_TIME", "25:99")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("Rapport's settings are not valid:\n")
    for name in ("RAPPORT_BUSINESS_HOURS", "RAPPORT_QUIET_HOURS", "RAPPORT_DIGEST_TIME"):
        assert name in message


def test_structured_settings_are_typed_values_after_start_up(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from datetime import time

    from crm.hours import Hours, QuietHours

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAPPORT_BUSINESS_HOURS", "Mon-Sat 10:00-18:00")
    monkeypatch.setenv("RAPPORT_QUIET_HOURS", "off")
    monkeypatch.setenv("RAPPORT_DIGEST_TIME", "7:30")
    monkeypatch.setenv("RAPPORT_PIPELINE_STAGES", "lead:10,won_soon:90")
    monkeypatch.setenv("RAPPORT_SLACK_ADMINS", "U1, U2,")
    monkeypatch.setenv("RAPPORT_LUNCH_ENDS", "13:30")
    settings = load_settings()
    assert settings.lunch_ends == time(13, 30)
    assert settings.business_hours == Hours(frozenset(range(6)), time(10), time(18))
    assert settings.business_hours.text == "Mon-Sat 10:00-18:00"  # shown to customers as set
    assert settings.quiet_hours == QuietHours(time(0), time(0))
    assert settings.digest_time == time(7, 30)
    assert settings.stages == [("lead", 10), ("won_soon", 90)]
    assert settings.admin_slack_ids == {"U1", "U2"}


def test_report_work_mem_defaults_to_64mb_and_off_keeps_the_servers(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    assert load_settings().report_work_mem == "64MB"
    monkeypatch.setenv("RAPPORT_REPORT_WORK_MEM", "off")
    assert load_settings().report_work_mem is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("128MB", "128MB"), ("512kb", "512kB"), (" 1 gb ", "1GB"), ("64kB", "64kB"), ("OFF", None)],
)
def test_report_work_mem_takes_postgres_units_in_postgres_spelling(  # type: ignore[no-untyped-def]
    tmp_path, monkeypatch, value, expected
) -> None:
    """set_config('work_mem', '64mb') is refused by PostgreSQL (units are case-sensitive),
    so the value is passed on as the server spells it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAPPORT_REPORT_WORK_MEM", value)
    assert load_settings().report_work_mem == expected


@pytest.mark.parametrize(
    ("value", "fix"),
    [
        ("lots", "'lots' is not a memory size; use e.g. 64MB, 512kB, 1GB or off"),
        ("64", "'64' is not a memory size; use e.g. 64MB, 512kB, 1GB or off"),
        ("2TB", "'2TB' is not a memory size; use e.g. 64MB, 512kB, 1GB or off"),
        ("1.5GB", "'1.5GB' is not a memory size; use e.g. 64MB, 512kB, 1GB or off"),
        ("32kB", "'32kB' is outside PostgreSQL's work_mem range (64kB-2047GB)"),
        ("4096GB", "'4096GB' is outside PostgreSQL's work_mem range (64kB-2047GB)"),
    ],
)
def test_a_malformed_report_work_mem_stops_start_up_by_name(  # type: ignore[no-untyped-def]
    tmp_path, monkeypatch, value, fix
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAPPORT_REPORT_WORK_MEM", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert f"- RAPPORT_REPORT_WORK_MEM: {fix}. Fix it in the environment or .env." in message
    assert message.count("\n- ") == 1
