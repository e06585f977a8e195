"""Merging two contacts that turned out to be one person."""

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from crm import audit
from crm.actors import Actor, require_admin
from crm.contacts import _points_dict, get_contact, refresh_search_text
from crm.errors import Invalid
from crm.models import (
    Activity,
    ChannelIdentity,
    ContactPoint,
    Conversation,
    Deal,
    FollowUp,
    Message,
    snapshot,
)

MOVED_TABLES = (ContactPoint, ChannelIdentity, Activity, Conversation, Message, Deal, FollowUp)


def merge_contacts(
    session: Session, *, actor: Actor, source_id: int, target_id: int, now: datetime
) -> dict[str, int]:
    """Folds `source` into `target`: timeline, deals, identities, emails and phones move;
    tags and custom fields are combined (the target wins a clash); source is deleted.

    Returns how many rows of each kind moved, for the reply and the audit trail.
    """
    require_admin(actor, "merge contacts")
    if source_id == target_id:
        raise Invalid("contact", "Those are the same contact.")
    source = get_contact(session, source_id)
    target = get_contact(session, target_id)
    before = {
        "source": snapshot(source) | _points_dict(session, source_id),
        "target": snapshot(target) | _points_dict(session, target_id),
    }
    moved: dict[str, int] = {}
    moved_ids: dict[str, list[int]] = {}
    for table in MOVED_TABLES:
        ids = list(session.exec(select(table.id).where(table.contact_id == source_id)))
        if ids:
            session.execute(
                update(table).where(col(table.id).in_(ids)).values(contact_id=target_id)
            )
        moved[table.__tablename__] = len(ids)
        moved_ids[table.__tablename__] = ids
    target.tags = list(dict.fromkeys([*(target.tags or []), *(source.tags or [])]))
    target.custom_fields = {**(source.custom_fields or {}), **(target.custom_fields or {})}
    target.company_id = target.company_id or source.company_id
    target.owner_id = target.owner_id or source.owner_id
    target.timezone = target.timezone or source.timezone
    target.opted_out = target.opted_out or source.opted_out
    target.last_activity_at = max(
        filter(None, [target.last_activity_at, source.last_activity_at]), default=None
    )
    target.updated_at = now
    session.flush()
    session.expire(source)
    session.delete(source)
    session.flush()
    refresh_search_text(session, target)
    session.add(target)
    audit.record(
        session,
        actor=actor,
        action="contact.merge",
        entity_type="contact",
        entity_id=target_id,
        at=now,
        before=before,
        after=snapshot(target)
        | _points_dict(session, target_id)
        | {"moved": moved, "moved_ids": moved_ids},
    )
    return moved
