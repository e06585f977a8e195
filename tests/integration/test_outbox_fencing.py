"""The outbox's fence (issue 17, item 7), in one process, on SQLite and PostgreSQL.

A worker whose claim was taken over (its lease ran out on the database's clock and
another worker, even one of the same name, claimed the row) can neither send it nor
record anything about it; recording an outcome survives a dropped database connection.
"""

import logging
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, event, text

from bot.outbound.outbox import Outcome
from channels.base import OutgoingMessage, SendResult
from tests.standins.outbox_channels import RecordingChannel
from tests.standins.outbox_world import World, expire_leases

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_a_late_worker_whose_claim_was_taken_over_neither_sends_nor_records(store, clock):  # type: ignore[no-untyped-def]
    world = World.build(store, clock)
    alice = world.rep("Alice")
    row = world.remind(alice, MONDAY_9, "call Jane")
    late = world.outbox("host:42")
    [job] = late._claim(clock.now(), 10)
    first_token = job.token
    assert first_token and world.row(row.id).claim_token == first_token

    clock.advance(minutes=30)  # the app's clock moving on ends no lease ...
    assert await world.outbox("other").tick() == 0
    expire_leases(store)  # ... the database's does
    # The same worker name (a restarted process that got the same pid) claims it again.
    assert await world.outbox("host:42").tick() == 1
    taken = world.row(row.id)
    assert taken.status == "sent" and taken.claim_token not in (None, first_token)
    assert [s.text for s in world.channels["shell"].sent] == ["call Jane"]

    late.monotonic = lambda: job.deadline + 1  # its own lease is over on its own clock
    refused = await late._send(job)
    assert refused is not None and not isinstance(refused, SendResult)  # put back, not sent
    assert len(world.channels["shell"].sent) == 1
    for outcome in (SendResult(delivered=True), SendResult(delivered=False, error="502"), refused):
        assert late._record(job, outcome) == Outcome.LOST_CLAIMS
    after = world.row(row.id)
    assert (after.status, after.sent_at, after.claim_token) == (
        "sent",
        taken.sent_at,
        taken.claim_token,
    )
    assert after.attempts == 2


class CuttingChannel(RecordingChannel):
    """Delivers, and while doing so the database drops connections: on PostgreSQL every
    other backend of the database is terminated (the worker's pooled connections); on
    SQLite the next `cuts` statements on follow-ups fail as a lost file handle would."""

    def __init__(self, world: World, cuts: int) -> None:
        super().__init__("shell")
        self.world, self.cuts, self.failed = world, cuts, 0
        engine = world.store.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "before_cursor_execute", self._fail_statement)

    def _fail_statement(self, _conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if self.failed < self.cuts and "followup" in statement and self.armed:
            self.failed += 1
            raise sqlite3.OperationalError("disk I/O error")

    armed = False

    async def send(self, message: OutgoingMessage) -> SendResult:
        result = await super().send(message)
        engine = self.world.store.engine
        if engine.dialect.name == "postgresql":
            killer = engine.url.set(drivername="postgresql+psycopg")
            other = create_engine(killer, isolation_level="AUTOCOMMIT")
            with other.connect() as connection:
                self.failed += connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            other.dispose()
        else:
            self.armed = True
        return result


async def test_recording_is_retried_across_a_dropped_connection(store, clock, caplog):  # type: ignore[no-untyped-def]
    world = World.build(store, clock, channels=())
    cutting = CuttingChannel(world, cuts=3)
    world.add_channel(cutting)
    alice = world.rep("Alice")
    row = world.remind(alice, MONDAY_9, "renewal call")
    outbox = world.outbox()
    outbox.sleep = lambda _seconds: None
    with caplog.at_level(logging.WARNING, logger="bot.outbound.outbox"):
        assert await outbox.tick() == 1
    assert cutting.failed >= 1  # the connection really dropped under the record
    assert "recording retried" in caplog.text
    done = world.row(row.id)
    assert done.status == "sent" and done.attempts == 1
    assert outbox.last.errors == 0 and outbox.last.lost_claims == 0
    assert len(cutting.sent) == 1
    assert await outbox.tick() == 0  # and it is not sent again


async def test_recording_gives_up_when_the_lease_would_lapse(store, clock, caplog):  # type: ignore[no-untyped-def]
    """The database stays away: the worker stops trying at its lease's end (the row is
    then claimed again and re-sent: the at-least-once window the README states)."""
    if store.dialect == "postgresql":
        pytest.skip("a real cut heals at once on PostgreSQL; the give-up path is timed on SQLite")
    world = World.build(store, clock, channels=())
    cutting = CuttingChannel(world, cuts=10_000)
    world.add_channel(cutting)
    alice = world.rep("Alice")
    world.remind(alice, MONDAY_9, "renewal call")
    outbox = world.outbox(lease=timedelta(seconds=5))
    ticks = iter(range(10_000))
    outbox.monotonic = lambda: float(next(ticks))  # each look at the clock: one second on
    outbox.sleep = lambda _seconds: None
    with caplog.at_level(logging.ERROR, logger="bot.outbound.outbox"):
        assert await outbox.tick() == 0
    assert outbox.last.errors == 1
    assert "recording gave up as the lease ends" in caplog.text


async def test_a_database_blip_while_preparing_a_row_does_not_fail_it(store, clock) -> None:  # type: ignore[no-untyped-def]
    """A dropped connection while the outbox looked up a reminder's rep used to be taken
    for a bad row: the reminder was marked failed for good ("could not prepare it") and
    the rep told. The tick now fails instead, the claim rolls back, the next tick sends."""
    world = World.build(store, clock)
    alice = world.rep("Alice")
    row = world.remind(alice, MONDAY_9, "call Jane")
    engine = world.store.engine
    dbapi_error = engine.dialect.loaded_dbapi.OperationalError
    blips = {"left": 1}

    def blip(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if (
            blips["left"]
            and statement.lstrip().upper().startswith("SELECT")
            and " rep" in (statement.lower())
            and "followup" not in statement.lower()
        ):
            blips["left"] -= 1
            raise dbapi_error("server closed the connection unexpectedly")

    event.listen(engine, "before_cursor_execute", blip)
    try:
        with pytest.raises(Exception) as raised:
            await world.outbox("w1").tick()
        assert "server closed the connection" in str(raised.value)
    finally:
        event.remove(engine, "before_cursor_execute", blip)
    assert blips["left"] == 0
    assert world.row(row.id).status == "pending"  # not failed, not left claimed
    assert await world.outbox("w1").tick() == 1
    assert world.row(row.id).status == "sent"
    assert [s.text for s in world.channels["shell"].sent] == ["call Jane"]
