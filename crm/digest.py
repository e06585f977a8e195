"""The queries behind a rep's daily digest and the nudges: what is due, late, stale, waiting.

Pure reads, no formatting: `bot/outbound/rules.py` turns them into a Reply in the rep's
time zone and decides when to send. "Answered" means a rep wrote back (an
outbound message with an author); the bot's automatic acknowledgements are not
stored as messages and do not count.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_
from sqlmodel import Session, col, select

from crm.enums import FollowUpKind, FollowUpStatus
from crm.ids import id_of
from crm.models import Activity, Contact, Conversation, Deal, FollowUp, Message

OPEN = (FollowUpStatus.PENDING, FollowUpStatus.CLAIMED)
TASK_KINDS = (FollowUpKind.REMINDER, FollowUpKind.CUSTOMER)


@dataclass(frozen=True)
class Waiting:
    """An open conversation whose customer has been waiting since `since`."""

    conversation: Conversation
    contact: Contact
    since: datetime
    first_message_id: int  # the first unanswered message: one nudge per waiting spell


@dataclass(frozen=True)
class StaleDeal:
    deal: Deal
    last_touch: datetime


@dataclass
class Digest:
    due_today: list[FollowUp] = field(default_factory=list)
    overdue: list[FollowUp] = field(default_factory=list)
    past_close: list[Deal] = field(default_factory=list)
    stale: list[StaleDeal] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.due_today or self.overdue or self.past_close or self.stale or self.waiting)


def _mine(rep_id: int) -> ColumnElement[bool]:
    return or_(col(FollowUp.rep_id) == rep_id, col(FollowUp.created_by_id) == rep_id)


def due_between(session: Session, *, rep_id: int, start: datetime, end: datetime) -> list[FollowUp]:
    """Open reminders and customer follow-ups falling due in [start, end)."""
    return list(
        session.exec(
            select(FollowUp)
            .where(
                _mine(rep_id),
                col(FollowUp.kind).in_(TASK_KINDS),
                col(FollowUp.status).in_(OPEN),
                FollowUp.due_at >= start,
                FollowUp.due_at < end,
            )
            .order_by(col(FollowUp.due_at))
        ).all()
    )


def overdue(session: Session, *, rep_id: int, before: datetime) -> list[FollowUp]:
    """Reminders from before `before` not marked done, and follow-ups still unsent or failed."""
    reminders_open = and_(
        col(FollowUp.kind) == FollowUpKind.REMINDER,
        col(FollowUp.status).in_(
            (FollowUpStatus.PENDING, FollowUpStatus.CLAIMED, FollowUpStatus.SENT)
        ),
    )
    customer_stuck = and_(
        col(FollowUp.kind) == FollowUpKind.CUSTOMER,
        col(FollowUp.status).in_(
            (FollowUpStatus.PENDING, FollowUpStatus.CLAIMED, FollowUpStatus.FAILED)
        ),
    )
    return list(
        session.exec(
            select(FollowUp)
            .where(_mine(rep_id), or_(reminders_open, customer_stuck), FollowUp.due_at < before)
            .order_by(col(FollowUp.due_at))
        ).all()
    )


def past_expected_close(session: Session, *, owner_id: int, today: date) -> list[Deal]:
    return list(
        session.exec(
            select(Deal)
            .where(
                Deal.owner_id == owner_id,
                Deal.status == "open",
                col(Deal.expected_close).is_not(None),
                col(Deal.expected_close) < today,
            )
            .order_by(col(Deal.expected_close))
        ).all()
    )


def stale_deals(
    session: Session, *, cutoff: datetime, owner_id: int | None = None
) -> list[StaleDeal]:
    """Open deals with no activity, edit or stage change since `cutoff`."""
    recent_activity = exists().where(
        col(Activity.deal_id) == Deal.id, col(Activity.occurred_at) >= cutoff
    )
    statement = select(Deal).where(
        Deal.status == "open",
        col(Deal.owner_id).is_not(None),
        Deal.updated_at < cutoff,
        Deal.stage_changed_at < cutoff,
        or_(col(Deal.last_activity_at).is_(None), col(Deal.last_activity_at) < cutoff),
        ~recent_activity,
    )
    if owner_id is not None:
        statement = statement.where(Deal.owner_id == owner_id)
    out = []
    for deal in session.exec(statement.order_by(col(Deal.id))).all():
        latest = session.exec(
            select(func.max(Activity.occurred_at)).where(Activity.deal_id == deal.id)
        ).first()
        touches = [deal.updated_at, deal.stage_changed_at, deal.last_activity_at, latest]
        out.append(StaleDeal(deal, max(t for t in touches if t is not None)))
    return sorted(out, key=lambda s: s.last_touch)


def waiting_conversations(session: Session, *, rep_id: int | None = None) -> list[Waiting]:
    """Open conversations whose latest customer messages have no rep reply after them.

    With `rep_id`, only those assigned to the rep, or unassigned with the rep as
    the contact's owner (whoever would be expected to answer).
    """
    replied = (
        select(func.max(Message.sent_at))
        .where(
            Message.conversation_id == Conversation.id,
            Message.direction == "outbound",
            col(Message.author_rep_id).is_not(None),
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    statement = (
        select(Message, Conversation, Contact)
        .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
        .join(Contact, col(Contact.id) == col(Conversation.contact_id))
        .where(
            Conversation.status == "open",
            Message.direction == "inbound",
            or_(replied.is_(None), Message.sent_at > replied),
        )
        .order_by(col(Message.sent_at), col(Message.id))
    )
    if rep_id is not None:
        statement = statement.where(
            or_(
                col(Conversation.assignee_id) == rep_id,
                and_(col(Conversation.assignee_id).is_(None), col(Contact.owner_id) == rep_id),
            )
        )
    first: dict[int, Waiting] = {}
    for message, conversation, contact in session.exec(statement).all():
        if id_of(conversation) not in first:
            first[id_of(conversation)] = Waiting(
                conversation, contact, message.sent_at, id_of(message)
            )
    return sorted(first.values(), key=lambda w: w.since)


def build_digest(
    session: Session,
    *,
    rep_id: int,
    day_start: datetime,
    day_end: datetime,
    today: date,
    stale_cutoff: datetime | None,
) -> Digest:
    """Everything a rep should see at the start of their day."""
    return Digest(
        due_today=due_between(session, rep_id=rep_id, start=day_start, end=day_end),
        overdue=overdue(session, rep_id=rep_id, before=day_start),
        past_close=past_expected_close(session, owner_id=rep_id, today=today),
        stale=(
            stale_deals(session, cutoff=stale_cutoff, owner_id=rep_id)
            if stale_cutoff is not None
            else []
        ),
        waiting=waiting_conversations(session, rep_id=rep_id),
    )
