"""`rapport shell`: the terminal as a channel, for a rep or a customer.

A rep's lines go through the same dispatcher as Slack's `/crm`; a customer's
lines go through the same CustomerDesk as Telegram. Between lines a tick sends
due follow-ups (printed here when they are for this terminal) and shows what
arrived from elsewhere: new customer messages for a rep, replies for a customer.
"""

import asyncio
import contextlib
from typing import TextIO

from sqlmodel import col, select

from bot.app import RapportApp, run_periodically
from channels.base import Address, IncomingMessage, OutgoingMessage, Reply
from channels.console import ConsoleChannel
from crm.models import ChannelIdentity, Contact, Message


def identity_key(name: str) -> str:
    """The same name is the same person across runs."""
    return " ".join(name.split()).casefold()


class _Feed:
    """Remembers the last message id shown, to print only what is new."""

    def __init__(self, app: RapportApp) -> None:
        self.app = app
        with app.store.transaction() as session:
            self.last_id = (
                session.exec(select(Message.id).order_by(col(Message.id).desc())).first() or 0
            )

    def new_messages(
        self, *, direction: str, contact_id: int | None = None
    ) -> list[tuple[Message, str]]:
        with self.app.store.transaction() as session:
            statement = (
                select(Message, Contact.name)
                .join(Contact, col(Contact.id) == col(Message.contact_id))
                .where(col(Message.id) > self.last_id, Message.direction == direction)
                .order_by(col(Message.id))
            )
            if contact_id is not None:
                statement = statement.where(Message.contact_id == contact_id)
            rows = [(m, name) for m, name in session.exec(statement)]
            newest = session.exec(select(Message.id).order_by(col(Message.id).desc())).first()
        self.last_id = max(self.last_id, newest or 0)
        return rows


async def run_shell(
    app: RapportApp,
    *,
    as_: str = "rep",
    name: str = "me",
    admin: bool = True,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    interactive: bool | None = None,
) -> None:
    key = identity_key(name)
    feed = _Feed(app)
    if as_ == "customer":
        address = Address("shell", key)

        async def on_line(text: str) -> Reply | None:
            received = await app.desk.receive(
                IncomingMessage(address=address, sender_id=key, sender_name=name, text=text)
            )
            return received.ack

        prompt = "you> "
    else:
        actor = await asyncio.to_thread(
            app.rep_actor, channel="shell", external_id=key, name=name, admin=admin
        )

        async def on_line(text: str) -> Reply | None:
            return await app.dispatcher.handle(actor, text, Address("shell", key))

        prompt = f"{name}> "
    console = ConsoleChannel(
        on_line, prompt=prompt, stdin=stdin, stdout=stdout, interactive=interactive
    )
    app.services.hub.register(console)

    async def tick() -> None:
        await app.outbox.tick()
        if as_ == "customer":
            contact_id = await asyncio.to_thread(_contact_id, app, key)
            rows = (
                await asyncio.to_thread(
                    feed.new_messages, direction="outbound", contact_id=contact_id
                )
                if contact_id
                else []
            )
            for message, _name in rows:
                await console.send(OutgoingMessage(Address("shell", key), Reply(message.text)))
        else:
            rows = await asyncio.to_thread(feed.new_messages, direction="inbound")
            for message, contact_name in rows:
                need = f" [{message.need}]" if message.need else ""
                await console.send(
                    OutgoingMessage(
                        Address("shell", key),
                        Reply(
                            f"New message{need} from {contact_name} "
                            f"(conversation {message.conversation_id}, msg {message.id}): "
                            f"{message.text[:200]}"
                        ),
                        kind="notice",
                    )
                )

    ticker = asyncio.create_task(
        run_periodically(app.settings.tick_seconds, tick, name="shell-tick")
    )
    try:
        await console.run()
        await tick()  # anything that fell due while the last line was handled
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        app.services.hub.unregister(console.name)


def _contact_id(app: RapportApp, key: str) -> int | None:
    with app.store.transaction() as session:
        identity = session.exec(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == "shell", ChannelIdentity.external_id == key
            )
        ).first()
        return identity.contact_id if identity else None
