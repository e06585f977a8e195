"""Old dedupe keys (ProcessedEvent rows) are pruned nightly; periodic once-only keys stay.

Runs on SQLite files and on PostgreSQL (the `store` / `db_url` fixtures). The
nightly job is driven through APScheduler itself, its clock pointed at the
test's ManualClock, so the test sees the cron job fire at 03:15 UTC.
"""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import apscheduler.schedulers.base
import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import event, text
from sqlmodel import SQLModel, select

from bot.app import RapportApp
from bot.outbound.periodic import ONCE_ONLY_SOURCES, PRUNE_SOURCE, _claim_once, prune_dedupe_keys
from bot.outbound.scheduler import Scheduler
from bot.runtime.scheduler import attach_scheduler
from bot.settings import SettingsError, load_settings
from crm.clock import ManualClock
from crm.db import Store
from crm.housekeeping import BATCH_SIZE, prune_processed_events
from crm.models import ProcessedEvent
from crm.self_service import first_delivery

TUESDAY = datetime(2026, 3, 3, tzinfo=UTC)


def add_keys(store: Store, *keys: tuple[str, str, datetime]) -> None:
    with store.transaction() as session:
        for source, event_id, at in keys:
            session.add(ProcessedEvent(source=source, event_id=event_id, at=at))


def keys_left(store: Store) -> set[tuple[str, str]]:
    with store.transaction() as session:
        return {(row.source, row.event_id) for row in session.exec(select(ProcessedEvent))}


def prune(store: Store, now: datetime, batch_size: int = BATCH_SIZE) -> int:
    return prune_processed_events(
        store, now=now, once_only_sources=ONCE_ONLY_SOURCES, batch_size=batch_size
    )


def test_old_delivery_keys_go_while_recent_and_periodic_keys_stay(
    store: Store, clock: ManualClock
) -> None:
    now = clock.now()  # Monday of ISO week 2026-W10
    add_keys(
        store,
        ("slack", "Ev-old", now - timedelta(days=15)),
        ("telegram", "42:old", now - timedelta(days=14, seconds=1)),
        ("shell", "c:old", now - timedelta(days=30)),
        ("slack", "Ev-recent", now - timedelta(days=13)),
        ("telegram", "42:recent", now - timedelta(hours=1)),
        ("weekly-report", "2026-W10", now),
        ("weekly-report", "2026-W09", now - timedelta(days=7)),
        ("weekly-report", "2026-W07", now - timedelta(days=21)),  # past 14 days, kept
        ("weekly-report", "2025-W52", now - timedelta(days=62)),
    )
    assert prune(store, now) == 4
    assert keys_left(store) == {
        ("slack", "Ev-recent"),
        ("telegram", "42:recent"),
        ("weekly-report", "2026-W10"),
        ("weekly-report", "2026-W09"),
        ("weekly-report", "2026-W07"),
    }
    assert prune(store, now) == 0


def test_a_backlog_larger_than_one_batch_is_pruned_in_bounded_statements(
    store: Store, clock: ManualClock
) -> None:
    now = clock.now()
    add_keys(
        store,
        *[("slack", f"Ev{i}", now - timedelta(days=20, minutes=i)) for i in range(23)],
        *[("weekly-report", f"2025-W{i:02}", now - timedelta(days=70 + 7 * i)) for i in range(7)],
        ("slack", "Ev-recent", now - timedelta(hours=2)),
    )
    deletes: list[int] = []

    def record(_conn, cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(cursor.rowcount)

    event.listen(store.engine, "after_cursor_execute", record)
    try:
        assert prune(store, now, batch_size=5) == 30
    finally:
        event.remove(store.engine, "after_cursor_execute", record)
    assert keys_left(store) == {("slack", "Ev-recent")}
    assert deletes == [5, 5, 5, 5, 3, 5, 2]  # 23 delivery keys, then 7 once-only keys


def test_a_recent_event_redelivered_after_pruning_is_still_a_duplicate(
    store: Store, clock: ManualClock
) -> None:
    now = clock.now()
    with store.transaction() as session:
        for source, event_id, age in (
            ("telegram", "7:old", timedelta(days=20)),
            ("telegram", "7:9", timedelta(hours=23)),
            ("slack", "Ev9", timedelta(minutes=5)),
        ):
            assert first_delivery(session, source=source, event_id=event_id, now=now - age)
    assert prune(store, now) == 1
    with store.transaction() as session:
        assert not first_delivery(session, source="telegram", event_id="7:9", now=now)
        assert not first_delivery(session, source="slack", event_id="Ev9", now=now)
        assert first_delivery(session, source="telegram", event_id="7:old", now=now)  # freed


def test_dedupe_retention_under_two_days_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="RAPPORT_DEDUPE_RETENTION_DAYS"):
        load_settings(RAPPORT_DEDUPE_RETENTION_DAYS="1")
    assert load_settings().dedupe_retention_days == 14


def test_a_once_only_key_from_an_unlisted_source_is_refused() -> None:
    """Its key would be pruned like a re-delivery key, and its job could run twice."""
    with pytest.raises(ValueError, match="ONCE_ONLY_SOURCES"):
        _claim_once(None, "monthly-report", "2026-03")  # type: ignore[arg-type]


# --- the nightly job --------------------------------------------------------------------


@pytest.fixture
def scheduler_clock(monkeypatch: pytest.MonkeyPatch, clock: ManualClock) -> ManualClock:
    """APScheduler 3 reads the time only through `datetime.now` in its base module: point
    it at the ManualClock, so a cron job falls due when the test moves the clock."""

    class ClockTime(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def]
            return clock.now().astimezone(tz)

    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", ClockTime)
    return clock


@pytest.fixture
def workers(make_rapport) -> list[RapportApp]:  # type: ignore[no-untyped-def]
    """Two `rapport run` workers on one database, a week of retention."""
    env = {"RAPPORT_RETRAIN_ENABLED": "false", "RAPPORT_DEDUPE_RETENTION_DAYS": "7"}
    return [make_rapport(**env) for _ in range(2)]


async def wake(schedulers: list[Scheduler]) -> None:
    for scheduler in schedulers:
        scheduler.aps.wakeup()
    await asyncio.sleep(0.05)


async def test_nightly_prune_fires_at_0315_utc_once_across_two_workers(
    workers: list[RapportApp], scheduler_clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    clock = scheduler_clock
    clock.set(TUESDAY + timedelta(hours=3))
    store = workers[0].store
    add_keys(
        store,
        ("slack", "Ev-old", clock.now() - timedelta(days=10)),  # kept under the default 14
        ("slack", "Ev-recent", clock.now() - timedelta(days=3)),
        ("weekly-report", "2026-W09", clock.now() - timedelta(days=8)),
    )
    schedulers = [attach_scheduler(app).extra["scheduler"] for app in workers]
    ran: list[tuple[str, BaseException | None]] = []

    def on_run(job_event: JobExecutionEvent) -> None:
        if job_event.job_id == "prune-dedupe-keys":  # the nightly trash purge runs at 03:45
            ran.append((job_event.job_id, job_event.exception))

    for scheduler in schedulers:
        assert isinstance(scheduler, Scheduler)
        scheduler.aps.add_listener(on_run, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        scheduler.aps.start()  # only the cron jobs: no outbox tick, no rules
    caplog.set_level(logging.INFO, logger="bot")
    try:
        job = schedulers[0].aps.get_job("prune-dedupe-keys")
        assert {j.id for j in schedulers[0].aps.get_jobs()} == {"prune-dedupe-keys", "purge-trash"}
        assert job.next_run_time == TUESDAY + timedelta(hours=3, minutes=15)
        clock.set(TUESDAY + timedelta(hours=3, minutes=14, seconds=59))
        await wake(schedulers)
        assert ran == [] and len(keys_left(store)) == 3

        clock.set(TUESDAY + timedelta(hours=3, minutes=15))
        await wake(schedulers)
        async with asyncio.timeout(10):
            while len(ran) < 2:
                await asyncio.sleep(0.02)
        assert ran == [("prune-dedupe-keys", None)] * 2
        assert keys_left(store) == {
            ("slack", "Ev-recent"),
            ("weekly-report", "2026-W09"),
            (PRUNE_SOURCE, "2026-03-03"),
        }
        pruned = [r.getMessage() for r in caplog.records if "dedupe keys pruned" in r.message]
        assert pruned == ["dedupe keys pruned rows=1 retention_days=7"]  # one worker did it
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert schedulers[0].aps.get_job(job.id).next_run_time == TUESDAY + timedelta(
            days=1, hours=3, minutes=15
        )

        add_keys(store, ("telegram", "5:1", clock.now() - timedelta(days=8)))
        clock.set(TUESDAY + timedelta(days=1, hours=3, minutes=15))  # the next night
        await wake(schedulers)
        async with asyncio.timeout(10):
            while len(ran) < 4:
                await asyncio.sleep(0.02)
        assert ("telegram", "5:1") not in keys_left(store)
    finally:
        for scheduler in schedulers:
            await scheduler.stop(timeout=5)


async def test_a_database_error_is_logged_and_the_next_night_prunes(
    workers: list[RapportApp], clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    services, engine = workers[0].services, workers[0].store.engine
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE processedevent"))
    with caplog.at_level(logging.INFO, logger="bot.outbound.periodic"):
        assert await prune_dedupe_keys(services) == 0  # logged, not raised
    assert "dedupe keys not pruned" in caplog.text

    SQLModel.metadata.create_all(engine, tables=[ProcessedEvent.__table__])  # type: ignore[list-item]
    add_keys(workers[0].store, ("slack", "Ev-old", clock.now() - timedelta(days=8)))
    clock.advance(days=1)
    assert await prune_dedupe_keys(services) == 1
