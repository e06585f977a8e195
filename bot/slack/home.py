"""What a rep's App Home shows: today's work first, then their deals and conversations.

Neutral: sections of (heading, rows), each row a Reply whose actions are the
row's buttons (Done / Snooze on follow-ups). The Slack channel lays it out.
"""

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.context import Services
from bot.rep.render import money, when
from channels.base import Action, Reply
from crm.actors import Actor
from crm.models import Contact, Conversation, Deal, FollowUp, Message
from crm.views import HomeView, home_view

Section = tuple[str, list[Reply]]
PER_SECTION = 10


def end_of_day(now: datetime, tz: str) -> datetime:
    """Midnight ending the rep's local today, in UTC: "due today" is theirs, not the server's."""
    local = now.astimezone(ZoneInfo(tz))
    return datetime.combine(local.date() + timedelta(days=1), time(), ZoneInfo(tz))


def build_home(services: Services, actor: Actor) -> list[Section]:
    """Reads the rep's App Home (crm.views.home_view) and renders it."""
    now = services.clock.now()
    with services.store.transaction() as session:
        view = home_view(
            session,
            rep_id=actor.id,
            now=now,
            due_before=end_of_day(now, actor.timezone),
            conversations=PER_SECTION,
        )
    return render_home(view, tz=actor.timezone, now=now, stages=services.pipeline.names)


def render_home(view: HomeView, *, tz: str, now: datetime, stages: Sequence[str]) -> list[Section]:
    """The App Home's sections from values: no session, no query."""
    return [
        _due(view.due, tz, now),
        _deals(view.deals, stages),
        _mine(view.mine, tz, now),
        _unassigned(view.unassigned),
    ]


def _due(rows: list[FollowUp], tz: str, now: datetime) -> Section:
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


def _deals(deals: list[Deal], stages: Sequence[str]) -> Section:
    by_stage: dict[str, list[Deal]] = {}
    for deal in deals:
        by_stage.setdefault(deal.stage, []).append(deal)
    order = list(stages) + sorted(set(by_stage) - set(stages))
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


def _mine(
    rows: list[tuple[Conversation, Contact, Message | None]], tz: str, now: datetime
) -> Section:
    out = []
    for conversation, contact, last in rows:
        need = conversation.need.replace("_", " ") if conversation.need else "untagged"
        text = (last.text or f"[{last.kind}]")[:100] if last else ""
        out.append(
            Reply(
                f"*{conversation.id}.* {contact.name} via {conversation.channel} [{need}], "
                f"{when(conversation.last_message_at, tz, now)}: {text}"
            )
        )
    return "Conversations assigned to me", out or [Reply("None assigned to you.")]


def _unassigned(counts: list[tuple[str | None, int]]) -> Section:
    if not counts:
        return "Unassigned conversations", [Reply("None waiting.")]
    ordered = sorted(counts, key=lambda row: (-row[1], row[0] or "~"))
    listed = " · ".join(f"{(need or 'untagged').replace('_', ' ')}: {n}" for need, n in ordered)
    total = sum(n for _, n in counts)
    return "Unassigned conversations", [
        Reply(f"{total} waiting — {listed}. `/crm inbox unassigned` lists them.")
    ]
