"""Report periods: words in the viewer's time zone to half-open UTC intervals."""

from datetime import UTC, datetime

import pytest

from crm.analytics.period import parse_period

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)  # Wednesday 1 April 2026


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        (None, utc(2026, 3, 3), NOW, "last 30 days (2026-03-03 to 2026-04-01)"),
        ("", utc(2026, 3, 3), NOW, "last 30 days (2026-03-03 to 2026-04-01)"),
        ("this week", utc(2026, 3, 30), NOW, "this week (2026-03-30 to 2026-04-01)"),
        ("last week", utc(2026, 3, 23), utc(2026, 3, 30), "last week (2026-03-23 to 2026-03-29)"),
        ("this month", utc(2026, 4, 1), NOW, "this month (2026-04-01)"),
        (
            "  Last   MONTH ",
            utc(2026, 3, 1),
            utc(2026, 4, 1),
            "last month (2026-03-01 to 2026-03-31)",
        ),
        ("this quarter", utc(2026, 4, 1), NOW, "this quarter (2026-04-01)"),
        (
            "last quarter",
            utc(2026, 1, 1),
            utc(2026, 4, 1),
            "last quarter (2026-01-01 to 2026-03-31)",
        ),
        ("this year", utc(2026, 1, 1), NOW, "this year (2026-01-01 to 2026-04-01)"),
        ("last year", utc(2025, 1, 1), utc(2026, 1, 1), "last year (2025-01-01 to 2025-12-31)"),
        ("last 7 days", utc(2026, 3, 26), NOW, "last 7 days (2026-03-26 to 2026-04-01)"),
        ("past 2 weeks", utc(2026, 3, 19), NOW, "last 2 weeks (2026-03-19 to 2026-04-01)"),
        ("today", utc(2026, 4, 1), NOW, "today (2026-04-01)"),
        ("yesterday", utc(2026, 3, 31), utc(2026, 4, 1), "yesterday (2026-03-31)"),
        ("2026-01-01 to 2026-03-31", utc(2026, 1, 1), utc(2026, 4, 1), "2026-01-01 to 2026-03-31"),
        (
            "from 2026-01-01 to 2026-01-31",
            utc(2026, 1, 1),
            utc(2026, 2, 1),
            "2026-01-01 to 2026-01-31",
        ),
        ("2026-02-01..2026-02-28", utc(2026, 2, 1), utc(2026, 3, 1), "2026-02-01 to 2026-02-28"),
        ("2026-03-15", utc(2026, 3, 15), utc(2026, 3, 16), "2026-03-15"),
        # a range running into the future stops at now
        ("2026-03-01 to 2026-12-31", utc(2026, 3, 1), NOW, "2026-03-01 to 2026-04-01"),
    ],
)
def test_period_words_become_half_open_utc_intervals(
    text: str | None, start: datetime, end: datetime, label: str
) -> None:
    period = parse_period(text, tz="UTC", now=NOW)
    assert (period.start, period.end, period.label) == (start, end, label)
    assert period.start.tzinfo is not None and period.end.tzinfo is not None


def test_periods_follow_the_viewers_time_zone_and_its_dst() -> None:
    # New York: 1 March is EST (UTC-5), 1 April is EDT (UTC-4, from 8 March)
    period = parse_period("last month", tz="America/New_York", now=NOW)
    assert (period.start, period.end) == (utc(2026, 3, 1, 5), utc(2026, 4, 1, 4))
    assert period.days == pytest.approx(31 - 1 / 24)
    # Tokyo (UTC+9): at 18:00 on 1 April "today" began at 15:00 UTC the day before
    today = parse_period("today", tz="Asia/Tokyo", now=NOW)
    assert (today.start, today.end) == (utc(2026, 3, 31, 15), NOW)


def test_calendar_units_roll_over_year_ends() -> None:
    january = utc(2026, 1, 14, 12)  # a Wednesday
    assert parse_period("last month", tz="UTC", now=january).start == utc(2025, 12, 1)
    assert parse_period("last quarter", tz="UTC", now=january).start == utc(2025, 10, 1)
    sunday = utc(2026, 3, 29, 12)
    assert parse_period("this week", tz="UTC", now=sunday).start == utc(2026, 3, 23)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("next tuesday", "I don't understand the period 'next tuesday'. Try this week"),
        ("2026-02-30 to 2026-03-01", "'2026-02-30' is not a real date"),
        ("2026-03-10 to 2026-03-01", "ends (2026-03-01) before it starts (2026-03-10)"),
        ("2027-01-01 to 2027-01-31", "still to come"),
        ("last 0 days", "Pick between 1 day and ten years"),
        ("2000-01-01 to 2026-01-01", "longer than ten years"),
    ],
)
def test_unreadable_periods_raise_a_friendly_value_error(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_period(text, tz="UTC", now=NOW)
    assert message in str(caught.value)


def test_an_unknown_time_zone_or_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="not a time zone"):
        parse_period(None, tz="Mars/Olympus", now=NOW)
    with pytest.raises(ValueError, match="aware"):
        parse_period(None, tz="UTC", now=datetime(2026, 4, 1))
