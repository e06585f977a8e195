"""A customer's own data: export all of it, or erase it.

Export gathers everything stored about one contact into a JSON-able dict (the
answer to "what do you hold about me?"). Erasure deletes the contact with its
phones and emails, channel identities, conversations and messages, activities,
follow-ups and the classifier corrections made from their words; deals stay
(they are the business's records) but lose the link, and purchases keep only their
date, amount, currency and quantity (anonymised, so revenue totals stay right). Earlier
audit rows about them (and about a contact merged into them) are scrubbed of personal
data, then every other copy of their name, handles, addresses, ids and words anywhere in
the database is rewritten (crm.erasure), and one anonymised `contact.erase` row
records that it happened, when, through which channel and how much went.
Copies outside the database (the Slack inbox posts, the need model) are the
caller's: :class:`Erasure` says where they are.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, or_, update
from sqlalchemy.sql.dml import UpdateBase
from sqlmodel import Session, col, select

from crm import audit, purchases
from crm.actors import Actor
from crm.contacts import get_contact, points_of
from crm.enums import FollowUpKind
from crm.erasure import contacts_in_text, phone_formats, scrub_everywhere, terms_of
from crm.externalids import forget, ids_of
from crm.ids import id_of
from crm.models import (
    Activity,
    AuditLog,
    ChannelIdentity,
    ChatState,
    Company,
    Contact,
    ContactPoint,
    Conversation,
    Deal,
    FollowUp,
    Message,
    NeedCorrection,
    Rep,
)

EXPORT_VERSION = 1


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _rows(session: Session, model: Any, contact_id: int, order: Any) -> list[Any]:
    return list(session.exec(select(model).where(model.contact_id == contact_id).order_by(order)))


def export_contact(session: Session, *, contact_id: int, now: datetime) -> dict[str, Any]:
    """Everything stored about the contact, as plain JSON types."""
    contact = get_contact(session, contact_id)
    company = session.get(Company, contact.company_id) if contact.company_id else None
    points = points_of(session, contact_id)
    messages = _rows(session, Message, contact_id, col(Message.sent_at))
    reps = {r.id: r.name for r in session.exec(select(Rep))}

    def author(rep_id: int | None, default: str) -> str:
        return reps.get(rep_id, "a former team member") if rep_id else default

    data = {
        "export_version": EXPORT_VERSION,
        "generated_at": now,
        "contact": {
            "id": contact.id,
            "name": contact.name,
            "company": company.name if company else None,
            "emails": points.emails,
            "phones": points.phones,
            "tags": contact.tags,
            "timezone": contact.timezone,
            "custom_fields": contact.custom_fields,
            "created_via": contact.created_via,
            "created_at": contact.created_at,
            "updated_at": contact.updated_at,
            "last_activity_at": contact.last_activity_at,
            # ids other systems gave them (an import's Record ID, an integration's customer id)
            "external_ids": ids_of(session, entity_type="contact", entity_ids=[contact_id]).get(
                contact_id, []
            ),
        },
        "consent": {
            "opted_out_of_follow_ups": contact.opted_out,
            "changed_at": contact.consent_changed_at,
            "source": contact.consent_source,
        },
        "channel_identities": [
            {
                "channel": i.channel,
                "id": i.external_id,
                "display_name": i.display_name,
                "reachable": i.reachable,
                "since": i.created_at,
            }
            for i in _rows(session, ChannelIdentity, contact_id, col(ChannelIdentity.id))
        ],
        "conversations": [
            {
                "id": c.id,
                "channel": c.channel,
                "status": c.status,
                "topic": c.need,
                "topic_confidence": c.need_confidence,
                "opened_at": c.opened_at,
                "closed_at": c.closed_at,
                "satisfaction": c.satisfaction,
            }
            for c in _rows(session, Conversation, contact_id, col(Conversation.opened_at))
        ],
        "messages": [
            {
                "conversation_id": m.conversation_id,
                "direction": "from you" if m.direction == "inbound" else "to you",
                "written_by": "you"
                if m.direction == "inbound"
                else author(m.author_rep_id, "our automatic assistant"),
                "kind": m.kind,
                "need": m.need,
                "need_confidence": m.need_confidence,
                "need_set_by": ("our team" if m.need_corrected else "automatic")
                if m.need
                else None,
                "text": m.text,
                "file_id": m.file_id,
                "sent_at": m.sent_at,
                "earlier_versions": m.edits,
                "delivery": m.delivery if m.direction == "outbound" else None,
            }
            for m in messages
        ],
        # Internal notes are shown on purpose: they are data about the customer, and the
        # right of access covers them (the privacy line in /start says so).
        "notes_and_activities": [
            {
                "kind": a.kind,
                "text": a.text,
                "at": a.occurred_at,
                "written_by": author(a.rep_id, "recorded automatically"),
            }
            for a in _rows(session, Activity, contact_id, col(Activity.occurred_at))
        ],
        "deals": [
            {
                "title": d.title,
                "amount_minor": d.amount_minor,
                "currency": d.currency,
                "stage": d.stage,
                "status": d.status,
                "created_at": d.created_at,
            }
            for d in _rows(session, Deal, contact_id, col(Deal.created_at))
        ],
        "purchases": [
            {
                "at": p.purchased_at,
                "amount_minor": p.amount_minor,
                "currency": p.currency,
                "quantity": p.quantity,
                "reference": p.reference,
                "source": p.source,
            }
            for p in purchases.list_purchases(session, contact_id=contact_id, limit=None)
        ],
        "scheduled_messages": [
            {
                "text": f.text,
                "due_at": f.due_at,
                "status": f.status,
                "written_by": author(f.created_by_id, "our automatic assistant"),
            }
            for f in _rows(session, FollowUp, contact_id, col(FollowUp.due_at))
            if f.kind == FollowUpKind.CUSTOMER
        ],
    }
    return _plain(data)


@dataclass
class Erasure:
    """What an erasure did (``counts`` by kind) and the copies left for the caller:
    ``inbox_refs`` are the Slack posts ("channel:ts") to redact; ``corrections`` > 0 means
    the need model learnt from their words and must be retrained or dropped."""

    counts: dict[str, int] = field(default_factory=dict)
    inbox_refs: list[str] = field(default_factory=list)

    @property
    def corrections(self) -> int:
        return self.counts.get("corrections", 0)

    def get(self, key: str, default: int = 0) -> int:
        return self.counts.get(key, default)


def _merged_into(session: Session, contact_id: int) -> list[dict[str, Any]]:
    """Snapshots of contacts earlier merged into this one (their audit rows name them)."""
    rows = session.exec(
        select(AuditLog).where(
            col(AuditLog.action) == "contact.merge",
            col(AuditLog.entity_type) == "contact",
            col(AuditLog.entity_id) == contact_id,
        )
    ).all()
    sources = [(r.before or {}).get("source") for r in rows]
    return [source for source in sources if isinstance(source, dict)]


def _personal_terms(
    session: Session, contact: Contact, identities: list[ChannelIdentity], merged: list[dict]
) -> list[str]:
    contact_id = id_of(contact)
    points = points_of(session, contact_id)
    messages = _rows(session, Message, contact_id, col(Message.id))
    names = [contact.name, *(i.display_name for i in identities), *(m.get("name") for m in merged)]
    ids = [i.external_id for i in identities]
    ids += [c.chat_id for c in _rows(session, Conversation, contact_id, col(Conversation.id))]
    addresses = [*points.emails, *points.phones]
    for m in merged:
        addresses += [*(m.get("emails") or []), *(m.get("phones") or [])]
    addresses += [f for p in addresses if str(p).startswith("+") for f in phone_formats(str(p))]
    texts = [m.text for m in messages if m.direction == "inbound"]
    texts += [e.get("text") for m in messages for e in (m.edits or []) if isinstance(e, dict)]
    addresses += [found for text in texts if text for found in contacts_in_text(text)]
    handles = [f"@{n}" for n in names if n and " " not in n]
    return terms_of([*names, *handles, *ids, *map(str, addresses)], texts)


def erase_contact(session: Session, *, actor: Actor, contact_id: int, now: datetime) -> Erasure:
    """Deletes the contact's personal data and messages, and scrubs every copy of it."""
    contact = get_contact(session, contact_id)
    identities = _rows(session, ChannelIdentity, contact_id, col(ChannelIdentity.id))
    conversations = _rows(session, Conversation, contact_id, col(Conversation.id))
    conversation_ids = [c.id for c in conversations]
    message_ids = [m.id for m in _rows(session, Message, contact_id, col(Message.id))]
    purchase_ids = [
        p.id for p in _rows(session, purchases.Purchase, contact_id, col(purchases.Purchase.id))
    ]
    merged = _merged_into(session, contact_id)
    terms = _personal_terms(session, contact, identities, merged)
    result = Erasure(inbox_refs=[c.inbox_ref for c in conversations if c.inbox_ref])
    counts = result.counts

    def wipe(name: str, statement: UpdateBase) -> None:
        counts[name] = session.exec(statement).rowcount or 0

    if message_ids:
        wipe(
            "corrections",
            delete(NeedCorrection).where(col(NeedCorrection.message_id).in_(message_ids)),
        )
    wipe("messages", delete(Message).where(col(Message.contact_id) == contact_id))
    wipe("conversations", delete(Conversation).where(col(Conversation.contact_id) == contact_id))
    activity_ids = [a.id for a in _rows(session, Activity, contact_id, col(Activity.id))]
    forget(session, entity_type="activity", entity_ids=activity_ids)
    wipe("activities", delete(Activity).where(col(Activity.contact_id) == contact_id))
    wipe("follow_ups", delete(FollowUp).where(col(FollowUp.contact_id) == contact_id))
    wipe("contact_points", delete(ContactPoint).where(col(ContactPoint.contact_id) == contact_id))
    for identity in identities:
        session.execute(
            delete(ChatState).where(
                col(ChatState.channel) == identity.channel,
                col(ChatState.chat_id) == identity.external_id,
            )
        )
    counts["external_ids"] = forget(session, entity_type="contact", entity_ids=[contact_id])
    wipe("identities", delete(ChannelIdentity).where(col(ChannelIdentity.contact_id) == contact_id))
    wipe(
        "deals_unlinked",
        update(Deal).where(col(Deal.contact_id) == contact_id).values(contact_id=None),
    )
    counts["purchases_anonymised"] = purchases.anonymise_for_contact(session, contact_id=contact_id)
    merged_ids = [int(m["id"]) for m in merged if isinstance(m.get("id"), int)]
    counts["audit_rows_scrubbed"] = sum(
        _scrub_audit(
            session,
            about,
            conversation_ids if about == contact_id else [],
            message_ids,
            purchase_ids if about == contact_id else [],
        )
        for about in [contact_id, *merged_ids]
    )
    session.expire(contact)
    session.execute(delete(Contact).where(col(Contact.id) == contact_id))
    session.flush()
    counts["copies_scrubbed"] = scrub_everywhere(session, terms)
    audit.record(
        session,
        actor=Actor(kind=actor.kind, id=actor.id, channel=actor.channel),  # no external id
        action="contact.erase",
        entity_type="contact",
        entity_id=contact_id,
        at=now,
        after={"erased": counts, "on_request_via": actor.channel},
    )
    return result


def _scrub_audit(
    session: Session,
    contact_id: int,
    conversation_ids: list[int],
    message_ids: list[int],
    purchase_ids: list[int],
) -> int:
    """Audit rows keep what happened, but no longer who it was or what they said."""
    about = [
        (col(AuditLog.entity_type) == "contact") & (col(AuditLog.entity_id) == contact_id),
        col(AuditLog.actor) == f"customer:{contact_id}",
        col(AuditLog.actor).startswith(f"customer:{contact_id}/"),
    ]
    if conversation_ids:
        about.append(
            (col(AuditLog.entity_type) == "conversation")
            & col(AuditLog.entity_id).in_(conversation_ids)
        )
    if message_ids:
        about.append(
            (col(AuditLog.entity_type) == "message") & col(AuditLog.entity_id).in_(message_ids)
        )
    if purchase_ids:
        about.append(
            (col(AuditLog.entity_type) == "purchase") & col(AuditLog.entity_id).in_(purchase_ids)
        )
    rows = session.exec(select(AuditLog).where(or_(*about))).all()
    for row in rows:
        row.before = {"erased": True} if row.before is not None else None
        row.after = {"erased": True} if row.after is not None else None
        if row.actor.startswith(f"customer:{contact_id}/"):
            row.actor = f"customer:{contact_id}"
        session.add(row)
    return len(rows)
