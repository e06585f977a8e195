"""Reminders for reps and follow-ups to customers: create, list, done, snooze, cancel."""

from datetime import datetime, timedelta

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
from bot.rep.handlers.checks import dedupe_key, shown_when, when_or_invalid
from bot.rep.render import when
from bot.rep.router import Router
from channels.base import Action, Reply
from crm import followups
from crm.enums import FollowUpKind, FollowUpStatus
from crm.errors import Conflict
from crm.models import Contact, FollowUp, Rep
from crm.search import resolve_contact
from crm.worktime import zone_name


def remind(ctx: HandlerContext, session: Session, cmd: Remind) -> Reply:
    due = when_or_invalid(cmd.when, ctx)
    try:
        row = followups.schedule(
            session,
            actor=ctx.actor,
            kind=FollowUpKind.REMINDER,
            due_at=due,
            text=cmd.text,
            now=ctx.now,
            rep_id=ctx.actor.id,
            dedupe_key=dedupe_key("remind", ctx.actor.id, due.isoformat(), cmd.text),
        )
    except Conflict:
        return Reply(f"You already have that reminder for {when(due, ctx.tz, ctx.now)}.")
    return Reply(
        f"I'll remind you {shown_when(due, ctx)}: {cmd.text[:200]} (reminder {row.id}).\n"
        f"`snooze {row.id} <when>` moves it, `cancel {row.id}` drops it."
    )


def followup(ctx: HandlerContext, session: Session, cmd: ScheduleFollowUp) -> Reply:
    contact = resolve_contact(session, cmd.ref)
    due = when_or_invalid(cmd.when, ctx)
    try:
        row = followups.schedule(
            session,
            actor=ctx.actor,
            kind=FollowUpKind.CUSTOMER,
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
        f"{shown_when(due, ctx)} (follow-up {row.id}). {stop}{_quiet_note(ctx, contact, due)}\n"
        f"`cancel {row.id}` drops it."
    )


def _quiet_note(ctx: HandlerContext, contact: Contact, due: datetime) -> str:
    """When the time falls in the customer's quiet hours the outbox holds the message
    until they end: say when it will really go, in the rep's zone."""
    quiet = ctx.settings.quiet_hours  # parsed (and refused if malformed) at start-up
    tz = zone_name(contact.timezone, ctx.settings.timezone)
    if not quiet.is_quiet(due, tz):
        return ""
    first = contact.name.split()[0] if contact.name.strip() else "them"
    release = quiet.release_time(due, tz)
    return f"\nIt is night for {first} then: it goes {when(release, ctx.tz, ctx.now)}."


def _line(session: Session, row: FollowUp, ctx: HandlerContext) -> str:
    target = ""
    if row.kind == FollowUpKind.CUSTOMER and row.contact_id:
        contact = session.get(Contact, row.contact_id)
        target = f" → {contact.name}" if contact else ""
    state = str(row.status)
    if row.late:
        state += ", late"
    if row.status in (FollowUpStatus.FAILED, FollowUpStatus.SENT) and row.last_error:
        state += f": {row.last_error[:80]}"
    state += _held_note(session, row, ctx)
    text = row.text[:80]
    if row.kind == "reminder" and row.rep_id is not None and row.rep_id != ctx.actor.id:
        owner = session.get(Rep, row.rep_id)
        text = f"(a private reminder of {owner.name if owner else 'another rep'})"
    return f"{row.id}. {when(row.due_at, ctx.tz, ctx.now)} [{state}]{target} {text}"


def _held_note(session: Session, row: FollowUp, ctx: HandlerContext) -> str:
    """A digest or nudge due outside its rep's business hours waits for them (the outbox
    holds it): the list says when it really goes."""
    if row.status != FollowUpStatus.PENDING or not FollowUpKind(row.kind).workday_only:
        return ""
    rep = session.get(Rep, row.rep_id) if row.rep_id else None
    tz = zone_name(rep.timezone if rep else None, ctx.settings.timezone)
    hours = ctx.settings.business_hours
    if hours.is_open(row.due_at, tz):
        return ""
    going = hours.next_open(row.due_at, tz)
    return f", held for business hours: goes {when(going, ctx.tz, ctx.now)}"


def list_(ctx: HandlerContext, session: Session, cmd: ListFollowUps) -> Reply:
    rep_id = ctx.actor.id if cmd.scope == "mine" else None
    rows = followups.list_followups(session, rep_id=rep_id, now=ctx.now)
    if not rows:
        return Reply("No follow-ups. Make one with `remind me to ... tomorrow 9am`.")
    title = "Your follow-ups" if rep_id is not None else "All follow-ups"
    actions = tuple(
        action
        for row in rows[:5]
        if row.status in (FollowUpStatus.PENDING, FollowUpStatus.SENT)
        and row.kind == FollowUpKind.REMINDER
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
    if cmd.when.strip():
        until = when_or_invalid(cmd.when, ctx)
    else:
        current = followups.get_followup(session, cmd.followup_id)
        until = max(current.due_at, ctx.now) + timedelta(hours=1)
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
