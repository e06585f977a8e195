"""The per-channel rate limiter on virtual time, and which rep messages wait for office hours."""

from datetime import UTC, datetime, timedelta

from bot.outbound.ratelimit import Limit, RateLimiter, VirtualTime
from crm import followups
from crm.actors import SYSTEM
from tests.standins.outbox_channels import standard_limits
from tests.standins.outbox_world import World


def limiter() -> tuple[RateLimiter, VirtualTime]:
    vt = VirtualTime()
    return RateLimiter(standard_limits(30), monotonic=vt.monotonic, sleep=vt.sleep), vt


async def test_slack_allows_one_message_a_second_per_channel_but_channels_run_side_by_side():
    limits, vt = limiter()
    assert [limits.reserve("slack", "C1") for _ in range(3)] == [0, 1.0, 2.0]
    assert limits.reserve("slack", "C2") == 0  # another channel is not held up
    assert await limits.acquire("slack", "C1") == 3.0
    assert vt.now == 3.0


async def test_telegram_spaces_sends_at_thirty_a_second_overall_and_one_per_chat():
    limits, _ = limiter()
    waits = [limits.reserve("telegram", str(chat)) for chat in range(31)]
    assert waits[0] == 0 and abs(waits[30] - 1.0) < 1e-9
    assert abs(limits.wait_for("telegram", "0") - (31 / 30)) < 1e-9  # overall slot is later


async def test_a_refused_reservation_books_nothing():
    limits, _ = limiter()
    limits.reserve("slack", "C1")
    assert limits.reserve("slack", "C1", max_wait=0.5) is None
    assert limits.wait_for("slack", "C1") == 1.0  # unchanged by the refusal


async def test_a_429_pauses_that_chat_for_the_time_asked():
    limits, vt = limiter()
    limits.pause("telegram", "42", 30)
    assert limits.wait_for("telegram", "42") == 30
    assert limits.wait_for("telegram", "43") == 0
    vt.advance(30)
    assert limits.wait_for("telegram", "42") == 0


async def test_unlimited_channels_never_wait_and_bursts_are_allowed_when_configured():
    limits = RateLimiter({"email": (Limit(1.0, burst=3),)})
    assert [limits.reserve("email", "a@b.c") for _ in range(3)] == [0, 0, 0]
    assert limits.reserve("email", "a@b.c") > 0
    assert RateLimiter.unlimited().reserve("telegram", "1") == 0


async def test_rep_reminders_go_at_their_time_even_at_night_but_nudges_wait(store, clock):  # type: ignore[no-untyped-def]
    saturday_night = datetime(2026, 3, 7, 22, 0, tzinfo=UTC)
    clock.set(saturday_night)
    world = World.build(store, clock)
    alice = world.rep("Alice", tz="Europe/Paris")
    reminder = world.remind(alice, saturday_night, "call the plumber")
    with store.transaction() as session:
        nudge = followups.schedule(
            session,
            actor=SYSTEM,
            kind="nudge",
            due_at=saturday_night,
            text="stale deal",
            now=clock.now(),
            rep_id=alice.id,
        )
    assert await world.outbox().tick() == 1
    assert world.row(reminder.id).status == "sent"
    held = world.row(nudge.id)
    assert held.status == "pending"
    assert held.due_at == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # Monday 09:00 in Paris
    assert held.due_at - saturday_night > timedelta(days=1)
