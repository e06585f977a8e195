"""Merging two contacts that turned out to be one person."""

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from crm import audit
from crm.actors import Actor, require_admin
from crm.contacts import _points_dict, get_contact, refresh_search_text
from crm.errors import Invalid
from crm.externalids import ExternalId
from crm.models import (
    Activity,
    ChannelIdentity,
    ContactPoint,
    Conversation,
    Deal,
    FollowUp,
    Message,
    snapshot,
    table_name,
)

# A row that belongs to a contact (its `contact_id`), moved by a merge.
MovedRow = ContactPoint | ChannelIdentity | Activity | Conversation | Message | Deal | FollowUp
MOVED_TABLES: tuple[type[MovedRow], ...] = (
    ContactPoint,
    ChannelIdentity,
    Activity,
    Conversation,
    Message,
    Deal,
    FollowUp,
)


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
        found = session.exec(select(table.id).where(table.contact_id == source_id))
        ids = [i for i in found if i is not None]  # primary keys: never None
        if ids:
            session.execute(
                update(table).where(col(table.id).in_(ids)).values(contact_id=target_id)
            )
        moved[table_name(table)] = len(ids)
        moved_ids[table_name(table)] = ids
    # The source's ids in other systems now name the target (import and API upserts).
    ext_ids = [
        i
        for i in session.exec(
            select(ExternalId.id).where(
                ExternalId.entity_type == "contact", ExternalId.entity_id == source_id
            )
        )
        if i is not None
    ]
    if ext_ids:
        session.execute(
            update(ExternalId).where(col(ExternalId.id).in_(ext_ids)).values(entity_id=target_id)
        )
    moved["externalid"] = len(ext_ids)
    moved_ids["externalid"] = ext_ids
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
