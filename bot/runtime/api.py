"""Composition: the open API mounted at /api on the shared HTTP server, and the
webhook sender ticking in the background.

The only place that knows the FastAPI app is served by Starlette/uvicorn; the app
itself (bot/api/) is handed its services and nothing else.
"""

import asyncio
import contextlib
import logging

from starlette.routing import Mount

from bot.api.app import build_api
from bot.api.context import ApiDeps
from bot.app import RapportApp
from bot.outbound.webhooks import WebhookWorker
from bot.runtime import Component
from channels.http import HttpRoutes

logger = logging.getLogger(__name__)


def api_deps(rapport: RapportApp) -> ApiDeps:
    services = rapport.services
    return ApiDeps(
        store=services.store,
        clock=services.clock,
        pipeline=services.pipeline,
        region=rapport.settings.default_phone_region,
        currency=rapport.settings.default_currency,
        send=services.hub.send,
    )


def attach_api(rapport: RapportApp) -> Component:
    app = build_api(api_deps(rapport))
    return Component(name="api", http=HttpRoutes(routes=[Mount("/api", app=app)]), needs_http=True)


def attach_webhooks(rapport: RapportApp) -> Component:
    worker = WebhookWorker(rapport.store, rapport.services.clock)
    interval = rapport.settings.webhook_interval
    task: asyncio.Task[None] | None = None

    async def loop() -> None:
        while True:
            try:
                await worker.tick()
            except Exception:  # noqa: BLE001 - a failed tick is logged, the next one runs
                logger.exception("webhook tick failed")
            await asyncio.sleep(interval)

    async def start() -> None:
        nonlocal task
        task = asyncio.create_task(loop(), name="webhooks")

    async def stop() -> None:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await worker.close()

    return Component(name="webhooks", start=start, stop=stop, extra={"worker": worker})
