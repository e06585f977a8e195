"""Telegram, wired: the adapter's callbacks go to the customer desk and the customer
commands; the adapter is registered on the hub as "telegram" so rep replies and
follow-ups reach customers; a blocked chat marks the identity unreachable.

Order of work for an inbound message: edits update the stored text; a shared
phone number links the chat to the contact who owns it; anything else goes
through `CustomerDesk.receive` (store, classify, cancel stop-on-reply
follow-ups, acknowledge, notify the inbox), and is awaited before the adapter
confirms the update to Telegram.
"""

import asyncio
import logging

from sqlalchemy.exc import InterfaceError, OperationalError

from bot.app import RapportApp
from bot.customer.commands import COMMANDS, SHARE_PHONE, CustomerCommands, DataExport
from bot.runtime import Component
from channels.base import Address, DeliveryError, IncomingMessage, Reply, Unavailable
from channels.telegram.channel import TelegramCallbacks, TelegramChannel, TelegramConfig
from crm.identities import mark_unreachable

logger = logging.getLogger(__name__)

CHANNEL = "telegram"


def attach_telegram(
    rapport: RapportApp,
    *,
    poll_timeout: float = 25.0,
    backoff_initial: float = 0.5,
    backoff_max: float = 30.0,
) -> Component:
    """Builds the Telegram channel from settings and hooks it into Rapport.

    The keyword arguments only tune timing (tests shorten them).
    """
    settings = rapport.settings
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    commands = CustomerCommands(rapport.services)
    secret = settings.telegram_webhook_secret
    config = TelegramConfig(
        token=settings.telegram_bot_token.get_secret_value(),
        api_url=settings.telegram_api_url,
        webhook_url=settings.telegram_webhook_url,
        webhook_secret=secret.get_secret_value() if secret is not None else None,
        allow_groups=settings.telegram_allow_groups,
        rate_per_second=settings.telegram_rate_per_second,
        poll_timeout=poll_timeout,
        backoff_initial=backoff_initial,
        backoff_max=backoff_max,
        phone_action=SHARE_PHONE,
    )
    channel: TelegramChannel

    async def on_message(message: IncomingMessage) -> Reply | None:
        if message.edited:
            await commands.edit(message)
            return None
        if message.phone is not None:
            return await commands.share_phone(message)
        try:
            received = await rapport.desk.receive(message)
        except (OperationalError, InterfaceError) as exc:  # the database is unreachable
            raise Unavailable(type(exc).__name__) from exc
        return received.ack

    async def on_command(name: str, _args: str, message: IncomingMessage) -> Reply | None:
        answer = await commands.run(name, message)  # None: a re-delivery, answered before
        if not isinstance(answer, DataExport):
            return answer
        try:
            await channel.send_document(
                message.address,
                filename=answer.filename,
                content=answer.content,
                caption=answer.reply.text,
            )
        except DeliveryError as exc:
            logger.warning("data export not sent chat_id=%s error=%s", message.address.chat_id, exc)
            return Reply("Sorry, we couldn't send the file just now. Please try /mydata again.")
        return None

    async def on_action(action_id: str, value: str, message: IncomingMessage) -> Reply | None:
        return await commands.action(action_id, value, message)

    async def on_group(address: Address) -> Reply | None:
        return await commands.group_notice(address)

    async def on_unreachable(chat_id: str, reason: str) -> None:
        await asyncio.to_thread(_mark_unreachable, rapport, chat_id, reason)

    channel = TelegramChannel(
        config,
        TelegramCallbacks(
            on_message=on_message,
            on_command=on_command,
            on_action=on_action,
            commands=COMMANDS,
            on_group=on_group,
            on_unreachable=on_unreachable,
        ),
    )
    rapport.services.hub.register(channel)
    return Component(
        name=CHANNEL,
        start=channel.start,
        stop=channel.stop,
        http=channel.http_routes(),
        extra={"channel": channel, "commands": commands},
    )


def _mark_unreachable(rapport: RapportApp, chat_id: str, reason: str) -> None:
    """In a private chat the chat id is the user's id, which is the identity's id."""
    with rapport.store.transaction() as session:
        mark_unreachable(
            session,
            channel=CHANNEL,
            external_id=chat_id,
            reason=reason,
            now=rapport.services.clock.now(),
        )
    logger.info("telegram identity unreachable chat_id=%s reason=%s", chat_id, reason)
