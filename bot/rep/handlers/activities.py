"""Logging calls, meetings, emails and notes, with an optional follow-up reminder."""

import hashlib

from sqlmodel import Session

from bot.context import HandlerContext
from bot.language.commands import LogActivity
from bot.language.parsing import parse_when
from bot.rep.dispatcher import Router
from bot.rep.handlers.purchases import past_when
from bot.rep.render import local_date, when
from channels.base import Reply
from crm import followups
from crm.activities import log_activity
from crm.errors import Invalid
from crm.search import resolve_contact


def dedupe_key(*parts: object) -> str:
    """A stable key so scheduling the same thing twice is a no-op."""
    raw = "|".join(str(p) for p in parts)
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def when_or_invalid(text: str, ctx: HandlerContext):  # type: ignore[no-untyped-def]
    try:
        due = parse_when(text, tz=ctx.tz, now=ctx.now)
    except ValueError as exc:
        raise Invalid("when", str(exc)) from None
    if due <= ctx.now:
        raise Invalid("when", f"{when(due, ctx.tz, ctx.now)} is in the past; pick a later time.")
    return due


def log(ctx: HandlerContext, session: Session, cmd: LogActivity) -> Reply:
    contact = resolve_contact(session, cmd.ref)
    due = when_or_invalid(cmd.follow_up_when, ctx) if cmd.follow_up_when else None
    occurred = past_when(cmd.occurred_when, ctx) if cmd.occurred_when else None
    activity = log_activity(
        session,
        actor=ctx.actor,
        contact_id=contact.id,
        kind=cmd.kind,
        text=cmd.text,
        now=ctx.now,
        occurred_at=occurred,
    )
    on = f" on {local_date(occurred, ctx.tz)}" if occurred else ""
    lines = [f"Logged {cmd.kind} with {contact.name} (#{contact.id}){on}: {cmd.text[:200]}"]
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
            f"I'll remind you {when(due, ctx.tz, ctx.now)} (follow-up {reminder.id}; "
            f"`snooze {reminder.id} <when>` or `cancel {reminder.id}`)."
        )
    lines.append("`undo` removes this entry.")
    return Reply("\n".join(lines))


def register(router: Router) -> None:
    router.add(LogActivity, log)
