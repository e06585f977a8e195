"""Migrations build the same schema as the models, up from empty, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from crm import migrate
from crm.db import make_engine


def test_upgrade_from_empty_matches_the_models_and_downgrades(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
        assert {"contact", "followup", "auditlog"} <= set(inspect(engine).get_table_names())
        migrate.downgrade(engine, "base")
        assert "contact" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
