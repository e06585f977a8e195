"""index processedevent.at for the nightly pruning

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.db


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # crm.housekeeping deletes ProcessedEvent rows older than a cutoff every night;
    # without this index each batch scans the whole (ever-growing) table.
    with op.batch_alter_table('processedevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processedevent_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('processedevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processedevent_at'))
