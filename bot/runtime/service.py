"""`rapport run`: start the configured channels, the HTTP server and the scheduler.

Each channel starts only when its settings are present. The order is: the
classifier (in the background: customer messages wait for it, nothing else does), the
channels, the HTTP server (when a channel serves HTTP), then the scheduler; everything
stops in reverse order. One asyncio loop owns it all.
"""

import asyncio
import contextlib
import logging
import signal

from bot.app import RapportApp
from bot.runtime import Component
from channels.http import HttpServer, build_http_app

logger = logging.getLogger(__name__)


def build_components(rapport: RapportApp) -> list[Component]:
    settings = rapport.settings
    components: list[Component] = []
    if settings.telegram_enabled:
        from bot.runtime.telegram import attach_telegram

        components.append(attach_telegram(rapport))
    if settings.slack_enabled:
        from bot.runtime.slack import attach_slack

        components.append(attach_slack(rapport))
    if settings.email_enabled:
        from bot.runtime.email import attach_email

        components.append(attach_email(rapport))
    if settings.api_enabled:
        from bot.runtime.api import attach_api

        components.append(attach_api(rapport))
    from bot.runtime.api import attach_webhooks

    components.append(attach_webhooks(rapport))
    from bot.runtime.scheduler import attach_scheduler

    components.append(attach_scheduler(rapport))
    return components


class Service:
    """Everything `rapport run` runs, startable and stoppable from tests."""

    def __init__(self, rapport: RapportApp, components: list[Component] | None = None) -> None:
        self.rapport = rapport
        self.components = components if components is not None else build_components(rapport)
        self.http: HttpServer | None = None
        self._started: list[Component] = []

    async def start(self) -> None:
        services = self.rapport.services
        if services.classifier is None and services.classifier_loading is None:
            # Loading takes a second; training on a first start takes a minute or more on
            # a small machine. The API, Slack and the scheduler serve meanwhile; customer
            # messages wait for it (CustomerDesk.receive), so none is left untagged.
            services.classifier_loading = asyncio.ensure_future(
                asyncio.to_thread(self._load_classifier)
            )
        parts = [c.http for c in self.components if c.http is not None]
        for component in self.components:
            await component.start()
            self._started.append(component)
        if parts or any(c.needs_http for c in self.components):

            async def health() -> str | None:
                return await asyncio.to_thread(self.rapport.store.health)

            settings = self.rapport.settings
            self.http = HttpServer(
                build_http_app(health, parts), host=settings.http_host, port=settings.http_port
            )
            await self.http.start()
            logger.info("http listening host=%s port=%s", settings.http_host, self.http.port)
        logger.info("rapport running components=%s", ",".join(c.name for c in self._started))

    def _load_classifier(self) -> object:
        try:
            return self.rapport.load_classifier()
        except Exception:  # noqa: BLE001 - messages are stored untagged, as without one
            logger.exception("need classifier could not be loaded; messages stay untagged")
            return None

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.stop()
            self.http = None
        while self._started:
            component = self._started.pop()
            try:
                await component.stop()
            except Exception:  # noqa: BLE001 - keep stopping the rest
                logger.exception("stopping component=%s failed", component.name)


async def serve(rapport: RapportApp) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    service = Service(rapport)
    try:
        await service.start()
        await stop.wait()
    finally:
        await service.stop()
