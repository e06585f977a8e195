"""Composition: the SMTP channel, used for customers with an email address and as the
reps' fallback when they have neither Slack nor the shell.

Registered on the hub as soon as it is attached (sending needs no connection
kept open: aiosmtplib connects per message), unregistered on stop.
"""

from bot.app import RapportApp
from bot.runtime import Component
from channels.email import EmailChannel


def attach_email(rapport: RapportApp) -> Component:
    settings = rapport.settings
    if not (settings.smtp_host and settings.smtp_from):
        raise ValueError("RAPPORT_SMTP_HOST and RAPPORT_SMTP_FROM are needed to send email")
    channel = EmailChannel(
        host=settings.smtp_host,
        port=settings.smtp_port,
        user=settings.smtp_user,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        sender=settings.smtp_from,
        starttls=settings.smtp_starttls,
    )
    hub = rapport.services.hub
    hub.register(channel)

    async def start() -> None:
        await channel.start()

    async def stop() -> None:
        await channel.stop()
        hub.unregister(channel.name)

    return Component("email", start=start, stop=stop, extra={"channel": channel})
