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

from crm import audit
from crm.actors import Actor, require_admin
from crm.contacts import _points_dict, get_contact, refresh_search_text
from crm.db import UTCDateTime
from crm.errors import Conflict, NotFound
from crm.externalids import ExternalId, put_back, take_out
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
    table_name,
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
    counts = {table_name(model): len(_rows(session, model, contact_id)) for model in OWNED}
    counts["deal"] = len(_rows(session, Deal, contact_id))
    return counts


def trash_contact(
    session: Session, *, contact: Contact, actor_label: str, now: datetime
) -> TrashedContact:
    """Copies the contact and everything it owns into the trash, then deletes it."""
    assert contact.id is not None
    payload: dict[str, Any] = {"contact": snapshot(contact, exclude=set())}
    for model in OWNED:
        payload[table_name(model)] = [
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
    # Out of the table while trashed, so an import or API upsert by one of these ids
    # creates afresh rather than updating a contact that is not there; restored with it.
    payload["external_ids"] = take_out(session, entity_type="contact", entity_id=contact.id)
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


def _clash(session: Session, entry: TrashedContact) -> None:
    """Conflict naming the first external id, email, phone or chat identity of the entry
    that another contact holds now, and that contact; nothing when all are free. External
    ids first: they are the strongest claim (an import or upsert chose that record)."""
    for item in entry.payload.get("external_ids", []):
        taken = session.exec(
            select(ExternalId).where(
                col(ExternalId.entity_type) == "contact",
                col(ExternalId.source) == item.get("source"),
                col(ExternalId.external_id) == item.get("external_id"),
            )
        ).first()
        if taken is not None:
            raise Conflict(
                f"I can't restore #{entry.contact_id}: their {item.get('source')} external id "
                f"{item.get('external_id')} now belongs to contact #{taken.entity_id} (an import "
                "or the API created it meanwhile). Nothing was restored.",
                existing=session.get(Contact, taken.entity_id),
                field="external_id",
            )
    for data in entry.payload.get("contactpoint", []):
        holder = session.exec(
            select(ContactPoint).where(
                col(ContactPoint.kind) == data.get("kind"),
                col(ContactPoint.value) == data.get("value"),
            )
        ).first()
        if holder is not None:
            kind = str(data.get("kind"))
            raise Conflict(
                f"I can't restore #{entry.contact_id}: the {kind} {data.get('value')} now "
                f"belongs to contact #{holder.contact_id}. Nothing was restored.",
                existing=session.get(Contact, holder.contact_id),
                field=kind,
            )
    for data in entry.payload.get("channelidentity", []):
        identity = session.exec(
            select(ChannelIdentity).where(
                col(ChannelIdentity.channel) == data.get("channel"),
                col(ChannelIdentity.external_id) == data.get("external_id"),
            )
        ).first()
        if identity is not None:
            owner = f"contact #{identity.contact_id}" if identity.contact_id else "a rep"
            raise Conflict(
                f"I can't restore #{entry.contact_id}: their {data.get('channel')} chat "
                f"identity now belongs to {owner}. Nothing was restored.",
                existing=session.get(Contact, identity.contact_id) if identity.contact_id else None,
                field="channel_identity",
            )


# What a contact's rows are called when a reply counts them (the tables' names are not
# words a rep uses): deleting, restoring, merging and undoing all say the same.
COUNT_LABELS = {
    "activity": "timeline entries", "message": "messages", "conversation": "conversations",
    "deal": "deals", "followup": "follow-ups", "contactpoint": "emails/phones",
    "channelidentity": "chat identities", "externalid": "external ids",
}  # fmt: skip


def counts_text(counts: dict[str, int], *, zeros: bool = False) -> str:
    """`{"contactpoint": 1, "deal": 2}` -> "2 deals, 1 emails/phones" (label order); with
    `zeros` every kind is named, as a delete's question does."""
    parts = [
        f"{counts.get(key, 0)} {label}"
        for key, label in COUNT_LABELS.items()
        if counts.get(key) or (zeros and key != "externalid")
    ]
    return ", ".join(parts) or "nothing else"


def restore_contact(session: Session, *, entry: TrashedContact) -> tuple[Contact, dict[str, int]]:
    """Puts every row back under its old id; Conflict if its email, phone or chat identity
    now belongs to someone else (then nothing is restored)."""
    payload = entry.payload
    if session.get(Contact, entry.contact_id) is not None:
        raise Conflict(
            f"Contact #{entry.contact_id} already exists again.",
            existing=session.get(Contact, entry.contact_id),
            field="id",
        )
    _clash(session, entry)
    counts: dict[str, int] = {}
    try:
        with session.begin_nested():
            contact = revive(Contact, payload["contact"])
            session.add(contact)
            session.flush()
            for model in OWNED:
                rows = payload.get(table_name(model), [])
                for data in rows:
                    session.add(revive(model, data))
                session.flush()
                counts[table_name(model)] = len(rows)
            counts["externalid"] = put_back(
                session,
                entity_type="contact",
                entity_id=entry.contact_id,
                saved=payload.get("external_ids", []),
            )
    except IntegrityError:
        raise Conflict(
            f"I can't restore #{entry.contact_id}: one of their emails, phones, chat "
            "identities or external ids (from an import or the API) now belongs to another "
            "contact. Nothing was restored."
        ) from None
    deal_ids = [i for i in payload.get("deal_ids", []) if i is not None]
    if deal_ids:
        result = session.exec(
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
    # The snapshot leaves out the denormalised search column: rebuilt from the rows that
    # came back, or `find jane` would miss the restored Jane (and "which one?" with her).
    refresh_search_text(session, contact)
    session.add(contact)
    session.delete(entry)
    session.flush()
    return contact, counts


def restore(
    session: Session, *, actor: Actor, contact_id: int, now: datetime
) -> tuple[Contact, dict[str, int]]:
    """Admin only: the chat `restore #id` and the API's POST .../restore. Brings the
    contact back whole from the trash and audits it as `contact.restore`."""
    require_admin(actor, "restore deleted contacts")
    entry = find_entry(session, contact_id, now=now)
    contact, counts = restore_contact(session, entry=entry)
    audit.record(
        session,
        actor=actor,
        action="contact.restore",
        entity_type="contact",
        entity_id=contact.id,
        at=now,
        after={"counts": counts},
    )
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
    result = session.exec(
        delete(TrashedContact).where(col(TrashedContact.deleted_at) < now - retention)
    )
    return result.rowcount or 0


def delete_contact(session: Session, *, actor: Actor, contact_id: int, now: datetime) -> Contact:
    """Admin only. Moves the contact, with its points, identities, timeline and follow-ups,
    to the trash, from which `undo` or `restore` brings it back whole. (Here rather than
    in crm.contacts: the trash needs crm.contacts to rebuild a restored contact's search
    text, and the two must not import each other.)"""

    require_admin(actor, "delete contacts")
    contact = get_contact(session, contact_id)
    before = snapshot(contact) | _points_dict(session, contact_id)
    counts = contents(session, contact_id)
    entry = trash_contact(session, contact=contact, actor_label=actor.label, now=now)
    audit.record(
        session,
        actor=actor,
        action="contact.delete",
        entity_type="contact",
        entity_id=contact_id,
        at=now,
        before=before,
        after={"trash_id": entry.id, "counts": counts},
    )
    return contact
