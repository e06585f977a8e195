"""Read models the bot renders or routes by: plain values read in the caller's session.

The bot's rendering and routing code takes these values and never queries itself
(tests/unit/test_architecture.py keeps `select(` and `session.exec` out of bot/ outside
the composition root), so what is read, and how many queries that costs, is decided here.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Self

from sqlmodel import Session, col, func, select

from crm.activities import TimelineEntry, timeline
from crm.contacts import NormalisedPoints, points_of
from crm.conversations import list_conversations
from crm.deals import open_deals_for_contact
from crm.enums import (
    ConversationStatus,
    DealStatus,
    Direction,
    FollowUpStatus,
    PointKind,
    Role,
)
from crm.followups import OPEN_STATES, list_followups
from crm.ids import id_of
from crm.models import (
    ChannelIdentity,
    Company,
    Contact,
    ContactPoint,
    Conversation,
    Deal,
    FollowUp,
    Message,
    Rep,
)
from crm.search import companies_matching


def rep_identities(session: Session, rep_id: int | None) -> dict[str, str]:
    """A rep's reachable ids by channel: {"slack": "U0ABC", ...}."""
    identities = session.exec(
        select(ChannelIdentity).where(
            ChannelIdentity.rep_id == rep_id, col(ChannelIdentity.reachable).is_(True)
        )
    ).all()
    return {i.channel: i.external_id for i in identities}


@dataclass
class CustomerReach:
    """What routing needs to know about a batch's customers, read with a few IN queries
    instead of three queries per follow-up (and kept referenced: the session's identity
    map holds rows only weakly)."""

    contacts: dict[int, Contact] = field(default_factory=dict)
    last: dict[int, Conversation] = field(default_factory=dict)
    identities: dict[int, dict[str, ChannelIdentity]] = field(default_factory=dict)
    emails: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, contact_ids: Iterable[int | None]) -> Self:
        ids = sorted({i for i in contact_ids if i is not None})
        book = cls()
        if not ids:
            return book
        book.contacts = {
            id_of(c): c for c in session.exec(select(Contact).where(col(Contact.id).in_(ids)))
        }
        for conversation in session.exec(
            select(Conversation)
            .where(col(Conversation.contact_id).in_(ids))
            .order_by(col(Conversation.last_message_at).desc(), col(Conversation.id).desc())
        ):
            book.last.setdefault(conversation.contact_id, conversation)
        for identity in session.exec(
            select(ChannelIdentity).where(col(ChannelIdentity.contact_id).in_(ids))
        ):
            book.identities.setdefault(identity.contact_id or 0, {})[identity.channel] = identity
        for point in session.exec(
            select(ContactPoint)
            .where(col(ContactPoint.contact_id).in_(ids), ContactPoint.kind == PointKind.EMAIL)
            .order_by(col(ContactPoint.position), col(ContactPoint.id))
        ):
            book.emails.setdefault(point.contact_id, point.value)
        return book


# --- the contact card ------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactOverview:
    """Everything the contact card shows, read at once."""

    contact: Contact
    company: Company | None
    owner: Rep | None
    points: NormalisedPoints
    deals: list[Deal]
    next_followup: FollowUp | None
    history: list[TimelineEntry]


def contact_overview(session: Session, contact: Contact, *, history: int = 5) -> ContactOverview:
    next_followup = session.exec(
        select(FollowUp)
        .where(FollowUp.contact_id == contact.id, col(FollowUp.status).in_(OPEN_STATES))
        .order_by(col(FollowUp.due_at))
        .limit(1)
    ).first()
    return ContactOverview(
        contact=contact,
        company=session.get(Company, contact.company_id) if contact.company_id else None,
        owner=session.get(Rep, contact.owner_id) if contact.owner_id else None,
        points=points_of(session, id_of(contact)),
        deals=list(open_deals_for_contact(session, contact)),
        next_followup=next_followup,
        history=list(timeline(session, contact_id=id_of(contact), limit=history)),
    )


# --- reps ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactBrief:
    """What a one-line mention of a contact shows: `#4 Jane Doe (Acme) jane@acme.com +1 ...`."""

    contact: Contact
    company_name: str | None
    email: str | None
    phone: str | None


def contact_brief(session: Session, contact: Contact) -> ContactBrief:
    company = session.get(Company, contact.company_id) if contact.company_id else None
    points = points_of(session, id_of(contact))
    return ContactBrief(
        contact=contact,
        company_name=company.name if company else None,
        email=points.emails[0] if points.emails else None,
        phone=points.phones[0] if points.phones else None,
    )


def briefs_of(session: Session, items: Iterable[object]) -> list[object]:
    """The items of a "which one?" list with each contact turned into its brief (deals and
    anything else as they are), so the list can be rendered without a session."""
    return [contact_brief(session, i) if isinstance(i, Contact) else i for i in items]


def active_reps(session: Session) -> list[Rep]:
    return list(session.exec(select(Rep).where(col(Rep.active).is_(True))).all())


def active_admin_ids(session: Session) -> list[int]:
    rows = session.exec(select(Rep).where(Rep.role == Role.ADMIN, col(Rep.active).is_(True)))
    return [rep.id for rep in rows if rep.id is not None]


# --- App Home --------------------------------------------------------------------------------

# The follow-ups App Home counts as still to do (a sent customer follow-up stays until done).
HOME_OPEN = (FollowUpStatus.PENDING, FollowUpStatus.CLAIMED, FollowUpStatus.SENT)


@dataclass(frozen=True)
class HomeView:
    """Everything a rep's App Home shows, read in one transaction.

    `due`: their open follow-ups due before `due_before` (their local midnight), soonest
    first, out of the first 50 `list_followups` gives; `deals`: their open deals, most
    recently touched first; `mine`: the open conversations assigned to them, newest first,
    with the contact and the latest inbound message; `unassigned`: open conversations nobody
    is assigned to, counted per need."""

    due: list[FollowUp]
    deals: list[Deal]
    mine: list[tuple[Conversation, Contact, Message | None]]
    unassigned: list[tuple[str | None, int]]


def home_view(
    session: Session, *, rep_id: int | None, now: datetime, due_before: datetime, conversations: int
) -> HomeView:
    """The reads behind App Home (`conversations`: how many assigned ones to list)."""
    due = [
        row
        for row in list_followups(session, rep_id=rep_id, now=now, limit=50)
        if row.status in HOME_OPEN and row.due_at < due_before
    ]
    return HomeView(
        due=due,
        deals=open_deals_of(session, rep_id),
        mine=list_conversations(session, scope="mine", rep_id=rep_id, limit=conversations),
        unassigned=unassigned_by_need(session),
    )


def open_deals_of(session: Session, rep_id: int | None) -> list[Deal]:
    """A rep's open deals, most recently touched first."""
    return list(
        session.exec(
            select(Deal)
            .where(Deal.owner_id == rep_id, Deal.status == DealStatus.OPEN)
            .order_by(col(Deal.updated_at).desc())
        ).all()
    )


def unassigned_by_need(session: Session) -> list[tuple[str | None, int]]:
    """Open conversations nobody is assigned to, counted per need."""
    rows = session.exec(
        select(Conversation.need, func.count())
        .where(
            Conversation.status == ConversationStatus.OPEN,
            col(Conversation.assignee_id).is_(None),
        )
        .group_by(Conversation.need)
    ).all()
    return [(need, int(count)) for need, count in rows]


# --- the inbox and the shell's feed ----------------------------------------------------------


def last_reply_by(session: Session, conversation_id: int, rep_id: int | None) -> Message | None:
    """The newest reply this rep sent in the conversation (to report its delivery)."""
    return session.exec(
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == Direction.OUTBOUND,
            Message.author_rep_id == rep_id,
        )
        .order_by(col(Message.id).desc())
        .limit(1)
    ).first()


def first_inbound(session: Session, conversation_id: int) -> Message | None:
    return session.exec(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.direction == Direction.INBOUND)
        .order_by(col(Message.id))
        .limit(1)
    ).first()


def conversation_by_inbox_ref(session: Session, ref: str) -> int | None:
    found = session.exec(select(Conversation.id).where(Conversation.inbox_ref == ref)).first()
    return int(found) if found is not None else None


def newest_message_id(session: Session) -> int:
    return session.exec(select(Message.id).order_by(col(Message.id).desc())).first() or 0


def messages_after(
    session: Session, after_id: int, *, direction: str, contact_id: int | None = None
) -> list[tuple[Message, str]]:
    """Messages newer than `after_id` in one direction, with the contact's name."""
    statement = (
        select(Message, Contact.name)
        .join(Contact, col(Contact.id) == col(Message.contact_id))
        .where(col(Message.id) > after_id, Message.direction == direction)
        .order_by(col(Message.id))
    )
    if contact_id is not None:
        statement = statement.where(Message.contact_id == contact_id)
    return [(message, name) for message, name in session.exec(statement)]


def rep_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    """Rep id -> name for the given ids (None and unknown ids are left out)."""
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = session.exec(select(Rep.id, Rep.name).where(col(Rep.id).in_(wanted))).all()
    return {rep_id: name for rep_id, name in rows if rep_id is not None}


# --- companies (the company card, the list, `find`) ------------------------------------------


def company_counts(session: Session, company_id: int) -> tuple[int, int]:
    """(contacts, open deals) of a company."""
    people = session.exec(select(func.count()).where(Contact.company_id == company_id)).one()
    deals = session.exec(
        select(func.count()).where(Deal.company_id == company_id, Deal.status == DealStatus.OPEN)
    ).one()
    return int(people), int(deals)


def company_people(session: Session, company_id: int, limit: int | None = 10) -> list[Contact]:
    statement = select(Contact).where(Contact.company_id == company_id).order_by(col(Contact.id))
    return list(session.exec(statement.limit(limit) if limit else statement).all())


def company_open_deals(session: Session, company_id: int) -> list[Deal]:
    return list(
        session.exec(
            select(Deal)
            .where(Deal.company_id == company_id, Deal.status == DealStatus.OPEN)
            .order_by(col(Deal.id))
        ).all()
    )


def company_list(session: Session, query: str | None, limit: int = 30) -> list[Company]:
    """Companies in name order; with a query, those whose name holds its words."""
    if query:
        found = companies_matching(session, query, limit=limit)
        return sorted(found, key=lambda c: c.name_key)
    statement = select(Company).order_by(col(Company.name_key)).limit(limit)
    return list(session.exec(statement).all())
