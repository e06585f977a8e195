"""Rep commands over HTTP: signed `/crm` slash commands (a mix of add, find, log and show)
at a fixed concurrency against Rapport's real bolt app on its own HTTP server.

    python -m benchmarks.commands [--requests 10000] [--concurrency 20] [--contacts 200]
                                  [--postgres URL]

Each request is signed as Slack signs it and runs to completion before the HTTP answer
(`process_before_response=True`), so the time covers verification, parsing, the store
and the reply posted to `response_url` (the Web API stand-in on 127.0.0.1). The
baseline in the same run is `/crm help` through the same path (signature, bolt,
dispatcher; no database), so the ratio column is what the CRM work itself costs.
An error is any non-200 answer or a reply saying something went wrong.
"""

import argparse
import asyncio
import itertools
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.inbound import scratch_postgres

LOG_KINDS = ["call", "email", "meeting", "note"]


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def mix(n: int, contacts: int, seed: int = 11) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    texts = []
    for i in range(n):
        roll, ref = rng.random(), rng.randint(1, contacts)
        if roll < 0.25:
            texts.append(("add", f"add Bench Person {i} bench{i}@example.com"))
        elif roll < 0.60:
            texts.append(("find", f"find Person {rng.randint(0, contacts - 1)}"))
        elif roll < 0.80:
            kind = rng.choice(LOG_KINDS)
            texts.append(("log", f"log {kind} with #{ref}: talked about the order {i}"))
        else:
            texts.append(("show", f"show #{ref}"))
    return texts


async def fire(world: Any, texts: list[tuple[str, str]], concurrency: int, name: str) -> Result:
    result = Result(name)
    keys = itertools.count()
    queue = list(reversed(texts))

    async def worker() -> None:
        while queue:
            _kind, text = queue.pop()
            key = f"k{next(keys)}"
            started = time.perf_counter()
            try:
                response = await world.command(text, key=key)
                ok = response.status_code == 200
            except Exception:  # noqa: BLE001 - counted, not raised
                ok = False
            result.latencies.append(time.perf_counter() - started)
            replies = world.standin.responded(key) if ok else []
            if not ok or any("went wrong" in str(r.get("text", "")) for r in replies):
                result.errors += 1

    started = time.perf_counter()
    async with asyncio.timeout(max(120, len(texts) / 10)):
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    world.standin.responses.clear()
    return result


def seed(world: Any, contacts: int) -> None:
    from crm.actors import SYSTEM
    from crm.contacts import ContactInput, create_contact

    now = world.rapport.services.clock.now()
    with world.rapport.store.transaction() as session:
        for i in range(contacts):
            create_contact(session, actor=SYSTEM, now=now, created_via="import",
                           data=ContactInput(name=f"Seed Person {i}"))  # fmt: skip


async def run(db_url: str | None, requests: int, concurrency: int, contacts: int) -> list[Result]:
    from tests.standins.slack_harness import SlackWorld

    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
        overrides: dict[str, Any] = {"RAPPORT_DATABASE_URL": db_url} if db_url else {}
        async with SlackWorld.running(Path(tmp), process_before_response=True,
                                      **overrides) as world:  # fmt: skip
            seed(world, contacts)
            await fire(world, [("help", "help")] * 50, concurrency, "warm-up")
            baseline = await fire(world, [("help", "help")] * max(200, requests // 10),
                                  concurrency, "/crm help (baseline)")  # fmt: skip
            texts = mix(requests, contacts)
            overall = await fire(world, texts, concurrency, "mix add/find/log/show")
            per_kind = []
            for kind in ("add", "find", "log", "show"):
                subset = [t for t in texts if t[0] == kind][: max(50, requests // 20)]
                per_kind.append(await fire(world, subset, concurrency, f"  {kind} only"))
    return [baseline, overall, *per_kind]


def table(title: str, results: list[Result]) -> str:
    floor = results[0]
    lines = [title, f"{'requests':<24} {'n':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
                    f"{'errors':>6} {'x baseline p50':>14}"]  # fmt: skip
    for r in results:
        ratio = r.p(0.5) / floor.p(0.5)
        lines.append(f"{r.name:<24} {len(r.latencies):>7,} {r.rate:>7.0f} {r.p(0.5):>7.1f} "
                     f"{r.p(0.99):>7.1f} {r.errors:>6} {ratio:>14.2f}")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--contacts", type=int, default=200, help="seeded before the run")
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a scratch database is made")
    args = parser.parse_args()
    runs: list[tuple[str, str | None, Callable[[], None] | None]] = [("SQLite", None, None)]
    if args.postgres:
        from crm import migrate
        from crm.db import make_engine

        url, drop = scratch_postgres(args.postgres)
        engine = make_engine(url)
        migrate.upgrade(engine)  # PostgreSQL is migrated on purpose, as `rapport db upgrade`
        engine.dispose()
        runs.append(("PostgreSQL", url, drop))
    for label, url, drop in runs:
        try:
            results = asyncio.run(run(url, args.requests, args.concurrency, args.contacts))
        finally:
            if drop is not None:
                drop()
        print(table(f"/crm over HTTP on {label}, concurrency {args.concurrency}", results))


if __name__ == "__main__":
    main()
