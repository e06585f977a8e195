"""The trash: a deleted contact is kept whole for a while, so `undo` and an admin's
`restore #id` can bring it back with its timeline, deals and follow-ups.

Deleting copies every row that belongs to the contact (emails and phones, channel
identities, activities, conversations and their messages, follow-ups) into one JSON
payload, remembers which deals and need corrections pointed at it (the database sets
those links to NULL), and then deletes the contact. Restoring inserts the same rows
again under their old ids, so every number a rep saw before still means the same
thing. A nightly job purges entries older than the retention (30 days). A customer's
own erasure request never goes through here: it stays an immediate erasure
(crm.privacy).
"""

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from crm.db import UTCDateTime
from crm.errors import Conflict, NotFound
from crm.models import (
    Activity,
    ChannelIdentity,
    Contact,
    ContactPoint,
    Conversation,
    Deal,
    FollowUp,
    Message,
    NeedCorrection,
    TrashedContact,
    snapshot,
)

RETENTION = timedelta(days=30)
# Insert order matters: a message needs its conversation, everything needs the contact.
OWNED = (ContactPoint, ChannelIdentity, Conversation, Message, Activity, FollowUp)


def _rows(session: Session, model: Any, contact_id: int) -> list[Any]:
    return list(
        session.exec(select(model).where(model.contact_id == contact_id).order_by(col(model.id)))
    )


def contents(session: Session, contact_id: int) -> dict[str, int]:
    """How many rows of each kind go (or would go) with the contact: for the preview."""
    counts = {model.__tablename__: len(_rows(session, model, contact_id)) for model in OWNED}
    counts["deal"] = len(_rows(session, Deal, contact_id))
    return counts


def trash_contact(
    session: Session, *, contact: Contact, actor_label: str, now: datetime
) -> TrashedContact:
    """Copies the contact and everything it owns into the trash, then deletes it."""
    assert contact.id is not None
    payload: dict[str, Any] = {"contact": snapshot(contact, exclude=set())}
    for model in OWNED:
        payload[model.__tablename__] = [
            snapshot(row, exclude=set()) for row in _rows(session, model, contact.id)
        ]
    payload["deal_ids"] = [deal.id for deal in _rows(session, Deal, contact.id)]
    message_ids = [row["id"] for row in payload["message"]]
    corrections = (
        session.exec(
            select(NeedCorrection.id, NeedCorrection.message_id).where(
                col(NeedCorrection.message_id).in_(message_ids)
            )
        ).all()
        if message_ids
        else []
    )
    payload["corrections"] = [[cid, mid] for cid, mid in corrections]
    entry = TrashedContact(
        contact_id=contact.id,
        name=contact.name,
        payload=payload,
        deleted_by=actor_label,
        deleted_at=now,
    )
    session.add(entry)
    session.delete(contact)
    session.flush()
    return entry


def revive(model: Any, data: dict[str, Any]) -> Any:
    """A row from its JSON snapshot: table models do not validate, so dates are parsed here."""
    values = dict(data)
    for column in model.__table__.columns:
        value = values.get(column.name)
        if isinstance(value, str) and isinstance(column.type, UTCDateTime):
            values[column.name] = datetime.fromisoformat(value)
        elif isinstance(value, str) and isinstance(column.type, Date):
            values[column.name] = date.fromisoformat(value)
    return model(**values)


def find_entry(session: Session, contact_id: int, *, now: datetime) -> TrashedContact:
    entry = session.exec(
        select(TrashedContact)
        .where(TrashedContact.contact_id == contact_id)
        .order_by(col(TrashedContact.id).desc())
    ).first()
    if entry is None or entry.deleted_at < now - RETENTION:
        if session.get(Contact, contact_id) is not None:
            raise NotFound(f"Contact #{contact_id} exists; it is not in the trash.")
        raise NotFound(
            f"Contact #{contact_id} is not in the trash (deleted contacts are kept "
            f"{RETENTION.days} days)."
        )
    return entry


def restore_contact(session: Session, *, entry: TrashedContact) -> tuple[Contact, dict[str, int]]:
    """Puts every row back under its old id; Conflict if its email, phone or chat identity
    now belongs to someone else (then nothing is restored)."""
    payload = entry.payload
    if session.get(Contact, entry.contact_id) is not None:
        raise Conflict(f"Contact #{entry.contact_id} already exists again.")
    counts: dict[str, int] = {}
    try:
        with session.begin_nested():
            contact = revive(Contact, payload["contact"])
            session.add(contact)
            session.flush()
            for model in OWNED:
                rows = payload.get(model.__tablename__, [])
                for data in rows:
                    session.add(revive(model, data))
                session.flush()
                counts[model.__tablename__] = len(rows)
    except IntegrityError:
        raise Conflict(
            f"I can't restore #{entry.contact_id}: one of their emails, phones or chat "
            "identities now belongs to another contact. Nothing was restored."
        ) from None
    deal_ids = [i for i in payload.get("deal_ids", []) if i is not None]
    if deal_ids:
        result = session.execute(
            update(Deal)
            .where(col(Deal.id).in_(deal_ids), col(Deal.contact_id).is_(None))
            .values(contact_id=entry.contact_id)
        )
        counts["deal"] = result.rowcount or 0
    for correction_id, message_id in payload.get("corrections", []):
        session.execute(
            update(NeedCorrection)
            .where(
                col(NeedCorrection.id) == correction_id, col(NeedCorrection.message_id).is_(None)
            )
            .values(message_id=message_id)
        )
    session.delete(entry)
    session.flush()
    return contact, counts


def list_trash(session: Session, *, now: datetime, limit: int = 20) -> list[TrashedContact]:
    return list(
        session.exec(
            select(TrashedContact)
            .where(TrashedContact.deleted_at >= now - RETENTION)
            .order_by(col(TrashedContact.id).desc())
            .limit(limit)
        )
    )


def purge_trash(session: Session, *, now: datetime, retention: timedelta = RETENTION) -> int:
    """Nightly: entries past the retention are gone for good."""
    result = session.execute(
        delete(TrashedContact).where(col(TrashedContact.deleted_at) < now - retention)
    )
    return result.rowcount or 0
