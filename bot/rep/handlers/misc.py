"""Help, the rep's time zone, and undo."""

from sqlmodel import Session

from bot.context import HandlerContext
from bot.language.commands import Help, SetDateOrder, SetTimezone, Undo
from bot.language.help import help_text
from bot.rep.render import when
from bot.rep.router import Router
from channels.base import Reply
from crm import audit
from crm.errors import NotFound
from crm.hours import next_digest
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
    return Reply(
        f"Your time zone is now {tz} (was {before}). Times are shown in it from now on.\n"
        + digest_note(ctx, tz)
    )


def digest_note(ctx: HandlerContext, tz: str) -> str:
    """When the rep's daily digest really goes in their zone, held to business hours as the
    outbox holds it (a 07:30 digest with a 09:00 opening goes at 09:00): said, not left for
    the rep to discover."""
    settings = ctx.settings
    going, held = next_digest(settings.digest_time, settings.business_hours, ctx.now, tz)
    at = settings.digest_time.strftime("%H:%M")
    if held:
        return (
            f"Your daily digest is set for {at}, outside business hours "
            f"({settings.business_hours.text}): it is held until they open, next "
            f"{when(going, tz, ctx.now)}."
        )
    return f"Your daily digest comes at {at} on working days, next {when(going, tz, ctx.now)}."


def dateorder(ctx: HandlerContext, session: Session, cmd: SetDateOrder) -> Reply:
    rep = session.get(Rep, ctx.actor.id) if ctx.actor.id else None
    if rep is None:
        raise NotFound("Only team members have a date order setting.")
    before = rep.dateorder
    rep.dateorder = cmd.order
    session.add(rep)
    audit.record(
        session,
        actor=ctx.actor,
        action="rep.dateorder",
        entity_type="rep",
        entity_id=rep.id,
        at=ctx.now,
        before={"dateorder": before},
        after={"dateorder": cmd.order},
    )
    sample = {"DMY": "5.1.2027", "MDY": "1/5/2027", "YMD": "2027-1-5"}[cmd.order]
    return Reply(
        f"Numeric dates are read {cmd.order} from now on (was {before or 'from your time zone'}): "
        f"{sample} is 5 January."
    )


def undo(ctx: HandlerContext, session: Session, cmd: Undo) -> Reply:
    what = undo_last(session, actor=ctx.actor, now=ctx.now)
    return Reply(f"Undone: {what}. `undo` again reverts the change before it.")


def register(router: Router) -> None:
    router.add(Help, help_)
    router.add(SetTimezone, timezone)
    router.add(SetDateOrder, dateorder)
    router.add(Undo, undo)
