"""Inbound customer pipeline: Telegram messages through the real PTB Application and
Rapport's handlers (store + classify + acknowledge + route) against the local Bot API
stand-in, on SQLite and PostgreSQL, next to a bare PTB echo bot as the floor.

    python -m benchmarks.inbound [--messages 20000] [--chats 1000] [--latency 1000]
                                 [--postgres URL] [--no-sqlite]

Two phases per system. Throughput: all messages queued at once, messages per second
until the last is handled. Latency: one message at a time (closed loop), time from the
update being available to its handler having finished (stored and acknowledged for
Rapport, echoed for the bare bot). The bare echo bot in the same run is the baseline:
the ratio columns say how many times slower Rapport is than the framework's own floor.
Targets: Rapport within 3x of the echo bot, p99 under 50 ms on SQLite.
"""

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("PTB_TIMEDELTA", "1")

TOKEN = "123:BENCH"
TEXTS = [
    "Hi, how much is the red bike?",
    "Where is my order? It has not arrived yet",
    "hello",
    "Can I get a refund for the helmet",
    "what does the service plan cost",
    "my parcel is late again",
    "good morning, do you ship to Norway?",
    "thanks!",
]


@dataclass
class Result:
    system: str
    messages: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Timing:
    """Wraps `Application.process_update` to note when each update's handlers finished."""

    def __init__(self, application: Any) -> None:
        self.done: dict[int, float] = {}
        self.changed = asyncio.Event()
        inner = application.process_update

        async def process_update(update: object) -> None:
            await inner(update)
            self.done[getattr(update, "update_id", -1)] = time.perf_counter()
            self.changed.set()

        application.process_update = process_update

    async def wait(self, check: Callable[[], bool], timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not check():
                self.changed.clear()
                await self.changed.wait()


async def drive(api: Any, timing: Timing, name: str, messages: int, chats: int,
                samples: int, timeout: float) -> Result:  # fmt: skip
    base = 10_000_000
    pushed = [api.message(base + n % chats, text=TEXTS[n % len(TEXTS)]) for n in range(messages)]
    started = time.perf_counter()
    await timing.wait(lambda: all(u["update_id"] in timing.done for u in pushed[-1:])
                      and len(timing.done) >= messages, timeout)  # fmt: skip
    seconds = time.perf_counter() - started
    latencies = []
    for n in range(samples):
        at = time.perf_counter()
        update = api.message(base + chats + n % chats, text=TEXTS[n % len(TEXTS)])
        await timing.wait(lambda u=update: u["update_id"] in timing.done, 10)  # type: ignore[misc]
        latencies.append(timing.done[update["update_id"]] - at)
    return Result(name, messages, seconds, latencies)


async def with_stand_in(job: Callable[[Any], Awaitable[Result]]) -> Result:
    from tests.standins.telegram_api import TelegramStandIn

    api = await TelegramStandIn(TOKEN).start()
    try:
        return await job(api)
    finally:
        await api.stop()


async def bare_echo(messages: int, chats: int, samples: int, timeout: float) -> Result:
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(update.message.text or "")

    async def job(api: Any) -> Result:
        app = (Application.builder().token(TOKEN).base_url(f"{api.url}/bot")
               .base_file_url(f"{api.url}/file/bot").build())  # fmt: skip
        app.add_handler(MessageHandler(filters.TEXT, echo))
        timing = Timing(app)
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=1)
            try:
                return await drive(api, timing, "bare PTB echo", messages, chats, samples, timeout)
            finally:
                await app.updater.stop()
                await app.stop()

    return await with_stand_in(job)


def tiny_classifier() -> Any:
    from crm.needs.classifier import NeedClassifier

    examples = {
        "pricing": ["how much is it", "what does it cost", "price of the red bike"],
        "order_status": ["where is my order", "my parcel has not arrived", "tracking number"],
        "refund": ["I want a refund", "money back please", "refund the helmet"],
        "greeting": ["hello", "hi there", "good morning"],
    }
    texts = [t for items in examples.values() for t in items]
    labels = [label for label, items in examples.items() for _ in items]
    return NeedClassifier.train(texts, labels, threshold=0.2)


async def rapport(name: str, db_url: str, data_dir: Path, messages: int, chats: int,
                  samples: int, timeout: float, rate: float) -> Result:  # fmt: skip
    from bot.app import RapportApp
    from bot.customer.desk import InboxEvent
    from bot.runtime.telegram import attach_telegram
    from bot.settings import Settings
    from crm import migrate

    async def job(api: Any) -> Result:
        settings = Settings(_env_file=None, **{  # type: ignore[call-arg, arg-type]
            "RAPPORT_DATA_DIR": str(data_dir), "RAPPORT_DATABASE_URL": db_url,
            "TELEGRAM_BOT_TOKEN": TOKEN, "RAPPORT_TELEGRAM_API_URL": api.url,
            "RAPPORT_BUSINESS_NAME": "Acme Bikes", "RAPPORT_TIMEZONE": "UTC",
            "RAPPORT_TELEGRAM_RATE_PER_SECOND": rate,
        })  # fmt: skip
        app = RapportApp.build(settings)
        migrate.upgrade(app.store.engine)
        app.services.classifier = tiny_classifier()
        routed: list[int] = []

        async def inbox(event: InboxEvent) -> None:  # the reps' inbox, as a subscriber
            routed.append(event.message_id)

        app.desk.subscribe(inbox)
        component = attach_telegram(app, poll_timeout=1)
        timing = Timing(component.extra["channel"].application)
        await component.start()
        try:
            result = await drive(api, timing, name, messages, chats, samples, timeout)
        finally:
            await component.stop()
            app.close()
        assert len(routed) == messages + samples, (len(routed), messages + samples)
        return result

    return await with_stand_in(job)


def scratch_postgres(url: str) -> tuple[str, Callable[[], None]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"rapport_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(url).set(drivername="postgresql+psycopg"),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(url).set(database=name).render_as_string(hide_password=False), drop


def table(results: list[Result]) -> str:
    floor = results[0]
    lines = [
        f"{'system':<22} {'msgs':>7} {'msgs/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'x echo (rate)':>13} {'x echo (p50)':>12}",
    ]
    for r in results:
        lines.append(
            f"{r.system:<22} {r.messages:>7,} {r.rate:>8.0f} {r.p(0.5):>7.2f} {r.p(0.99):>7.2f} "
            f"{floor.rate / r.rate:>13.2f} {r.p(0.5) / floor.p(0.5):>12.2f}"
        )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> list[Result]:
    timeout = max(120.0, args.messages / 20)
    sizes = (args.messages, args.chats, args.latency, timeout)
    results = [await bare_echo(*sizes)]
    print(f"  done: {results[-1].system}", flush=True)
    unthrottled = 1_000_000.0  # Rapport's own cost, without Telegram's 30 sends/s rule
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
        runs: list[tuple[str, str | None, float]] = []
        if not args.no_sqlite:
            runs += [("Rapport SQLite", "sqlite", unthrottled),
                     ("Rapport SQLite 30/s", "sqlite", 30.0)]  # fmt: skip
        if args.postgres:
            runs.append(("Rapport PostgreSQL", args.postgres, unthrottled))
        for n, (name, where, rate) in enumerate(runs):
            drop: Callable[[], None] | None = None
            if where == "sqlite":
                url = f"sqlite:///{Path(tmp) / f'rapport{n}.db'}"
            else:
                url, drop = scratch_postgres(str(where))
            try:
                results.append(await rapport(name, url, Path(tmp), *sizes, rate=rate))
            finally:
                if drop is not None:
                    drop()
            print(f"  done: {name}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--chats", type=int, default=1_000)
    parser.add_argument("--latency", type=int, default=1_000, help="closed-loop samples")
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a scratch database is made")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    print(f"inbound: {args.messages:,} messages from {args.chats:,} chats, "
          f"{args.latency:,} latency samples")  # fmt: skip
    results = asyncio.run(main_async(args))
    print(table(results))
    print(
        "Rapport SQLite/PostgreSQL: acknowledgements unthrottled (Rapport's own cost); "
        "30/s: Telegram's\nglobal send limit as deployed (AIORateLimiter), which bounds "
        "latency when every sample is a new chat that gets an acknowledgement."
    )


if __name__ == "__main__":
    main()
