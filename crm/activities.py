"""Activities (calls, meetings, emails, notes) and the contact timeline."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from crm import audit, purchases
from crm.actors import Actor, require_rep
from crm.contacts import get_contact
from crm.enums import ActivityKind
from crm.errors import Forbidden, Invalid, NotFound
from crm.ids import id_of
from crm.models import Activity, Message, snapshot
from crm.repeats import REPEAT_WINDOW, same_words

MAX_TEXT = 10_000


def _check_kind(kind: str) -> None:
    if kind not in set(ActivityKind):
        raise Invalid("kind", f"'{kind[:20]}' is not an activity; use {', '.join(ActivityKind)}.")


def _clean_text(text: str, when_empty: str) -> str:
    body = text.strip()
    if not body:
        raise Invalid("text", when_empty)
    if len(body) > MAX_TEXT:
        raise Invalid("text", f"That note is over {MAX_TEXT:,} characters; split it up.")
    return body


def recent_repeat(
    session: Session, *, contact_id: int, kind: str, text: str, rep_id: int | None, now: datetime
) -> Activity | None:
    """The same rep's identical entry (kind and text, case and spacing aside) on this contact
    within REPEAT_WINDOW: a line sent twice, which the rep is asked about rather than given
    a doubled timeline."""
    rows = session.exec(
        select(Activity)
        .where(
            Activity.contact_id == contact_id,
            Activity.kind == ActivityKind(kind),
            Activity.rep_id == rep_id,
            col(Activity.created_at) >= now - REPEAT_WINDOW,
        )
        .order_by(col(Activity.id).desc())
    )
    return next((a for a in rows if same_words(a.text, text)), None)


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
    _check_kind(kind)
    body = _clean_text(text, "Say what happened, e.g. `note jane: prefers email`.")
    contact = get_contact(session, contact_id)
    activity = Activity(
        contact_id=id_of(contact),
        deal_id=deal_id,
        rep_id=actor.id if actor.kind == "rep" else None,
        kind=ActivityKind(kind),
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


def get_activity(session: Session, activity_id: int) -> Activity:
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise NotFound(f"There is no activity #{activity_id}.")
    return activity


def _editable(session: Session, actor: Actor, activity_id: int) -> Activity:
    """The activity, if `actor` logged it (or nobody did) or is an admin: a rep's notes
    are theirs to correct, as a rep's deals and purchases are."""
    require_rep(actor)
    activity = get_activity(session, activity_id)
    if not actor.is_admin and activity.rep_id not in (None, actor.id):
        raise Forbidden(f"Activity #{activity_id} was logged by someone else; ask an admin.")
    return activity


def edit_activity(
    session: Session,
    *,
    actor: Actor,
    activity_id: int,
    now: datetime,
    kind: str | None = None,
    text: str | None = None,
    occurred_at: datetime | None = None,
) -> Activity:
    """Corrects an activity's kind, text or time with the checks `log_activity` makes;
    audited `activity.update` so `undo` puts the old values back."""
    activity = _editable(session, actor, activity_id)
    before = snapshot(activity)
    if kind is not None:
        _check_kind(kind)
        activity.kind = ActivityKind(kind)
    if text is not None:
        activity.text = _clean_text(text, "Say what happened; an activity's text cannot be empty.")
    if occurred_at is not None:
        if occurred_at.tzinfo is None:
            raise Invalid("occurred_at", "The time needs a time zone.")
        activity.occurred_at = occurred_at
        contact = get_contact(session, activity.contact_id)
        contact.last_activity_at = max(filter(None, [contact.last_activity_at, occurred_at]))
        session.add(contact)
    after = snapshot(activity)
    if after != before:
        session.add(activity)
        audit.record(
            session,
            actor=actor,
            action="activity.update",
            entity_type="activity",
            entity_id=activity.id,
            at=now,
            before=before,
            after=after,
        )
        session.flush()
    return activity


def delete_activity(session: Session, *, actor: Actor, activity_id: int, now: datetime) -> Activity:
    """Removes an activity logged by mistake; the audit row (`activity.delete`) keeps it
    whole, so `undo` re-creates it under the same id."""
    activity = _editable(session, actor, activity_id)
    before = snapshot(activity)
    session.delete(activity)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="activity.delete",
        entity_type="activity",
        entity_id=activity_id,
        at=now,
        before=before,
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
