"""Logging calls, meetings, emails and notes, with an optional follow-up reminder."""

from dataclasses import replace

from sqlmodel import Session

from bot.context import HandlerContext, Outcome
from bot.language.commands import LogActivity
from bot.rep.handlers.checks import dedupe_key, shown_when, when_or_invalid
from bot.rep.handlers.purchases import past_when
from bot.rep.render import local_date, when
from bot.rep.router import Router
from channels.base import Reply
from crm import followups
from crm.activities import log_activity, recent_repeat
from crm.enums import FollowUpKind
from crm.ids import id_of
from crm.search import resolve_contact


def log(ctx: HandlerContext, session: Session, cmd: LogActivity) -> Reply | Outcome:
    contact = resolve_contact(session, cmd.ref)
    earlier = (
        None
        if cmd.confirmed
        else recent_repeat(
            session,
            contact_id=id_of(contact),
            kind=cmd.kind,
            text=cmd.text,
            rep_id=ctx.actor.id,
            now=ctx.now,
        )
    )
    if earlier is not None:
        return Outcome(
            Reply(
                f"You logged that {cmd.kind} with {contact.name} (#{contact.id}) "
                f"{when(earlier.created_at, ctx.tz, now=ctx.now)}: {earlier.text[:200]}\n"
                "Log it a second time?"
            ),
            confirm=replace(cmd, confirmed=True),
            confirm_what=f"logging that {cmd.kind} again",
        )
    due = when_or_invalid(cmd.follow_up_when, ctx) if cmd.follow_up_when else None
    occurred = past_when(cmd.occurred_when, ctx) if cmd.occurred_when else None
    activity = log_activity(
        session,
        actor=ctx.actor,
        contact_id=id_of(contact),
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
            kind=FollowUpKind.REMINDER,
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
