"""The scheduler's rules (digest, nudges, survey) and its APScheduler wiring.

Rules only enqueue rows with deterministic keys; the outbox sends them. So
each test runs the rule (often twice, as two workers would), then ticks the
outbox on a manual clock and looks at what the recording channels received.
"""

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.outbound.rules import (
    enqueue_digests,
    enqueue_stale_nudges,
    enqueue_surveys,
    enqueue_unanswered_nudges,
    record_survey_answer,
)
from bot.outbound.scheduler import Scheduler
from crm import conversations
from crm.models import Conversation, FollowUp
from tests.factories import make_deal
from tests.standins.outbox_world import World

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)


def at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day + timedelta(hours=hour, minutes=minute)


def run(world: World, rule, times: int = 1) -> int:  # type: ignore[no-untyped-def]
    made = 0
    for _ in range(times):
        with world.store.transaction() as session:
            made += rule(session, world.services.settings, world.clock.now())
    return made


def sent_of(world: World, channel: str, kind: str) -> list:  # type: ignore[type-arg]
    return [s for s in world.channels[channel].sent if s.message.meta["followup_kind"] == kind]


async def test_digest_lists_due_overdue_stale_and_waiting_and_goes_once(store, clock):  # type: ignore[no-untyped-def]
    clock.set(at(MONDAY, 8, 50))
    world = World.build(store, clock)
    alice = world.rep("Alice", slack="U1")
    world.remind(alice, at(MONDAY, 15), "call Jane about pricing")
    old = world.remind(alice, at(MONDAY - timedelta(days=3), 10), "send the proposal")
    world.update(FollowUp, old.id, status="sent")
    make_deal(world.store, alice, "Globex 50 seats", MONDAY - timedelta(days=20))
    world.customer("Jane Doe", telegram="3001", owner=alice)

    assert run(world, enqueue_digests, times=2) == 1  # two workers, one digest
    [row] = world.rows(kind="digest")
    assert row.dedupe_key == f"digest:{alice.id}:2026-03-02" and row.due_at == at(MONDAY, 9)
    outbox = world.outbox()
    await outbox.tick()
    assert sent_of(world, "slack", "digest") == []
    clock.set(at(MONDAY, 9))
    await outbox.tick()
    [digest] = sent_of(world, "slack", "digest")
    titles = [card.title for card in digest.message.reply.cards]
    assert titles == [
        "Due today (1)",
        "Overdue (1)",
        "Stale deals (1)",
        "Customers waiting for a reply (1)",
    ]
    body = str(digest.message.reply)
    for text in ("call Jane about pricing", "send the proposal", "Globex 50 seats", "Jane Doe"):
        assert text in body
    clock.advance(minutes=30)
    assert run(world, enqueue_digests) == 0
    await outbox.tick()
    assert len(sent_of(world, "slack", "digest")) == 1


async def test_digest_time_is_local_across_the_dst_change_and_skips_weekends(store, clock):  # type: ignore[no-untyped-def]
    world = World.build(store, clock)
    paris = world.rep("Pierre", tz="Europe/Paris")
    friday, saturday, monday = (datetime(2026, 3, d, tzinfo=UTC) for d in (27, 28, 30))
    clock.set(at(friday, 7, 50))  # 08:50 CET
    assert run(world, enqueue_digests) == 1
    clock.set(at(saturday, 8))
    assert run(world, enqueue_digests) == 0
    clock.set(at(monday, 6, 50))  # 08:50 CEST
    assert run(world, enqueue_digests) == 1
    due = {r.dedupe_key: r.due_at for r in world.rows(kind="digest")}
    assert due == {
        f"digest:{paris.id}:2026-03-27": at(friday, 8),  # 09:00 CET
        f"digest:{paris.id}:2026-03-30": at(monday, 7),  # 09:00 CEST
    }


async def test_empty_digest_is_skipped_not_sent(store, clock):  # type: ignore[no-untyped-def]
    clock.set(at(MONDAY, 9))
    world = World.build(store, clock)
    world.rep("Quiet")
    run(world, enqueue_digests)
    await world.outbox().tick()
    [row] = world.rows(kind="digest")
    assert (row.status, row.last_error) == ("done", "nothing to report")
    assert world.channels["shell"].sent == []


async def test_stale_deal_nudges_the_owner_once_per_idle_period_in_business_hours(store, clock):  # type: ignore[no-untyped-def]
    saturday = datetime(2026, 3, 7, tzinfo=UTC)
    clock.set(at(saturday, 10))
    world = World.build(store, clock)
    alice = world.rep("Alice")
    stale = make_deal(world.store, alice, "Acme renewal", saturday - timedelta(days=15))
    make_deal(world.store, alice, "Fresh deal", saturday - timedelta(days=3))
    make_deal(
        world.store,
        alice,
        "Talked last week",
        saturday - timedelta(days=30),
        last_activity_at=saturday - timedelta(days=6),
    )
    assert run(world, enqueue_stale_nudges, times=2) == 1
    outbox = world.outbox()
    await outbox.tick()
    assert world.channels["shell"].sent == []  # Saturday: held for business hours
    [row] = world.rows(kind="nudge")
    assert row.status == "pending" and row.due_at == at(saturday + timedelta(days=2), 9)
    clock.set(row.due_at)
    await outbox.tick()
    [nudge] = world.channels["shell"].sent
    assert f"#{stale.id}" in nudge.text
    assert "no activity for over 14 days (since Fri 20 Feb 00:00 UTC)" in nudge.text
    assert run(world, enqueue_stale_nudges) == 0
    clock.advance(days=12)  # Acme: 29 days idle, its next period; the other two now stale too
    assert run(world, enqueue_stale_nudges) == 3
    keys = [r.dedupe_key for r in world.rows(kind="nudge")]
    assert len([k for k in keys if k.startswith(f"stale:{stale.id}:")]) == 2


async def test_stale_deal_rule_is_off_at_zero_days(store, clock):  # type: ignore[no-untyped-def]
    world = World.build(store, clock, stale_deal_days=0)
    alice = world.rep("Alice")
    make_deal(world.store, alice, "Old", clock.now() - timedelta(days=90))
    assert run(world, enqueue_stale_nudges) == 0


async def test_unanswered_customer_nudge_counts_business_hours_only(store, clock):  # type: ignore[no-untyped-def]
    friday = datetime(2026, 2, 27, tzinfo=UTC)
    clock.set(at(friday, 16))  # one business hour left on Friday
    world = World.build(store, clock)
    alice = world.rep("Alice")
    jane = world.customer("Jane", telegram="4001", owner=alice)
    clock.set(at(MONDAY, 11, 59))  # 1 h Friday + 2 h 59 Monday
    assert run(world, enqueue_unanswered_nudges) == 0
    clock.set(at(MONDAY, 12))
    assert run(world, enqueue_unanswered_nudges, times=2) == 1
    await world.outbox().tick()
    [nudge] = world.channels["shell"].sent
    assert "Jane has been waiting for a reply for 4 business hours" in nudge.text
    with store.transaction() as session:  # Alice answers; Jane writes again at 13:00
        conversation = conversations.open_conversation(
            session, contact_id=jane.id, channel="telegram"
        )
        conversations.record_outbound(
            session, actor=alice, conversation=conversation, text="On it", now=at(MONDAY, 12, 5)
        )
    clock.set(at(MONDAY, 13))
    with store.transaction() as session:
        contact = world.get(type(jane), jane.id)
        conversations.record_inbound(
            session,
            contact=contact,
            channel="telegram",
            chat_id="4001",
            text="and?",
            sent_at=clock.now(),
            now=clock.now(),
            external_id="m-4001-1",
        )
    clock.set(at(MONDAY, 16, 59))
    assert run(world, enqueue_unanswered_nudges) == 0
    clock.set(at(MONDAY + timedelta(days=1), 10))  # 4 h on Monday 13-17, then Tuesday
    assert run(world, enqueue_unanswered_nudges) == 1


async def test_unowned_waiting_customer_nudges_the_admins(store, clock):  # type: ignore[no-untyped-def]
    clock.set(at(MONDAY, 9))
    world = World.build(store, clock)
    world.rep("Alice")
    boss = world.rep("Boss", admin=True)
    world.customer("Nobody's", telegram="4101")
    clock.set(at(MONDAY, 13))
    assert run(world, enqueue_unanswered_nudges) == 1
    [row] = world.rows(kind="nudge")
    assert row.rep_id == boss.id


async def test_survey_is_asked_once_after_closing_and_the_answer_is_stored(store, clock):  # type: ignore[no-untyped-def]
    clock.set(at(MONDAY, 10))
    world = World.build(store, clock)
    alice = world.rep("Alice")
    jane = world.customer("Jane", telegram="5101", owner=alice)
    with store.transaction() as session:
        conversation = conversations.open_conversation(
            session, contact_id=jane.id, channel="telegram"
        )
        conversations.close(session, actor=alice, conversation_id=conversation.id, now=clock.now())
    assert run(world, enqueue_surveys, times=2) == 1
    clock.advance(seconds=30)
    await world.outbox().tick()
    [question] = world.channels["telegram"].sent
    assert question.chat_id == "5101" and "1 (poor) to 5 (excellent)" in question.text
    assert run(world, enqueue_surveys) == 0
    with store.transaction() as session:
        assert not record_survey_answer(session, jane.id, "thanks, bye", clock.now())
        assert record_survey_answer(session, jane.id, "I'd give it a 4!", clock.now())
        assert record_survey_answer(session, jane.id, "4", clock.now())  # a re-delivery
        assert not record_survey_answer(session, jane.id, "5", clock.now())  # not a new score
    clock.advance(hours=1)
    with store.transaction() as session:
        assert not record_survey_answer(session, jane.id, "4", clock.now())  # a new message
    assert world.get(Conversation, conversation.id).satisfaction == 4


async def test_scheduler_jobs_never_drop_a_late_run_and_follow_the_switches(store, clock):  # type: ignore[no-untyped-def]
    world = World.build(store, clock, digest_enabled=False, stale_deal_days=0)
    scheduler = Scheduler(world.services, world.outbox())
    scheduler.configure()
    jobs = {job.id: job for job in scheduler.aps.get_jobs()}
    assert set(jobs) == {"outbox-tick", "rule-unanswered", "rule-survey"}
    for job in jobs.values():
        assert (job.misfire_grace_time, job.coalesce, job.max_instances) == (None, True, 1)
    assert jobs["outbox-tick"].trigger.interval == timedelta(seconds=5)


async def test_scheduler_sends_what_fell_due_during_downtime_as_soon_as_it_starts(store, clock):  # type: ignore[no-untyped-def]
    clock.set(at(MONDAY, 12))
    world = World.build(store, clock, tick_seconds=0.05)
    alice = world.rep("Alice")
    row = world.remind(alice, at(MONDAY, 9), "missed during downtime")
    scheduler = Scheduler(world.services, world.outbox())
    scheduler.start()
    try:
        async with asyncio.timeout(5):
            while world.row(row.id).status != "sent":
                await asyncio.sleep(0.02)
        assert world.row(row.id).late
        world.remind(alice, at(MONDAY, 12), "due now")
        async with asyncio.timeout(5):  # and keeps ticking
            while len(world.channels["shell"].sent) < 2:
                await asyncio.sleep(0.02)
    finally:
        await scheduler.stop(timeout=5)
    assert not scheduler.aps.running


async def test_rule_run_by_four_workers_at_once_enqueues_each_row_once(store, clock):  # type: ignore[no-untyped-def]
    if store.dialect != "postgresql":
        pytest.skip("concurrent writers are a PostgreSQL deployment; SQLite runs one process")
    clock.set(at(MONDAY, 9))
    world = World.build(store, clock)
    for name in ("A", "B", "C"):
        world.rep(name)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait(5)
            run(world, enqueue_digests)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert len(world.rows(kind="digest")) == 3
