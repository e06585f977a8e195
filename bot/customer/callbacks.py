"""The customer-channel glue, once, for every customer channel (channels.base.CustomerCallbacks).

Order of work for an inbound message: edits update the stored text; a shared phone number
links the chat to the contact who owns it; anything else goes through
`CustomerDesk.receive` (store, classify, cancel stop-on-reply follow-ups, acknowledge,
notify the inbox), and is awaited before the adapter confirms the message to its
platform. A database that cannot be reached is `Unavailable`, so the adapter keeps the
message and tries again instead of losing it. A permanent send failure marks the chat's
identity unreachable, so follow-ups stop trying it.

A new customer channel is its adapter module plus one line in bot/runtime/ that hands it
`CustomerChannelCallbacks(rapport.services, rapport.desk, "<channel name>")`.
"""

import asyncio
import logging

from sqlalchemy.exc import InterfaceError, OperationalError

from bot.context import Services
from bot.customer.commands import COMMANDS, CustomerCommands, DataExport
from bot.customer.desk import CustomerDesk
from channels.base import Address, DeliveryError, FileSender, IncomingMessage, Reply, Unavailable
from crm.identities import mark_unreachable

logger = logging.getLogger(__name__)


class CustomerChannelCallbacks:
    """Implements channels.base.CustomerCallbacks for the channel called `channel`."""

    commands: tuple[tuple[str, str], ...] = COMMANDS

    def __init__(self, services: Services, desk: CustomerDesk, channel: str) -> None:
        self.services = services
        self.desk = desk
        self.channel = channel
        self.customer_commands = CustomerCommands(services)
        self.files: FileSender | None = None  # bound once the adapter exists (see `bind`)

    def bind(self, files: FileSender) -> None:
        """The adapter that sends this channel's files (built after its callbacks)."""
        self.files = files

    async def on_message(self, message: IncomingMessage) -> Reply | None:
        if message.edited:
            await self.customer_commands.edit(message)
            return None
        if message.phone is not None:
            return await self.customer_commands.share_phone(message)
        try:
            typed = await self.customer_commands.typed_answer(message)
            if typed is not None:
                return typed
            received = await self.desk.receive(message)
        except (OperationalError, InterfaceError) as exc:  # the database is unreachable
            raise Unavailable(type(exc).__name__) from exc
        return received.ack

    async def on_command(self, name: str, _args: str, message: IncomingMessage) -> Reply | None:
        answer = await self.customer_commands.run(name, message)  # None: answered before
        if not isinstance(answer, DataExport):
            return answer
        if self.files is None:  # a channel that sends no files gets the caption alone
            return answer.reply
        try:
            await self.files.send_document(
                message.address,
                filename=answer.filename,
                content=answer.content,
                caption=answer.reply.text,
            )
        except DeliveryError as exc:
            logger.warning(
                "data export not sent channel=%s chat_id=%s error=%s",
                self.channel,
                message.address.chat_id,
                exc,
            )
            return Reply("Sorry, we couldn't send the file just now. Please try /mydata again.")
        return None

    async def on_action(self, action_id: str, value: str, message: IncomingMessage) -> Reply | None:
        return await self.customer_commands.action(action_id, value, message)

    async def on_group(self, address: Address) -> Reply | None:
        return await self.customer_commands.group_notice(address)

    async def on_unreachable(self, chat_id: str, reason: str) -> None:
        await asyncio.to_thread(self._mark_unreachable, chat_id, reason)

    def _mark_unreachable(self, chat_id: str, reason: str) -> None:
        """In a private chat the chat id is the user's id, which is the identity's id."""
        with self.services.store.transaction() as session:
            mark_unreachable(
                session,
                channel=self.channel,
                external_id=chat_id,
                reason=reason,
                now=self.services.clock.now(),
            )
        logger.info(
            "identity unreachable channel=%s chat_id=%s reason=%s", self.channel, chat_id, reason
        )
