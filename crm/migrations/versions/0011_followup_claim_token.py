"""followup.claim_token: the fencing token of a follow-up's last claim

Revision ID: 0011
Revises: 0004
Create Date: 2026-12-02 18:00:00.000000

Each claim of the outbox writes a fresh random token; recording the outcome is an
UPDATE ... WHERE id = ? AND claim_token = ?, so a worker whose claim was taken over
(its lease ran out, another worker claimed the row) can neither record nor resend
(issue 17, item 7). Adding a nullable column: no rebuild on SQLite (AUTOINCREMENT,
from 0004, is kept).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0011'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('followup', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('claim_token', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('followup', schema=None) as batch_op:
        batch_op.drop_column('claim_token')
