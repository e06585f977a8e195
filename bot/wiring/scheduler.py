"""Composition: the scheduler that ticks the outbox and runs the rules under `rapport run`.

Started last by the runner (after every channel is on the hub, so the first
tick, which sends whatever fell due during downtime, can reach them all) and
stopped first.
"""

import logging

from bot.app import RapportApp
from bot.scheduler import Scheduler
from bot.wiring import Component


def attach_scheduler(rapport: RapportApp) -> Component:
    # APScheduler logs "Running job ... executed successfully" at INFO for every tick (every
    # few seconds); Rapport's own tick logs only when it did something.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    scheduler = Scheduler(rapport.services, rapport.outbox)

    async def start() -> None:
        scheduler.start()

    async def stop() -> None:
        await scheduler.stop()

    return Component("scheduler", start=start, stop=stop, extra={"scheduler": scheduler})
