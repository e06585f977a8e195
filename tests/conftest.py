"""Shared fixtures: a fresh database per test, on SQLite files and on PostgreSQL.

PostgreSQL tests read RAPPORT_TEST_DATABASE_URL (e.g.
postgresql://postgres@127.0.0.1:5432/test). Each test run creates its own
database on that server and drops it at the end, because CI and later sessions
share the server; without the variable those tests skip, saying why.
"""

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import crm.models  # noqa: F401 - registers tables
from bot.app import RapportApp
from crm.actors import Actor
from crm.clock import ManualClock
from crm.db import Store, make_engine
from tests.factories import build_rapport, make_rep

PG_ENV = "RAPPORT_TEST_DATABASE_URL"
# Every variable Rapport's settings read starts with one of these.
SETTINGS_PREFIXES = ("RAPPORT_", "TELEGRAM_", "SLACK_", "SMTP_")
PG_SKIP = f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)"


@pytest.fixture(autouse=True)
def isolated_from_the_developer(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's environment or `.env`.

    Measured before this fixture: with RAPPORT_DATABASE_URL exported, a test wrote into
    that database. Every Rapport variable except the test database's is removed, and
    Settings stops reading `.env` (a test that wants values passes them)."""
    from bot.settings import Settings

    for name in list(os.environ):
        if name.startswith(SETTINGS_PREFIXES) and name != PG_ENV:
            monkeypatch.delenv(name)
    monkeypatch.setitem(Settings.model_config, "env_file", None)


def _admin_engine(url: str):  # type: ignore[no-untyped-def]
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    return create_engine(parsed, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A database of this test run's own on the PostgreSQL server, dropped afterwards.

    Shared by every test of the run (session scope): a test that reads what is in it must
    start from `pg_empty_url`, or it sees what an earlier test left behind."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(PG_SKIP)
    name = f"rapport_test_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine(base)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_empty_url(pg_server_url: str) -> str:
    """The run's PostgreSQL database with an empty public schema (no tables)."""
    engine = make_engine(pg_server_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return pg_server_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """Each test using it runs on a fresh SQLite file and on a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rapport.db'}"
    return request.getfixturevalue("pg_empty_url")


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    yield Store(engine)
    engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # a Monday


@pytest.fixture
def rep(store: Store, clock: ManualClock) -> Actor:
    return make_rep(store, clock, "Alice", admin=False)


@pytest.fixture
def admin(store: Store, clock: ManualClock) -> Actor:
    return make_rep(store, clock, "Root", admin=True)


@pytest.fixture
def make_rapport(
    db_url: str, tmp_path: Path, clock: ManualClock
) -> Iterator[Callable[..., RapportApp]]:
    """Builds RapportApps on this test's database (SQLite and PostgreSQL, via `db_url`),
    data dir and clock, configured by variable name: `make_rapport(RAPPORT_QUIET_HOURS="off")`.
    Every app it built is closed after the test, last first."""
    apps: list[RapportApp] = []

    def make(**env: str) -> RapportApp:
        app = build_rapport(tmp_path, clock, db_url, **env)
        apps.append(app)
        return app

    yield make
    for app in reversed(apps):
        app.close()


@pytest.fixture
def rapport(make_rapport: Callable[..., RapportApp]) -> RapportApp:
    """The app with default settings. A test file that needs other settings overrides it:
    `def rapport(make_rapport): return make_rapport(RAPPORT_TIMEZONE="Europe/Berlin")`."""
    return make_rapport()
