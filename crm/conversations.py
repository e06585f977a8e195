"""Customer conversations and their messages: the inbox's domain.

A contact has at most one open conversation per channel; a message after it
was closed opens a new one. `(channel, external_id)` is unique on messages, so
a re-delivered update is recognised and stored once.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from crm import audit
from crm.actors import Actor, require_rep
from crm.enums import ConversationStatus, Delivery, Direction
from crm.errors import Invalid, NotFound
from crm.ids import id_of
from crm.models import Contact, Conversation, Message, NeedCorrection, Rep, snapshot, table_of
from crm.repeats import REPEAT_WINDOW, same_words

MAX_MESSAGE = 20_000
CUT_MARK = f"\n[… cut: the customer's message was longer than {MAX_MESSAGE:,} characters]"
LOOK_UP = object()  # record_inbound: find the open conversation yourself
ACTIVITY_RESOLUTION = timedelta(minutes=1)  # contact.last_activity_at is kept to the minute
VAGUE_NEEDS = frozenset({"greeting", "other"})  # say little about what the customer wants


def stored_text(text: str) -> str:
    """What is kept of a customer's text: all of it up to MAX_MESSAGE characters, else its
    start with CUT_MARK, so the rep knows there was more (Telegram caps a message at 4,096
    characters; the cap guards the store against other channels).  NUL bytes are dropped:
    PostgreSQL text refuses them, so one would lose the message (or its edit)."""
    text = text.replace("\x00", "")
    if len(text) <= MAX_MESSAGE:
        return text
    return text[: MAX_MESSAGE - len(CUT_MARK)] + CUT_MARK


@dataclass(frozen=True)
class InboundResult:
    message: Message
    conversation: Conversation
    new_conversation: bool
    duplicate: bool  # the same external message was already stored
    previous_need: str | None = None  # the conversation's need before this message


@dataclass(frozen=True)
class Attachment:
    kind: str = "text"
    file_id: str | None = None
    file_size: int | None = None


def open_conversation(session: Session, *, contact_id: int, channel: str) -> Conversation | None:
    return session.exec(
        select(Conversation).where(
            Conversation.contact_id == contact_id,
            Conversation.channel == channel,
            Conversation.status == "open",
        )
    ).first()


def get_conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"There is no conversation {conversation_id}. See `inbox`.")
    return conversation


def find_message(session: Session, *, channel: str, external_id: str) -> Message | None:
    return session.exec(
        select(Message).where(Message.channel == channel, Message.external_id == external_id)
    ).first()


def record_inbound(
    session: Session,
    *,
    contact: Contact,
    channel: str,
    chat_id: str,
    text: str,
    sent_at: datetime,
    now: datetime,
    external_id: str | None = None,
    attachment: Attachment | None = None,
    need: str | None = None,
    need_confidence: float | None = None,
    open_now: Conversation | None | object = LOOK_UP,
) -> InboundResult:
    """Stores a customer's message on their open conversation (opening one if needed).

    `open_now` is the contact's open conversation on `channel` (None: there is none)
    when the caller already fetched it (crm.inbound does, in its one query).

    A re-delivered message (same channel and external id) is not looked up first: its
    insert does nothing on the unique constraint (``ON CONFLICT DO NOTHING``), and a
    conversation opened for it is taken back. Every inbound message runs this; a
    look-up, or a savepoint around the insert, would cost round trips on each of them
    to catch the rare re-delivery.
    """
    attachment = attachment or Attachment()
    conversation = (
        open_conversation(session, contact_id=id_of(contact), channel=channel)
        if open_now is LOOK_UP
        else open_now
    )
    assert conversation is None or isinstance(conversation, Conversation)
    new_conversation = conversation is None
    if conversation is None:
        conversation = Conversation(
            contact_id=id_of(contact),
            channel=channel,
            chat_id=chat_id,
            opened_at=now,
            last_message_at=sent_at,
        )
        session.add(conversation)
        session.flush()
    message = _insert_unless_stored(
        session,
        Message(
            conversation_id=id_of(conversation),
            contact_id=id_of(contact),
            channel=channel,
            external_id=external_id,
            direction=Direction.INBOUND,
            kind=attachment.kind,
            text=stored_text(text),
            file_id=attachment.file_id,
            file_size=attachment.file_size,
            need=need,
            need_confidence=need_confidence,
            delivery=Delivery.RECEIVED,
            sent_at=sent_at,
            created_at=now,
        ),
    )
    if message is None:  # stored before (a re-delivery), maybe by a concurrent worker
        assert external_id is not None  # only a non-null external id can conflict
        if new_conversation:
            session.delete(conversation)
        existing = find_message(session, channel=channel, external_id=external_id)
        if existing is None:  # pragma: no cover - the conflicting row cannot vanish
            raise IntegrityError("message insert", None, Exception("conflict without a row"))
        return InboundResult(
            existing, get_conversation(session, existing.conversation_id), False, True
        )
    previous_need = conversation.need
    conversation.chat_id = chat_id
    conversation.last_message_at = max(conversation.last_message_at, sent_at)
    sharper = previous_need in VAGUE_NEEDS and need is not None and need not in VAGUE_NEEDS
    if need is not None and (previous_need is None or new_conversation or sharper):
        # "hi" then "how much is it?": the conversation is about pricing, not a greeting.
        conversation.need, conversation.need_confidence = need, need_confidence
    last = contact.last_activity_at
    if last is None or sent_at - last >= ACTIVITY_RESOLUTION:
        # A chatty customer would otherwise rewrite their contact row on every line.
        contact.last_activity_at = sent_at
        session.add(contact)
    session.add(conversation)
    return InboundResult(message, conversation, new_conversation, False, previous_need)


def _insert_unless_stored(session: Session, message: Message) -> Message | None:
    """INSERT ... ON CONFLICT (channel, external_id) DO NOTHING RETURNING the row.

    None when the message was already stored. PostgreSQL and SQLite 3.35+ speak this
    (the row comes back as a persistent ORM object); an older SQLite library takes
    the slower way, a savepoint around a plain insert.
    """
    dialect = session.get_bind().dialect
    if not dialect.insert_returning:  # SQLite before 3.35
        try:
            with session.begin_nested():
                session.add(message)
                session.flush()
        except IntegrityError:
            return None
        return message
    insert = postgresql_insert if dialect.name == "postgresql" else sqlite_insert
    columns = table_of(Message).columns
    values = {c.key: getattr(message, c.key) for c in columns if c.key != "id"}
    statement = (
        insert(Message)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(Message)
    )
    return session.scalars(statement, [values]).first()


def last_outbound_at(session: Session, contact_id: int) -> datetime | None:
    """When the team (or a follow-up) last wrote to this customer, on any conversation."""
    return session.exec(
        select(func.max(Message.sent_at)).where(
            Message.contact_id == contact_id, Message.direction == Direction.OUTBOUND
        )
    ).one()


def repeated_reply(
    session: Session, *, conversation_id: int, text: str, now: datetime
) -> Message | None:
    """The same words already sent on this conversation within REPEAT_WINDOW with nothing
    from the customer since: a reply typed twice (a double Enter, a retry after a slow
    answer), which would reach the customer twice. The caller asks; it does not refuse,
    since saying the same thing again can be meant."""
    last = session.exec(
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(col(Message.sent_at).desc(), col(Message.id).desc())
        .limit(1)
    ).first()
    if last is None or last.direction != Direction.OUTBOUND or last.sent_at is None:
        return None
    if last.sent_at < now - REPEAT_WINDOW:
        return None
    return last if same_words(last.text, text) else None


def record_outbound(
    session: Session,
    *,
    actor: Actor,
    conversation: Conversation,
    text: str,
    now: datetime,
) -> Message:
    """A reply to the customer, stored as pending until the channel confirms delivery."""
    body = text.strip()
    if not body:
        raise Invalid("text", "The reply is empty. Usage: reply <conversation> <text>")
    if len(body) > MAX_MESSAGE:
        raise Invalid("text", f"That reply is over {MAX_MESSAGE:,} characters.")
    message = Message(
        conversation_id=id_of(conversation),
        contact_id=conversation.contact_id,
        channel=conversation.channel,
        direction=Direction.OUTBOUND,
        text=body,
        author_rep_id=actor.id if actor.kind == "rep" else None,
        delivery=Delivery.PENDING,
        sent_at=now,
        created_at=now,
    )
    session.add(message)
    if actor.kind == "rep" and conversation.first_response_at is None:
        conversation.first_response_at = now
    if actor.kind == "rep" and conversation.assignee_id is None:
        conversation.assignee_id = actor.id
    conversation.last_message_at = now
    session.add(conversation)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="message.send",
        entity_type="conversation",
        entity_id=conversation.id,
        at=now,
        after={"message_id": message.id},
    )
    return message


def keep_for_return(
    session: Session,
    *,
    contact_id: int,
    channel: str,
    chat_id: str,
    text: str,
    now: datetime,
    note: str | None,
    author_rep_id: int | None = None,
) -> Message:
    """A scheduled message for a customer whose client reads the store (a terminal
    customer's shell): it goes on their conversation, delivered when that client is open
    (`note` None), else pending with `note` saying why, shown on their return. Without
    this the follow-up would fail, or vanish, although the channel can show it."""
    conversation = open_conversation(session, contact_id=contact_id, channel=channel)
    if conversation is None:
        conversation = Conversation(
            contact_id=contact_id, channel=channel, chat_id=chat_id, opened_at=now,
            last_message_at=now,
        )  # fmt: skip
    conversation.last_message_at = now
    session.add(conversation)
    session.flush()
    message = Message(
        conversation_id=id_of(conversation),
        contact_id=contact_id,
        channel=channel,
        direction=Direction.OUTBOUND,
        text=stored_text(text),
        author_rep_id=author_rep_id,
        delivery=Delivery.DELIVERED if note is None else Delivery.PENDING,
        failure_reason=note[:300] if note else None,
        sent_at=now,
        created_at=now,
    )
    session.add(message)
    session.flush()
    return message


def mark_delivery(
    session: Session,
    *,
    message_id: int,
    delivered: bool,
    reason: str | None = None,
    external_id: str | None = None,
) -> Message:
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound(f"There is no message {message_id}.")
    message.delivery = Delivery.DELIVERED if delivered else Delivery.FAILED
    message.failure_reason = None if delivered else (reason or "not delivered")[:300]
    if external_id is not None:
        message.external_id = external_id
    session.add(message)
    return message


def assign(
    session: Session, *, actor: Actor, conversation_id: int, rep: Rep | None, now: datetime
) -> Conversation:
    require_rep(actor)
    conversation = get_conversation(session, conversation_id)
    if conversation.assignee_id == (rep.id if rep else None):
        return conversation  # assigned there already: no audit row, `undo` keeps the real one
    before = snapshot(conversation)
    conversation.assignee_id = rep.id if rep else None
    session.add(conversation)
    audit.record(
        session,
        actor=actor,
        action="conversation.assign",
        entity_type="conversation",
        entity_id=conversation.id,
        at=now,
        before=before,
        after=snapshot(conversation),
    )
    return conversation


def close(session: Session, *, actor: Actor, conversation_id: int, now: datetime) -> Conversation:
    require_rep(actor)
    conversation = get_conversation(session, conversation_id)
    if conversation.status == "closed":
        raise Invalid("status", f"Conversation {conversation_id} is already closed.")
    before = snapshot(conversation)
    conversation.status = ConversationStatus.CLOSED
    conversation.closed_at = now
    session.add(conversation)
    audit.record(
        session,
        actor=actor,
        action="conversation.close",
        entity_type="conversation",
        entity_id=conversation.id,
        at=now,
        before=before,
        after=snapshot(conversation),
    )
    return conversation


def retag(
    session: Session,
    *,
    actor: Actor,
    message_id: int,
    need: str,
    known_needs: set[str],
    now: datetime,
) -> Message:
    """A rep's correction: updates the tag and keeps it as a training example."""
    require_rep(actor)
    clean = need.strip().lower().replace(" ", "_")
    if clean not in known_needs:
        raise Invalid(
            "need", f"'{clean[:30]}' is not a need. Needs: {', '.join(sorted(known_needs))}."
        )
    message = session.get(Message, message_id)
    if message is None or message.direction != "inbound":
        raise NotFound(f"There is no customer message {message_id}.")
    old = message.need
    message.need, message.need_confidence, message.need_corrected = clean, 1.0, True
    session.add(message)
    session.add(
        NeedCorrection(
            message_id=message.id,
            text=message.text,
            old_need=old,
            new_need=clean,
            rep_id=actor.id if actor.kind == "rep" else None,
            created_at=now,
        )
    )
    conversation = session.get(Conversation, message.conversation_id)
    if conversation is not None and conversation.need in (None, old):
        conversation.need, conversation.need_confidence = clean, 1.0
        session.add(conversation)
    audit.record(
        session,
        actor=actor,
        action="message.retag",
        entity_type="message",
        entity_id=message.id,
        at=now,
        before={"need": old},
        after={"need": clean},
    )
    return message


def latest_inbound(session: Session, conversation_id: int) -> Message | None:
    """The customer's newest message in a conversation (what `retag conversation N` means)."""
    get_conversation(session, conversation_id)
    return session.exec(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.direction == "inbound")
        .order_by(col(Message.sent_at).desc(), col(Message.id).desc())
    ).first()


def corrections(session: Session) -> list[tuple[str, str]]:
    """Every rep correction as (text, need): extra training data for the classifier."""
    rows = session.exec(select(NeedCorrection).order_by(col(NeedCorrection.id))).all()
    return [(row.text, row.new_need) for row in rows if row.text.strip()]


def list_conversations(
    session: Session, *, scope: str = "open", rep_id: int | None = None, limit: int = 20
) -> list[tuple[Conversation, Contact, Message | None]]:
    """Open conversations newest first, with the contact and the latest inbound message."""
    statement = (
        select(Conversation, Contact)
        .join(Contact, col(Contact.id) == col(Conversation.contact_id))
        .where(Conversation.status == "open")
        .order_by(col(Conversation.last_message_at).desc())
        .limit(limit)
    )
    if scope == "mine":
        statement = statement.where(Conversation.assignee_id == rep_id)
    elif scope == "unassigned":
        statement = statement.where(col(Conversation.assignee_id).is_(None))
    rows = session.exec(statement).all()
    out = []
    for conversation, contact in rows:
        last = session.exec(
            select(Message)
            .where(Message.conversation_id == conversation.id, Message.direction == "inbound")
            .order_by(col(Message.sent_at).desc())
            .limit(1)
        ).first()
        out.append((conversation, contact, last))
    return out


def note_customer_activity(session: Session, *, conversation: Conversation, now: datetime) -> None:
    """Marks that the bot acknowledged the customer (so a burst gets one acknowledgement)."""
    conversation.last_ack_at = now
    session.add(conversation)
