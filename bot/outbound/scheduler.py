"""APScheduler 3 wiring: an interval job that ticks the outbox, and one cron job per rule.

APScheduler holds no follow-up. Its job store is in memory and holds only
"tick every N seconds" and "run rule X on this cron": the follow-ups live in
Rapport's table, so a restart, a second worker or a crash loses nothing, and
two processes never run one APScheduler job store (which its FAQ says is not
supported). Every job:

- has `misfire_grace_time=None` (a late run still runs: the default of one
  second silently drops a run the loop was too busy to start on time),
  `coalesce=True` (missed runs collapse into one) and `max_instances=1` (a slow
  tick is never overlapped by the next);
- runs once at start, so rows that fell due while the process was down are
  sent at once and today's digests are queued;
- runs its work in a task shielded from APScheduler's shutdown, which cancels
  running jobs: `stop()` lets an in-flight send finish and record its outcome
  (bounded by a timeout) instead of leaving a sent message unrecorded.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.context import Services
from bot.outbound.outbox import Outbox
from bot.outbound.rules import RULES, Rule

logger = logging.getLogger(__name__)

JOB_OPTIONS: dict[str, Any] = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}
STOP_TIMEOUT = 30.0


class Scheduler:
    def __init__(
        self, services: Services, outbox: Outbox, *, rules: Iterable[Rule] = RULES
    ) -> None:
        self.services = services
        self.outbox = outbox
        self.rules = [rule for rule in rules if rule.enabled(services.settings)]
        self.aps = AsyncIOScheduler(
            jobstores={"default": MemoryJobStore()}, job_defaults=JOB_OPTIONS, timezone=UTC
        )
        self._running: set[asyncio.Task[Any]] = set()
        self._configured = False

    # --- jobs -------------------------------------------------------------------------------

    def _shielded(
        self, name: str, work: Callable[[], Coroutine[Any, Any, Any]]
    ) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            task = asyncio.get_running_loop().create_task(work(), name=f"rapport-{name}")
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                return  # shutdown: `stop()` waits for the task itself
            except Exception:  # noqa: BLE001 - a failed run is logged; the next one runs
                logger.exception("scheduled job failed job=%s", name)

        return job

    async def tick(self) -> int:
        return await self.outbox.tick()

    def _run_rule_sync(self, rule: Rule) -> int:
        now = self.services.clock.now()
        with self.services.store.transaction() as session:
            return rule.run(session, self.services.settings, now)

    async def run_rule(self, rule: Rule) -> int:
        made = await asyncio.to_thread(self._run_rule_sync, rule)
        if made:
            logger.info("rule queued rule=%s rows=%s", rule.name, made)
        return made

    def add_cron(
        self, name: str, work: Callable[[], Coroutine[Any, Any, Any]], **cron: str
    ) -> None:
        """For other periodic work (retraining, weekly reports): same options, same shutdown."""
        self.aps.add_job(
            self._shielded(name, work),
            CronTrigger(timezone=UTC, **cron),
            id=name,
            name=name,
            **JOB_OPTIONS,
        )

    def configure(self) -> None:
        if self._configured:
            return
        now = datetime.now(UTC)
        for rule in self.rules:
            self.aps.add_job(
                self._shielded(f"rule-{rule.name}", partial(self.run_rule, rule)),
                CronTrigger(timezone=UTC, **rule.cron),
                id=f"rule-{rule.name}",
                name=f"rule-{rule.name}",
                next_run_time=now,
                **JOB_OPTIONS,
            )
        self.aps.add_job(
            self._shielded("outbox-tick", self.tick),
            IntervalTrigger(seconds=self.services.settings.tick_seconds, timezone=UTC),
            id="outbox-tick",
            name="outbox-tick",
            next_run_time=now,
            **JOB_OPTIONS,
        )
        self._configured = True

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Needs the running loop (AsyncIOScheduler binds to it)."""
        self.configure()
        self.aps.start()
        logger.info(
            "scheduler started tick_seconds=%s rules=%s worker=%s",
            self.services.settings.tick_seconds,
            ",".join(rule.name for rule in self.rules) or "-",
            self.outbox.worker,
        )

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=False)  # AsyncIOScheduler runs this on the loop: let it
            await asyncio.sleep(0)
        pending = [task for task in self._running if not task.done()]
        if pending:
            done, still = await asyncio.wait(pending, timeout=timeout)
            for task in still:
                task.cancel()
            if still:
                logger.warning("scheduler stop timed out jobs=%s", len(still))
        logger.info("scheduler stopped")
