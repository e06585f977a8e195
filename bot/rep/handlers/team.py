"""`reps`, `revoke @x`, `restore @x`, `admin @x` (admins only; crm.reps does the work)."""

from sqlmodel import Session

from bot.context import HandlerContext
from bot.language.commands import ListReps, SetRepAccess
from bot.rep.dispatcher import Router
from channels.base import Reply
from crm.reps import list_reps, set_access


def reps(ctx: HandlerContext, session: Session, cmd: ListReps) -> Reply:
    lines = ["The team:"]
    for rep in list_reps(session, actor=ctx.actor):
        state = "admin" if rep.role == "admin" else "rep"
        if not rep.active:
            state += ", access revoked"
        lines.append(f"• #{rep.id} {rep.name} ({state})")
    return Reply("\n".join(lines))


def access(ctx: HandlerContext, session: Session, cmd: SetRepAccess) -> Reply:
    rep, changed = set_access(session, actor=ctx.actor, who=cmd.who, access=cmd.access, now=ctx.now)
    if not changed:
        already = {
            "revoke": "has no access already",
            "restore": "can use Rapport already",
            "admin": "is an admin already",
        }[cmd.access]
        return Reply(f"{rep.name} {already}; nothing changed.")
    said = {
        "revoke": f"{rep.name} can no longer use Rapport. `restore @{rep.name}` undoes it.",
        "restore": f"{rep.name} can use Rapport again.",
        "admin": f"{rep.name} is now an admin.",
    }[cmd.access]
    return Reply(said)


def register(router: Router) -> None:
    router.add(ListReps, reps)
    router.add(SetRepAccess, access)
