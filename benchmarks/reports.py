"""How long each report takes on a big store, against a same-run baseline.

    python -m benchmarks.reports [--contacts 100000] [--activities 1000000]
                                 [--postgres URL] [--repeat 3]

Builds a synthetic store (contacts, activities spread over two years, deals, conversations
and messages) on a temporary SQLite file and, when a URL is given or
RAPPORT_TEST_DATABASE_URL is set, on a fresh PostgreSQL database of its own (dropped at
the end). Rows go in through bulk paths (executemany on SQLite, COPY on PostgreSQL).
Each report runs through `bot.reports.run_report` (measures, text and chart: what a rep
waits for) over the default period, the last 30 days; the median of `--repeat` runs is
printed next to a baseline on the same database in the same run, `SELECT count(*) FROM
activity`, so machines of different speed can be compared by the ratio.
Target: every report under 2 s on PostgreSQL at 100k contacts / 1M activities.
"""

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bot.reports import REPORT_NAMES, run_report
from crm.db import Store, make_engine
from crm.deals import Pipeline
from crm.migrate import upgrade

PIPELINE = Pipeline([("lead", 10), ("qualified", 25), ("proposal", 50), ("negotiation", 75)])
NEEDS = ("billing", "support", "sales", "cancellation", "shipping", "other")
KINDS = ("call", "meeting", "email", "note", "message")
SPAN_DAYS = 730
REPS = 20


@dataclass
class Data:
    """Rows per table as tuples in the column order of COLUMNS."""

    tables: dict[str, list[tuple[Any, ...]]]


COLUMNS: dict[str, tuple[str, ...]] = {
    "rep": ("id", "name", "role", "timezone", "active", "created_at"),
    "contact": (
        "id", "name", "owner_id", "tags", "opted_out", "consent_changed_at", "custom_fields",
        "created_via", "search_text", "created_at", "updated_at",
    ),
    "activity": ("contact_id", "rep_id", "kind", "text", "occurred_at", "created_at"),
    "deal": (
        "id", "title", "contact_id", "owner_id", "amount_minor", "currency", "stage", "status",
        "close_reason", "closed_at", "stage_changed_at", "created_at", "updated_at",
    ),
    "conversation": (
        "id", "contact_id", "channel", "chat_id", "status", "assignee_id", "need", "opened_at",
        "last_message_at", "first_response_at", "closed_at", "satisfaction",
    ),
    "message": (
        "conversation_id", "contact_id", "channel", "direction", "kind", "text", "need",
        "need_confidence", "need_corrected", "delivery", "edits", "sent_at", "created_at",
    ),
}  # fmt: skip


def generate(contacts: int, activities: int, now: datetime, seed: int = 7) -> Data:
    """A reproducible store: skewed activity (a few contacts are very busy), 1 deal per 5
    contacts, 1 conversation per 10 with a few messages each."""
    rng = random.Random(seed)
    start = now - timedelta(days=SPAN_DAYS)
    span = SPAN_DAYS * 86400

    def when() -> datetime:
        return start + timedelta(seconds=rng.random() * span)

    def busy_contact() -> int:
        return int(contacts * rng.random() ** 2) + 1

    reps = [(i, f"Rep {i}", "rep", "UTC", True, start) for i in range(1, REPS + 1)]
    contact_rows = []
    for i in range(1, contacts + 1):
        tags = '["churned"]' if rng.random() < 0.02 else "[]"
        opted = rng.random() < 0.01
        made = when()
        contact_rows.append((
            i, f"Contact {i}", rng.randint(1, REPS), tags, opted, made if opted else None,
            "{}", "shell", f"contact {i}", made, made,
        ))  # fmt: skip
    activity_rows = []
    for _ in range(activities):
        at = when()
        activity_rows.append((busy_contact(), rng.randint(1, REPS), rng.choice(KINDS), "", at, at))
    deal_rows = []
    for i in range(1, contacts // 5 + 1):
        made = when()
        roll = rng.random()
        status = "open" if roll < 0.5 else ("won" if roll < 0.8 else "lost")
        closed = min(now, made + timedelta(days=rng.randint(1, 90))) if status != "open" else None
        stage = rng.choice(PIPELINE.names) if status == "open" else status
        deal_rows.append((
            i, f"Deal {i}", busy_contact(), rng.randint(1, REPS), rng.randint(10, 5000) * 100,
            "EUR" if rng.random() < 0.2 else "USD", stage, status,
            rng.choice(("price", "timing", "competitor")) if status == "lost" else None,
            closed, made, made, made,
        ))  # fmt: skip
    conversation_rows, message_rows = [], []
    for i in range(1, contacts // 10 + 1):
        who, opened = busy_contact(), when()
        need = rng.choice(NEEDS)
        answered = opened + timedelta(minutes=rng.randint(1, 600)) if rng.random() < 0.9 else None
        closed = (
            answered + timedelta(hours=rng.randint(1, 72))
            if answered and rng.random() < 0.7
            else None
        )
        conversation_rows.append((
            i, who, "telegram", str(who), "closed" if closed else "open", rng.randint(1, REPS),
            need, opened, opened, answered, closed, rng.randint(1, 5) if closed else None,
        ))  # fmt: skip
        for k in range(rng.randint(1, 8)):
            sent = opened + timedelta(minutes=15 * k)
            inbound = k % 2 == 0
            message_rows.append((
                i, who, "telegram", "inbound" if inbound else "outbound", "text", "",
                need if inbound else None, round(rng.uniform(0.3, 1.0), 3) if inbound else None,
                inbound and rng.random() < 0.05, "received", "[]", sent, sent,
            ))  # fmt: skip
    return Data({
        "rep": reps, "contact": contact_rows, "activity": activity_rows, "deal": deal_rows,
        "conversation": conversation_rows, "message": message_rows,
    })  # fmt: skip


def load_sqlite(path: str, data: Data) -> None:
    """executemany on one raw connection, in one transaction per table."""
    connection = sqlite3.connect(path)
    try:
        for table, rows in data.tables.items():
            columns = COLUMNS[table]
            marks = ", ".join("?" * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            with connection:
                connection.executemany(sql, (tuple(_sqlite(v) for v in row) for row in rows))
        connection.execute("ANALYZE")
        connection.commit()
    finally:
        connection.close()


def _sqlite(value: Any) -> Any:
    """Timestamps as crm.db stores them on SQLite: naive UTC text with microseconds."""
    if isinstance(value, datetime):
        return (
            value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        )
    return value


def load_postgres(engine: Engine, data: Data) -> None:
    """COPY FROM STDIN per table, then ANALYZE so the planner knows the sizes."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table, rows in data.tables.items():
            columns = ", ".join(COLUMNS[table])
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
        raw.commit()
        driver = raw.driver_connection  # VACUUM refuses to run inside a transaction
        driver.autocommit = True  # type: ignore[union-attr]
        driver.execute("VACUUM ANALYZE")  # type: ignore[union-attr]
    finally:
        raw.close()


def timed(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of `repeat` runs, in seconds."""
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def measure(engine: Engine, now: datetime, repeat: int) -> dict[str, float]:
    store = Store(engine)
    out: dict[str, float] = {}
    with store.transaction() as session:
        connection = session.connection()
        out["baseline"] = timed(
            lambda: connection.execute(text("SELECT count(*) FROM activity")).scalar_one(), repeat
        )
        for name in REPORT_NAMES:  # warm-up: imports (matplotlib), fonts, caches
            run_report(session, name=name, period_text=None, tz="UTC", now=now, pipeline=PIPELINE)
        for name in REPORT_NAMES:
            out[name] = timed(
                lambda name=name: run_report(
                    session, name=name, period_text=None, tz="UTC", now=now, pipeline=PIPELINE
                ),
                repeat,
            )
    return out


@contextmanager
def postgres_database(base_url: str) -> Iterator[Engine]:
    """A fresh database of the benchmark's own on the server, dropped afterwards."""
    admin = create_engine(
        make_url(base_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    name = f"rapport_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(
        make_url(base_url).set(database=name).render_as_string(hide_password=False)
    )
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def print_table(results: dict[str, dict[str, float]], loads: dict[str, float]) -> None:
    databases = list(results)
    header = f"{'report':<10}" + "".join(f"{db + ' s':>14}{'x baseline':>12}" for db in databases)
    print(header)
    print("-" * len(header))
    for name in ("baseline", *REPORT_NAMES):
        line = f"{name:<10}"
        for db in databases:
            seconds, base = results[db][name], results[db]["baseline"]
            line += f"{seconds:>14.3f}{seconds / base if base else float('nan'):>12.1f}"
        print(line)
    print("load time: " + ", ".join(f"{db} {s:.1f} s" for db, s in loads.items()))
    print("baseline: SELECT count(*) FROM activity on the same database, same run")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("RAPPORT_TEST_DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    began = time.perf_counter()
    data = generate(args.contacts, args.activities, now)
    print(
        f"{args.contacts:,} contacts, {args.activities:,} activities, "
        f"{len(data.tables['deal']):,} deals, {len(data.tables['message']):,} messages "
        f"(generated in {time.perf_counter() - began:.1f} s)"
    )
    results: dict[str, dict[str, float]] = {}
    loads: dict[str, float] = {}
    folder = tempfile.mkdtemp(prefix="rapport-bench-")
    try:
        path = os.path.join(folder, "bench.db")
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        began = time.perf_counter()
        load_sqlite(path, data)
        loads["sqlite"] = time.perf_counter() - began
        results["sqlite"] = measure(engine, now, args.repeat)
        engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.postgres:
        with postgres_database(args.postgres) as engine:
            upgrade(engine)
            began = time.perf_counter()
            load_postgres(engine, data)
            loads["postgres"] = time.perf_counter() - began
            results["postgres"] = measure(engine, now, args.repeat)
    print_table(results, loads)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {"contacts": args.contacts, "activities": args.activities, **results},
                handle,
                indent=2,
            )


if __name__ == "__main__":
    main()
