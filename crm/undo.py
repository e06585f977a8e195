"""`undo`: revert the actor's own most recent change, using the audit trail.

Only changes that can be put back exactly are undoable; each undo is itself
audited (action `undo`, pointing at the row it reverted), and a change is
undone at most once.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, delete, or_, select

from crm import audit
from crm.actors import Actor, require_rep
from crm.contacts import refresh_search_text
from crm.enums import FollowUpStatus
from crm.errors import NotFound
from crm.models import Activity, AuditLog, Contact, ContactPoint, Deal, FollowUp

UNDOABLE = {
    "contact.create": "the new contact",
    "contact.update": "the contact edit",
    "contact.tag": "the tag change",
    "activity.create": "the logged activity",
    "deal.create": "the new deal",
    "deal.stage": "the stage change",
    "deal.won": "marking the deal won",
    "deal.lost": "marking the deal lost",
    "followup.create": "the new follow-up",
    "followup.done": "marking the follow-up done",
    "followup.cancel": "the cancellation",
    "followup.snooze": "the snooze",
}
WINDOW = timedelta(hours=24)


def _dt(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _last_undoable(session: Session, actor: Actor, now: datetime) -> AuditLog | None:
    label = f"{actor.kind}:{actor.id}"
    mine = or_(AuditLog.actor == label, col(AuditLog.actor).startswith(label + "/"))
    undone = {
        (row.after or {}).get("undid")
        for row in session.exec(select(AuditLog).where(mine, AuditLog.action == "undo"))
    }
    rows = session.exec(
        select(AuditLog)
        .where(mine, col(AuditLog.action).in_(list(UNDOABLE)), AuditLog.at >= now - WINDOW)
        .order_by(col(AuditLog.id).desc())
        .limit(20)
    ).all()
    return next((row for row in rows if row.id not in undone), None)


def undo_last(session: Session, *, actor: Actor, now: datetime) -> str:
    """Reverts the last change; returns what was undone, in words."""
    require_rep(actor)
    row = _last_undoable(session, actor, now)
    if row is None:
        raise NotFound("Nothing of yours to undo from the last 24 hours.")
    _REVERTERS[row.action.split(".")[0]](session, row, now)
    audit.record(
        session,
        actor=actor,
        action="undo",
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        at=now,
        after={"undid": row.id, "action": row.action},
    )
    return UNDOABLE[row.action]


def _revert_contact(session: Session, row: AuditLog, now: datetime) -> None:
    contact = session.get(Contact, row.entity_id)
    if contact is None:
        raise NotFound("That contact no longer exists.")
    if row.action == "contact.create":
        session.delete(contact)
        return
    before = row.before or {}
    if row.action == "contact.tag":
        contact.tags = list(before.get("tags", []))
    else:
        for key in ("name", "company_id", "owner_id", "timezone", "custom_fields"):
            if key in before:
                setattr(contact, key, before[key])
        keep = set(before.get("emails", [])) | set(before.get("phones", []))
        session.exec(
            delete(ContactPoint).where(
                ContactPoint.contact_id == contact.id, col(ContactPoint.value).not_in(keep)
            )
        )
    contact.updated_at = now
    session.flush()
    refresh_search_text(session, contact)
    session.add(contact)


def _revert_activity(session: Session, row: AuditLog, now: datetime) -> None:
    activity = session.get(Activity, row.entity_id)
    if activity is None:
        raise NotFound("That activity no longer exists.")
    session.delete(activity)


def _revert_deal(session: Session, row: AuditLog, now: datetime) -> None:
    deal = session.get(Deal, row.entity_id)
    if deal is None:
        raise NotFound("That deal no longer exists.")
    if row.action == "deal.create":
        session.delete(deal)
        return
    before = row.before or {}
    deal.stage, deal.status = before["stage"], before["status"]
    deal.close_reason = before.get("close_reason")
    deal.closed_at = _dt(before.get("closed_at"))
    deal.stage_changed_at, deal.updated_at = now, now
    session.add(deal)


def _revert_followup(session: Session, row: AuditLog, now: datetime) -> None:
    followup = session.get(FollowUp, row.entity_id)
    if followup is None:
        raise NotFound("That follow-up no longer exists.")
    if row.action == "followup.create":
        followup.status = FollowUpStatus.CANCELLED
    else:
        before = row.before or {}
        followup.status = before["status"]
        followup.due_at = _dt(before["due_at"])
    followup.updated_at = now
    session.add(followup)


_REVERTERS = {
    "contact": _revert_contact,
    "activity": _revert_activity,
    "deal": _revert_deal,
    "followup": _revert_followup,
}

__all__ = ["undo_last", "UNDOABLE"]
