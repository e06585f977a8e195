"""the trash of deleted contacts (restorable for 30 days)

Revision ID: 0005
Revises: 0010
Create Date: 2026-12-01 23:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import crm.db


revision: str = '0005'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'trashedcontact',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
        sa.Column('deleted_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('deleted_at', crm.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('trashedcontact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trashedcontact_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trashedcontact_deleted_at'), ['deleted_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('trashedcontact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trashedcontact_deleted_at'))
        batch_op.drop_index(batch_op.f('ix_trashedcontact_contact_id'))
    op.drop_table('trashedcontact')
