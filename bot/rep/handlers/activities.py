"""Logging calls, meetings, emails and notes, with an optional follow-up reminder."""

import hashlib
from datetime import datetime

from sqlmodel import Session

from bot.context import HandlerContext
from bot.language.commands import LogActivity
from bot.language.parsing import far_note, parse_when
from bot.rep.dispatcher import Router
from bot.rep.render import when
from channels.base import Reply
from crm import followups
from crm.activities import log_activity
from crm.errors import Invalid
from crm.search import resolve_contact


def dedupe_key(*parts: object) -> str:
    """A stable key so scheduling the same thing twice is a no-op."""
    raw = "|".join(str(p) for p in parts)
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def when_or_invalid(text: str, ctx: HandlerContext) -> datetime:
    """The rep's date phrase read whole in their zone and date order; a past moment is
    refused with the reason (never rolled to another date)."""
    try:
        due = parse_when(
            text, tz=ctx.tz, now=ctx.now, dateorder=ctx.dateorder, after_lunch=ctx.after_lunch
        )
    except ValueError as exc:
        raise Invalid("when", str(exc)) from None
    if due <= ctx.now:
        raise Invalid(
            "when",
            f"{when(due, ctx.tz, ctx.now)} is in the past ('{text[:40]}'); pick a later time.",
        )
    return due


def shown_when(due: datetime, ctx: HandlerContext) -> str:
    """A confirmation's date, with how far ahead it is when that is over a year."""
    return when(due, ctx.tz, ctx.now) + far_note(due, ctx.now)


def log(ctx: HandlerContext, session: Session, cmd: LogActivity) -> Reply:
    contact = resolve_contact(session, cmd.ref)
    due = when_or_invalid(cmd.follow_up_when, ctx) if cmd.follow_up_when else None
    activity = log_activity(
        session, actor=ctx.actor, contact_id=contact.id, kind=cmd.kind, text=cmd.text, now=ctx.now
    )
    lines = [f"Logged {cmd.kind} with {contact.name} (#{contact.id}): {cmd.text[:200]}"]
    if due is not None:
        reminder = followups.schedule(
            session,
            actor=ctx.actor,
            kind="reminder",
            due_at=due,
            text=f"Follow up with {contact.name} (#{contact.id}): {cmd.text[:200]}",
            now=ctx.now,
            rep_id=ctx.actor.id,
            contact_id=contact.id,
            dedupe_key=dedupe_key("log", activity.id),
        )
        lines.append(
            f"I'll remind you {shown_when(due, ctx)} (follow-up {reminder.id}; "
            f"`snooze {reminder.id} <when>` or `cancel {reminder.id}`)."
        )
    lines.append("`undo` removes this entry.")
    return Reply("\n".join(lines))


def register(router: Router) -> None:
    router.add(LogActivity, log)
