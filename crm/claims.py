"""Outbox state changes the sender needs beyond `crm.followups` (claim and finish).

Every change here is conditional on the caller still holding the claim
(`claimed_by = worker AND claim_token = token AND status = 'claimed'`), written
as one UPDATE, so a worker whose lease ran out and whose row another worker has
since claimed (a fresh token) can never overwrite that worker's outcome, even
when the same worker name claimed the row again.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from crm import followups
from crm.actors import SYSTEM
from crm.enums import FollowUpKind, FollowUpStatus
from crm.errors import Conflict, Invalid
from crm.models import Contact, FollowUp


def lock_claim(
    session: Session, *, followup_id: int, worker: str, token: str | None
) -> FollowUp | None:
    """The row, locked for this transaction, if `worker` still holds its claim.

    Locking first (FOR UPDATE on PostgreSQL) closes the gap between reading the
    claim and writing the outcome in which another worker could re-claim the row.
    """
    row = session.exec(
        select(FollowUp)
        .where(FollowUp.id == followup_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if (
        row is None
        or row.claimed_by != worker
        or row.claim_token != token
        or row.status != FollowUpStatus.CLAIMED
    ):
        return None
    return row


def mark_sent(
    session: Session,
    *,
    followup_ids: Sequence[int],
    worker: str,
    token: str | None,
    now: datetime,
    late_after: timedelta,
    already: bool = False,
) -> set[int]:
    """Records many deliveries of one claim in one statement; returns the ids recorded.

    The set-based twin of `followups.finish(sent=True)`, for the outbox's group
    commits: the claim check (worker, token, status) is in the WHERE clause, so an id
    missing from the result was re-claimed by another worker after this one's lease
    ran out. `already` (a retry after a commit whose answer was lost) also counts rows
    this claim had already marked sent: the token stays on a row until its next claim.
    """
    if not followup_ids:
        return set()
    ids = list(followup_ids)
    result = session.execute(
        update(FollowUp)
        .where(
            col(FollowUp.id).in_(ids),
            col(FollowUp.claimed_by) == worker,
            col(FollowUp.claim_token) == token,
            col(FollowUp.status) == FollowUpStatus.CLAIMED,
        )
        .values(
            status=FollowUpStatus.SENT,
            sent_at=now,
            claimed_by=None,
            lease_until=None,
            last_error=None,
            updated_at=now,
            late=or_(col(FollowUp.late), col(FollowUp.due_at) < now - late_after),
        )
        .returning(col(FollowUp.id)),
        execution_options={"synchronize_session": False},
    )
    recorded = {row[0] for row in result}
    if already and token is not None:
        earlier = session.exec(
            select(FollowUp.id).where(
                col(FollowUp.id).in_(ids),
                col(FollowUp.claim_token) == token,
                col(FollowUp.status) == FollowUpStatus.SENT,
            )
        ).all()
        recorded.update(i for i in earlier if i is not None)
    return recorded


def release(
    session: Session,
    *,
    followup_id: int,
    worker: str,
    token: str | None,
    due_at: datetime,
    now: datetime,
    reason: str | None = None,
    late: bool = False,
    refund: bool = True,
) -> bool:
    """Puts a claimed row back to pending at `due_at` (quiet hours, rate limits, a 429).

    `refund` gives back the attempt the claim counted: waiting for a window or a
    platform's retry_after is not a failed delivery and must not use up retries.
    """
    values: dict[str, object] = {
        "status": FollowUpStatus.PENDING,
        "due_at": due_at,
        "claimed_by": None,
        "lease_until": None,
        "updated_at": now,
    }
    if refund:
        values["attempts"] = FollowUp.attempts - 1
    if reason is not None:
        values["last_error"] = reason[:500]
    if late:
        values["late"] = True
    result = session.exec(
        update(FollowUp).where(*followups.held_by(followup_id, worker, token)).values(**values),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount == 1


def skip(
    session: Session,
    *,
    followup_id: int,
    worker: str,
    token: str | None,
    now: datetime,
    reason: str,
) -> bool:
    """Closes a row without sending (e.g. an empty digest): status done, reason kept."""
    result = session.exec(
        update(FollowUp)
        .where(*followups.held_by(followup_id, worker, token))
        .values(
            status=FollowUpStatus.DONE,
            claimed_by=None,
            lease_until=None,
            last_error=reason[:500],
            updated_at=now,
        ),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount == 1


def rep_to_tell(session: Session, row: FollowUp) -> int | None:
    """Who hears about a failed customer follow-up: its rep, its author, else the owner."""
    if row.rep_id is not None:
        return row.rep_id
    if row.created_by_id is not None:
        return row.created_by_id
    contact = session.get(Contact, row.contact_id) if row.contact_id else None
    return contact.owner_id if contact else None


def notify_failure(session: Session, *, row: FollowUp, reason: str, now: datetime) -> bool:
    """Queues one notice to the rep (dedupe key `notice:<id>`, so at most one per row)."""
    rep_id = rep_to_tell(session, row)
    if rep_id is None:
        return False
    contact = session.get(Contact, row.contact_id) if row.contact_id else None
    who = f"{contact.name} (#{contact.id})" if contact else "the customer"
    text = (
        f"Follow-up {row.id} to {who} was not sent: {reason}. "
        f'It said: "{row.text[:120]}". See `followups`.'
    )
    try:
        followups.schedule(
            session,
            actor=SYSTEM,
            kind=FollowUpKind.NOTICE,
            due_at=now,
            text=text,
            now=now,
            rep_id=rep_id,
            dedupe_key=f"notice:{row.id}",
        )
    except (Conflict, Invalid):
        return False
    return True
