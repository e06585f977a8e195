"""purchase table: first-class purchases (won deals, rep-recorded sales, imports)

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-01 23:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.db


revision: str = '0006'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('purchase',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('company_id', sa.Integer(), nullable=True),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('rep_id', sa.Integer(), nullable=True),
    sa.Column('purchased_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('anonymised', sa.Boolean(), nullable=False),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['deal_id'], ['deal.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rep_id'], ['rep.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('purchase', schema=None) as batch_op:
        batch_op.create_index('ix_purchase_contact_when', ['contact_id', 'purchased_at'], unique=False)
        batch_op.create_index('ix_purchase_deal', ['deal_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_purchase_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_purchased_at'), ['purchased_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('purchase', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_purchased_at'))
        batch_op.drop_index(batch_op.f('ix_purchase_company_id'))
        batch_op.drop_index('ix_purchase_deal')
        batch_op.drop_index('ix_purchase_contact_when')
    op.drop_table('purchase')
