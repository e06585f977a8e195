"""import from other CRMs: external ids, custom fields on companies, deals, activities

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import crm.db


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
TABLES = ('company', 'deal', 'activity')


def upgrade() -> None:
    op.create_table('externalid',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('entity_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'entity_type', 'external_id', name='uq_externalid_key')
    )
    with op.batch_alter_table('externalid', schema=None) as batch_op:
        batch_op.create_index('ix_externalid_entity', ['entity_type', 'entity_id'], unique=False)
    # Existing rows (and raw bulk INSERTs) get an empty object.
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('custom_fields', JSON, nullable=False,
                                          server_default=sa.text("'{}'")))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('custom_fields')
    with op.batch_alter_table('externalid', schema=None) as batch_op:
        batch_op.drop_index('ix_externalid_entity')
    op.drop_table('externalid')
