"""The scheduler's rules: daily digests, stale-deal and unanswered-customer nudges, surveys.

A rule never sends. It *enqueues* FollowUp rows with deterministic dedupe keys
(`digest:<rep>:<local date>`, `stale:<deal>:<last touch>:<period>`,
`unanswered:<conversation>:<first waiting message>:<rep>`,
`survey:<conversation>`), so any number of workers may run the same rule at
the same moment and the unique key lets exactly one row through; the outbox
then delivers each row once. Digests are composed when they are *sent*
(`render_digest`), so a digest queued ahead of time is never stale.
"""

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Required, TypedDict, Unpack
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.customer.texts import CustomerTexts
from bot.rep.render import money, when
from bot.settings import Settings
from channels.base import Card, Reply
from crm import followups
from crm.actors import SYSTEM
from crm.digest import Digest, build_digest, stale_deals, waiting_conversations
from crm.enums import FollowUpKind, FollowUpStatus
from crm.errors import Conflict, Invalid
from crm.ids import id_of
from crm.models import Contact, FollowUp, Rep
from crm.surveys import conversations_to_survey, record_survey_answer, survey_key
from crm.views import active_admin_ids, active_reps
from crm.worktime import business_time_between, local_day_bounds, zone_name

__all__ = ["RULES", "Rule", "record_survey_answer", "render_digest"]

logger = logging.getLogger(__name__)

DIGEST_LOOKAHEAD = timedelta(minutes=15)  # queued this early, so the tick sends it on the minute
SECTION_LIMIT = 8


class _Row(TypedDict, total=False):
    """The keyword arguments of crm.followups.schedule that a rule passes."""

    kind: Required[FollowUpKind]
    due_at: Required[datetime]
    text: Required[str]
    now: Required[datetime]
    rep_id: int | None
    contact_id: int | None
    channel: str | None
    dedupe_key: str | None
    stop_on_reply: bool


def _enqueue(session: Session, **fields: Unpack[_Row]) -> bool:
    """Schedules one row; False when its dedupe key already exists (another worker won)."""
    try:
        followups.schedule(session, actor=SYSTEM, **fields)
    except Conflict:
        return False
    except Invalid as exc:
        logger.warning("rule row refused field=%s", exc.field)
        return False
    return True


# --- daily digest ----------------------------------------------------------------------------


def enqueue_digests(session: Session, settings: Settings, now: datetime) -> int:
    """Queues today's digest for every active rep whose digest time is near, on working days.

    The date in the key is the rep's *local* date, so a rep in Tokyo and one in
    Paris each get one per their own day, and a DST change moves the UTC time
    of the digest, never its local time.
    """
    at, hours, made = settings.digest_time, settings.business_hours, 0
    for rep in active_reps(session):
        tz = zone_name(rep.timezone, settings.timezone)
        local = now.astimezone(ZoneInfo(tz))
        if local.weekday() not in hours.days:
            continue
        due = datetime.combine(local.date(), at, tzinfo=ZoneInfo(tz))
        closing = datetime.combine(local.date(), hours.end, tzinfo=ZoneInfo(tz))
        if local < due - DIGEST_LOOKAHEAD or local >= max(closing, due + timedelta(hours=1)):
            continue  # not yet, or so late in the day that tomorrow's digest will do
        made += _enqueue(
            session,
            kind=FollowUpKind.DIGEST,
            due_at=due,
            text=f"Daily digest for {local.date().isoformat()}",
            now=now,
            rep_id=rep.id,
            dedupe_key=f"digest:{rep.id}:{local.date().isoformat()}",
        )
    return made


def _section(title: str, lines: list[tuple[str, str]]) -> Card | None:
    if not lines:
        return None
    extra = len(lines) - SECTION_LIMIT
    return Card(
        f"{title} ({len(lines)})",
        fields=tuple(lines[:SECTION_LIMIT]),
        footer=f"…and {extra} more" if extra > 0 else None,
    )


def digest_reply(digest: Digest, *, rep: Rep, tz: str, now: datetime) -> Reply:
    def task(row: FollowUp) -> tuple[str, str]:
        state = " (failed)" if row.status == FollowUpStatus.FAILED else ""
        return when(row.due_at, tz, now), f"{row.id}. {row.text[:80]}{state}"

    cards = [
        _section("Due today", [task(r) for r in digest.due_today]),
        _section("Overdue", [task(r) for r in digest.overdue]),
        _section(
            "Past expected close",
            [
                (f"#{d.id} {d.title[:60]}", f"expected {d.expected_close}")
                for d in digest.past_close
            ],
        ),
        _section(
            "Stale deals",
            [
                (
                    f"#{s.deal.id} {s.deal.title[:60]}",
                    f"{s.deal.stage}, {money(s.deal.amount_minor, s.deal.currency)}, "
                    f"quiet since {when(s.last_touch, tz, now)}",
                )
                for s in digest.stale
            ],
        ),
        _section(
            "Customers waiting for a reply",
            [
                (
                    w.contact.name[:60],
                    f"conversation {w.conversation.id}, since {when(w.since, tz, now)}",
                )
                for w in digest.waiting
            ],
        ),
    ]
    summary = (
        f"Good morning, {rep.name}. {len(digest.due_today)} due today, "
        f"{len(digest.overdue)} overdue, {len(digest.stale)} stale deals, "
        f"{len(digest.waiting)} customers waiting."
    )
    return Reply(summary, cards=tuple(c for c in cards if c is not None))


def render_digest(
    session: Session, row: FollowUp, now: datetime, settings: Settings
) -> Reply | None:
    """The digest as of `now`; None when there is nothing to report (the row is skipped).

    A digest held over to another local day (downtime, a holiday) is skipped too:
    that day has its own.
    """
    rep = session.get(Rep, row.rep_id) if row.rep_id else None
    if rep is None:
        return None
    tz = zone_name(rep.timezone, settings.timezone)
    zone = ZoneInfo(tz)
    if now.astimezone(zone).date() != row.due_at.astimezone(zone).date():
        return None
    day_start, day_end = local_day_bounds(now, tz)
    stale_cutoff = (
        now - timedelta(days=settings.stale_deal_days) if settings.stale_deal_days else None
    )
    digest = build_digest(
        session,
        rep_id=id_of(rep),
        day_start=day_start,
        day_end=day_end,
        today=now.astimezone(zone).date(),
        stale_cutoff=stale_cutoff,
    )
    return None if digest.empty else digest_reply(digest, rep=rep, tz=tz, now=now)


# --- nudges ------------------------------------------------------------------------------------


def enqueue_stale_nudges(session: Session, settings: Settings, now: datetime) -> int:
    """Nudges a deal's owner every N days the deal goes without activity."""
    days = settings.stale_deal_days
    if days <= 0:
        return 0
    period, made = timedelta(days=days), 0
    for stale in stale_deals(session, cutoff=now - period):
        deal = stale.deal
        spell = (now - stale.last_touch) // period
        owner = session.get(Rep, deal.owner_id)
        tz = zone_name(owner.timezone if owner else None, settings.timezone)
        made += _enqueue(
            session,
            kind=FollowUpKind.NUDGE,
            due_at=now,
            text=(  # composed now, read later: say nothing that goes out of date
                f'Deal "{deal.title[:80]}" (#{deal.id}, {deal.stage}, '
                f"{money(deal.amount_minor, deal.currency)}) has had no activity for over "
                f"{days * spell} days (since {when(stale.last_touch, tz)}). "
                "Log a call or a note, move its stage, or close it."
            ),
            now=now,
            rep_id=deal.owner_id,
            dedupe_key=f"stale:{deal.id}:{stale.last_touch:%Y%m%dT%H%M%S}:{spell}",
        )
    return made


def _admins(session: Session) -> list[int]:
    return active_admin_ids(session)


def enqueue_unanswered_nudges(session: Session, settings: Settings, now: datetime) -> int:
    """Nudges whoever should answer once a customer has waited N business hours.

    Business hours are the business's (RAPPORT_BUSINESS_HOURS in RAPPORT_TIMEZONE):
    the customer was promised those hours. Unowned, unassigned conversations go
    to the admins.
    """
    if settings.unanswered_hours <= 0:
        return 0
    threshold, hours = timedelta(hours=settings.unanswered_hours), settings.business_hours
    made = 0
    admins: list[int] | None = None
    for waiting in waiting_conversations(session):
        elapsed = business_time_between(hours, waiting.since, now, settings.timezone)
        if elapsed < threshold:
            continue
        owner = waiting.conversation.assignee_id or waiting.contact.owner_id
        if owner is None and admins is None:
            admins = _admins(session)
        for rep_id in [owner] if owner is not None else admins or []:
            made += _enqueue(
                session,
                kind=FollowUpKind.NUDGE,
                due_at=now,
                text=(
                    f"{waiting.contact.name} has been waiting for a reply for "
                    f"{elapsed.total_seconds() / 3600:.0f} business hours "
                    f"(conversation {waiting.conversation.id}). "
                    f"`reply {waiting.conversation.id} <text>` answers them."
                ),
                now=now,
                rep_id=rep_id,
                dedupe_key=(
                    f"unanswered:{waiting.conversation.id}:{waiting.first_message_id}:{rep_id}"
                ),
            )
    return made


# --- satisfaction survey ---------------------------------------------------------------------


def survey_question(settings: Settings, language: str | None = None) -> str:
    """The survey in the customer's language (bot/customer/locales; RAPPORT_ACKS_FILE may
    override it like any customer text)."""
    texts = _customer_texts(settings.acks_file, settings.default_language)
    return texts.get(language, "survey_question", business=settings.business_name)


@functools.lru_cache(maxsize=4)
def _customer_texts(path: Path | None, default_language: str) -> CustomerTexts:
    return CustomerTexts.load(path, default_language)


def _language_of(session: Session, contact_id: int | None) -> str | None:
    contact = session.get(Contact, contact_id) if contact_id is not None else None
    return contact.language if contact is not None else None


def enqueue_surveys(session: Session, settings: Settings, now: datetime) -> int:
    """Asks once per closed conversation, on the channel the conversation was on."""
    made = 0
    for conversation in conversations_to_survey(session, now=now):
        made += _enqueue(
            session,
            kind=FollowUpKind.SURVEY,
            due_at=max(now, conversation.closed_at or now),
            text=survey_question(settings, _language_of(session, conversation.contact_id)),
            now=now,
            contact_id=conversation.contact_id,
            channel=conversation.channel,
            dedupe_key=survey_key(id_of(conversation)),
            stop_on_reply=False,
        )
    return made


# --- the registry the scheduler reads ---------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A rule, the setting that switches it on, and its cron schedule (UTC)."""

    name: str
    run: Callable[[Session, Settings, datetime], int]
    enabled: Callable[[Settings], bool]
    cron: dict[str, str]


RULES: tuple[Rule, ...] = (
    Rule("digest", enqueue_digests, lambda s: s.digest_enabled, {"minute": "*/5"}),
    Rule("stale-deals", enqueue_stale_nudges, lambda s: s.stale_deal_days > 0, {"minute": "17"}),
    Rule(
        "unanswered", enqueue_unanswered_nudges, lambda s: s.unanswered_hours > 0, {"minute": "*/5"}
    ),
    Rule("survey", enqueue_surveys, lambda s: s.survey_enabled, {"minute": "*"}),
)
