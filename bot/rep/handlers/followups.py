"""Reminders for reps and follow-ups to customers: create, list, done, snooze, cancel."""

from sqlmodel import Session

from bot.context import HandlerContext
from bot.language.commands import (
    CancelFollowUp,
    CompleteFollowUp,
    ListFollowUps,
    Remind,
    ScheduleFollowUp,
    SnoozeFollowUp,
)
from bot.rep.dispatcher import Router
from bot.rep.handlers.activities import dedupe_key, when_or_invalid
from bot.rep.render import when
from channels.base import Action, Reply
from crm import followups
from crm.errors import Conflict
from crm.models import Contact, FollowUp, Rep
from crm.search import resolve_contact


def remind(ctx: HandlerContext, session: Session, cmd: Remind) -> Reply:
    due = when_or_invalid(cmd.when, ctx)
    try:
        row = followups.schedule(
            session,
            actor=ctx.actor,
            kind="reminder",
            due_at=due,
            text=cmd.text,
            now=ctx.now,
            rep_id=ctx.actor.id,
            dedupe_key=dedupe_key("remind", ctx.actor.id, due.isoformat(), cmd.text),
        )
    except Conflict:
        return Reply(f"You already have that reminder for {when(due, ctx.tz, ctx.now)}.")
    return Reply(
        f"I'll remind you {when(due, ctx.tz, ctx.now)}: {cmd.text[:200]} (reminder {row.id}).\n"
        f"`snooze {row.id} <when>` moves it, `cancel {row.id}` drops it."
    )


def followup(ctx: HandlerContext, session: Session, cmd: ScheduleFollowUp) -> Reply:
    contact = resolve_contact(session, cmd.ref)
    due = when_or_invalid(cmd.when, ctx)
    try:
        row = followups.schedule(
            session,
            actor=ctx.actor,
            kind="customer",
            due_at=due,
            text=cmd.text,
            now=ctx.now,
            rep_id=ctx.actor.id,
            contact_id=contact.id,
            stop_on_reply=cmd.stop_on_reply,
            dedupe_key=dedupe_key("customer", contact.id, due.isoformat(), cmd.text),
        )
    except Conflict:
        return Reply(f"That follow-up to {contact.name} is already scheduled.")
    stop = (
        "It is cancelled if they write in first."
        if cmd.stop_on_reply
        else "It is sent even if they write in first."
    )
    return Reply(
        f'I\'ll send {contact.name} (#{contact.id}) "{cmd.text[:200]}" '
        f"{when(due, ctx.tz, ctx.now)} (follow-up {row.id}). {stop}\n"
        f"`cancel {row.id}` drops it."
    )


def _line(session: Session, row: FollowUp, ctx: HandlerContext) -> str:
    target = ""
    if row.kind == "customer" and row.contact_id:
        contact = session.get(Contact, row.contact_id)
        target = f" → {contact.name}" if contact else ""
    state = row.status
    if row.late:
        state += ", late"
    if row.status == "failed" and row.last_error:
        state += f": {row.last_error[:80]}"
    text = row.text[:80]
    if row.kind == "reminder" and row.rep_id is not None and row.rep_id != ctx.actor.id:
        owner = session.get(Rep, row.rep_id)
        text = f"(a private reminder of {owner.name if owner else 'another rep'})"
    return f"{row.id}. {when(row.due_at, ctx.tz, ctx.now)} [{state}]{target} {text}"


def list_(ctx: HandlerContext, session: Session, cmd: ListFollowUps) -> Reply:
    rep_id = ctx.actor.id if cmd.scope == "mine" else None
    rows = followups.list_followups(session, rep_id=rep_id, now=ctx.now)
    if not rows:
        return Reply("No follow-ups. Make one with `remind me to ... tomorrow 9am`.")
    title = "Your follow-ups" if rep_id is not None else "All follow-ups"
    actions = tuple(
        action
        for row in rows[:5]
        if row.status in ("pending", "sent")
        and row.kind == "reminder"
        and row.rep_id == ctx.actor.id
        for action in (
            Action(f"Done {row.id}", "followup_done", str(row.id)),
            Action(f"Snooze {row.id} 1h", "followup_snooze", f"{row.id} 1h"),
        )
    )
    return Reply(f"{title}:\n" + "\n".join(_line(session, r, ctx) for r in rows), actions=actions)


def done(ctx: HandlerContext, session: Session, cmd: CompleteFollowUp) -> Reply:
    row = followups.complete(session, actor=ctx.actor, followup_id=cmd.followup_id, now=ctx.now)
    return Reply(f"Done: {row.text[:120]}. `undo` reopens it.")


def snooze(ctx: HandlerContext, session: Session, cmd: SnoozeFollowUp) -> Reply:
    until = when_or_invalid(cmd.when, ctx)
    row = followups.snooze(
        session, actor=ctx.actor, followup_id=cmd.followup_id, until=until, now=ctx.now
    )
    return Reply(f"Snoozed {row.id} to {when(until, ctx.tz, ctx.now)}: {row.text[:120]}.")


def cancel(ctx: HandlerContext, session: Session, cmd: CancelFollowUp) -> Reply:
    row = followups.cancel(session, actor=ctx.actor, followup_id=cmd.followup_id, now=ctx.now)
    return Reply(f"Cancelled {row.id}: {row.text[:120]}. `undo` brings it back.")


def register(router: Router) -> None:
    router.add(Remind, remind)
    router.add(ScheduleFollowUp, followup)
    router.add(ListFollowUps, list_)
    router.add(CompleteFollowUp, done)
    router.add(SnoozeFollowUp, snooze)
    router.add(CancelFollowUp, cancel)
