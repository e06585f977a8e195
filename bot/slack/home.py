"""What a rep's App Home shows: today's work first, then their deals and conversations.

Neutral: sections of (heading, rows), each row a Reply whose actions are the
row's buttons (Done / Snooze on follow-ups). The Slack channel lays it out.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.context import Services
from bot.rep.render import money, when
from channels.base import Action, Reply
from crm.actors import Actor
from crm.conversations import list_conversations
from crm.followups import list_followups
from crm.models import Deal
from crm.views import open_deals_of, unassigned_by_need

Section = tuple[str, list[Reply]]
OPEN = ("pending", "claimed", "sent")
PER_SECTION = 10


def end_of_day(now: datetime, tz: str) -> datetime:
    """Midnight ending the rep's local today, in UTC: "due today" is theirs, not the server's."""
    local = now.astimezone(ZoneInfo(tz))
    return datetime.combine(local.date() + timedelta(days=1), time(), ZoneInfo(tz))


def build_home(services: Services, actor: Actor) -> list[Section]:
    with services.store.transaction() as session:
        return [
            _due(session, services, actor),
            _deals(session, services, actor),
            _mine(session, services, actor),
            _unassigned(session),
        ]


def _due(session: Session, services: Services, actor: Actor) -> Section:
    now, tz = services.clock.now(), actor.timezone
    cutoff = end_of_day(now, tz)
    rows = [
        r
        for r in list_followups(session, rep_id=actor.id, now=now, limit=50)
        if r.status in OPEN and r.due_at < cutoff
    ]
    out = []
    for row in rows[:PER_SECTION]:
        flag = "🔴 overdue · " if row.due_at < now else ""
        out.append(
            Reply(
                f"{flag}*{when(row.due_at, tz, now)}* · {row.text[:150]} (#{row.id})",
                actions=(
                    Action("Done", "followup_done", str(row.id), style="primary"),
                    Action("Snooze 1h", "followup_snooze", f"{row.id} 1h"),
                ),
            )
        )
    if len(rows) > PER_SECTION:
        out.append(Reply(f"…and {len(rows) - PER_SECTION} more: `/crm followups`."))
    return "Due today and overdue", out or [Reply("Nothing due today.")]


def _deals(session: Session, services: Services, actor: Actor) -> Section:
    deals = open_deals_of(session, actor.id)
    by_stage: dict[str, list[Deal]] = {}
    for deal in deals:
        by_stage.setdefault(deal.stage, []).append(deal)
    order = services.pipeline.names + sorted(set(by_stage) - set(services.pipeline.names))
    rows = []
    for stage in order:
        if stage not in by_stage:
            continue
        items = by_stage[stage]
        listed = "; ".join(
            f"#{d.id} {d.title} {money(d.amount_minor, d.currency)}" for d in items[:5]
        )
        more = f" and {len(items) - 5} more" if len(items) > 5 else ""
        rows.append(Reply(f"*{stage}* ({len(items)}): {listed}{more}"))
    return "My open deals by stage", rows or [Reply("No open deals. `/crm deal ...` adds one.")]


def _mine(session: Session, services: Services, actor: Actor) -> Section:
    rows = list_conversations(session, scope="mine", rep_id=actor.id, limit=PER_SECTION)
    now = services.clock.now()
    out = []
    for conversation, contact, last in rows:
        need = conversation.need.replace("_", " ") if conversation.need else "untagged"
        text = (last.text or f"[{last.kind}]")[:100] if last else ""
        out.append(
            Reply(
                f"*{conversation.id}.* {contact.name} via {conversation.channel} [{need}], "
                f"{when(conversation.last_message_at, actor.timezone, now)}: {text}"
            )
        )
    return "Conversations assigned to me", out or [Reply("None assigned to you.")]


def _unassigned(session: Session) -> Section:
    counts = unassigned_by_need(session)
    if not counts:
        return "Unassigned conversations", [Reply("None waiting.")]
    ordered = sorted(counts, key=lambda row: (-row[1], row[0] or "~"))
    listed = " · ".join(f"{(need or 'untagged').replace('_', ' ')}: {n}" for need, n in ordered)
    total = sum(n for _, n in counts)
    return "Unassigned conversations", [
        Reply(f"{total} waiting — {listed}. `/crm inbox unassigned` lists them.")
    ]
