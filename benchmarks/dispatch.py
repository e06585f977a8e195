"""How fast the outbox dispatches, and how long a big Telegram send takes under its limit.

    python -m benchmarks.dispatch [--postgres URL] [--rows 5000] [--telegram 10000]

1. Throughput: due follow-ups pushed through the real Outbox (claim, decide,
   send to a no-limit recording stand-in, record) on a temporary SQLite file
   and, when a URL is given or RAPPORT_TEST_DATABASE_URL is set, on a fresh
   PostgreSQL database of its own (dropped at the end). The same-run baseline
   is a bare claim loop on the same database: claim a batch, mark it sent, no
   decision and no send; the ratio shows what routing and sending cost on top.
2. Drain time: N customer follow-ups due at once to N Telegram chats, sent
   within Telegram's 30 messages/s. The rate limiter and the outbox clock run
   on a *virtual* clock (bot.outbound.ratelimit.VirtualTime): every wait the limiter asks
   for is simulated, so 333 s of sending takes a few real seconds. Compared
   with the ideal N/30 s; the busiest one-second window is also checked.
"""

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bot.context import Services
from bot.outbound.outbox import LATE_AFTER, Outbox
from bot.outbound.ratelimit import HubLimits, RateLimiter, VirtualTime
from bot.settings import Settings
from channels.base import ChannelTraits, OutgoingMessage, SendResult
from channels.console import ConsoleChannel
from channels.hub import ChannelHub
from channels.telegram.channel import telegram_traits
from crm import claims, followups
from crm.clock import SystemClock
from crm.db import Store, make_engine
from crm.deals import Pipeline
from crm.models import ChannelIdentity, Contact, FollowUp, Rep

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday noon: no quiet hours anywhere near


class NoLimitChannel:
    """Delivers instantly and counts; stamps each send with the (virtual) time."""

    def __init__(
        self,
        name: str,
        at: Callable[[], float] = time.monotonic,
        traits: ChannelTraits = ConsoleChannel.traits,
    ) -> None:
        self.name = name
        self.traits = traits
        self.at = at
        self.stamps: list[float] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.stamps.append(self.at())
        return SendResult(delivered=True)


class VirtualClock:
    """The outbox's wall clock, moving with the rate limiter's virtual time."""

    def __init__(self, vt: VirtualTime) -> None:
        self.vt = vt

    def now(self) -> datetime:
        return START + timedelta(seconds=self.vt.now)


@dataclass
class Row:
    database: str
    workload: str
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


# --- databases ------------------------------------------------------------------------------------


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'dispatch.db'}"


@contextmanager
def postgres_url(base: str) -> Iterator[str]:
    """A database of this run's own on the server, dropped afterwards."""
    name = f"rapport_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        make_url(base).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fresh_store(url: str) -> Store:
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    return Store(engine)


def seed(store: Store, *, reminders: int = 0, customers: int = 0, due: datetime = START) -> None:
    """Bulk rows: one rep (shell), `reminders` reminders, `customers` Telegram follow-ups."""
    common = {
        "status": "pending",
        "attempts": 0,
        "stop_on_reply": True,
        "late": False,
        "created_at": due,
        "updated_at": due,
        "due_at": due - timedelta(seconds=1),
    }
    with store.transaction() as session:
        session.execute(
            insert(Rep),
            [
                {
                    "id": 1,
                    "name": "Alice",
                    "role": "rep",
                    "timezone": "UTC",
                    "active": True,
                    "created_at": due,
                }
            ],
        )
        session.execute(
            insert(ChannelIdentity),
            [
                {
                    "channel": "shell",
                    "external_id": "alice",
                    "rep_id": 1,
                    "reachable": True,
                    "created_at": due,
                }
            ],
        )
        if customers:
            session.execute(
                insert(Contact),
                [
                    {
                        "id": i,
                        "name": f"Customer {i}",
                        "tags": [],
                        "custom_fields": {},
                        "opted_out": False,
                        "created_via": "telegram",
                        "search_text": "",
                        "created_at": due,
                        "updated_at": due,
                    }
                    for i in range(1, customers + 1)
                ],
            )
            session.execute(
                insert(ChannelIdentity),
                [
                    {
                        "channel": "telegram",
                        "external_id": str(100000 + i),
                        "contact_id": i,
                        "reachable": True,
                        "created_at": due,
                    }
                    for i in range(1, customers + 1)
                ],
            )
            session.execute(
                insert(FollowUp),
                [
                    {**common, "kind": "customer", "rep_id": 1, "contact_id": i, "text": "Offer"}
                    for i in range(1, customers + 1)
                ],
            )
        if reminders:
            session.execute(
                insert(FollowUp),
                [
                    {**common, "kind": "reminder", "rep_id": 1, "text": f"reminder {i}"}
                    for i in range(reminders)
                ],
            )


def services_for(store: Store, url: str, clock: Any, channels: list[Any]) -> Services:
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    hub = ChannelHub()
    for channel in channels:
        hub.register(channel)
    return Services(
        settings=settings, store=store, clock=clock, hub=hub, pipeline=Pipeline(settings.stages)
    )


# --- 1. throughput -----------------------------------------------------------------------------


def bare_claim_loop(store: Store, batch: int = 50) -> int:
    """The floor: claim a batch and mark it sent, nothing in between."""
    done = 0
    while True:
        now = datetime.now(UTC)
        with store.transaction() as session:
            rows = followups.claim_due(
                session, worker="bare", now=now, lease=timedelta(minutes=2), limit=batch
            )
            if not rows:
                return done
            done += len(
                claims.mark_sent(
                    session,
                    followup_ids=[r.id for r in rows if r.id is not None],
                    worker="bare",
                    token=rows[0].claim_token,  # one token per claim statement
                    now=now,
                    late_after=LATE_AFTER,
                )
            )


async def outbox_drain(store: Store, url: str) -> int:
    channels = [NoLimitChannel("shell"), NoLimitChannel("telegram", traits=telegram_traits())]
    outbox = Outbox(
        services_for(store, url, SystemClock(), channels),
        worker="bench",
        limiter=RateLimiter.unlimited(),
    )
    sent = 0
    while (delivered := await outbox.tick()) or outbox.last.claimed:
        sent += delivered
    return sent


def throughput(database: str, url: str, rows: int) -> list[Row]:
    results = []
    for workload, kwargs in (
        ("baseline: bare claim loop, no send", {"reminders": rows}),
        ("outbox: rep reminders -> shell", {"reminders": rows}),
        ("outbox: customer follow-ups -> telegram", {"customers": rows}),
    ):
        store = fresh_store(url)
        seed(store, **kwargs)
        started = time.perf_counter()
        if workload.startswith("baseline"):
            count = bare_claim_loop(store)
        else:
            count = asyncio.run(outbox_drain(store, url))
        results.append(Row(database, workload, count, time.perf_counter() - started))
        store.dispose()
        assert count == rows, f"{workload}: sent {count} of {rows}"
    return results


# --- 2. drain under Telegram's limit -------------------------------------------------------------


async def telegram_drain(url: str, count: int, per_second: float) -> dict[str, float]:
    store = fresh_store(url)
    seed(store, customers=count)
    vt = VirtualTime()
    telegram = NoLimitChannel("telegram", at=vt.monotonic, traits=telegram_traits(per_second))
    services = services_for(store, url, VirtualClock(vt), [telegram, NoLimitChannel("shell")])
    limiter = RateLimiter(HubLimits(services.hub), monotonic=vt.monotonic, sleep=vt.sleep)
    outbox = Outbox(services, worker="drain", limiter=limiter)
    started = time.perf_counter()
    while len(telegram.stamps) < count:
        await outbox.tick()
        if not outbox.last.claimed:
            vt.advance(services.settings.tick_seconds)  # the next scheduled tick
    wall = time.perf_counter() - started
    store.dispose()
    stamps = sorted(telegram.stamps)
    busiest, low = 0, 0
    for high, stamp in enumerate(stamps):
        while stamp - stamps[low] >= 1.0 - 1e-9:  # float sums of 1/30 land a hair short
            low += 1
        busiest = max(busiest, high - low + 1)
    return {
        "count": count,
        "ideal": count / per_second,
        "drain": stamps[-1] - stamps[0],
        "busiest": busiest,
        "wall": wall,
    }


# --- report ------------------------------------------------------------------------------------


def print_throughput(results: list[Row]) -> None:
    print("Dispatch throughput: claim -> decide -> send to a no-limit stand-in -> record")
    header = (
        f"{'database':<11} {'workload':<42} {'rows':>6} {'seconds':>8} {'rows/s':>8} {'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    baselines = {r.database: r.rate for r in results if r.workload.startswith("baseline")}
    for r in results:
        ratio = r.rate / baselines[r.database]
        print(
            f"{r.database:<11} {r.workload:<42} {r.rows:>6} {r.seconds:>8.2f} "
            f"{r.rate:>8.0f} {ratio:>7.2f}"
        )
    print("ratio = rows/s relative to the bare claim loop on the same database (1.00)\n")


def print_drain(result: dict[str, float], per_second: float, database: str) -> None:
    print(
        f"Drain of {int(result['count']):,} due Telegram follow-ups under {per_second:g} msg/s "
        f"({database})."
    )
    print("SIMULATED: the rate limiter and the outbox clock run on a virtual clock; every wait")
    print(
        "the limiter asks for is accounted, not slept, so this took "
        f"{result['wall']:.1f} s of real time."
    )
    header = f"{'':<34} {'seconds':>9} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    print(f"{'ideal (N / rate), baseline':<34} {result['ideal']:>9.1f} {1:>7.3f}")
    print(
        f"{'simulated drain (first to last)':<34} {result['drain']:>9.1f} "
        f"{result['drain'] / result['ideal']:>7.3f}"
    )
    print(f"busiest 1-second window: {int(result['busiest'])} sends (limit {per_second:g})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("RAPPORT_TEST_DATABASE_URL"))
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--telegram", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30.0)
    args = parser.parse_args(argv)

    results: list[Row] = []
    with sqlite_url() as url:
        results += throughput("sqlite", url, args.rows)
        drain = asyncio.run(telegram_drain(url, args.telegram, args.rate))
    if args.postgres:
        with postgres_url(args.postgres) as url:
            results += throughput("postgresql", url, args.rows)
    print_throughput(results)
    print_drain(drain, args.rate, "sqlite")


if __name__ == "__main__":
    main()
