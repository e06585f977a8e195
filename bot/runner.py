"""`rapport run`: start the configured channels, the HTTP server and the scheduler.

Channel adapters are added here as they are built (Telegram, Slack); each is
started only when its settings are present. Stops in reverse order.
"""

import asyncio
import contextlib
import logging
import signal

from bot.app import RapportApp, run_periodically

logger = logging.getLogger(__name__)


async def serve(rapport: RapportApp) -> None:
    settings = rapport.settings
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await asyncio.to_thread(rapport.load_classifier)
    await rapport.services.hub.start_all()
    ticker = asyncio.create_task(
        run_periodically(settings.tick_seconds, rapport.outbox.tick, name="outbox")
    )
    logger.info("rapport running channels=%s", ",".join(rapport.services.hub.names) or "none")
    try:
        await stop.wait()
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await rapport.services.hub.stop_all()
