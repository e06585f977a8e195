"""Double sends under faults (issue 17, item 7), with real worker processes.

Each worker is `python -m tests.standins.outbox_worker`, the production Outbox whose one
channel POSTs every delivery to a recording server in this process, so a follow-up sent
twice is counted where it arrives, not where it is recorded.

- 100 PostgreSQL connection cuts (`pg_terminate_backend` on the workers' backends, busy
  ones first) during a drain: claims fail and are retried next tick, recording is retried
  across the cut before the lease can lapse, so nothing is sent twice and nothing is lost.
- A worker whose clock runs 3 minutes ahead (leases of 2 minutes, the default): leases
  live on the database's clock, so it never takes over what the other worker is sending.
  On PostgreSQL and on one SQLite file.
"""

import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel, select

from crm.db import Store, make_engine
from crm.identities import resolve_rep
from crm.models import FollowUp
from tests.standins.recording_sink import RecordingSink

pytestmark = pytest.mark.slow  # worker subprocesses

ROOT = Path(__file__).resolve().parents[2]
APP_NAME = "rapport-outbox-"
BUSY_FIRST = text(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND application_name LIKE :prefix ORDER BY (state = 'idle'), random() LIMIT 1"
)


def prepared(url: str) -> str:
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    return url


def seed(url: str, count: int) -> set[int]:
    store = Store(make_engine(url))
    now = datetime.now(UTC)
    with store.transaction() as session:
        rep = resolve_rep(session, channel="shell", external_id="alice", name="Alice", now=now)
        session.execute(
            insert(FollowUp),
            [
                {
                    "kind": "reminder",
                    # Oldest first: a row still claimed sorts before the pending ones, so
                    # a worker that wrongly thinks its lease ran out takes it over at once.
                    "due_at": now - timedelta(seconds=60) + timedelta(milliseconds=10 * i),
                    "rep_id": rep.id,
                    "text": f"reminder {i}",
                    "status": "pending",
                    "attempts": 0,
                    "stop_on_reply": True,
                    "late": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(count)
            ],
        )
        ids = set(session.exec(select(FollowUp.id)).all())
    store.dispose()
    return ids  # type: ignore[return-value]


def statuses(url: str) -> dict[str, int]:
    store = Store(make_engine(url))
    with store.transaction() as session:
        rows = session.exec(select(FollowUp.status, func.count()).group_by(FollowUp.status)).all()
    store.dispose()
    return dict(rows)  # type: ignore[arg-type]


def named(url: str, name: str) -> str:
    """The worker's URL; on PostgreSQL its connections carry an application_name to cut."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    query = {**parsed.query, "application_name": APP_NAME + name}
    return parsed.set(query=query).render_as_string(hide_password=False)


def spawn(url: str, sink: RecordingSink, name: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.standins.outbox_worker", named(url, name), sink.url, name]
        + list(args),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(workers: list[subprocess.Popen[str]], timeout: float) -> list[dict[str, int]]:
    deadline, outputs = time.monotonic() + timeout, []
    for worker in workers:
        try:
            out, err = worker.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for other in workers:
                other.kill()
            raise
        if worker.returncode != 0:
            raise AssertionError(f"worker exited {worker.returncode}: {err[-3000:]}")
        counts = json.loads(out.strip().splitlines()[-1])
        counts["record_retries"] = err.count("recording retried")
        outputs.append(counts)
    return outputs


def cut_connections(
    url: str, workers: list[subprocess.Popen[str]], cuts: int, timeout: float = 240
) -> int:
    """Terminates the workers' backends, one at a time (busy ones first), until `cuts`
    of them are cut or the workers are done; returns how many were cut. The drain takes
    about 10 s on a quiet machine and 30 s at a load of 10; CI, running four test
    processes on two cores, once needed more than 90 s, hence the generous limit (a real
    stall still fails, with the rows left and the workers' logs)."""
    killer = make_engine(url)
    done, deadline = 0, time.monotonic() + timeout
    with killer.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        while done < cuts and any(w.poll() is None for w in workers):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the drain did not end within {timeout}s ({done} cuts): "
                    + stalled(url, workers)
                )
            pid = connection.execute(BUSY_FIRST, {"prefix": APP_NAME + "%"}).scalar()
            if pid is not None:
                terminated = connection.execute(
                    text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}
                ).scalar()
                done += bool(terminated)
            time.sleep(random.uniform(0.005, 0.03))
    killer.dispose()
    return done


def stalled(url: str, workers: list[subprocess.Popen[str]]) -> str:
    """What a drain that did not end left behind: the rows not sent (status, attempts,
    how far off they are due) and the end of each worker's log, to see where it stuck."""
    store = Store(make_engine(url))
    now = datetime.now(UTC)
    with store.transaction() as session:
        rows = session.exec(select(FollowUp).where(FollowUp.status != "sent")).all()
        left = [
            f"#{r.id} {r.status} attempts={r.attempts} "
            f"due_in={(r.due_at.replace(tzinfo=UTC) - now).total_seconds():.0f}s "
            f"error={(r.last_error or '')[:80]}"
            for r in rows[:10]
        ]
    store.dispose()
    logs = []
    for worker in workers:
        worker.kill()
        _, err = worker.communicate(timeout=10)
        logs.append(err[-1500:])
    return f"{len(rows)} not sent: {left}; worker logs: {logs}"


def counted(sink: RecordingSink, ids: set[int]) -> tuple[int, int]:
    counts = sink.per_followup()
    return sum(n - 1 for n in counts.values()), len(ids - set(counts))


@pytest.mark.postgres
def test_a_hundred_connection_cuts_during_a_drain_send_each_follow_up_once(pg_empty_url):  # type: ignore[no-untyped-def]
    url = prepared(pg_empty_url)
    ids = seed(url, 2_000)
    with RecordingSink(delay=0.01) as sink:
        workers = [
            spawn(url, sink, name, "--lease", "6", "--batch", "20", "--concurrency", "4")
            for name in ("w0", "w1")
        ]
        cuts = cut_connections(url, workers, cuts=100)
        outputs = finish(workers, timeout=120)
        duplicates, lost = counted(sink, ids)
    print(f"\n{cuts} cuts; workers {outputs}; duplicates={duplicates} lost={lost}")
    assert cuts == 100  # the drain really was cut a hundred times
    # The cuts were felt. Where a cut lands (a claim or an outcome being recorded) is up to
    # timing: CI once saw all 100 land on claims. Recording retried across a cut is pinned
    # deterministically in test_outbox_fencing.py.
    assert sum(o["failed_ticks"] + o["record_retries"] for o in outputs) > 0
    assert duplicates == 0
    assert lost == 0
    assert statuses(url) == {"sent": 2_000}


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_worker_whose_clock_runs_three_minutes_ahead_takes_over_nothing(
    backend, request, tmp_path
):  # type: ignore[no-untyped-def]
    url = (
        request.getfixturevalue("pg_empty_url")
        if backend == "postgresql"
        else f"sqlite:///{tmp_path / 'rapport.db'}"
    )
    prepared(url)
    count = 1_000 if backend == "postgresql" else 400
    ids = seed(url, count)
    with RecordingSink(delay=0.01) as sink:
        # The default 2-minute lease: on the skewed worker's own clock every claim of the
        # other worker has long run out.
        common = ("--lease", "120", "--batch", "20", "--concurrency", "4")
        workers = [
            spawn(url, sink, "on-time", *common),
            spawn(url, sink, "ahead", *common, "--skew", "180"),
        ]
        outputs = finish(workers, timeout=120)
        duplicates, lost = counted(sink, ids)
        by_worker = sink.per_worker()
    print(f"\n{backend}: workers {outputs}; per worker {dict(by_worker)}; dup={duplicates}")
    assert duplicates == 0
    assert lost == 0
    assert statuses(url) == {"sent": count}
    assert by_worker["on-time"] > 0 and by_worker["ahead"] > 0  # both were sending at once
