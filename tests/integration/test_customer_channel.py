"""A second customer channel is an adapter plus one line of wiring.

"webchat" is defined here, in tests/, and is wired exactly as bot/runtime/telegram.py
wires Telegram: `CustomerChannelCallbacks(services, desk, name)`. Nothing outside
channels/ and bot/runtime/ knows it exists, yet a customer's message lands on the
timeline and the inbox, the rep's reply reaches the customer, a follow-up is routed to
it by its declared traits, and a permanent failure marks the chat unreachable.
"""

import pytest
from sqlmodel import select

from bot.app import RapportApp
from bot.customer.callbacks import CustomerChannelCallbacks
from bot.outbound.outbox import Outbox
from channels.base import (
    Address,
    ChannelTraits,
    CustomerCallbacks,
    IncomingMessage,
    OutgoingMessage,
    Reply,
    SendResult,
)
from crm import followups
from crm.activities import timeline
from crm.models import ChannelIdentity, Contact, Message


class WebChat:
    """A web chat widget's adapter: messages come in through `customer_writes`."""

    name = "webchat"
    traits = ChannelTraits(customer_rank=3, confirms_delivery=True)

    def __init__(self, callbacks: CustomerCallbacks) -> None:
        self.callbacks = callbacks
        self.sent: list[OutgoingMessage] = []
        self.refuse: str | None = None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, message: OutgoingMessage) -> SendResult:
        if self.refuse:
            await self.callbacks.on_unreachable(message.address.chat_id, self.refuse)
            return SendResult(delivered=False, error=self.refuse, permanent=True)
        self.sent.append(message)
        return SendResult(delivered=True, external_id=f"web-{len(self.sent)}")

    async def customer_writes(self, session_id: str, text: str, n: int) -> Reply | None:
        incoming = IncomingMessage(
            Address(self.name, session_id), session_id, "Carol King", text, f"{session_id}:{n}"
        )
        if text.startswith("/"):
            return await self.callbacks.on_command(text[1:], "", incoming)
        return await self.callbacks.on_message(incoming)


@pytest.fixture
def rapport(make_rapport) -> RapportApp:  # type: ignore[no-untyped-def]
    return make_rapport(RAPPORT_QUIET_HOURS="off")  # the follow-ups below go at once


@pytest.fixture
def webchat(rapport: RapportApp) -> WebChat:
    channel = WebChat(CustomerChannelCallbacks(rapport.services, rapport.desk, "webchat"))
    rapport.services.hub.register(channel)  # the one line of wiring
    return channel


async def test_a_webchat_message_lands_on_the_timeline_and_the_reps_reply_reaches_it(  # type: ignore[no-untyped-def]
    rapport: RapportApp, webchat: WebChat
) -> None:
    ack = await webchat.customer_writes("s-1", "my card was charged twice", 1)
    assert ack is not None and "Carol" in ack.text  # acknowledged, like on Telegram
    rep = rapport.rep_actor(channel="shell", external_id="alice", name="Alice")
    listing = (await rapport.dispatcher.handle(rep, "inbox")).text
    assert "Carol King via webchat" in listing
    reply = await rapport.dispatcher.handle(rep, "reply 1 Refunding it now")
    assert "✓ Delivered." in reply.text
    assert [(m.address, m.reply.text) for m in webchat.sent] == [
        (Address("webchat", "s-1"), "Refunding it now")
    ]
    with rapport.store.transaction() as session:
        contact = session.exec(select(Contact)).one()
        texts = [entry.text for entry in timeline(session, contact_id=contact.id, limit=5)]
        assert "my card was charged twice" in texts and "Refunding it now" in texts
        outbound = session.exec(select(Message).where(Message.direction == "outbound")).one()
        assert (outbound.delivery, outbound.external_id) == ("delivered", "web-1")
    status = await webchat.customer_writes("s-1", "/status", 2)
    assert status is not None and status.text  # the customer commands answer here too


async def test_a_follow_up_is_routed_to_webchat_by_its_traits_and_a_refusal_marks_it_unreachable(  # type: ignore[no-untyped-def]
    rapport: RapportApp, webchat: WebChat, clock
) -> None:
    await webchat.customer_writes("s-2", "do you deliver on Sundays?", 1)
    rep = rapport.rep_actor(channel="shell", external_id="alice", name="Alice")
    outbox = Outbox(rapport.services)

    def follow_up(text: str) -> None:
        with rapport.store.transaction() as session:
            contact = session.exec(select(Contact)).one()
            followups.schedule(
                session,
                actor=rep,
                kind="customer",
                due_at=clock.now(),
                text=text,
                now=clock.now(),
                contact_id=contact.id,
                stop_on_reply=False,
            )

    follow_up("Yes, we do")
    assert await outbox.tick() == 1
    assert [(m.address, m.reply.text) for m in webchat.sent] == [
        (Address("webchat", "s-2"), "Yes, we do")
    ]
    webchat.refuse = "widget closed for good"
    follow_up("Anything else?")
    assert await outbox.tick() == 0
    with rapport.store.transaction() as session:
        identity = session.exec(
            select(ChannelIdentity).where(ChannelIdentity.channel == "webchat")
        ).one()
        assert identity.reachable is False
