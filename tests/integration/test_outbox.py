"""The outbox on real databases (SQLite and PostgreSQL) with a controllable clock.

Channels are recording stand-ins; rate limits run on virtual time. Each test
pins one promise: on time, to the right place, never in quiet hours, never to
an opted-out customer, nothing lost to downtime, retries as asked, failures
reported to the rep once.
"""

from datetime import UTC, datetime, timedelta

import pytest

from bot.customer.desk import CustomerDesk
from bot.outbound.outbox import MAX_ATTEMPTS
from bot.settings import SettingsError, load_settings
from channels.base import IncomingMessage, SendResult
from crm.models import Contact
from tests.standins.outbox_channels import FlakyChannel, refused, too_many_requests
from tests.standins.outbox_world import World, expire_leases

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def world_of(store, clock, **settings):  # type: ignore[no-untyped-def]
    return World.build(store, clock, **settings)


async def test_reminder_fires_at_its_due_time_in_slack_with_buttons(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock)
    alice = world.rep("Alice", slack="U1")
    row = world.remind(alice, MONDAY_9 + timedelta(hours=1), "call Jane about pricing")
    outbox = world.outbox()

    clock.set(MONDAY_9 + timedelta(minutes=59, seconds=59))
    assert await outbox.tick() == 0
    assert world.row(row.id).status == "pending"

    clock.set(MONDAY_9 + timedelta(hours=1))
    assert await outbox.tick() == 1
    [sent] = world.channels["slack"].sent
    assert sent.chat_id == "U1" and sent.message.kind == "reminder"
    assert sent.text == "call Jane about pricing"
    actions = [(a.action_id, a.value) for a in sent.message.reply.actions]
    assert actions == [
        ("followup_done", str(row.id)),
        ("followup_snooze", f"{row.id} 1h"),
        ("followup_snooze", f"{row.id} tomorrow 9:00"),
    ]
    done = world.row(row.id)
    assert (done.status, done.late, done.sent_at, done.attempts) == ("sent", False, clock.now(), 1)
    assert await outbox.tick() == 0  # sent once
    assert world.channels["shell"].sent == []


async def test_reminder_goes_to_the_shell_without_slack_and_to_email_as_the_fallback(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock, channels=("shell", "email"))
    bob = world.rep("Bob")
    world.remind(bob, MONDAY_9)
    assert await world.outbox().tick() == 1
    assert [s.chat_id for s in world.channels["shell"].sent] == ["bob"]

    mail_only = world_of(store, clock, channels=("email",))
    carol = mail_only.rep("Carol", email="carol@example.com")
    mail_only.remind(carol, MONDAY_9, "renewal call")
    assert await mail_only.outbox().tick() == 1
    [sent] = mail_only.channels["email"].sent
    assert sent.chat_id == "carol@example.com"


async def test_slack_refusing_falls_back_to_the_next_channel(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock, channels=("email",))
    world.add_channel(FlakyChannel("slack", [refused("user_not_found")]))
    dana = world.rep("Dana", slack="U9", shell=False, email="dana@example.com")
    row = world.remind(dana, MONDAY_9)
    assert await world.outbox().tick() == 1
    assert [s.chat_id for s in world.channels["email"].sent] == ["dana@example.com"]
    assert world.row(row.id).status == "sent"


async def test_customer_follow_up_goes_to_the_chat_they_wrote_from(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock)
    alice = world.rep("Alice")
    jane = world.customer("Jane", telegram="5001", owner=alice)
    row = world.follow_up(alice, jane, MONDAY_9 + timedelta(hours=2), "Did the quote help?")
    clock.set(MONDAY_9 + timedelta(hours=2))
    assert await world.outbox().tick() == 1
    [sent] = world.channels["telegram"].sent
    assert (sent.chat_id, sent.text) == ("5001", "Did the quote help?")
    assert sent.message.kind == "followup"
    assert world.row(row.id).status == "sent"


async def test_quiet_hours_push_a_customer_follow_up_to_the_morning_in_their_zone(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock)
    alice = world.rep("Alice")
    # 22:30 in Paris (CET, UTC+1) is quiet; it goes at 08:00 Paris = 07:00 UTC.
    jean = world.customer("Jean", telegram="6001", tz="Europe/Paris", owner=alice)
    due = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)
    row = world.follow_up(alice, jean, due)
    outbox = world.outbox()
    clock.set(due)
    assert await outbox.tick() == 0
    held = world.row(row.id)
    assert held.status == "pending" and held.attempts == 0  # pushed, not failed, no try used
    assert held.due_at == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    clock.set(datetime(2026, 3, 3, 6, 59, tzinfo=UTC))
    assert await outbox.tick() == 0
    clock.set(datetime(2026, 3, 3, 7, 0, tzinfo=UTC))
    assert await outbox.tick() == 1
    assert world.row(row.id).status == "sent"


async def test_quiet_hours_release_follows_the_dst_change_in_paris(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock)
    alice = world.rep("Alice")
    jean = world.customer("Jean", telegram="6002", tz="Europe/Paris", owner=alice)
    # Sunday 29 March 2026: Paris goes from CET (+1) to CEST (+2) at 02:00 local.
    due = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST: quiet
    row = world.follow_up(alice, jean, due)
    clock.set(due)
    outbox = world.outbox()
    assert await outbox.tick() == 0
    assert world.row(row.id).due_at == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # 08:00 CEST
    clock.set(datetime(2026, 3, 29, 6, 0, tzinfo=UTC))
    assert await outbox.tick() == 1


async def test_quiet_hours_off_sends_a_customer_follow_up_in_the_night(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock, quiet_hours="off")
    alice = world.rep("Alice")
    jean = world.customer("Jean", telegram="6004", tz="Europe/Paris", owner=alice)
    due = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 03:00 in Paris
    row = world.follow_up(alice, jean, due, "We open early tomorrow")
    clock.set(due)
    assert await world.outbox().tick() == 1
    assert world.row(row.id).status == "sent"
    assert [m.text for m in world.channels["telegram"].sent] == ["We open early tomorrow"]


def test_unreadable_quiet_hours_stop_start_up_instead_of_a_fallback_night(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The outbox used to log and fall back to 21:00-08:00; the setting is now refused once,
    at start-up, by name, and the outbox never sees a bad value."""
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, RAPPORT_DATA_DIR=str(tmp_path), RAPPORT_QUIET_HOURS="nights")
    assert "RAPPORT_QUIET_HOURS" in str(caught.value)
    assert "'nights' is not like '21:00-08:00' (or 'off')" in str(caught.value)


async def test_a_customer_in_utc_uses_the_business_zone_for_quiet_hours(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock, timezone="America/New_York")
    alice = world.rep("Alice")
    ann = world.customer("Ann", telegram="6003", owner=alice)  # no zone of her own
    due = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 09:00 in New York: not quiet
    world.follow_up(alice, ann, due)
    clock.set(due)
    assert await world.outbox().tick() == 1


async def test_customer_reply_first_cancels_unless_told_to_send_anyway(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock)
    alice = world.rep("Alice")
    jane = world.customer("Jane", telegram="7001", owner=alice)
    stop = world.follow_up(alice, jane, MONDAY_9 + timedelta(hours=3), "Checking in")
    keep = world.follow_up(
        alice, jane, MONDAY_9 + timedelta(hours=3), "Your invoice", stop_on_reply=False
    )
    desk = CustomerDesk(world.services)
    clock.advance(hours=1)
    await desk.receive(
        IncomingMessage(world_address("7001"), "7001", "Jane", "any update?", message_id="m-7001-1")
    )
    clock.set(MONDAY_9 + timedelta(hours=3))
    assert await world.outbox().tick() == 1
    assert world.row(stop.id).status == "cancelled"
    assert world.row(keep.id).status == "sent"
    assert [s.text for s in world.channels["telegram"].sent] == ["Your invoice"]


def world_address(chat_id: str):  # type: ignore[no-untyped-def]
    from channels.base import Address

    return Address("telegram", chat_id)


async def test_opted_out_customer_is_never_messaged_and_the_rep_is_told_once(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock)
    alice = world.rep("Alice")
    jane = world.customer("Jane", telegram="8001", owner=alice)
    row = world.follow_up(alice, jane, MONDAY_9)
    world.update(Contact, jane.id, opted_out=True)
    outbox = world.outbox()
    await outbox.tick()
    await outbox.tick()  # the notice, queued by the failure, goes out on the next tick
    await outbox.tick()
    assert world.channels["telegram"].sent == []
    failed = world.row(row.id)
    assert failed.status == "failed" and "opted out" in failed.last_error
    notices = world.channels["shell"].sent
    assert len(notices) == 1 and f"Follow-up {row.id} to Jane" in notices[0].text
    assert "opted out" in notices[0].text
    assert len(world.rows(kind="notice")) == 1


async def test_due_rows_found_at_start_are_sent_and_marked_late(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock)
    alice = world.rep("Alice")
    jane = world.customer("Jane", telegram="9001", owner=alice)
    on_time = world.remind(alice, MONDAY_9 + timedelta(hours=3))
    missed = [world.remind(alice, MONDAY_9 + timedelta(minutes=m), f"r{m}") for m in (10, 20)]
    customer = world.follow_up(alice, jane, MONDAY_9 + timedelta(minutes=30))
    # A worker claimed the customer row and died before sending it.
    dead = world.outbox("dead")
    clock.set(MONDAY_9 + timedelta(minutes=30))
    dead_jobs = dead._claim(clock.now(), 1)  # claims the oldest due row only
    assert [j.row.id for j in dead_jobs] == [missed[0].id]
    clock.set(MONDAY_9 + timedelta(hours=2))  # back up after downtime
    expire_leases(store)  # the lease long gone, on the database's clock
    restarted = world.outbox("restarted")
    assert await restarted.tick() == 3
    for row in [*missed, customer]:
        sent = world.row(row.id)
        assert sent.status == "sent" and sent.late, row.id
    assert world.row(missed[0].id).attempts == 2  # claimed twice, sent once
    assert world.row(on_time.id).status == "pending"
    texts = [s.text for s in world.channels["shell"].sent]
    assert texts == ["r10", "r20"]
    assert dead._record(dead_jobs[0], SendResult(delivered=True)) == "lost_claims"
    assert world.row(missed[0].id).claimed_by is None  # the dead worker changed nothing


async def test_429_is_retried_after_the_time_asked_without_using_up_attempts(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock, channels=("shell",))
    flaky = FlakyChannel("telegram", [too_many_requests(30), too_many_requests(30)])
    world.add_channel(flaky)
    alice = world.rep("Alice")
    jane = world.customer("Jane", telegram="1101", owner=alice)
    row = world.follow_up(alice, jane, MONDAY_9)
    outbox = world.outbox()
    assert await outbox.tick() == 0
    held = world.row(row.id)
    assert held.status == "pending" and held.attempts == 0
    assert held.due_at == MONDAY_9 + timedelta(seconds=30)
    assert "retry after 30s" in held.last_error
    clock.advance(seconds=29)
    assert await outbox.tick() == 0 and len(flaky.attempts) == 1
    clock.advance(seconds=1)
    assert await outbox.tick() == 0 and len(flaky.attempts) == 2
    clock.advance(seconds=30)
    assert await outbox.tick() == 1
    assert world.row(row.id).status == "sent" and len(flaky.sent) == 1


async def test_transient_errors_back_off_then_fail_and_tell_the_rep(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock, channels=("shell",))
    down = SendResult(delivered=False, error="502 Bad Gateway")
    flaky = FlakyChannel("telegram", [down] * MAX_ATTEMPTS)
    world.add_channel(flaky)
    alice = world.rep("Alice")
    jane = world.customer("Jane", telegram="1201", owner=alice)
    row = world.follow_up(alice, jane, MONDAY_9)
    outbox = world.outbox()
    gaps = []
    for _ in range(MAX_ATTEMPTS):
        await outbox.tick()
        current = world.row(row.id)
        if current.status != "pending":
            break
        gaps.append((current.due_at - clock.now()).total_seconds())
        clock.set(current.due_at)
    assert gaps == [5, 10, 20, 40]
    failed = world.row(row.id)
    assert failed.status == "failed"
    assert f"gave up after {MAX_ATTEMPTS} attempts" in failed.last_error
    assert len(flaky.attempts) == MAX_ATTEMPTS and flaky.sent == []
    await outbox.tick()
    assert len(world.channels["shell"].sent) == 1  # the rep's notice


async def test_permanent_failure_is_recorded_with_the_reason_and_reported_once(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock, channels=("shell",))
    world.add_channel(FlakyChannel("telegram", [refused()]))
    alice = world.rep("Alice")
    jane = world.customer("Jane", telegram="1301", owner=alice)
    row = world.follow_up(alice, jane, MONDAY_9)
    outbox = world.outbox()
    for _ in range(3):
        await outbox.tick()
    failed = world.row(row.id)
    assert failed.status == "failed" and failed.attempts == 1
    assert "blocked" in failed.last_error
    [notice] = world.channels["shell"].sent
    assert "was not sent: 403 Forbidden: bot was blocked" in notice.text


async def test_many_due_at_once_stay_within_telegram_limits(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock)
    alice = world.rep("Alice")
    people = [world.customer(f"C{i}", telegram=str(20000 + i), owner=alice) for i in range(40)]
    for person in people:
        world.follow_up(alice, person, MONDAY_9, "Spring offer")
    same_chat = [world.follow_up(alice, people[0], MONDAY_9, f"part {i}") for i in range(3)]
    outbox = world.outbox()
    assert await outbox.tick() == 43
    stamps = sorted(s.at for s in world.channels["telegram"].sent)
    assert len(stamps) == 43
    for i in range(len(stamps) - 30):  # never more than 30 in any one-second window
        assert stamps[i + 30] - stamps[i] >= 1.0 - 1e-9
    assert world.vt.now >= 42 / 30
    first_chat = sorted(s.at for s in world.channels["telegram"].to("20000"))
    assert all(b - a >= 1.0 - 1e-9 for a, b in zip(first_chat, first_chat[1:], strict=False))
    assert all(world.row(r.id).status == "sent" for r in same_chat)


async def test_a_slot_too_far_off_puts_the_row_back_instead_of_holding_the_claim(store, clock):  # type: ignore[no-untyped-def]
    world = world_of(store, clock)
    alice = world.rep("Alice")
    jane = world.customer("Jane", telegram="1401", owner=alice)
    rows = [world.follow_up(alice, jane, MONDAY_9, f"part {i}") for i in range(3)]
    outbox = world.outbox(lease=timedelta(seconds=4))  # guard: 1 s, one per chat per second
    assert await outbox.tick() == 2
    statuses = sorted(world.row(r.id).status for r in rows)
    assert statuses == ["pending", "sent", "sent"]
    back = next(world.row(r.id) for r in rows if world.row(r.id).status == "pending")
    assert back.attempts == 0 and back.last_error == "rate limit"
    clock.set(back.due_at)
    world.vt.advance(5)
    assert await outbox.tick() == 1
