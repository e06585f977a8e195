"""Four real worker processes on one PostgreSQL database: every follow-up sent exactly once.

Each worker is `python -m tests.standins.outbox_worker`, the production Outbox
with a channel that POSTs each delivery to a recording server in this process.
The second test SIGKILLs one worker mid-run: nothing may be lost; a message the
killed worker had sent but not yet recorded is legitimately sent again once its
lease runs out, so duplicates are counted and printed (target zero; at most the
killed worker's in-flight batch).
"""

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, text
from sqlmodel import SQLModel, select

from crm.db import Store, make_engine
from crm.identities import resolve_rep
from crm.models import FollowUp
from tests.standins.polling import wait_until
from tests.standins.recording_sink import RecordingSink

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # worker subprocesses

ROOT = Path(__file__).resolve().parents[2]
FOLLOW_UPS = 2_000
WORKERS = 4
BATCH = 25
W0_BUSY = text(
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'w0' AND state = 'active'"
)
HELD_BY_W0 = text("SELECT count(*) FROM followup WHERE claimed_by = 'w0' AND status = 'claimed'")


@pytest.fixture
def pg_url(pg_empty_url: str) -> str:
    engine = make_engine(pg_empty_url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    return pg_empty_url


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
                    "due_at": now - timedelta(seconds=5),
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


def reclaimed(url: str) -> int:
    """Rows claimed more than once: the killed worker's claims, taken over after the lease."""
    store = Store(make_engine(url))
    with store.transaction() as session:
        count = session.exec(select(func.count()).where(FollowUp.attempts > 1)).one()
    store.dispose()
    return int(count)


def spawn(url: str, sink: RecordingSink, name: str, lease: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.standins.outbox_worker",
            f"{url}?application_name={name}",  # lets the test see this worker's backends
            sink.url,
            name,
            "--lease",
            str(lease),
            "--batch",
            str(BATCH),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(workers: list[subprocess.Popen[str]], timeout: float) -> list[str]:
    deadline, outputs = time.monotonic() + timeout, []
    for worker in workers:
        try:
            out, err = worker.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for other in workers:
                other.kill()
            raise
        if worker.returncode not in (0, -signal.SIGKILL):
            raise AssertionError(f"worker exited {worker.returncode}: {err[-2000:]}")
        outputs.append(out.strip())
    return outputs


def freeze_holding_claims(worker: subprocess.Popen[str], watcher: Engine) -> None:
    """SIGSTOPs the worker at a moment it holds committed claims (a batch in flight), so the
    SIGKILL that follows always strands claims that only a lease expiry can free.

    A stopped client can still have a statement running on the server (a COMMIT sent just
    before the signal) that would turn its claims into outcomes after we looked, so the
    claims are counted only once none of w0's backends is active.

    The watcher runs in autocommit: PostgreSQL snapshots pg_stat_activity once per
    transaction, so polling it inside one transaction sees the first answer forever."""
    deadline = time.monotonic() + 20
    with watcher.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        while time.monotonic() < deadline:
            os.kill(worker.pid, signal.SIGSTOP)
            wait_until(
                lambda: connection.execute(W0_BUSY).scalar_one() == 0, timeout=5, interval=0.005
            )
            if connection.execute(HELD_BY_W0).scalar_one() > 0:
                return
            os.kill(worker.pid, signal.SIGCONT)
            time.sleep(random.uniform(0.001, 0.01))
    raise AssertionError("w0 was never caught holding claims")


def test_four_workers_send_two_thousand_follow_ups_exactly_once(pg_url: str) -> None:
    ids = seed(pg_url, FOLLOW_UPS)
    with RecordingSink() as sink:
        started = time.monotonic()
        workers = [spawn(pg_url, sink, f"w{i}", lease=30) for i in range(WORKERS)]
        finish(workers, timeout=45)
        elapsed = time.monotonic() - started
        counts, by_worker = sink.per_followup(), sink.per_worker()
    duplicates = sum(n - 1 for n in counts.values())
    print(
        f"\n4 workers, {FOLLOW_UPS} follow-ups in {elapsed:.1f}s: per worker "
        f"{dict(sorted(by_worker.items()))}, duplicates={duplicates}"
    )
    assert set(counts) == ids  # none lost
    assert duplicates == 0  # none twice
    assert statuses(pg_url) == {"sent": FOLLOW_UPS}
    assert reclaimed(pg_url) == 0  # every row claimed once
    assert len(by_worker) >= 2  # the work really was shared


def test_a_worker_killed_mid_run_loses_nothing_and_duplicates_are_counted(pg_url: str) -> None:
    ids = seed(pg_url, FOLLOW_UPS)
    watcher = make_engine(pg_url)
    with RecordingSink(delay=0.002) as sink:
        workers = [spawn(pg_url, sink, f"w{i}", lease=3) for i in range(WORKERS)]
        wait_until(
            lambda: sink.per_worker()["w0"] >= 50 and sink.count() >= 400, timeout=30, interval=0.01
        )
        freeze_holding_claims(workers[0], watcher)
        os.kill(workers[0].pid, signal.SIGKILL)
        killed_at = sink.count()
        finish(workers, timeout=45)
        counts, by_worker = sink.per_followup(), sink.per_worker()
    watcher.dispose()
    duplicates = sum(n - 1 for n in counts.values())
    taken_over = reclaimed(pg_url)
    print(
        f"\nkilled w0 after {killed_at} deliveries; per worker "
        f"{dict(sorted(by_worker.items()))}; taken over after its lease={taken_over}; "
        f"duplicates={duplicates} (sent by w0, not recorded before the kill)"
    )
    assert workers[0].returncode == -signal.SIGKILL
    assert set(counts) == ids  # none lost
    assert statuses(pg_url) == {"sent": FOLLOW_UPS}
    assert 0 < taken_over <= BATCH  # w0's claims outlived it and were taken over
    assert duplicates <= taken_over  # only what w0 had sent but not recorded
