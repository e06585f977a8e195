"""A real outbox worker process for the multi-worker tests and the benchmark.

    python -m tests.standins.outbox_worker DB_URL SINK_URL NAME [--lease S] [--batch N]
        [--concurrency N] [--skew S]

It runs the production Outbox against DB_URL with one channel, "shell", whose
every send is an HTTP POST of `{"followup_id", "worker"}` to SINK_URL (a
recording server on 127.0.0.1 in the test process). It ticks until no pending
or claimed follow-up is left, then prints one JSON line with its counts. A
SIGKILL can land anywhere, including between a send and its record. `--skew`
runs the worker's clock that many seconds off the real time (a badly set
machine); a tick that fails (the database cut) is logged and the next one runs,
as the scheduler does.
"""

import argparse
import asyncio
import json
import logging
import sys
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy import func
from sqlmodel import col, select

from bot.context import Services
from bot.outbound.outbox import Outbox
from bot.outbound.ratelimit import RateLimiter
from channels.base import DeliveryError, OutgoingMessage, SendResult
from channels.hub import ChannelHub
from crm.clock import SystemClock
from crm.db import Store, make_engine
from crm.deals import Pipeline
from crm.models import FollowUp
from tests.standins.outbox_channels import standard_traits
from tests.standins.outbox_world import make_settings


class HttpSinkChannel:
    """Delivers by POSTing to the recording sink; a non-200 is a transient failure."""

    def __init__(self, url: str, worker: str, name: str = "shell") -> None:
        self.name = name
        self.traits = standard_traits(name)
        self.url = url
        self.worker = worker
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def send(self, message: OutgoingMessage) -> SendResult:
        assert self._http is not None
        payload = {"followup_id": message.meta.get("followup_id"), "worker": self.worker}
        async with self._http.post(self.url, json=payload) as response:
            if response.status != 200:
                raise DeliveryError(f"sink answered {response.status}")
        return SendResult(delivered=True)


class SkewedClock:
    """The system clock, `offset` off."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return SystemClock().now() + self.offset


def open_rows(store: Store) -> int:
    with store.transaction() as session:
        statement = select(func.count()).where(col(FollowUp.status).in_(("pending", "claimed")))
        return int(session.exec(statement).one())


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db_url")
    parser.add_argument("sink_url")
    parser.add_argument("name")
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skew", type=float, default=0.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    settings = make_settings(args.db_url)
    store = Store(make_engine(args.db_url))
    hub = ChannelHub()
    channel = HttpSinkChannel(args.sink_url, args.name)
    hub.register(channel)
    services = Services(
        settings=settings,
        store=store,
        clock=SkewedClock(timedelta(seconds=args.skew)) if args.skew else SystemClock(),
        hub=hub,
        pipeline=Pipeline(settings.stages),
    )
    outbox = Outbox(
        services,
        worker=args.name,
        lease=timedelta(seconds=args.lease),
        limiter=RateLimiter.unlimited(),
        batch=args.batch,
        concurrency=args.concurrency,
    )
    delivered = claimed = failed_ticks = 0
    await hub.start_all()
    try:
        while True:
            try:
                delivered += await outbox.tick()
                claimed += outbox.last.claimed
                if outbox.last.claimed == 0:
                    if await asyncio.to_thread(open_rows, store) == 0:
                        break
                    await asyncio.sleep(0.05)
            except Exception as exc:  # noqa: BLE001 - the scheduler logs a failed tick and goes on
                failed_ticks += 1
                logging.warning("tick failed error=%s", type(exc).__name__)
                await asyncio.sleep(0.05)
    finally:
        await hub.stop_all()
        store.dispose()
    print(
        json.dumps(
            {
                "worker": args.name,
                "delivered": delivered,
                "claimed": claimed,
                "failed_ticks": failed_ticks,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
