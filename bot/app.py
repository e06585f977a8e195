"""The composition root: builds everything from Settings and wires it together.

The only module that imports concrete channels. `rapport run` and `rapport
shell` (bot/cli.py) call into it; tests build a RapportApp with their own
settings and clock.
"""

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bot.context import Services
from bot.customer.desk import CustomerDesk
from bot.outbound.outbox import Outbox
from bot.rep.dispatcher import Dispatcher
from bot.rep.handlers import build_router
from bot.settings import Settings
from channels.hub import ChannelHub
from crm import migrate
from crm.actors import Actor
from crm.clock import Clock, SystemClock
from crm.conversations import corrections
from crm.db import Store, make_engine
from crm.deals import Pipeline
from crm.identities import resolve_rep

logger = logging.getLogger(__name__)


class SchemaOutOfDate(RuntimeError):
    pass


def private_dir(path: Path) -> None:
    """The data directory (database, models, charts) is the owner's only: 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):  # a filesystem without modes: nothing to tighten
        os.chmod(path, 0o700)


@dataclass
class RapportApp:
    settings: Settings
    services: Services
    dispatcher: Dispatcher
    desk: CustomerDesk
    outbox: Outbox

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None) -> "RapportApp":
        private_dir(Path(settings.data_dir))
        store = Store(
            make_engine(settings.resolved_database_url), report_work_mem=settings.report_work_mem
        )
        services = Services(
            settings=settings,
            store=store,
            clock=clock or SystemClock(),
            hub=ChannelHub(),
            pipeline=Pipeline(settings.stages),
        )
        return cls(
            settings=settings,
            services=services,
            dispatcher=Dispatcher(services, build_router()),
            desk=CustomerDesk(services),
            outbox=Outbox(services),
        )

    @property
    def store(self) -> Store:
        return self.services.store

    def prepare_database(self) -> None:
        """SQLite (the zero-set-up default) is migrated automatically; PostgreSQL must be
        migrated on purpose (`rapport db upgrade`), so a deploy never surprises a team."""
        engine = self.store.engine
        if make_url(self.settings.resolved_database_url).get_backend_name() == "sqlite":
            migrate.upgrade(engine)
            return
        if not migrate.is_current(engine):
            raise SchemaOutOfDate(
                "The database schema is not up to date. Run `rapport db upgrade` first."
            )

    def load_classifier(self) -> Any:
        """Loads (or trains, first time) the need classifier; None if it is unavailable."""
        try:
            from crm.needs.classifier import load_or_train
        except ImportError:
            logger.warning("need classifier not available; messages are stored untagged")
            return None
        with self.store.transaction() as session:
            extra = corrections(session)
        classifier = load_or_train(Path(self.settings.data_dir), extra_examples=extra)
        self.services.classifier = classifier
        return classifier

    def rep_actor(
        self,
        *,
        channel: str,
        external_id: str,
        name: str,
        timezone: str | None = None,
        admin: bool = False,
    ) -> Actor:
        """The Actor for a team member, creating the Rep on first use."""
        with self.store.transaction() as session:
            rep = resolve_rep(
                session,
                channel=channel,
                external_id=external_id,
                name=name,
                now=self.services.clock.now(),
                timezone=timezone or self.settings.timezone,
                admin=admin,
            )
            return Actor(
                kind="rep",
                id=rep.id,
                channel=channel,
                role=rep.role,
                name=rep.name,
                timezone=rep.timezone,
                external_id=external_id,
            )

    def close(self) -> None:
        self.store.dispose()


async def run_periodically(
    interval: float, job: Callable[[], Awaitable[Any]], *, name: str
) -> None:
    """A simple loop for the shell; `rapport run` uses APScheduler (bot/outbound/scheduler.py)."""
    while True:
        try:
            await job()
        except Exception:  # noqa: BLE001 - a failed tick is logged, the next one runs
            logger.exception("periodic job failed name=%s", name)
        await asyncio.sleep(interval)
