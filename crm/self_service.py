"""What customers do for themselves from a chat: edit a message, share their phone,
look at their open requests; plus the small per-chat state those flows need.

Channel-neutral (a channel is a string here). Like every service, functions
take the caller's session and do not commit.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from crm import audit
from crm.actors import SYSTEM
from crm.contacts import NormalisedPoints, find_by_points, refresh_search_text
from crm.conversations import find_message, stored_text
from crm.enums import ActivityKind, PointKind
from crm.identities import find_identity, identities_of, link_identity_to, resolve_customer
from crm.ids import id_of
from crm.merge import merge_contacts
from crm.models import (
    Activity,
    ChannelIdentity,
    ChatState,
    Contact,
    ContactPoint,
    Conversation,
    Message,
    ProcessedEvent,
    Rep,
)
from crm.validation import normalise_phone


def record_edit(
    session: Session, *, channel: str, external_id: str, text: str, at: datetime
) -> Message | None:
    """The customer edited a stored message: keep the new text, remember the old one.

    `edits` lists former versions as {"text", "at"} where `at` is when that
    version was replaced. The list is reassigned (a JSON column does not see
    in-place changes). A re-delivered edit (same text) changes nothing. None if
    the message was never stored (e.g. an edited command).
    """
    message = find_message(session, channel=channel, external_id=external_id)
    if message is None or message.direction != "inbound":
        return None
    new_text = stored_text(text)
    if message.text == new_text:
        return message
    message.edits = [*(message.edits or []), {"text": message.text, "at": at.isoformat()}]
    message.text = new_text
    session.add(message)
    return message


@dataclass(frozen=True)
class PhoneLink:
    """What sharing a phone number did: `outcome` is one of created, linked, added,
    already, merged or relinked; `merged_from` is the contact folded away."""

    contact: Contact
    outcome: str
    merged_from: int | None = None


def link_shared_phone(
    session: Session,
    *,
    channel: str,
    external_id: str,
    display_name: str | None,
    phone: str,
    now: datetime,
    region: str = "US",
) -> PhoneLink:
    """Ties the chat user to whoever owns this (platform-verified) phone number.

    A contact that already has the number keeps it and gets this chat identity:
    if the chat's own contact was only a placeholder made by this channel (no
    other identity), it is merged in, timeline and all; otherwise only the
    identity moves. Raises Invalid for a number that does not parse.
    """
    number = normalise_phone(phone, region)
    identity = find_identity(session, channel, external_id)
    current = None
    if identity is not None and identity.contact_id is not None:
        current = session.get(Contact, identity.contact_id)
    if identity is None or current is None:
        resolution = resolve_customer(
            session,
            channel=channel,
            external_id=external_id,
            display_name=display_name,
            now=now,
            phone=number,
            region=region,
        )
        outcome = "created" if resolution.created else "linked"
        return PhoneLink(resolution.contact, outcome)
    holder = find_by_points(session, NormalisedPoints([], [number]))
    if holder is not None and holder.id == current.id:
        return PhoneLink(current, "already")
    if holder is None:
        _add_phone(session, current, number, now)
        result = PhoneLink(current, "added")
    elif current.created_via == channel and len(identities_of(session, id_of(current))) == 1:
        merge_contacts(
            session, actor=SYSTEM, source_id=id_of(current), target_id=id_of(holder), now=now
        )
        result = PhoneLink(holder, "merged", merged_from=current.id)
    else:
        link_identity_to(session, identity=identity, contact=holder, now=now)
        result = PhoneLink(holder, "relinked")
    _note(session, result, channel, now)
    return result


def _add_phone(session: Session, contact: Contact, number: str, now: datetime) -> None:
    position = len(
        session.exec(select(ContactPoint).where(ContactPoint.contact_id == contact.id)).all()
    )
    session.add(
        ContactPoint(
            contact_id=id_of(contact),
            kind=PointKind.PHONE,
            value=number,
            position=position,
            created_at=now,
        )
    )
    session.flush()
    contact.updated_at = now
    refresh_search_text(session, contact)
    session.add(contact)
    audit.record(
        session,
        actor=SYSTEM,
        action="contact.phone_shared",
        entity_type="contact",
        entity_id=contact.id,
        at=now,
        after={"phones_added": 1},
    )


def _note(session: Session, link: PhoneLink, channel: str, now: datetime) -> None:
    """A line on the contact's timeline, so the reps see what happened and why."""
    text = {
        "added": f"Shared their phone number on {channel}; it was added to this contact.",
        "merged": (
            f"Shared their phone number on {channel}; it matched this contact, so the "
            f"{channel} chat was linked here and contact #{link.merged_from} merged in."
        ),
        "relinked": (
            f"Shared their phone number on {channel}; it matched this contact, so the "
            f"{channel} chat is now linked here."
        ),
    }[link.outcome]
    session.add(
        Activity(
            contact_id=id_of(link.contact),
            kind=ActivityKind.NOTE,
            text=text,
            occurred_at=now,
            created_at=now,
        )
    )


def mark_reachable(session: Session, *, identity: ChannelIdentity, now: datetime) -> bool:
    """A customer we had marked unreachable (blocked us) wrote again: they unblocked.

    Called by the inbound flow with the identity it resolved, inside the same
    transaction that stores the message.
    """
    if identity.reachable:
        return False
    identity.reachable, identity.unreachable_reason = True, None
    session.add(identity)
    audit.record(
        session,
        actor=SYSTEM,
        action="identity.reachable",
        entity_type="contact",
        entity_id=identity.contact_id,
        at=now,
        after={"channel": identity.channel},
    )
    return True


def first_delivery(session: Session, *, source: str, event_id: str, now: datetime) -> bool:
    """True the first time an external event id is seen (re-deliveries return False)."""
    try:
        with session.begin_nested():
            session.add(ProcessedEvent(source=source, event_id=_event_key(event_id), at=now))
            session.flush()
    except IntegrityError:
        return False
    return True


def _event_key(event_id: str) -> str:
    return event_id[:200]  # the column's width


def _processed(source: str, event_id: str) -> SelectOfScalar[ProcessedEvent]:
    return select(ProcessedEvent).where(
        ProcessedEvent.source == source, ProcessedEvent.event_id == _event_key(event_id)
    )


def delivered_before(session: Session, *, source: str, event_id: str) -> bool:
    """Whether `first_delivery` has already taken this key (without taking it)."""
    return session.exec(_processed(source, event_id)).first() is not None


def forget_delivery(session: Session, *, source: str, event_id: str) -> None:
    """Gives a key taken by `first_delivery` back, so that the next attempt may take it:
    for once-only work that failed for a reason that may pass."""
    for row in session.exec(_processed(source, event_id)):
        session.delete(row)


def chat_state(session: Session, channel: str, chat_id: str) -> ChatState | None:
    return session.exec(
        select(ChatState).where(ChatState.channel == channel, ChatState.chat_id == chat_id)
    ).first()


def update_chat_state(
    session: Session, *, channel: str, chat_id: str, now: datetime, **values: Any
) -> dict[str, Any]:
    """Sets (or, with None, removes) keys of a chat's state; returns the state before."""
    state = chat_state(session, channel, chat_id) or ChatState(
        channel=channel, chat_id=chat_id, updated_at=now
    )
    before = dict(state.data or {})
    data = {**before, **values}
    state.data = {k: v for k, v in data.items() if v is not None}  # reassigned, not mutated
    state.updated_at = now
    session.add(state)
    session.flush()
    return before


@dataclass(frozen=True)
class OpenRequest:
    conversation: Conversation
    assignee: str | None
    last_reply_at: datetime | None


def open_requests(session: Session, contact_id: int) -> list[OpenRequest]:
    """The contact's open conversations, newest first, with who has them and our last reply."""
    rows = session.exec(
        select(Conversation)
        .where(Conversation.contact_id == contact_id, Conversation.status == "open")
        .order_by(col(Conversation.last_message_at).desc())
    ).all()
    out = []
    for conversation in rows:
        rep = session.get(Rep, conversation.assignee_id) if conversation.assignee_id else None
        last_reply = session.exec(
            select(Message.sent_at)
            .where(Message.conversation_id == conversation.id, Message.direction == "outbound")
            .order_by(col(Message.sent_at).desc())
        ).first()
        out.append(OpenRequest(conversation, rep.name if rep else None, last_reply))
    return out
