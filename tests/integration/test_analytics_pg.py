"""The analytics measures on PostgreSQL: the same hand-computed checks as on SQLite.

Needs RAPPORT_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) and
skips, saying so, without it. The fixtures are local to this module: they create
databases of their own (`rapport_t_<random>`) on that server through an autocommit
connection and drop them when the test session ends, since CI and later sessions share
the server.
"""

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from bot.reports import REPORT_NAMES, run_report
from crm.analytics import churn, customer_lifetime_value, rfm_segments
from crm.db import Store, make_engine
from crm.migrate import upgrade
from tests.analytics_checks import CHECKS, march
from tests.analytics_world import MARCH, NOW, PIPELINE, Ids, build_world

PG_ENV = "RAPPORT_TEST_DATABASE_URL"

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[Callable[[], Engine]]:
    """A factory of fresh, migrated databases on the test server; all dropped at the end."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(
            f"PostgreSQL analytics tests need {PG_ENV}, e.g. postgresql://postgres@127.0.0.1:5432/test"
        )
    admin = create_engine(
        make_url(base).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    made: list[tuple[str, Engine]] = []

    def fresh() -> Engine:
        name = f"rapport_t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(
            make_url(base).set(database=name).render_as_string(hide_password=False)
        )
        made.append((name, engine))
        upgrade(engine)
        return engine

    try:
        yield fresh
    finally:
        for name, engine in made:
            engine.dispose()
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_world(pg_databases: Callable[[], Engine]) -> tuple[Store, Ids]:
    """The shared world, for read-only checks."""
    store = Store(pg_databases())
    with store.transaction() as session:
        ids = build_world(session)
    return store, ids


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_measure_matches_hand_computation_on_postgresql(
    pg_world: tuple[Store, Ids], check: Callable[[Session, Ids], None]
) -> None:
    store, ids = pg_world
    with store.transaction() as session:
        check(session, ids)


def test_every_report_renders_from_postgresql(pg_world: tuple[Store, Ids]) -> None:
    store, _ = pg_world
    with store.transaction() as session:
        for name in REPORT_NAMES:
            result = run_report(
                session, name=name, period_text=MARCH, tz="UTC", now=NOW, pipeline=PIPELINE
            )
            assert result.text and result.rows, name
        pipeline = run_report(
            session, name="pipeline", period_text=MARCH, tz="UTC", now=NOW, pipeline=PIPELINE
        )
        assert "weighted forecast €1,000.00 + $8,100.00" in pipeline.text


def test_an_empty_postgresql_database_gives_notes_not_errors(
    pg_databases: Callable[[], Engine],
) -> None:
    with Store(pg_databases()).transaction() as session:
        assert churn(session, period=march()).churn_rate is None
        assert customer_lifetime_value(session, period=march()).by_currency == []
        assert rfm_segments(session, as_of=march().end).customers == 0
