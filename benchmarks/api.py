"""The REST API under load: reads and writes at concurrency 20, against a bare FastAPI
handler returning a constant, served the same way in the same run.

    python -m benchmarks.api [--contacts 100000] [--requests 2000] [--postgres URL] [--quick]

Both apps run under uvicorn on 127.0.0.1 in a thread of this process (the real
composition: channels/http.py with the API mounted at /api); httpx drives them with
20 requests in flight. The baseline is what HTTP + FastAPI + auth-free routing cost
here, so the ratio column is comparable across machines where absolute times are not.
Rows: get a contact by id, a filtered list (?company_id=), a search (?q=, the same as
`find`), POST /query by email, and creating contacts. The query p99 is measured at
--contacts (100,000 for the issue's figure; --quick uses 5,000).
"""

import argparse
import asyncio
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from sqlmodel import SQLModel

import crm.models  # noqa: F401 - registers the tables
from benchmarks.search import build
from bot.api.app import build_api
from bot.api.context import ApiDeps
from bot.settings import Settings
from crm import api_tokens
from crm.actors import SYSTEM
from crm.clock import SystemClock
from crm.db import Store, make_engine
from crm.deals import Pipeline

CONCURRENCY = 20


class Served:
    """uvicorn on a free port in a thread with its own loop."""

    def __init__(self, app: object) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=0,
                log_level="error",
                access_log=False,
                timeout_keep_alive=60,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.get("/const")
    def const() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def run(
    base: str, make: Callable[[httpx.AsyncClient, int], object], total: int, headers: dict[str, str]
) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as c:

        async def lane() -> None:
            nonlocal errors
            for i in counter:
                started = time.perf_counter()
                try:
                    response = await make(c, i)  # type: ignore[misc]
                except httpx.TransportError:  # counted, not fatal: the table shows them
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
                if response.status_code >= 400:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return latencies, elapsed, errors


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def measure(
    url: str, contacts: int, total: int, label: str
) -> list[tuple[str, float, float, float, int]]:
    store = Store(make_engine(url))
    SQLModel.metadata.drop_all(store.engine)
    SQLModel.metadata.create_all(store.engine)
    emails = build(store, contacts)
    with store.transaction() as session:
        secret = api_tokens.create_token(
            session,
            actor=SYSTEM,
            name="bench",
            scopes=["write"],
            now=SystemClock().now(),
            rate_per_minute=10**9,
        ).secret
    deps = ApiDeps(
        store=store, clock=SystemClock(), pipeline=Pipeline(Settings(_env_file=None).stages)
    )
    api = build_api(deps)
    auth = {"Authorization": f"Bearer {secret}"}
    rng = random.Random(3)
    ids = [rng.randrange(1, contacts + 1) for _ in range(total)]
    run_id = int(time.time())
    scenarios: list[tuple[str, Callable[[httpx.AsyncClient, int], object]]] = [
        ("get contact by id", lambda c, i: c.get(f"/v1/contacts/{ids[i]}")),
        (
            "list ?company_id=",
            lambda c, i: c.get("/v1/contacts", params={"company_id": i % 40 + 1, "limit": 20}),
        ),
        ("search ?q=", lambda c, i: c.get("/v1/contacts", params={"q": "jane doe", "limit": 5})),
        (
            "POST /query email",
            lambda c, i: c.post(
                "/v1/query",
                json={
                    "object": "contact",
                    "fields": ["id", "name", "emails"],
                    "where": {"field": "email", "op": "eq", "value": emails[i % len(emails)]},
                },
            ),
        ),
        (
            "create contact",
            lambda c, i: c.post(
                "/v1/contacts",
                json={"name": f"Bench {i}", "emails": [f"bench.{run_id}.{i}@example.org"]},
            ),
        ),
    ]
    rows = []
    with Served(bare_app()) as bare:
        lat, elapsed, errors = asyncio.run(run(bare, lambda c, i: c.get("/const"), total, {}))
        rows.append(
            (
                f"{label} baseline: bare FastAPI constant",
                pct(lat, 0.5),
                pct(lat, 0.99),
                total / elapsed,
                errors,
            )
        )
    with Served(api) as served:
        for name, make in scenarios:
            print(f"{label}: {name} ...", file=sys.stderr, flush=True)
            lat, elapsed, errors = asyncio.run(run(served, make, total, auth))
            rows.append((f"{label} {name}", pct(lat, 0.5), pct(lat, 0.99), total / elapsed, errors))
    store.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--postgres", help="a PostgreSQL URL whose tables this may drop")
    parser.add_argument("--quick", action="store_true", help="5,000 contacts, 400 requests")
    args = parser.parse_args()
    contacts, total = (5000, 400) if args.quick else (args.contacts, args.requests)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += measure(f"sqlite:///{Path(tmp) / 'bench.db'}", contacts, total, "sqlite")
    if args.postgres:
        rows += measure(args.postgres, contacts, total, "postgres")
    print(f"\nAPI at concurrency {CONCURRENCY}, {contacts:,} contacts, {total:,} requests a row")
    print(f"{'scenario':46} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'x base':>7} {'errors':>6}")
    base = None
    for name, p50, p99, rate, errors in rows:
        if "baseline" in name:
            base = rate
        ratio = base / rate if base else float("nan")
        print(f"{name:46} {p50:8.1f} {p99:8.1f} {rate:8.0f} {ratio:7.1f} {errors:6}")


if __name__ == "__main__":
    main()
