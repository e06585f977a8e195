"""Webhooks: subscriptions, the event pump, and the delivery outbox's claim writes.

Events are read from what Rapport already records for every change: the audit log
(contact.created, deal.won, ...) and inbound customer messages (message.received).
So a change made in Slack, the shell or the API is announced the same way, and no
service has to remember to emit anything. The pump turns new rows into one
`WebhookEvent` each (unique per source row) and one `WebhookDelivery` per matching
subscription (unique per pair); workers claim deliveries with FOR UPDATE SKIP LOCKED
and a lease, as crm/claims.py does for follow-ups, so a killed worker's claim is
taken over when its lease runs out.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, and_, col, or_, select

from crm import audit, followups
from crm.actors import SYSTEM, Actor, require_admin
from crm.errors import Conflict, Invalid, NotFound
from crm.ids import id_of, row_of
from crm.models import AuditLog, Message, Rep
from crm.webhook_models import WebhookCursor, WebhookDelivery, WebhookEvent, WebhookSubscription

# audit action -> event type; deal.stage/won/lost keep their own names.
AUDIT_EVENTS = {
    "contact.create": "contact.created",
    "contact.update": "contact.updated",
    "contact.tag": "contact.updated",
    "contact.consent": "contact.updated",
    "contact.delete": "contact.deleted",
    "contact.erase": "contact.deleted",
    "contact.merge": "contact.merged",
    "company.create": "company.created",
    "company.update": "company.updated",
    "company.delete": "company.deleted",
    "deal.create": "deal.created",
    "deal.update": "deal.updated",
    "deal.stage": "deal.stage_changed",
    "deal.won": "deal.won",
    "deal.lost": "deal.lost",
    "deal.delete": "deal.deleted",
    "activity.create": "activity.created",
    "activity.update": "activity.updated",
    "activity.delete": "activity.deleted",
    "purchase.create": "purchase.created",  # a sale: `sold`, a won deal, the API, an import
    "purchase.update": "purchase.updated",
    "purchase.delete": "purchase.deleted",
    "followup.create": "followup.created",
    "followup.update": "followup.updated",
    "followup.cancel": "followup.cancelled",
    "message.send": "message.sent",
    "conversation.assign": "conversation.assigned",
    "conversation.close": "conversation.closed",
}
EVENT_TYPES = tuple(sorted(set(AUDIT_EVENTS.values()) | {"message.received"}))
LOOKBACK = 200  # ids re-read each pump: a transaction may commit after a later one
MAX_ATTEMPTS = 8
PAUSE_AFTER = 10  # consecutive failed attempts before a subscription is paused
MAX_BACKOFF = 3600.0


def backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s, ... capped at an hour."""
    return timedelta(seconds=min(MAX_BACKOFF, 10.0 * 2 ** max(0, attempts - 1)))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=<hex>` of HMAC-SHA256 over `<timestamp>.<body>` (Stripe's scheme)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def check_events(events: list[str]) -> list[str]:
    clean = list(dict.fromkeys(e.strip().lower() for e in events if e.strip()))
    if not clean:
        raise Invalid("events", f"Name at least one event: {', '.join(EVENT_TYPES)}.")
    unknown = [e for e in clean if e != "*" and e not in EVENT_TYPES]
    if unknown:
        raise Invalid(
            "events", f"Unknown events {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}."
        )
    return clean


def check_url(url: str) -> str:
    parsed = urlparse(url.strip())
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise Invalid("url", "A webhook URL starts with https:// (or http://) and names a host.")
    return url.strip()


def _max_id(session: Session, column: Any) -> int:
    return int(session.exec(select(func.coalesce(func.max(column), 0))).one())


def subscribe(
    session: Session, *, actor: Actor, url: str, events: list[str], now: datetime
) -> WebhookSubscription:
    """Admins only. Only changes after this moment are sent."""
    require_admin(actor, "add webhooks")
    row = WebhookSubscription(
        url=check_url(url),
        events=check_events(events),
        secret="whsec_" + secrets.token_urlsafe(24),
        audit_after=_max_id(session, AuditLog.id),
        message_after=_max_id(session, Message.id),
        created_by=actor.label,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="webhook.create",
        entity_type="webhook",
        entity_id=row.id,
        at=now,
        after={"url": row.url, "events": row.events},
    )
    return row


def get_subscription(session: Session, subscription_id: int) -> WebhookSubscription:
    row = session.get(WebhookSubscription, subscription_id)
    if row is None:
        raise NotFound(f"There is no webhook #{subscription_id}.")
    return row


def set_active(
    session: Session, *, actor: Actor, subscription_id: int, active: bool, now: datetime
) -> WebhookSubscription:
    """Resume (or pause) by hand; resuming clears the failure count."""
    require_admin(actor, "change webhooks")
    row = get_subscription(session, subscription_id)
    row.active = active
    row.paused_reason = None if active else "paused by an admin"
    row.consecutive_failures = 0
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="webhook.resume" if active else "webhook.pause",
        entity_type="webhook",
        entity_id=row.id,
        at=now,
    )
    return row


def remove(session: Session, *, actor: Actor, subscription_id: int, now: datetime) -> None:
    require_admin(actor, "remove webhooks")
    row = get_subscription(session, subscription_id)
    session.delete(row)
    audit.record(
        session,
        actor=actor,
        action="webhook.delete",
        entity_type="webhook",
        entity_id=subscription_id,
        at=now,
    )


def list_subscriptions(session: Session) -> list[WebhookSubscription]:
    return list(session.exec(select(WebhookSubscription).order_by(col(WebhookSubscription.id))))


def _wants(sub: WebhookSubscription, event_type: str) -> bool:
    return "*" in sub.events or event_type in sub.events


def _cursor(session: Session, source: str) -> WebhookCursor:
    """The source's cursor row, locked so two pumps take turns (PostgreSQL)."""
    row = session.exec(
        select(WebhookCursor).where(WebhookCursor.source == source).with_for_update()
    ).first()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            session.add(WebhookCursor(source=source, last_id=0))
            session.flush()
    except IntegrityError:
        pass
    return session.exec(
        select(WebhookCursor).where(WebhookCursor.source == source).with_for_update()
    ).one()


def _audit_payload(row: AuditLog) -> dict[str, Any]:
    return {
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "action": row.action,
        "actor": row.actor,
        "channel": row.channel,
        "before": row.before,
        "after": row.after,
    }


def _message_payload(row: Message) -> dict[str, Any]:
    return {
        "entity_type": "message",
        "entity_id": row.id,
        "message_id": row.id,
        "conversation_id": row.conversation_id,
        "contact_id": row.contact_id,
        "channel": row.channel,
        "kind": row.kind,
        "text": row.text,
        "need": row.need,
    }


def _rows(
    session: Session, source: str, after: int, batch: int
) -> list[tuple[int, str, Any, datetime]]:
    """(source id, event type, payload, when) of rows after `after`, oldest first."""
    out: list[tuple[int, str, Any, datetime]] = []
    if source == "audit":
        audit_rows = session.exec(
            select(AuditLog)
            .where(col(AuditLog.id) > after, col(AuditLog.action).in_(list(AUDIT_EVENTS)))
            .order_by(col(AuditLog.id))
            .limit(batch)
        ).all()
        for entry in audit_rows:
            out.append((id_of(entry), AUDIT_EVENTS[entry.action], _audit_payload(entry), entry.at))
    else:
        messages = session.exec(
            select(Message)
            .where(col(Message.id) > after, col(Message.direction) == "inbound")
            .order_by(col(Message.id))
            .limit(batch)
        ).all()
        for message in messages:
            out.append(
                (id_of(message), "message.received", _message_payload(message), message.created_at)
            )
    return out


def pump(session: Session, *, now: datetime, batch: int = 500) -> int:
    """Turns new audit rows and inbound messages into deliveries; returns how many.

    Paused subscriptions get their deliveries too (claim() skips them), so resuming one
    sends what happened while it was paused instead of losing it."""
    subs = list_subscriptions(session)
    if not subs:
        return 0
    created = 0
    for source, floor_attr in (("audit", "audit_after"), ("message", "message_after")):
        cursor = _cursor(session, source)
        floor = min(getattr(s, floor_attr) for s in subs)
        start = max(cursor.last_id - LOOKBACK, floor)
        rows = _rows(session, source, start, batch)
        if not rows:
            continue
        ids = [r[0] for r in rows]
        known = {
            e.source_id: e
            for e in session.exec(
                select(WebhookEvent).where(
                    WebhookEvent.source == source, col(WebhookEvent.source_id).in_(ids)
                )
            )
        }
        for source_id, event_type, payload, when in rows:
            targets = [
                s for s in subs if _wants(s, event_type) and source_id > getattr(s, floor_attr)
            ]
            if not targets:
                continue
            event = known.get(source_id)
            if event is None:
                event = WebhookEvent(
                    source=source,
                    source_id=source_id,
                    event_type=event_type,
                    payload=payload,
                    occurred_at=when,
                )
                session.add(event)
                session.flush()
            created += _add_deliveries(session, event, targets, now)
        cursor.last_id = max(cursor.last_id, ids[-1])
        session.add(cursor)
    return created


def _add_deliveries(
    session: Session, event: WebhookEvent, targets: list[WebhookSubscription], now: datetime
) -> int:
    have = set(
        session.exec(
            select(WebhookDelivery.subscription_id).where(WebhookDelivery.event_id == event.id)
        )
    )
    added = 0
    for sub in targets:
        if sub.id in have:
            continue
        session.add(
            WebhookDelivery(
                event_id=id_of(event),
                subscription_id=id_of(sub),
                next_attempt_at=now,
                created_at=now,
            )
        )
        added += 1
    session.flush()
    return added


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    attempt: int
    url: str
    secret: str
    event_type: str
    body: dict[str, Any]


def claim(
    session: Session, *, worker: str, now: datetime, lease: timedelta, limit: int = 20
) -> list[Claimed]:
    """Due deliveries of active subscriptions, plus claims whose lease ran out."""
    due = or_(
        and_(WebhookDelivery.status == "pending", col(WebhookDelivery.next_attempt_at) <= now),
        and_(WebhookDelivery.status == "claimed", col(WebhookDelivery.lease_until) < now),
    )
    rows = session.exec(
        select(WebhookDelivery)
        .join(WebhookSubscription, col(WebhookSubscription.id) == WebhookDelivery.subscription_id)
        .where(due, col(WebhookSubscription.active))
        .order_by(col(WebhookDelivery.id))
        .limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    ).all()
    out: list[Claimed] = []
    for row in rows:
        row.status, row.claimed_by, row.lease_until = "claimed", worker, now + lease
        row.attempts += 1
        session.add(row)
        event = row_of(session, WebhookEvent, row.event_id)
        sub = row_of(session, WebhookSubscription, row.subscription_id)
        body = {
            "id": f"evt_{event.id}",
            "type": event.event_type,
            "occurred_at": event.occurred_at.isoformat(),
            "data": event.payload,
        }
        out.append(Claimed(id_of(row), row.attempts, sub.url, sub.secret, event.event_type, body))
    return out


def finish(
    session: Session,
    *,
    delivery_id: int,
    worker: str,
    now: datetime,
    ok: bool,
    status: int | None = None,
    error: str | None = None,
) -> str:
    """Records an attempt's outcome if this worker still holds the claim; returns the
    new status ("lost" when another worker took the claim over after the lease)."""
    row = session.exec(
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update()
    ).first()
    if row is None or row.status != "claimed" or row.claimed_by != worker:
        return "lost"
    sub = row_of(session, WebhookSubscription, row.subscription_id)
    row.last_status, row.last_error = status, (error or None) and error[:500]
    row.claimed_by, row.lease_until = None, None
    if ok:
        row.status, row.delivered_at = "delivered", now
        sub.consecutive_failures = 0
    else:
        row.status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
        row.next_attempt_at = now + backoff(row.attempts)
        sub.consecutive_failures += 1
        if sub.active and sub.consecutive_failures >= PAUSE_AFTER:
            _pause(session, sub, now, error or f"HTTP {status}")
    session.add(row)
    session.add(sub)
    return row.status


def _pause(session: Session, sub: WebhookSubscription, now: datetime, reason: str) -> None:
    """Stops sending to a receiver that keeps failing and tells every admin once."""
    sub.active = False
    sub.paused_reason = f"{sub.consecutive_failures} failures in a row; last: {reason}"[:300]
    audit.record(
        session,
        actor=SYSTEM,
        action="webhook.pause",
        entity_type="webhook",
        entity_id=sub.id,
        at=now,
        after={"reason": sub.paused_reason},
    )
    admins = session.exec(select(Rep).where(Rep.role == "admin", col(Rep.active))).all()
    for admin in admins:
        try:
            followups.schedule(
                session,
                actor=SYSTEM,
                kind="notice",
                due_at=now,
                now=now,
                rep_id=admin.id,
                text=(
                    f"Webhook #{sub.id} to {sub.url[:100]} is paused: {sub.paused_reason}. "
                    f"Fix the receiver, then `rapport webhooks resume {sub.id}`."
                ),
                dedupe_key=f"webhook-paused:{sub.id}:{admin.id}:{now.isoformat()}",
            )
        except (Conflict, Invalid):
            continue


def deliveries(
    session: Session, *, subscription_id: int | None = None, limit: int = 50
) -> list[tuple[WebhookDelivery, WebhookEvent]]:
    statement = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, col(WebhookEvent.id) == WebhookDelivery.event_id)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(limit)
    )
    if subscription_id is not None:
        statement = statement.where(WebhookDelivery.subscription_id == subscription_id)
    return list(session.exec(statement).all())
