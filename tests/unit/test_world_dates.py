"""Dates as the world types them: understood whole or refused with the reason (issue 16)."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.language.commands import LogActivity, Remind, SetDateOrder
from bot.language.parsing import default_dateorder, far_note, format_when, parse_when
from bot.language.verbs import parse
from crm.analytics import parse_period

BERLIN = "Europe/Berlin"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # Tue 1 Dec 2026, 11:00 in Berlin
LUNCH = time(14, 0)  # the default RAPPORT_LUNCH_ENDS


def local(text: str, tz: str = BERLIN, **options: object) -> str:
    result = parse_when(text, tz=tz, now=NOW, **{"after_lunch": LUNCH, **options})  # type: ignore[arg-type]
    return result.astimezone(ZoneInfo(tz)).strftime("%a %Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("text", "tz", "order", "expected"),
    [
        ("5.1.2027", BERLIN, None, "Tue 2027-01-05 09:00"),  # Berlin: day first
        ("5/1/2027", "America/New_York", None, "Sat 2027-05-01 09:00"),  # New York: month first
        ("5.1.2027", BERLIN, "MDY", "Sat 2027-05-01 09:00"),  # the rep's own setting wins
        ("5/1", BERLIN, None, "Tue 2027-01-05 09:00"),  # no year: the next 5 January
        ("2027-01-05", "America/New_York", None, "Tue 2027-01-05 09:00"),  # ISO is ISO
        ("2027/1/5", BERLIN, "MDY", "Tue 2027-01-05 09:00"),  # 4-digit first part: a year
        ("5.1.27 14:30", BERLIN, None, "Tue 2027-01-05 14:30"),
        ("5.1.2027 at 10am", BERLIN, None, "Tue 2027-01-05 10:00"),
        ("1/5", "Asia/Tokyo", None, "Tue 2027-01-05 09:00"),  # YMD zones write month/day
        ("9.30", BERLIN, None, "Wed 2026-12-02 09:30"),  # a lone h.mm stays a clock time
    ],
)
def test_numeric_dates_follow_the_date_order(
    text: str, tz: str, order: str | None, expected: str
) -> None:
    assert local(text, tz, dateorder=order) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("noon", "Tue 2026-12-01 12:00"),
        ("eod", "Tue 2026-12-01 17:00"),
        ("end of quarter", "Thu 2026-12-31 17:00"),
        ("eoq", "Thu 2026-12-31 17:00"),
        ("after lunch", "Tue 2026-12-01 14:00"),
        ("tomorrow after lunch", "Wed 2026-12-02 14:00"),
        ("3 Dec", "Thu 2026-12-03 09:00"),
        ("3rd of december", "Thu 2026-12-03 09:00"),
        ("in 20 years", "Sat 2046-12-01 09:00"),
        ("last monday", "Mon 2026-11-30 09:00"),  # in the past: the handler refuses it
    ],
)
def test_named_times_and_days(text: str, expected: str) -> None:
    assert local(text) == expected


def test_after_lunch_is_the_team_setting() -> None:
    assert local("after lunch", after_lunch=time(13, 30)) == "Tue 2026-12-01 13:30"
    late = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 16:00 in Berlin: lunch is over
    result = parse_when("after lunch", tz=BERLIN, now=late, after_lunch=LUNCH).astimezone(
        ZoneInfo(BERLIN)
    )
    assert result.strftime("%d %H:%M") == "02 14:00"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("31 feb", "31 Feb does not exist"),
        ("feb 30 2027", "30 Feb does not exist"),
        ("29 feb 2027", "29 Feb 2027 does not exist (2027 is not a leap year)"),
        ("31.4.2027", "31 Apr does not exist"),
        ("13.13.2027", "has no month 13: you write dates day.month.year"),
        ("tomorrow 13pm", "'13pm' is not a time of day"),
        ("13pm", "'13pm' is not a time of day"),
        ("tomorrow 25:00", "'25:00' is not a time of day"),
        ("friday 10:75", "'10:75' is not a time of day"),
        ("0am", "'0am' is not a time of day"),
    ],
)
def test_impossible_dates_and_times_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_when(text, tz=BERLIN, now=NOW, after_lunch=LUNCH)


def test_feb_29_without_a_year_is_the_next_leap_day() -> None:
    assert local("29 feb") == "Tue 2028-02-29 09:00"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("remind me to prepare QBR 3 Dec", Remind("prepare QBR", "3 Dec")),
        ("remind me to call Jane in 20 years", Remind("call Jane", "in 20 years")),
        ("remind me to call jane 31 feb", Remind("call jane", "31 feb")),
        ("remind me to call jane tomorrow 13pm", Remind("call jane", "tomorrow 13pm")),
        ("remind me to call jane last monday", Remind("call jane", "last monday")),
        ("remind me to call jane 5.1.2027", Remind("call jane", "5.1.2027")),
        ("remind me to call jane end of quarter", Remind("call jane", "end of quarter")),
        ("remind me to call jane after lunch", Remind("call jane", "after lunch")),
        ("remind me to buy 3 seats tomorrow", Remind("buy 3 seats", "tomorrow")),
        ("remind me to review the 2027 budget tomorrow",
         Remind("review the 2027 budget", "tomorrow")),
    ],
)  # fmt: skip
def test_a_date_phrase_is_taken_whole_never_split(text: str, expected: Remind) -> None:
    """No date word is left in the text, and the date kept is all of the phrase."""
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("log call with jane: hi follow up tomorrow 10am",
         LogActivity("call", "jane", "hi", "tomorrow 10am")),
        ("called jane: no answer follow up with legal",
         LogActivity("call", "jane", "no answer follow up with legal", None)),
        ("met jane: demo went well", LogActivity("meeting", "jane", "demo went well", None)),
        ("lunch with jane: pricing, follow up next week",
         LogActivity("meeting", "jane", "pricing", "next week")),
        ("log lunch with jane: nice", LogActivity("meeting", "jane", "nice", None)),
        ("spoke with jane: fine", LogActivity("call", "jane", "fine", None)),
        ("emailed jane: sent the deck", LogActivity("email", "jane", "sent the deck", None)),
    ],
)  # fmt: skip
def test_activity_verbs_and_follow_up_without_a_comma(text: str, expected: LogActivity) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "order"),
    [("dateorder DMY", "DMY"), ("dateorder mdy", "MDY"), ("dateorder ymd", "YMD")],
)
def test_dateorder_command(text: str, order: str) -> None:
    assert parse(text) == SetDateOrder(order)


@pytest.mark.parametrize(
    ("tz", "order"),
    [("Europe/Berlin", "DMY"), ("America/New_York", "MDY"), ("America/Sao_Paulo", "DMY"),
     ("Asia/Tokyo", "YMD"), ("Asia/Kolkata", "DMY"), ("UTC", "DMY")],
)  # fmt: skip
def test_default_dateorder_from_the_time_zone(tz: str, order: str) -> None:
    assert default_dateorder(tz) == order


def test_far_future_dates_say_how_far() -> None:
    due = parse_when("in 20 years", tz=BERLIN, now=NOW, after_lunch=LUNCH)
    assert far_note(due, NOW) == " (that is 20 years from now)"
    assert far_note(parse_when("tomorrow", tz=BERLIN, now=NOW, after_lunch=LUNCH), NOW) == ""
    assert format_when(due, BERLIN, now=NOW) == "Sat 1 Dec 2046 09:00 CET"


@settings(max_examples=150, deadline=None)
@given(
    day=st.integers(1, 31),
    month=st.integers(1, 12),
    year=st.integers(2027, 2030),
    order=st.sampled_from(["DMY", "MDY"]),
)
def test_a_numeric_date_is_that_date_or_refused(
    day: int, month: int, year: int, order: str
) -> None:
    """Never a silently different date: either exactly the typed day, or a ValueError."""
    text = f"{day}.{month}.{year}" if order == "DMY" else f"{month}/{day}/{year}"
    try:
        result = parse_when(text, tz=BERLIN, now=NOW, dateorder=order, after_lunch=LUNCH)
    except ValueError as exc:
        assert "does not exist" in str(exc)
        return
    assert result.astimezone(ZoneInfo(BERLIN)).date().timetuple()[:3] == (year, month, day)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Q4", "Q4 2026 (2026-10-01 to 2026-12-01)"),
        ("q1", "Q1 2026 (2026-01-01 to 2026-03-31)"),
        ("q4 2025", "Q4 2025 (2025-10-01 to 2025-12-31)"),
        ("last quarter", "last quarter (2026-07-01 to 2026-09-30)"),
        ("november", "November 2026 (2026-11-01 to 2026-11-30)"),
        ("nov 2025", "November 2025 (2025-11-01 to 2025-11-30)"),
        ("in march", "March 2026 (2026-03-01 to 2026-03-31)"),
        ("since monday", "since monday (2026-11-30 to 2026-12-01)"),
        ("since 2026-11-01", "since 2026-11-01 (2026-11-01 to 2026-12-01)"),
        ("since november", "since november (2026-11-01 to 2026-12-01)"),
    ],
)
def test_report_periods_by_name(text: str, label: str) -> None:
    assert parse_period(text, tz=BERLIN, now=NOW).label == label


def test_unknown_since_is_refused_with_examples() -> None:
    with pytest.raises(ValueError, match="since blah.*Q4"):
        parse_period("since blah", tz=BERLIN, now=NOW)


_PLAIN_WORDS = st.sampled_from(
    ["call", "send", "the", "deck", "prepare", "QBR", "pricing", "Jane", "Acme", "review",
     "contract", "invoice", "renewal", "notes"]
)  # fmt: skip
_DATES = st.sampled_from(
    ["3 Dec", "31 feb", "in 20 years", "tomorrow 13pm", "last monday", "5.1.2027", "noon",
     "end of quarter", "after lunch", "next tuesday 10am", "in 3 days", "dec 3 at 10"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(words=st.lists(_PLAIN_WORDS, min_size=1, max_size=5), when=_DATES)
def test_reminder_text_never_takes_a_piece_of_the_date(words: list[str], when: str) -> None:
    text = " ".join(words)
    assert parse(f"remind me to {text} {when}") == Remind(text, when)
