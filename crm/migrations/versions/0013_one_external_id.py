"""one external-id table: the API's externalref rows move into externalid

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 18:10:00.000000

`rapport import` stored ids in `externalid` (source, entity_type, external_id ->
entity_id) and the REST API in `externalref` (system, external_id -> contact_id), so a
contact imported from HubSpot was not found by the API's bulk upsert by the same id.
`externalid` is kept (it covers all five record types) and widened to the API's sizes
(source 64, external_id 200); each `externalref` row becomes a `contact` row with its
system lower-cased (a pair already present in `externalid` is kept once), and
`externalref` is dropped. The downgrade recreates `externalref` from the contact rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _batch(name: str):  # type: ignore[no-untyped-def]
    # SQLite rebuilds the table: keep 0004's AUTOINCREMENT (ids never reused).
    if op.get_bind().dialect.name == "sqlite":
        return op.batch_alter_table(
            name, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        )
    return op.batch_alter_table(name)


def upgrade() -> None:
    with _batch("externalid") as batch_op:
        batch_op.alter_column(
            "source",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=32),
            type_=sqlmodel.sql.sqltypes.AutoString(length=64),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "external_id",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=128),
            type_=sqlmodel.sql.sqltypes.AutoString(length=200),
            existing_nullable=False,
        )
    # One row per (lower-cased system, id): the oldest wins if "Billing" and "billing"
    # both held it; a pair the import already stored for a contact is kept as it is.
    op.execute(
        "INSERT INTO externalid (source, entity_type, external_id, entity_id, created_at) "
        "SELECT lower(r.system), 'contact', r.external_id, r.contact_id, r.created_at "
        "FROM externalref r "
        "WHERE r.id = (SELECT min(r2.id) FROM externalref r2 "
        "WHERE lower(r2.system) = lower(r.system) AND r2.external_id = r.external_id) "
        "AND NOT EXISTS (SELECT 1 FROM externalid e WHERE e.source = lower(r.system) "
        "AND e.entity_type = 'contact' AND e.external_id = r.external_id) "
        "ORDER BY r.id"
    )
    with op.batch_alter_table("externalref", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_externalref_contact_id"))
    op.drop_table("externalref")


def downgrade() -> None:
    op.create_table(
        "externalref",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("system", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", crm.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("system", "external_id", name="uq_externalref_key"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("externalref", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_externalref_contact_id"), ["contact_id"], unique=False)
    # Contact ids of live contacts go back to the API's table (externalid keeps them too,
    # as the import used them before); ids longer than the old sizes are cut to fit.
    op.execute(
        "INSERT INTO externalref (contact_id, system, external_id, created_at) "
        "SELECT e.entity_id, e.source, e.external_id, e.created_at FROM externalid e "
        "JOIN contact c ON c.id = e.entity_id WHERE e.entity_type = 'contact' ORDER BY e.id"
    )
    op.execute(
        "UPDATE externalid SET source = substr(source, 1, 32), "
        "external_id = substr(external_id, 1, 128)"
    )
    with _batch("externalid") as batch_op:
        batch_op.alter_column(
            "source",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
            type_=sqlmodel.sql.sqltypes.AutoString(length=32),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "external_id",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=200),
            type_=sqlmodel.sql.sqltypes.AutoString(length=128),
            existing_nullable=False,
        )
