"""Statuses and kinds: the database itself refuses a value outside its enum, on both
engines, whether the tables came from the models or from the migrations."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from crm import migrate
from crm.db import make_engine
from crm.enums import CHECKED, FollowUpKind, FollowUpStatus
from crm.models import FollowUp

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

INSERT_FOLLOWUP = text(
    "INSERT INTO followup (kind, due_at, text, status, attempts, stop_on_reply, late,"
    " created_at, updated_at) VALUES (:kind, :now, 'x', :status, 0, true, false, :now, :now)"
)


def _checks(engine) -> set[str]:  # type: ignore[no-untyped-def]
    inspector = inspect(engine)
    return {
        check["name"]
        for table in inspector.get_table_names()
        for check in inspector.get_check_constraints(table)
    }


@pytest.mark.parametrize("build", ["models", "migrations"])
def test_a_bad_status_or_kind_is_refused_by_the_database(db_url: str, build: str) -> None:
    engine = make_engine(db_url)
    try:
        if build == "models":
            SQLModel.metadata.create_all(engine)
        else:
            migrate.upgrade(engine)
        with engine.begin() as connection:  # the good values go in
            connection.execute(
                INSERT_FOLLOWUP, {"kind": "reminder", "status": "pending", "now": NOW}
            )
        for bad in ({"kind": "reminder", "status": "pendnig"}, {"kind": "memo", "status": "sent"}):
            refused = pytest.raises(IntegrityError, match="ck_followup_|CHECK constraint")
            with refused, engine.begin() as connection:
                connection.execute(INSERT_FOLLOWUP, {**bad, "now": NOW})
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text("UPDATE followup SET status = 'sending'"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT status FROM followup")).scalars().all() == [
                "pending"
            ]
    finally:
        engine.dispose()


def test_the_migrations_add_every_check_the_models_declare(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        expected = {f"ck_{table}_{column}" for table, column, _ in CHECKED}
        assert _checks(engine) == expected
        migrate.downgrade(engine, "0002")
        assert _checks(engine) == set()
    finally:
        engine.dispose()


def test_rows_read_back_as_enum_members(store) -> None:  # type: ignore[no-untyped-def]
    with store.transaction() as session:
        session.add(FollowUp(due_at=NOW, text="call back", created_at=NOW, updated_at=NOW))
    with Session(store.engine) as session:
        row = session.exec(select(FollowUp)).one()
        assert row.status is FollowUpStatus.PENDING and row.kind is FollowUpKind.REMINDER


def test_rebuilding_tables_on_sqlite_keeps_the_rows_that_reference_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Batch mode drops and recreates `rep`; with foreign keys on, SQLite's DROP TABLE
    would cascade into every follow-up and conversation of that rep."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        migrate.upgrade(engine, "0002")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO rep (id, name, role, active, timezone, created_at)"
                    " VALUES (1, 'Alice', 'rep', true, 'UTC', :now)"
                ),
                {"now": NOW},
            )
            connection.execute(
                text(
                    "INSERT INTO followup (kind, due_at, rep_id, text, status, attempts,"
                    " stop_on_reply, late, created_at, updated_at)"
                    " VALUES ('reminder', :now, 1, 'x', 'pending', 0, true, false, :now, :now)"
                ),
                {"now": NOW},
            )
        migrate.upgrade(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT rep_id FROM followup")).scalars().all() == [1]
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
