"""Who is on the team: admins list reps, revoke and restore their access, grant admin.

A revoked rep (``Rep.active = False``) is locked out of every command at once (the
dispatcher checks it on each one); their records stay, attributed to them.  An admin
cannot revoke or demote themselves, so a team always keeps at least the admin acting.
Every change is audited.
"""

from datetime import datetime

from sqlmodel import Session, col, select

from crm import audit
from crm.actors import Actor, require_admin
from crm.enums import Role
from crm.errors import Invalid, NotFound
from crm.models import ChannelIdentity, Rep


def list_reps(session: Session, *, actor: Actor) -> list[Rep]:
    require_admin(actor, "list the team")
    return list(session.exec(select(Rep).order_by(col(Rep.id))))


def find_any_rep(session: Session, who: str) -> Rep:
    """A rep by #id, Slack/shell user id, or (unique) name, revoked ones included."""
    text = who.strip().lstrip("@")
    if text.lstrip("#").isdigit() and (rep := session.get(Rep, int(text.lstrip("#")))):
        return rep
    identity = session.exec(
        select(ChannelIdentity).where(
            col(ChannelIdentity.external_id) == text, col(ChannelIdentity.rep_id).is_not(None)
        )
    ).first()
    if identity is not None and (rep := session.get(Rep, identity.rep_id)):
        return rep
    reps = list(session.exec(select(Rep)))
    lowered = text.lower()
    matches = [r for r in reps if r.name.lower() == lowered] or [
        r for r in reps if r.name.lower().startswith(lowered)
    ]
    if len(matches) != 1:
        names = ", ".join(r.name for r in reps[:10]) or "none yet"
        raise NotFound(f"No single team member called '{text[:40]}'. Team: {names}.")
    return matches[0]


def set_access(
    session: Session, *, actor: Actor, who: str, access: str, now: datetime
) -> tuple[Rep, bool]:
    """``access``: "revoke", "restore" or "admin". Returns the rep and whether anything
    changed: a change that is already so writes no audit row (so `undo` is not spent on
    it) and the caller says "already"."""
    require_admin(actor, f"{access} team members")
    rep = find_any_rep(session, who)
    if rep.id == actor.id and access == "revoke":
        raise Invalid("rep", "You cannot revoke yourself; ask another admin.")
    before = {"active": rep.active, "role": rep.role}
    if access == "revoke":
        rep.active = False
    elif access == "restore":
        rep.active = True
    elif access == "admin":
        rep.role, rep.active = Role.ADMIN, True
    else:
        raise Invalid("access", f"Unknown access change '{access}'.")
    if before == {"active": rep.active, "role": rep.role}:
        return rep, False
    session.add(rep)
    audit.record(
        session,
        actor=actor,
        action=f"rep.{access}",
        entity_type="rep",
        entity_id=rep.id,
        at=now,
        before=before,
        after={"active": rep.active, "role": rep.role},
    )
    return rep, True


def is_locked_out(session: Session, actor: Actor) -> bool:
    if actor.kind != "rep" or actor.id is None:
        return False
    rep = session.get(Rep, actor.id)
    return rep is None or not rep.active
