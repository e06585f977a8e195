"""The customer inbound flow: store -> classify -> acknowledge -> route to reps.

Channel-neutral: Telegram, the shell's customer mode and any future customer
channel hand an IncomingMessage to `CustomerDesk.receive`. The message is
committed before anything is sent, so an outage after that loses nothing, and
a re-delivered message (same channel message id) is stored once and not
acknowledged twice.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.context import Services
from bot.customer.acks import NEUTRAL, Acknowledgements
from channels.base import ChannelTraits, IncomingMessage, Reply
from crm import conversations, followups
from crm.contact_language import learn_language
from crm.conversations import VAGUE_NEEDS, Attachment
from crm.identities import resolve_customer
from crm.ids import id_of
from crm.inbound import KnownCustomer, known_customer
from crm.models import Contact
from crm.needs.language import detect as detect_language
from crm.self_service import mark_reachable
from crm.surveys import record_survey_answer

logger = logging.getLogger(__name__)

BURST_WINDOW = timedelta(minutes=3)


@dataclass(frozen=True)
class InboxEvent:
    """What the reps' inbox is told about a new customer message."""

    conversation_id: int
    message_id: int
    contact_id: int
    contact_name: str
    channel: str
    text: str
    kind: str
    need: str | None
    need_confidence: float | None
    new_conversation: bool
    new_contact: bool
    inbox_ref: str | None
    in_burst: bool = False  # not acknowledged: part of a burst of quick messages
    language: str | None = None  # the message's detected language (ISO 639-1)


InboxSubscriber = Callable[[InboxEvent], Awaitable[None]]


@dataclass(frozen=True)
class Received:
    ack: Reply | None
    event: InboxEvent | None
    duplicate: bool


def private_chat(message: IncomingMessage, traits: ChannelTraits) -> str:
    """Where a rep's reply goes: where the channel's private chat is the sender's id
    (Telegram), that chat, never a group they wrote from (groups can be allowed; a reply
    there would show the customer's business to everyone in it)."""
    if traits.private_chat_is_sender:
        return message.sender_id
    return message.address.chat_id


class CustomerDesk:
    def __init__(self, services: Services, acks: Acknowledgements | None = None) -> None:
        self.services = services
        self.acks = acks or Acknowledgements.default(services.settings)
        self.subscribers: list[InboxSubscriber] = []

    def subscribe(self, subscriber: InboxSubscriber) -> None:
        self.subscribers.append(subscriber)

    def classify(self, text: str) -> tuple[str | None, float | None]:
        classifier = self.services.classifier
        if classifier is None or not text.strip():
            return None, None
        prediction = classifier.predict(text)
        return prediction.need, float(prediction.confidence)

    async def receive(self, message: IncomingMessage) -> Received:
        """Stores and classifies one customer message; returns the acknowledgement to send."""
        text = message.text or (message.attachment.caption if message.attachment else "") or ""
        if "\x00" in text or "\x00" in (message.sender_name or ""):  # PostgreSQL refuses NUL
            text = text.replace("\x00", "")
            message = replace(message, sender_name=(message.sender_name or "").replace("\x00", ""))
        await self.services.classifier_ready()  # a first start may still be training it
        received = await asyncio.to_thread(self._classify_and_store, message, text)
        if received.event is not None:
            await self._route(received.event)
        return received

    def _classify_and_store(self, message: IncomingMessage, text: str) -> Received:
        """One worker-thread hop for both: each hop costs the event loop a wake-up."""
        need, confidence = self.classify(text)
        language = detect_language(text, hint=message.language_hint)
        return self._store(message, text, need, confidence, language)

    def _reply_language(self, contact: Contact, message: IncomingMessage) -> str:
        """What to answer in: theirs if known, else their app's, else the business's."""
        return self.acks.texts.language_for(contact.language, message.language_hint)

    def _confident(self, confidence: float | None) -> bool:
        """Whether the need is sure enough to promise its specific action to the customer."""
        classifier = self.services.classifier
        if classifier is None or confidence is None:
            return True  # no classifier: the need (None) already gets the neutral text
        # a classifier that reports no acknowledgement threshold (a team's own) is trusted
        return confidence >= getattr(classifier, "ack_threshold", 0.0)

    def _store(
        self,
        message: IncomingMessage,
        text: str,
        need: str | None,
        confidence: float | None,
        language: str | None = None,
    ) -> Received:
        now = self.services.clock.now()
        attachment = None
        if message.attachment is not None:
            attachment = Attachment(
                kind=message.attachment.kind,
                file_id=message.attachment.file_id,
                file_size=message.attachment.size,
            )
        with self.services.store.transaction() as session:
            known = self._customer(session, message, now)
            resolution = known.resolution
            mark_reachable(session, identity=resolution.identity, now=now)  # if they had blocked us
            if record_survey_answer(session, id_of(resolution.contact), text, now):
                # A 1-5 answer to the satisfaction survey is stored on the surveyed
                # conversation; it does not open a new inbox conversation.
                thanks = self.acks.texts.get(
                    self._reply_language(resolution.contact, message), "survey_thanks"
                )
                return Received(Reply(thanks), None, duplicate=False)
            result = conversations.record_inbound(
                session,
                contact=resolution.contact,
                channel=message.address.channel,
                chat_id=private_chat(message, self.services.hub.traits(message.address.channel)),
                text=text,
                sent_at=message.sent_at or now,
                now=now,
                external_id=message.message_id,
                attachment=attachment,
                need=need,
                need_confidence=confidence,
                open_now=known.conversation if known.found else conversations.LOOK_UP,
            )
            if result.duplicate:
                return Received(None, None, duplicate=True)
            result.message.language = language
            learn_language(session, resolution.contact, language, now=now)
            if known.followups_to_stop:
                followups.cancel_on_reply(session, contact_id=id_of(resolution.contact), now=now)
            conversation = result.conversation
            # A burst gets one acknowledgement, unless a message in it brings a new,
            # specific need ("hi" ... "my card was charged twice"): that deserves its own.
            new_topic = (
                need is not None and need not in VAGUE_NEEDS and need != result.previous_need
            )
            in_burst = (
                conversation.last_ack_at is not None
                and now - conversation.last_ack_at < BURST_WINDOW
                and not result.new_conversation
                and not new_topic
            )
            ack = None
            if not in_burst:
                ack = self.acks.render(
                    need if self._confident(confidence) else NEUTRAL,
                    name=resolution.contact.name,
                    now=now,
                    kind=result.message.kind,
                    language=self._reply_language(resolution.contact, message),  # learnt above
                )
                conversations.note_customer_activity(session, conversation=conversation, now=now)
            event = InboxEvent(
                conversation_id=id_of(conversation),
                message_id=id_of(result.message),
                contact_id=id_of(resolution.contact),
                contact_name=resolution.contact.name,
                channel=message.address.channel,
                text=text,
                kind=result.message.kind,
                need=need,
                need_confidence=confidence,
                new_conversation=result.new_conversation,
                new_contact=resolution.created,
                inbox_ref=conversation.inbox_ref,
                in_burst=in_burst,
                language=language,
            )
        return Received(ack, event, duplicate=False)

    def _customer(self, session: Session, message: IncomingMessage, now: datetime) -> KnownCustomer:
        """Who wrote: one query for a returning customer, else resolve (create) them."""
        address = message.address
        known = known_customer(session, channel=address.channel, external_id=message.sender_id)
        if known is not None:
            return known
        resolution = resolve_customer(
            session,
            channel=address.channel,
            external_id=message.sender_id,
            display_name=message.sender_name,
            phone=message.phone,
            now=now,
            region=self.services.settings.default_phone_region,
        )
        return KnownCustomer(resolution, None, followups_to_stop=True, found=False)

    async def _route(self, event: InboxEvent) -> None:
        for subscriber in self.subscribers:
            try:
                await subscriber(event)
            except Exception:  # noqa: BLE001 - one failing inbox must not lose the others
                logger.exception(
                    "inbox routing failed conversation=%s message=%s",
                    event.conversation_id,
                    event.message_id,
                )
