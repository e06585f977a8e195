"""rep.dateorder: how a rep writes numeric dates (DMY, MDY, YMD; NULL: from the time zone);
contact.search_text folded (no case, no accents) so `jose` finds José

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.db
from crm.validation import fold


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('rep', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('dateorder', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True)
        )
    bind = op.get_bind()
    contact = sa.table('contact', sa.column('id', sa.Integer), sa.column('search_text', sa.Text))
    rows = bind.execute(sa.select(contact.c.id, contact.c.search_text)).all()
    for row_id, text in rows:
        if text and fold(text) != text:
            bind.execute(
                contact.update().where(contact.c.id == row_id).values(search_text=fold(text))
            )


def downgrade() -> None:
    with op.batch_alter_table('rep', schema=None) as batch_op:
        batch_op.drop_column('dateorder')
