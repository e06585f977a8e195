"""Follow-ups and reminders: the outbox the scheduler drains.

The database is the only copy of a follow-up. A worker *claims* due rows with a
single conditional UPDATE ... RETURNING (atomic on SQLite and PostgreSQL; on
PostgreSQL the candidate rows are picked with FOR UPDATE SKIP LOCKED so
workers do not queue behind each other), holds a lease while sending, and then
marks the row sent or failed. A lease that expires (a worker died) makes the
row claimable again. Leases live on the database's clock, and each claim carries
a fencing token (`claim_token`) that every outcome write must match.
"""

import secrets
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm import audit
from crm.actors import Actor, require_rep
from crm.db import db_now
from crm.enums import ActorKind, FollowUpKind, FollowUpStatus
from crm.errors import Conflict, Forbidden, Invalid, NotFound
from crm.models import Contact, FollowUp, snapshot

MAX_TEXT = 4000
OPEN_STATES = (FollowUpStatus.PENDING, FollowUpStatus.CLAIMED)


def _clean_text(text: str) -> str:
    body = text.strip()
    if not body:
        raise Invalid("text", "What should the message say?")
    if len(body) > MAX_TEXT:
        raise Invalid("text", f"That message is over {MAX_TEXT:,} characters.")
    return body


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
    body = _clean_text(text)
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


def _pending(session: Session, actor: Actor, followup_id: int, done: str) -> FollowUp:
    """The actor's follow-up while it is still pending; one being sent, or already sent,
    failed, done or cancelled, is history, not a plan (Conflict on `status`)."""
    followup = _owned(session, actor, followup_id)
    if followup.status != FollowUpStatus.PENDING:
        raise Conflict(
            f"Follow-up {followup_id} is {followup.status}; only a pending one can be {done}.",
            field="status",
        )
    return followup


def edit_followup(
    session: Session,
    *,
    actor: Actor,
    followup_id: int,
    now: datetime,
    due_at: datetime | None = None,
    text: str | None = None,
) -> FollowUp:
    """Changes a pending follow-up's time or text, with `schedule`'s checks; audited
    `followup.update` so `undo` puts them back. One being sent, or already sent, failed,
    done or cancelled is refused (Conflict on `status`): it is history, not a plan."""
    followup = _pending(session, actor, followup_id, "changed")
    fields: dict[str, object] = {}
    if text is not None:
        fields["text"] = _clean_text(text)
    if due_at is not None:
        if due_at.tzinfo is None:
            raise Invalid("due_at", "The time needs a time zone.")
        fields.update(due_at=due_at, late=False)
    return _change(session, actor, followup, "followup.update", now, **fields)


def cancel_pending(session: Session, *, actor: Actor, followup_id: int, now: datetime) -> FollowUp:
    """`cancel`, but only before a worker has claimed it, and a clash is a Conflict (the
    API's DELETE: one being sent, sent or cancelled is a 409 with the reason), so what it
    cancels is certainly never sent. The row is kept, status cancelled."""
    _pending(session, actor, followup_id, "cancelled")
    return cancel(session, actor=actor, followup_id=followup_id, now=now)


def list_followups(
    session: Session, *, rep_id: int | None, now: datetime, limit: int = 25
) -> list[FollowUp]:
    """Open ones first (soonest due), then the latest sent/failed ones."""
    statement = select(FollowUp).order_by(col(FollowUp.due_at))
    if rep_id is not None:
        statement = statement.where(
            or_(col(FollowUp.rep_id) == rep_id, col(FollowUp.created_by_id) == rep_id)
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
    session: Session,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int = 50,
    token: str | None = None,
) -> list[FollowUp]:
    """Atomically takes up to `limit` due follow-ups for `worker`.

    Due means pending and due (on `now`, the caller's clock: when to send is the app's
    time), or claimed by a worker whose lease ran out. Leases are set and compared on the
    database's clock (`db_now`), so a worker whose clock runs ahead cannot take over rows
    another worker is still sending. Every claim writes a fresh random `claim_token`
    (one per claim statement; with the row's id it names this claim of this row): the
    outcome is recorded only under that token, so a worker whose claim was taken over
    can no longer write anything (a fencing token).
    """
    server_now = db_now(session)
    token = token or secrets.token_hex(16)
    claimable = or_(
        and_(col(FollowUp.status) == FollowUpStatus.PENDING, col(FollowUp.due_at) <= now),
        and_(
            col(FollowUp.status) == FollowUpStatus.CLAIMED, col(FollowUp.lease_until) < server_now
        ),
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
            claim_token=token,
            lease_until=server_now + lease,
            attempts=FollowUp.attempts + 1,
            updated_at=now,
        )
        .returning(col(FollowUp.id))
    )
    ids = [row[0] for row in session.execute(statement)]
    if not ids:
        return []
    rows = session.exec(
        select(FollowUp).where(col(FollowUp.id).in_(ids)).execution_options(populate_existing=True)
    ).all()
    return sorted(rows, key=lambda f: f.due_at)


def held_by(followup_id: int, worker: str, token: str | None) -> tuple[ColumnElement[bool], ...]:
    """The WHERE clause of every outcome write: this row, still claimed, under this claim."""
    return (
        col(FollowUp.id) == followup_id,
        col(FollowUp.claimed_by) == worker,
        col(FollowUp.claim_token) == token,
        col(FollowUp.status) == FollowUpStatus.CLAIMED,
    )


def finish(
    session: Session,
    *,
    followup_id: int,
    worker: str,
    token: str | None,
    now: datetime,
    sent: bool,
    error: str | None = None,
    retry_at: datetime | None = None,
    late: bool = False,
) -> FollowUp | None:
    """Records a send's outcome, only if `worker` still holds this claim (`token`).

    One conditional UPDATE ... WHERE id AND claim_token AND status='claimed': a worker
    whose claim was taken over (its token replaced) changes nothing and gets None.
    The token stays on the row after the outcome (the next claim replaces it), so a
    retry after a commit whose answer was lost can see its own write.
    """
    values: dict[str, object] = {
        "claimed_by": None,
        "lease_until": None,
        "updated_at": now,
    }
    if late:
        values["late"] = True
    if sent:
        values.update(status=FollowUpStatus.SENT, sent_at=now, last_error=None)
    elif retry_at is not None:
        values.update(status=FollowUpStatus.PENDING, due_at=retry_at, last_error=error)
    else:
        values.update(status=FollowUpStatus.FAILED, last_error=(error or "failed")[:500])
    result = session.execute(
        update(FollowUp)
        .where(*held_by(followup_id, worker, token))
        .values(**values)
        .returning(col(FollowUp.id)),
        execution_options={"synchronize_session": False},
    )
    if result.first() is None:
        return None
    return session.exec(
        select(FollowUp).where(FollowUp.id == followup_id).execution_options(populate_existing=True)
    ).one()


def release_claims(session: Session, *, workers: list[str], now: datetime) -> int:
    """Makes rows claimed by the given (dead) workers claimable at once, instead of
    after their lease; a restarted process uses it for its own machine's dead pids."""
    if not workers:
        return 0
    result = session.exec(
        update(FollowUp)
        .where(
            col(FollowUp.status) == FollowUpStatus.CLAIMED, col(FollowUp.claimed_by).in_(workers)
        )
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
