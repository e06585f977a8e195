"""Telegram, wired: config from settings -> the adapter, whose callbacks are the
channel-neutral customer glue (bot/customer/callbacks.py); the adapter is registered on
the hub as "telegram" so rep replies and follow-ups reach customers.
"""

import logging

from bot.app import RapportApp
from bot.customer.callbacks import CustomerChannelCallbacks
from bot.customer.commands import SHARE_PHONE
from bot.runtime import Component
from channels.telegram.channel import TelegramChannel, TelegramConfig

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
    callbacks = CustomerChannelCallbacks(rapport.services, rapport.desk, CHANNEL)
    channel = TelegramChannel(config, callbacks)
    callbacks.bind(channel)  # /mydata exports go out as Telegram documents
    rapport.services.hub.register(channel)
    return Component(
        name=CHANNEL,
        start=channel.start,
        stop=channel.stop,
        http=channel.http_routes(),
        extra={"channel": channel, "commands": callbacks.customer_commands},
    )
