"""Follow-ups and reminders: the outbox the scheduler drains.

The database is the only copy of a follow-up. A worker *claims* due rows with a
single conditional UPDATE ... RETURNING (atomic on SQLite and PostgreSQL; on
PostgreSQL the candidate rows are picked with FOR UPDATE SKIP LOCKED so
workers do not queue behind each other), holds a lease while sending, and then
marks the row sent or failed. A lease that expires (a worker died) makes the
row claimable again.
"""

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm import audit
from crm.actors import Actor, require_rep
from crm.enums import ActorKind, FollowUpKind, FollowUpStatus
from crm.errors import Conflict, Forbidden, Invalid, NotFound
from crm.models import Contact, FollowUp, snapshot

MAX_TEXT = 4000
OPEN_STATES = (FollowUpStatus.PENDING, FollowUpStatus.CLAIMED)


def schedule(
    session: Session,
    *,
    actor: Actor,
    kind: FollowUpKind | str,
    due_at: datetime,
    text: str,
    now: datetime,
    rep_id: int | None = None,
    contact_id: int | None = None,
    channel: str | None = None,
    dedupe_key: str | None = None,
    stop_on_reply: bool = True,
) -> FollowUp:
    """Adds a follow-up. Scheduling the same dedupe key twice raises Conflict (a no-op)."""
    body = text.strip()
    if not body:
        raise Invalid("text", "What should the message say?")
    if len(body) > MAX_TEXT:
        raise Invalid("text", f"That message is over {MAX_TEXT:,} characters.")
    if due_at.tzinfo is None:
        raise Invalid("when", "The time needs a time zone.")
    if rep_id is None and contact_id is None:
        raise Invalid("target", "A follow-up needs a rep or a contact to go to.")
    if kind not in set(FollowUpKind):
        raise Invalid("kind", f"'{kind}' is not a kind of follow-up.")
    kind = FollowUpKind(kind)
    if kind == FollowUpKind.CUSTOMER and contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is None:
            raise NotFound(f"There is no contact #{contact_id}.")
        if contact.opted_out:
            raise Invalid(
                "consent", f"{contact.name} opted out of follow-ups; message them only in replies."
            )
    followup = FollowUp(
        kind=kind,
        due_at=due_at,
        rep_id=rep_id,
        contact_id=contact_id,
        channel=channel,
        text=body,
        dedupe_key=dedupe_key,
        stop_on_reply=stop_on_reply,
        created_by_id=actor.id if actor.kind == ActorKind.REP else None,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(followup)
            session.flush()
    except IntegrityError:
        existing = session.exec(select(FollowUp).where(FollowUp.dedupe_key == dedupe_key)).first()
        raise Conflict("That follow-up is already scheduled.", existing) from None
    audit.record(
        session,
        actor=actor,
        action="followup.create",
        entity_type="followup",
        entity_id=followup.id,
        at=now,
        after=snapshot(followup),
    )
    return followup


def get_followup(session: Session, followup_id: int) -> FollowUp:
    followup = session.get(FollowUp, followup_id)
    if followup is None:
        raise NotFound(f"There is no follow-up {followup_id}. See `followups`.")
    return followup


def _owned(session: Session, actor: Actor, followup_id: int) -> FollowUp:
    require_rep(actor)
    followup = get_followup(session, followup_id)
    mine = actor.id in (followup.rep_id, followup.created_by_id)
    if not (mine or actor.is_admin):
        raise Forbidden(f"Follow-up {followup_id} belongs to someone else.")
    return followup


def _change(
    session: Session, actor: Actor, followup: FollowUp, action: str, now: datetime, **fields: object
) -> FollowUp:
    before = snapshot(followup)
    for key, value in fields.items():
        setattr(followup, key, value)
    followup.updated_at = now
    session.add(followup)
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="followup",
        entity_id=followup.id,
        at=now,
        before=before,
        after=snapshot(followup),
    )
    return followup


def complete(session: Session, *, actor: Actor, followup_id: int, now: datetime) -> FollowUp:
    followup = _owned(session, actor, followup_id)
    if followup.status in {FollowUpStatus.DONE, FollowUpStatus.CANCELLED}:
        raise Invalid("status", f"Follow-up {followup_id} is already {followup.status}.")
    return _change(session, actor, followup, "followup.done", now, status=FollowUpStatus.DONE)


def cancel(session: Session, *, actor: Actor, followup_id: int, now: datetime) -> FollowUp:
    followup = _owned(session, actor, followup_id)
    if followup.status not in OPEN_STATES:
        raise Invalid("status", f"Follow-up {followup_id} is {followup.status}; nothing to cancel.")
    return _change(
        session, actor, followup, "followup.cancel", now, status=FollowUpStatus.CANCELLED
    )


def snooze(
    session: Session, *, actor: Actor, followup_id: int, until: datetime, now: datetime
) -> FollowUp:
    followup = _owned(session, actor, followup_id)
    if followup.status in {FollowUpStatus.DONE, FollowUpStatus.CANCELLED}:
        raise Invalid("status", f"Follow-up {followup_id} is {followup.status}; nothing to snooze.")
    if until <= now:
        raise Invalid("when", "Snooze to a time in the future.")
    return _change(
        session,
        actor,
        followup,
        "followup.snooze",
        now,
        due_at=until,
        status=FollowUpStatus.PENDING,
        late=False,
        claimed_by=None,
        lease_until=None,
    )


def list_followups(
    session: Session, *, rep_id: int | None, now: datetime, limit: int = 25
) -> list[FollowUp]:
    """Open ones first (soonest due), then the latest sent/failed ones."""
    statement = select(FollowUp).order_by(col(FollowUp.due_at))
    if rep_id is not None:
        statement = statement.where(
            or_(FollowUp.rep_id == rep_id, FollowUp.created_by_id == rep_id)
        )
    open_rows = session.exec(
        statement.where(
            col(FollowUp.status).in_(
                (FollowUpStatus.PENDING, FollowUpStatus.CLAIMED, FollowUpStatus.SENT)
            )
        ).limit(limit)
    ).all()
    recent = session.exec(
        statement.where(
            col(FollowUp.status).in_((FollowUpStatus.FAILED,)),
            FollowUp.updated_at >= now - timedelta(days=7),
        ).limit(limit)
    ).all()
    return list(open_rows) + list(recent)


def cancel_on_reply(session: Session, *, contact_id: int, now: datetime) -> list[FollowUp]:
    """Stop-on-reply: a customer who writes in cancels their pending follow-ups."""
    rows = session.exec(
        select(FollowUp).where(
            FollowUp.contact_id == contact_id,
            FollowUp.kind == FollowUpKind.CUSTOMER,
            FollowUp.status == FollowUpStatus.PENDING,
            col(FollowUp.stop_on_reply).is_(True),
        )
    ).all()
    system = Actor(kind="system", id=None, name="stop-on-reply")
    return [
        _change(
            session,
            system,
            row,
            "followup.cancel",
            now,
            status=FollowUpStatus.CANCELLED,
            last_error="customer replied first",
        )
        for row in rows
    ]


def claim_due(
    session: Session, *, worker: str, now: datetime, lease: timedelta, limit: int = 50
) -> list[FollowUp]:
    """Atomically takes up to `limit` due follow-ups for `worker`.

    Due means pending and due, or claimed by a worker whose lease ran out.
    """
    claimable = or_(
        and_(FollowUp.status == FollowUpStatus.PENDING, FollowUp.due_at <= now),
        and_(FollowUp.status == FollowUpStatus.CLAIMED, FollowUp.lease_until < now),
    )
    candidates = select(FollowUp.id).where(claimable).order_by(col(FollowUp.due_at)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # A LIMIT subquery inside IN may be re-run by the planner and take more rows than
        # asked; a MATERIALIZED CTE is evaluated exactly once, and SKIP LOCKED lets workers
        # pass over rows another worker is claiming instead of queueing behind it.
        due = candidates.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        chosen = col(FollowUp.id).in_(select(due.c.id))
    else:
        chosen = col(FollowUp.id).in_(candidates.scalar_subquery())
    statement = (
        update(FollowUp)
        .where(chosen, claimable)
        .values(
            status=FollowUpStatus.CLAIMED,
            claimed_by=worker,
            lease_until=now + lease,
            attempts=FollowUp.attempts + 1,
            updated_at=now,
        )
        .returning(FollowUp.id)
    )
    ids = [row[0] for row in session.execute(statement)]
    if not ids:
        return []
    rows = session.exec(
        select(FollowUp).where(col(FollowUp.id).in_(ids)).execution_options(populate_existing=True)
    ).all()
    return sorted(rows, key=lambda f: f.due_at)


def finish(
    session: Session,
    *,
    followup_id: int,
    worker: str,
    now: datetime,
    sent: bool,
    error: str | None = None,
    retry_at: datetime | None = None,
    late: bool = False,
) -> FollowUp | None:
    """Records a send's outcome, only if `worker` still holds the claim."""
    followup = session.get(FollowUp, followup_id)
    if (
        followup is None
        or followup.claimed_by != worker
        or followup.status != FollowUpStatus.CLAIMED
    ):
        return None
    followup.claimed_by, followup.lease_until, followup.updated_at = None, None, now
    followup.late = followup.late or late
    if sent:
        followup.status, followup.sent_at, followup.last_error = FollowUpStatus.SENT, now, None
    elif retry_at is not None:
        followup.status, followup.due_at = FollowUpStatus.PENDING, retry_at
        followup.last_error = error
    else:
        followup.status, followup.last_error = FollowUpStatus.FAILED, (error or "failed")[:500]
    session.add(followup)
    return followup


def release_claims(session: Session, *, workers: list[str], now: datetime) -> int:
    """Makes rows claimed by the given (dead) workers claimable at once, instead of
    after their lease; a restarted process uses it for its own machine's dead pids."""
    if not workers:
        return 0
    result = session.execute(
        update(FollowUp)
        .where(FollowUp.status == FollowUpStatus.CLAIMED, col(FollowUp.claimed_by).in_(workers))
        .values(status=FollowUpStatus.PENDING, claimed_by=None, lease_until=None, updated_at=now)
    )
    return int(result.rowcount or 0)


def claim_holders(session: Session, *, prefix: str) -> list[str]:
    """Distinct workers whose name starts with `prefix` holding claims right now."""
    rows = session.exec(
        select(FollowUp.claimed_by)
        .where(
            FollowUp.status == FollowUpStatus.CLAIMED, col(FollowUp.claimed_by).startswith(prefix)
        )
        .distinct()
    ).all()
    return [row for row in rows if row]
