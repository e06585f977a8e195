"""Rep digests say when they really go (issue 16): the outbox holds digests and nudges to the
rep's business hours, so the replies that mention them give the held time, not the set one.
Through the real dispatcher and store, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, time

import pytest

from bot.app import RapportApp
from bot.outbound.rules import enqueue_digests
from crm.hours import Hours, next_digest
from tests.factories import rep_chat


@pytest.fixture
def early_digest(make_rapport) -> RapportApp:  # type: ignore[no-untyped-def]
    """A team whose digest is set for 07:30 while business opens at 09:00."""
    return make_rapport(RAPPORT_DIGEST_TIME="07:30")


async def _say(app: RapportApp, text: str, tz: str = "UTC") -> str:
    return await rep_chat(app, "Greta", timezone=tz).say(text)


async def test_setting_a_time_zone_says_when_the_held_digest_really_goes(early_digest) -> None:  # type: ignore[no-untyped-def]
    # the clock: Mon 2 Mar 2026 09:00 UTC = 10:00 in Berlin, today's 07:30 has passed
    reply = await _say(early_digest, "timezone Europe/Berlin")
    assert "Your time zone is now Europe/Berlin" in reply
    assert (
        "Your daily digest is set for 07:30, outside business hours (Mon-Fri 09:00-17:00): "
        "it is held until they open, next Tue 3 Mar 09:00 CET."
    ) in reply


async def test_a_digest_inside_business_hours_is_confirmed_at_its_own_time(  # type: ignore[no-untyped-def]
    make_rapport,
) -> None:
    app = make_rapport(RAPPORT_DIGEST_TIME="09:30")
    reply = await _say(app, "timezone America/New_York")  # 04:00 there: today's is ahead
    assert "Your daily digest comes at 09:30 on working days, next Mon 2 Mar 09:30 EST." in reply


async def test_the_followups_list_shows_a_held_digest_with_its_real_time(  # type: ignore[no-untyped-def]
    early_digest, clock
) -> None:
    await _say(early_digest, "timezone UTC")
    clock.set(datetime(2026, 3, 3, 7, 20, tzinfo=UTC))  # the scheduler queues Tuesday's digest
    with early_digest.store.transaction() as session:
        assert enqueue_digests(session, early_digest.settings, clock.now()) == 1
    listing = await _say(early_digest, "followups")
    assert (
        "Tue 3 Mar 07:30 UTC [pending, held for business hours: goes Tue 3 Mar 09:00 UTC]"
        in listing
    )


@pytest.mark.parametrize(
    ("now", "at", "expected", "held"),
    [
        # before today's digest on a working day: today's
        (datetime(2026, 3, 2, 6, 0, tzinfo=UTC), time(7, 30), datetime(2026, 3, 2, 9, 0), True),
        (datetime(2026, 3, 2, 6, 0, tzinfo=UTC), time(9, 30), datetime(2026, 3, 2, 9, 30), False),
        # Friday evening: Monday's
        (datetime(2026, 3, 6, 18, 0, tzinfo=UTC), time(9, 30), datetime(2026, 3, 9, 9, 30), False),
        # a digest set after closing is held to the next opening
        (datetime(2026, 3, 2, 6, 0, tzinfo=UTC), time(18, 0), datetime(2026, 3, 3, 9, 0), True),
    ],
)
def test_next_digest(now: datetime, at: time, expected: datetime, held: bool) -> None:
    hours = Hours.parse("Mon-Fri 09:00-17:00")
    going, was_held = next_digest(at, hours, now, "UTC")
    assert (going.replace(tzinfo=None), was_held) == (expected, held)
