"""The audit trail: every write records who did what, through which channel."""

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from crm.actors import Actor
from crm.models import AuditLog


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: int | None,
    at: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    """Adds an audit row in the caller's transaction, so it commits with the change."""
    row = AuditLog(
        actor=actor.label,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
        channel=actor.channel,
        at=at,
    )
    session.add(row)
    return row


def history(session: Session, *, entity_type: str, entity_id: int) -> list[AuditLog]:
    statement = (
        select(AuditLog)
        .where(AuditLog.entity_type == entity_type, AuditLog.entity_id == entity_id)
        .order_by(col(AuditLog.at), col(AuditLog.id))
    )
    return list(session.exec(statement))
