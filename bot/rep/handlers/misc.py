"""Help, the rep's time zone, and undo."""

from sqlmodel import Session

from bot.context import HandlerContext
from bot.language.commands import Help, SetTimezone, Undo
from bot.language.grammar import help_text
from bot.rep.dispatcher import Router
from channels.base import Reply
from crm import audit
from crm.errors import NotFound
from crm.models import Rep
from crm.undo import undo_last
from crm.validation import check_timezone


def help_(ctx: HandlerContext, session: Session, cmd: Help) -> Reply:
    return Reply(help_text(cmd.topic))


def timezone(ctx: HandlerContext, session: Session, cmd: SetTimezone) -> Reply:
    tz = check_timezone(cmd.timezone)
    rep = session.get(Rep, ctx.actor.id) if ctx.actor.id else None
    if rep is None:
        raise NotFound("Only team members have a time zone setting.")
    before = rep.timezone
    rep.timezone = tz
    session.add(rep)
    audit.record(
        session,
        actor=ctx.actor,
        action="rep.timezone",
        entity_type="rep",
        entity_id=rep.id,
        at=ctx.now,
        before={"timezone": before},
        after={"timezone": tz},
    )
    return Reply(f"Your time zone is now {tz} (was {before}). Times are shown in it from now on.")


def undo(ctx: HandlerContext, session: Session, cmd: Undo) -> Reply:
    what = undo_last(session, actor=ctx.actor, now=ctx.now)
    return Reply(f"Undone: {what}. `undo` again reverts the change before it.")


def register(router: Router) -> None:
    router.add(Help, help_)
    router.add(SetTimezone, timezone)
    router.add(Undo, undo)
