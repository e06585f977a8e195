"""Activities (calls, meetings, emails, notes) and the contact timeline."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from crm import audit, purchases
from crm.actors import Actor, require_rep
from crm.contacts import get_contact
from crm.enums import ActivityKind
from crm.errors import Invalid
from crm.models import Activity, Message, snapshot

MAX_TEXT = 10_000


def log_activity(
    session: Session,
    *,
    actor: Actor,
    contact_id: int,
    kind: str,
    text: str,
    now: datetime,
    occurred_at: datetime | None = None,
    deal_id: int | None = None,
    source_url: str | None = None,
) -> Activity:
    require_rep(actor)
    if kind not in set(ActivityKind):
        raise Invalid("kind", f"'{kind}' is not an activity; use {', '.join(ActivityKind)}.")
    body = text.strip()
    if not body:
        raise Invalid("text", "Say what happened, e.g. `note jane: prefers email`.")
    if len(body) > MAX_TEXT:
        raise Invalid("text", f"That note is over {MAX_TEXT:,} characters; split it up.")
    contact = get_contact(session, contact_id)
    activity = Activity(
        contact_id=contact.id,
        deal_id=deal_id,
        rep_id=actor.id if actor.kind == "rep" else None,
        kind=kind,
        text=body,
        source_url=source_url,
        occurred_at=occurred_at or now,
        created_at=now,
    )
    session.add(activity)
    contact.last_activity_at = max(filter(None, [contact.last_activity_at, activity.occurred_at]))
    session.add(contact)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="activity.create",
        entity_type="activity",
        entity_id=activity.id,
        at=now,
        after=snapshot(activity),
    )
    return activity


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a contact's history: an activity or a customer message."""

    at: datetime
    kind: str  # activity kind, or "inbound"/"outbound" for messages
    text: str
    need: str | None = None
    need_confidence: float | None = None
    ref: str = ""  # "activity:12" or "message:40"


def timeline(session: Session, *, contact_id: int, limit: int = 5) -> list[TimelineEntry]:
    """Newest first, activities, messages and purchases interleaved."""
    activities = session.exec(
        select(Activity)
        .where(Activity.contact_id == contact_id)
        .order_by(col(Activity.occurred_at).desc())
        .limit(limit)
    ).all()
    messages = session.exec(
        select(Message)
        .where(Message.contact_id == contact_id)
        .order_by(col(Message.sent_at).desc())
        .limit(limit)
    ).all()
    entries = [
        TimelineEntry(a.occurred_at, a.kind, a.text, ref=f"activity:{a.id}") for a in activities
    ] + [
        TimelineEntry(
            m.sent_at,
            m.direction,
            m.text or f"[{m.kind}]",
            m.need,
            m.need_confidence,
            ref=f"message:{m.id}",
        )
        for m in messages
    ]
    entries += [
        TimelineEntry(p.at, "purchase", p.text, ref=p.ref)
        for p in purchases.timeline_lines(session, contact_id=contact_id, limit=limit)
    ]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
