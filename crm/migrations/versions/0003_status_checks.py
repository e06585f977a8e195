"""CHECK constraints on statuses and kinds

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:40:00.000000

The allowed values are written out here (not imported from crm.enums) so that this
revision keeps meaning what it meant when a later one changes an enum. SQLite cannot
add a constraint to a table, so batch mode rebuilds each table with it.
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECKS: dict[str, dict[str, tuple[str, ...]]] = {
    'rep': {'role': ('rep', 'admin')},
    'contactpoint': {'kind': ('email', 'phone')},
    'deal': {'status': ('open', 'won', 'lost')},
    'activity': {'kind': ('call', 'meeting', 'email', 'note', 'message')},
    'conversation': {'status': ('open', 'closed')},
    'message': {
        'direction': ('inbound', 'outbound'),
        'delivery': ('received', 'pending', 'delivered', 'failed'),
    },
    'followup': {
        'kind': ('reminder', 'customer', 'digest', 'nudge', 'survey', 'notice'),
        'status': ('pending', 'claimed', 'sent', 'done', 'failed', 'cancelled'),
    },
}


def upgrade() -> None:
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values in columns.items():
                allowed = ', '.join(f"'{value}'" for value in values)
                batch_op.create_check_constraint(f'ck_{table}_{column}', f'{column} IN ({allowed})')


def downgrade() -> None:
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_constraint(f'ck_{table}_{column}', type_='check')
