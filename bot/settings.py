"""Every setting Rapport reads, in one pydantic-settings class.

Built once by the composition root (never at import time) and passed down. The
names are a public contract (docs, deploy scripts and `.env.example` use them), so
each field carries its exact environment variable name as an alias.

Structured settings (business hours, quiet hours, digest time, lunch end, pipeline stages,
Slack admins) are parsed HERE, once, into typed values: a malformed one stops start-up with a
message naming the variable and the expected shape, so no module downstream needs (or
keeps) a fallback of its own. `NoDecode` stops pydantic-settings from reading these
environment values as JSON before our parsers see them.
"""

import re
from collections.abc import Callable
from datetime import time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from crm.hours import Hours, QuietHours
from crm.worktime import parse_quiet_hours

DEFAULT_STAGES = "lead:10,qualified:25,proposal:50,negotiation:75"

# What Telegram accepts as a webhook secret_token (setWebhook): 1-256 of these characters.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")

PLACEHOLDER_SECRETS = {"changeme", "change-me", "xxx", "your-token-here", "placeholder"}


def _typed(parse: Callable[[str], object]) -> BeforeValidator:
    """A before-validator that parses text and lets an already typed value through
    (tests and the composition root may pass either)."""

    def validate(value: object) -> object:
        return parse(value) if isinstance(value, str) else value

    return BeforeValidator(validate)


def parse_stages(text: str) -> list[tuple[str, int]]:
    """`lead:10,qualified:25` -> [("lead", 10), ("qualified", 25)]: open stages with win %."""
    stages: list[tuple[str, int]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, _, pct = part.partition(":")
        name = name.strip().lower()
        if not name.replace("_", "").replace("-", "").isalnum() or name in {"won", "lost"}:
            raise ValueError(f"bad stage name {name!r} (won and lost are built in)")
        try:
            probability = int(pct) if pct else 50
        except ValueError as exc:
            raise ValueError(f"stage {name!r} needs a whole-number percentage") from exc
        if not 0 <= probability <= 100:
            raise ValueError(f"stage {name!r} probability must be 0-100")
        stages.append((name, probability))
    if not stages:
        raise ValueError("at least one open stage is needed")
    return stages


def parse_clock_time(text: str) -> time:
    """`09:00` or `9:00` -> time(9, 0); anything else names the expected shape."""
    try:
        return time.fromisoformat(text.strip().zfill(5))
    except ValueError:
        raise ValueError(f"'{text}' is not a time like 09:00") from None


_WORK_MEM = re.compile(r"\s*(\d{1,10})\s*(kb|mb|gb)\s*", re.IGNORECASE)
_WORK_MEM_KB = {"kb": 1, "mb": 1024, "gb": 1024 * 1024}
_WORK_MEM_UNIT = {"kb": "kB", "mb": "MB", "gb": "GB"}


def parse_work_mem(text: str) -> str | None:
    """`64MB` -> "64MB" (PostgreSQL's spelling of the unit: `512kb` -> "512kB"); `off` or
    empty -> None (keep the server's work_mem). Between PostgreSQL's limits, 64kB and
    2047GB (2147483647kB), so a value that passes here is one the server accepts."""
    if text.strip().lower() in ("", "off"):
        return None
    match = _WORK_MEM.fullmatch(text)
    if match is None:
        raise ValueError(f"'{text[:20]}' is not a memory size; use e.g. 64MB, 512kB, 1GB or off")
    number, unit = int(match.group(1)), match.group(2).lower()
    if not 64 <= number * _WORK_MEM_KB[unit] <= 2_147_483_647:
        raise ValueError(f"'{text.strip()}' is outside PostgreSQL's work_mem range (64kB-2047GB)")
    return f"{number}{_WORK_MEM_UNIT[unit]}"


def parse_admins(text: str) -> frozenset[str]:
    """`U1, U2` -> {"U1", "U2"}: Slack user ids allowed to run admin commands."""
    return frozenset(part.strip() for part in text.split(",") if part.strip())


class Settings(BaseSettings):
    """Rapport's configuration, from the environment and `.env`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # --- store ---------------------------------------------------------------
    data_dir: Path = Field(Path(".rapport"), validation_alias="RAPPORT_DATA_DIR")
    database_url: str | None = Field(None, validation_alias="RAPPORT_DATABASE_URL")
    timezone: str = Field("UTC", validation_alias="RAPPORT_TIMEZONE")
    environment: str = Field("development", validation_alias="RAPPORT_ENV")
    default_phone_region: str = Field("US", validation_alias="RAPPORT_PHONE_REGION")
    default_currency: str = Field("USD", validation_alias="RAPPORT_CURRENCY")
    default_language: str = Field("en", validation_alias="RAPPORT_LANGUAGE")
    date_order: str | None = Field(None, validation_alias="RAPPORT_DATE_ORDER")
    # what "after lunch" means in dates reps type (the one source: the parser has no default)
    lunch_ends: Annotated[time, NoDecode, _typed(parse_clock_time)] = Field(
        "14:00", validate_default=True, validation_alias="RAPPORT_LUNCH_ENDS"
    )
    pipeline_stages: Annotated[list[tuple[str, int]], NoDecode, _typed(parse_stages)] = Field(
        DEFAULT_STAGES, validate_default=True, validation_alias="RAPPORT_PIPELINE_STAGES"
    )
    business_name: str = Field("Rapport", validation_alias="RAPPORT_BUSINESS_NAME")
    business_hours: Annotated[Hours, NoDecode, _typed(Hours.parse)] = Field(
        "Mon-Fri 09:00-17:00", validate_default=True, validation_alias="RAPPORT_BUSINESS_HOURS"
    )
    privacy_url: str = Field("https://example.com/privacy", validation_alias="RAPPORT_PRIVACY_URL")
    log_level: str = Field("INFO", validation_alias="RAPPORT_LOG_LEVEL")
    acks_file: Path | None = Field(None, validation_alias="RAPPORT_ACKS_FILE")

    # PostgreSQL work_mem for report transactions only (crm.db.Store.report); off: the server's
    report_work_mem: Annotated[str | None, NoDecode, _typed(parse_work_mem)] = Field(
        "64MB", validate_default=True, validation_alias="RAPPORT_REPORT_WORK_MEM"
    )

    # --- telegram --------------------------------------------------------------
    telegram_bot_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str | None = Field(None, validation_alias="RAPPORT_TELEGRAM_API_URL")
    telegram_webhook_url: str | None = Field(None, validation_alias="RAPPORT_TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: SecretStr | None = Field(
        None, validation_alias="RAPPORT_TELEGRAM_WEBHOOK_SECRET"
    )
    telegram_allow_groups: bool = Field(False, validation_alias="RAPPORT_TELEGRAM_ALLOW_GROUPS")

    # --- slack -------------------------------------------------------------------
    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str | None = Field(None, validation_alias="RAPPORT_SLACK_API_URL")
    slack_team_id: str | None = Field(None, validation_alias="SLACK_TEAM_ID")
    slack_admins: Annotated[frozenset[str], NoDecode, _typed(parse_admins)] = Field(
        frozenset(), validation_alias="RAPPORT_SLACK_ADMINS"
    )
    slack_allow_guests: bool = Field(False, validation_alias="RAPPORT_SLACK_ALLOW_GUESTS")
    slack_inbox_channel: str | None = Field(None, validation_alias="RAPPORT_SLACK_INBOX_CHANNEL")
    slack_deals_channel: str | None = Field(None, validation_alias="RAPPORT_SLACK_DEALS_CHANNEL")
    slack_reports_channel: str | None = Field(
        None, validation_alias="RAPPORT_SLACK_REPORTS_CHANNEL"
    )

    # --- http -----------------------------------------------------------------------
    http_host: str = Field("127.0.0.1", validation_alias="RAPPORT_HTTP_HOST")
    http_port: int = Field(8080, ge=0, le=65535, validation_alias="RAPPORT_HTTP_PORT")

    # --- open API and webhooks (docs/api.md) ------------------------------------------
    api_enabled: bool = Field(True, validation_alias="RAPPORT_API_ENABLED")
    webhook_interval: float = Field(2.0, gt=0, le=3600, validation_alias="RAPPORT_WEBHOOK_INTERVAL")
    # Pruned nightly with the dedupe keys (bot/outbound/periodic.py): a retry with the same
    # Idempotency-Key after this is a new request; delivered webhooks leave the log.
    idempotency_retention_hours: int = Field(
        24, ge=1, le=24 * 365, validation_alias="RAPPORT_IDEMPOTENCY_RETENTION_HOURS"
    )
    webhook_retention_days: int = Field(
        30, ge=1, le=3650, validation_alias="RAPPORT_WEBHOOK_RETENTION_DAYS"
    )

    # --- scheduler ------------------------------------------------------------------
    tick_seconds: float = Field(5.0, gt=0, le=3600, validation_alias="RAPPORT_TICK_SECONDS")
    quiet_hours: Annotated[QuietHours, NoDecode, _typed(parse_quiet_hours)] = Field(
        "21:00-08:00", validate_default=True, validation_alias="RAPPORT_QUIET_HOURS"
    )
    digest_enabled: bool = Field(True, validation_alias="RAPPORT_DIGEST_ENABLED")
    digest_time: Annotated[time, NoDecode, _typed(parse_clock_time)] = Field(
        "09:00", validate_default=True, validation_alias="RAPPORT_DIGEST_TIME"
    )
    stale_deal_days: int = Field(14, ge=0, validation_alias="RAPPORT_STALE_DEAL_DAYS")
    unanswered_hours: int = Field(4, ge=0, validation_alias="RAPPORT_UNANSWERED_HOURS")
    survey_enabled: bool = Field(True, validation_alias="RAPPORT_SURVEY_ENABLED")
    retrain_enabled: bool = Field(True, validation_alias="RAPPORT_RETRAIN_ENABLED")
    weekly_report_enabled: bool = Field(True, validation_alias="RAPPORT_WEEKLY_REPORT_ENABLED")
    # Slack retries an event for about an hour and Telegram keeps an update for 24 hours:
    # under 2 days a key could go while a re-delivery is still possible.
    dedupe_retention_days: int = Field(14, ge=2, validation_alias="RAPPORT_DEDUPE_RETENTION_DAYS")
    telegram_rate_per_second: float = Field(
        30.0, gt=0, validation_alias="RAPPORT_TELEGRAM_RATE_PER_SECOND"
    )

    # --- email (SMTP) ------------------------------------------------------------------
    smtp_host: str | None = Field(None, validation_alias="RAPPORT_SMTP_HOST")
    smtp_port: int = Field(587, ge=1, le=65535, validation_alias="RAPPORT_SMTP_PORT")
    smtp_user: str | None = Field(None, validation_alias="RAPPORT_SMTP_USER")
    smtp_password: SecretStr | None = Field(None, validation_alias="RAPPORT_SMTP_PASSWORD")
    smtp_from: str | None = Field(None, validation_alias="RAPPORT_SMTP_FROM")
    smtp_starttls: bool = Field(True, validation_alias="RAPPORT_SMTP_STARTTLS")

    # --- analytics -----------------------------------------------------------------------
    clv_margin: float = Field(1.0, gt=0, le=1, validation_alias="RAPPORT_CLV_MARGIN")
    clv_discount_rate: float = Field(0.1, ge=0, lt=1, validation_alias="RAPPORT_CLV_DISCOUNT_RATE")
    churn_inactive_days: int = Field(90, ge=1, validation_alias="RAPPORT_CHURN_INACTIVE_DAYS")

    @field_validator("default_language")
    @classmethod
    def _supported_language(cls, value: str) -> str:
        from crm.needs.language import SUPPORTED, normalise_code

        code = normalise_code(value)
        if code is None:
            raise ValueError(f"{value!r} is not one of Rapport's languages: {', '.join(SUPPORTED)}")
        return code

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name like Europe/Paris"
            ) from None
        return value

    @field_validator("date_order")
    @classmethod
    def _known_date_order(cls, value: str | None) -> str | None:
        if not value:
            return None
        if value.upper() not in ("DMY", "MDY", "YMD"):
            raise ValueError("must be DMY, MDY or YMD (empty: from each person's time zone)")
        return value.upper()

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        if value.startswith("postgres://"):
            value = "postgresql://" + value[len("postgres://") :]
        return value

    @field_validator("telegram_webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str) or not WEBHOOK_SECRET.fullmatch(raw):
            raise ValueError(
                "must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - (what Telegram accepts)"
            )
        return value

    @model_validator(mode="after")
    def _one_webhook_secret_for_several_workers(self) -> "Settings":
        """Several `rapport run` processes share one PostgreSQL database and one webhook;
        each would set its own random secret and refuse the others' updates (403), so
        webhook mode on PostgreSQL needs the one configured secret."""
        several = (self.database_url or "").startswith("postgresql")
        webhook = bool(self.telegram_webhook_url) and self.telegram_bot_token is not None
        if several and webhook and self.telegram_webhook_secret is None:
            raise ValueError(
                "RAPPORT_TELEGRAM_WEBHOOK_SECRET must be set for Telegram webhook mode on "
                "PostgreSQL: every worker must check the same secret (1-256 of A-Z a-z 0-9 _ -)"
            )
        return self

    # --- derived -----------------------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or a SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'rapport.db').as_posix()}"

    @property
    def stages(self) -> list[tuple[str, int]]:
        """The open pipeline stages with their win %, parsed once at start-up."""
        return self.pipeline_stages

    @property
    def admin_slack_ids(self) -> frozenset[str]:
        return self.slack_admins

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host and self.smtp_from)

    def placeholder_secrets(self) -> list[str]:
        """Names of secret settings still holding an example value."""
        names = {
            "TELEGRAM_BOT_TOKEN": self.telegram_bot_token,
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "SLACK_APP_TOKEN": self.slack_app_token,
            "RAPPORT_TELEGRAM_WEBHOOK_SECRET": self.telegram_webhook_secret,
            "RAPPORT_SMTP_PASSWORD": self.smtp_password,
        }
        return [
            name
            for name, secret in names.items()
            if secret is not None
            and secret.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS
        ]


class SettingsError(Exception):
    """A readable report of what is wrong with the configuration (no secret values)."""


def load_settings(**overrides: Any) -> Settings:  # field values; pydantic validates them
    """Build Settings, turning pydantic's errors into one message naming each variable."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            variable = ".".join(str(part) for part in error["loc"]) or "settings"
            reason = error["msg"].removeprefix("Value error, ")
            lines.append(f"- {variable}: {reason}. Fix it in the environment or .env.")
        raise SettingsError("Rapport's settings are not valid:\n" + "\n".join(lines)) from None
    if settings.environment != "development" and (names := settings.placeholder_secrets()):
        raise SettingsError(
            "These secrets still hold placeholder values: "
            + ", ".join(names)
            + ". Set the real values (or RAPPORT_ENV=development for local trials)."
        )
    return settings
