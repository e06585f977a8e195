"""per-token API rate limit shared by every worker: one row per (token, minute window)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 18:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.db

revision: str = '0012'
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('apiratelimit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('window_start', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['token_id'], ['apitoken.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_id', 'window_start', name='uq_apiratelimit_window'),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('apiratelimit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apiratelimit_window_start'), ['window_start'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('apiratelimit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apiratelimit_window_start'))
    op.drop_table('apiratelimit')
