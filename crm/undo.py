"""`undo`: revert the actor's own most recent change, using the audit trail.

The rule is a stack: `undo` looks at the actor's very last change (within WINDOW)
that is not already undone. If that change can be put back exactly it is, and the
reply says precisely what was undone; if it cannot (a message already sent to a
customer, say), `undo` says so and stops there: it never skips over a change to
revert an older one. It also refuses when someone else changed the same thing
afterwards, because putting back the old state would silently undo their work.
Each undo is itself audited (action `undo`, pointing at the row it reverted), so a
change is undone at most once and the next `undo` reaches the change before it.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, or_, select

from crm import audit
from crm.actors import Actor, require_rep
from crm.errors import Invalid, NotFound
from crm.models import AuditLog, Rep
from crm.undo_steps import REVERTERS

WINDOW = timedelta(hours=24)
# Bookkeeping written on a rep's behalf, not changes the rep made by a command.
NOT_CHANGES = {"rep.create", "identity.link", "identity.relink", "rep.role", "contact.export"}
CANNOT = {
    "message.send": "a reply already sent to a customer can't be unsent",
    "conversation.close": "closing a conversation (it reopens when the customer writes)",
    "contact.erase": "an erasure is final",
    "contact.consent": "a consent change is the customer's own",
    "contact.restore": "a restore; `delete` the contact again if you meant to",
}


def _label(actor: Actor) -> str:
    return f"{actor.kind}:{actor.id}"


def _mine(actor: Actor) -> Any:
    label = _label(actor)
    return or_(AuditLog.actor == label, col(AuditLog.actor).startswith(label + "/"))


def _follows_a_deal(row: AuditLog) -> bool:
    """A won deal's sale is written with the win, as part of it: `won #3` then `undo`
    reverts the win (and the sale with it) rather than stopping at the sale."""
    return row.action == "purchase.create" and (row.after or {}).get("deal_id") is not None


def _last_change(session: Session, actor: Actor, now: datetime) -> AuditLog | None:
    undone = {
        (row.after or {}).get("undid")
        for row in session.exec(select(AuditLog).where(_mine(actor), AuditLog.action == "undo"))
    }
    rows = session.exec(
        select(AuditLog)
        .where(_mine(actor), AuditLog.action != "undo", AuditLog.at >= now - WINDOW)
        .order_by(col(AuditLog.id).desc())
        .limit(200)
    )
    for row in rows:
        if row.id in undone or row.action in NOT_CHANGES or _follows_a_deal(row):
            continue
        return row
    return None


def _changed_since(session: Session, actor: Actor, row: AuditLog) -> AuditLog | None:
    """A later change to the same thing by someone else."""
    label = _label(actor)
    return session.exec(
        select(AuditLog).where(
            AuditLog.entity_type == row.entity_type,
            AuditLog.entity_id == row.entity_id,
            col(AuditLog.id) > row.id,
            AuditLog.actor != label,
            col(AuditLog.actor).startswith(label + "/").is_(False),
            col(AuditLog.action).not_in(["undo", *NOT_CHANGES]),
        )
    ).first()


def undo_last(session: Session, *, actor: Actor, now: datetime) -> str:
    """Reverts the last change and returns exactly what was undone, in words; raises
    Invalid (nothing done) when that change cannot be undone."""
    require_rep(actor)
    row = _last_change(session, actor, now)
    if row is None:
        raise NotFound("Nothing of yours to undo from the last 24 hours.")
    reverter = REVERTERS.get(row.action)
    if reverter is None:
        why = CANNOT.get(row.action, f"'{row.action}' can't be undone")
        raise Invalid(
            "undo",
            f"I can't undo your last change ({why}), so I stopped there: nothing was undone.",
        )
    other = _changed_since(session, actor, row)
    if other is not None:
        who = other.actor.split("/")[0]
        rep = session.get(Rep, int(who.split(":")[1])) if who.startswith("rep:") else None
        raise Invalid(
            "undo",
            f"{rep.name if rep else 'Someone else'} changed that {row.entity_type} after you, "
            "so undoing your change would undo theirs too. Nothing was undone.",
        )
    what = reverter(session, row, actor, now)
    audit.record(
        session,
        actor=actor,
        action="undo",
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        at=now,
        after={"undid": row.id, "action": row.action},
    )
    return what


UNDOABLE = frozenset(REVERTERS)

__all__ = ["undo_last", "UNDOABLE"]
