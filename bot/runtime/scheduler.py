"""Composition: the scheduler that ticks the outbox and runs the rules under `rapport run`.

Started last by the runner (after every channel is on the hub, so the first
tick, which sends whatever fell due during downtime, can reach them all) and
stopped first.
"""

import asyncio
import logging

from bot.app import RapportApp
from bot.outbound.periodic import (
    post_weekly_summary,
    prune_dedupe_keys,
    purge_deleted_contacts,
    retrain_classifier,
)
from bot.outbound.recovery import release_dead_local_claims
from bot.outbound.scheduler import Scheduler
from bot.runtime import Component


def attach_scheduler(rapport: RapportApp) -> Component:
    # APScheduler logs "Running job ... executed successfully" at INFO for every tick (every
    # few seconds); Rapport's own tick logs only when it did something.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    scheduler = Scheduler(rapport.services, rapport.outbox)
    settings, services = rapport.settings, rapport.services
    if settings.weekly_report_enabled and settings.slack_reports_channel:
        scheduler.add_cron(
            "weekly-report",
            lambda: post_weekly_summary(services),
            day_of_week="mon",
            hour="8-20",  # hourly: a report that failed to post is retried (bot.outbound.periodic)
            minute="0",
        )
    if settings.retrain_enabled:
        scheduler.add_cron("retrain", lambda: retrain_classifier(services), hour="2", minute="30")
    scheduler.add_cron(
        "prune-dedupe-keys", lambda: prune_dedupe_keys(services), hour="3", minute="15"
    )
    scheduler.add_cron(
        "purge-trash", lambda: purge_deleted_contacts(services), hour="3", minute="45"
    )

    async def start() -> None:
        await asyncio.to_thread(release_dead_local_claims, services)
        scheduler.start()

    async def stop() -> None:
        await scheduler.stop()

    return Component("scheduler", start=start, stop=stop, extra={"scheduler": scheduler})
