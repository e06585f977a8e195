"""ids never reused on SQLite: rebuild every table with AUTOINCREMENT

Revision ID: 0004
Revises: 0005
Create Date: 2026-12-01 23:40:00.000000

Without AUTOINCREMENT SQLite hands the highest deleted id to the next row (issue 17: an
erased customer's id went to the next new customer).  The tables are discovered, not
listed, so tables added by other migrations are covered when this one runs after them;
crm.migrate turns foreign keys off around SQLite migrations, as a rebuild drops and
recreates each table (with foreign keys on, dropping a parent would cascade).
PostgreSQL sequences never reuse a value: nothing to do there.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tables_to_rebuild(autoincrement: bool) -> list[str]:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
    ).all()
    names = []
    for name, sql in rows:
        if name.startswith(('sqlite_', 'alembic_')) or not sql:
            continue
        has = 'AUTOINCREMENT' in sql.upper()
        pk = sa.inspect(bind).get_pk_constraint(name)['constrained_columns']
        if pk == ['id'] and has != autoincrement:
            names.append(name)
    return names


def upgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for name in _tables_to_rebuild(autoincrement=True):
        with op.batch_alter_table(
            name, recreate='always', table_kwargs={'sqlite_autoincrement': True}
        ):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for name in _tables_to_rebuild(autoincrement=False):
        with op.batch_alter_table(
            name, recreate='always', table_kwargs={'sqlite_autoincrement': False}
        ):
            pass
