"""bot.language.parsing: dates, money, emails and phones as reps type them."""

import contextlib
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.language.parsing import (
    PHONE_PATTERN,
    format_when,
    looks_like_email,
    looks_like_phone,
    parse_money,
    parse_when,
)
from crm.errors import Invalid
from crm.validation import normalise_email, normalise_phone

PARIS = "Europe/Paris"
# Monday 1 Dec 2025, 12:00 in Paris (11:00 UTC)
NOW = datetime(2025, 12, 1, 11, 0, tzinfo=UTC)
LUNCH = time(14, 0)  # the default RAPPORT_LUNCH_ENDS
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def local(text: str, tz: str = PARIS, now: datetime = NOW) -> str:
    """parse_when, shown as local wall time for readable expectations."""
    result = parse_when(text, tz=tz, now=now, after_lunch=LUNCH)
    assert result.tzinfo is not None and result.utcoffset().total_seconds() == 0
    return result.astimezone(ZoneInfo(tz)).strftime("%a %Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow at 9", "Tue 2025-12-02 09:00"),
        ("tomorrow 9am", "Tue 2025-12-02 09:00"),
        ("tomorrow 9", "Tue 2025-12-02 09:00"),
        ("Tomorrow at 9:30 AM", "Tue 2025-12-02 09:30"),
        ("at 9 tomorrow", "Tue 2025-12-02 09:00"),
        ("tmrw 2pm", "Tue 2025-12-02 14:00"),
        ("tomorrow", "Tue 2025-12-02 09:00"),
        ("tomorrow morning", "Tue 2025-12-02 09:00"),
        ("next tuesday 10am", "Tue 2025-12-02 10:00"),
        ("next tuesday 10:00", "Tue 2025-12-02 10:00"),
        ("next monday", "Mon 2025-12-08 09:00"),
        ("monday", "Mon 2025-12-08 09:00"),
        ("monday 3pm", "Mon 2025-12-01 15:00"),
        ("friday", "Fri 2025-12-05 09:00"),
        ("on friday at 3pm", "Fri 2025-12-05 15:00"),
        ("this friday 3pm", "Fri 2025-12-05 15:00"),
        ("by friday", "Fri 2025-12-05 09:00"),
        ("fri 14:00", "Fri 2025-12-05 14:00"),
        ("in 3 days", "Thu 2025-12-04 09:00"),
        ("3 days", "Thu 2025-12-04 09:00"),
        ("in 2 weeks", "Mon 2025-12-15 09:00"),
        ("in a week", "Mon 2025-12-08 09:00"),
        ("in 3 days at 10", "Thu 2025-12-04 10:00"),
        ("in 2h", "Mon 2025-12-01 14:00"),
        ("2h", "Mon 2025-12-01 14:00"),
        ("in 2 hours", "Mon 2025-12-01 14:00"),
        ("1h30", "Mon 2025-12-01 13:30"),
        ("30m", "Mon 2025-12-01 12:30"),
        ("in 45 minutes", "Mon 2025-12-01 12:45"),
        ("an hour", "Mon 2025-12-01 13:00"),
        ("in half an hour", "Mon 2025-12-01 12:30"),
        ("end of month", "Wed 2025-12-31 17:00"),
        ("eom", "Wed 2025-12-31 17:00"),
        ("end of week", "Fri 2025-12-05 17:00"),
        ("eow", "Fri 2025-12-05 17:00"),
        ("eod", "Mon 2025-12-01 17:00"),
        ("end of day", "Mon 2025-12-01 17:00"),
        ("by EOD", "Mon 2025-12-01 17:00"),
        ("next week", "Mon 2025-12-08 09:00"),
        ("next month", "Thu 2026-01-01 09:00"),
        ("tonight", "Mon 2025-12-01 20:00"),
        ("today 3pm", "Mon 2025-12-01 15:00"),
        ("today", "Mon 2025-12-01 13:00"),
        ("at 3", "Mon 2025-12-01 15:00"),
        ("at 10", "Tue 2025-12-02 10:00"),
        ("3pm", "Mon 2025-12-01 15:00"),
        ("noon", "Tue 2025-12-02 12:00"),
        ("until tomorrow 9am", "Tue 2025-12-02 09:00"),
        ("to monday", "Mon 2025-12-08 09:00"),
        ("Dec 3", "Wed 2025-12-03 09:00"),
        ("dec 3 at 10", "Wed 2025-12-03 10:00"),
        ("3 dec 10am", "Wed 2025-12-03 10:00"),
        ("3/12", "Wed 2025-12-03 09:00"),  # Paris writes day first
        ("jan 5th", "Mon 2026-01-05 09:00"),
        ("2026-01-01", "Thu 2026-01-01 09:00"),
        ("2026-01-01 14:30", "Thu 2026-01-01 14:30"),
        ("  Friday.  ", "Fri 2025-12-05 09:00"),
    ],
)
def test_parse_when_phrases_reps_type(text: str, expected: str) -> None:
    assert local(text) == expected


def test_parse_when_rolls_past_moments_forward() -> None:
    evening = datetime(2025, 12, 1, 18, 30, tzinfo=UTC)  # 19:30 in Paris
    assert local("eod", now=evening) == "Tue 2025-12-02 17:00"
    assert local("at 9", now=evening) == "Tue 2025-12-02 09:00"
    friday_evening = datetime(2025, 12, 5, 18, 0, tzinfo=UTC)
    assert local("end of week", now=friday_evening) == "Fri 2025-12-12 17:00"
    assert local("friday", now=friday_evening) == "Fri 2025-12-12 09:00"
    assert local("next friday", now=datetime(2025, 12, 5, 6, 0, tzinfo=UTC)) == (
        "Fri 2025-12-12 09:00"
    )


def test_parse_when_uses_the_reps_timezone_and_dst() -> None:
    new_york = "America/New_York"
    friday = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # DST starts Sunday 8 March
    result = parse_when("monday 9am", tz=new_york, now=friday, after_lunch=LUNCH)
    assert result == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    assert parse_when("tomorrow 9am", tz="Asia/Tokyo", now=NOW, after_lunch=LUNCH) == datetime(
        2025, 12, 2, 0, 0, tzinfo=UTC
    )


def test_parse_when_accepts_naive_now_as_utc() -> None:
    assert parse_when(
        "2h", tz="UTC", now=datetime(2025, 12, 1, 11, 0), after_lunch=LUNCH
    ) == datetime(2025, 12, 1, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    ["blorp", "", "   ", "10", "at 25", "in 99999999999 days", "in 99999999999 hours",
     "tomorrow at 9 to call bob", "x" * 500, "call bob"],
)  # fmt: skip
def test_parse_when_rejects_with_a_friendly_message(text: str) -> None:
    with pytest.raises(ValueError, match="I couldn't understand the date"):
        parse_when(text, tz=PARIS, now=NOW, after_lunch=LUNCH)


def test_parse_when_message_names_the_input_and_examples() -> None:
    with pytest.raises(ValueError) as exc:
        parse_when("blorp", tz=PARIS, now=NOW, after_lunch=LUNCH)
    assert str(exc.value) == (
        "I couldn't understand the date 'blorp'. "
        "Try 'tomorrow 9am', 'next tuesday 10:00' or 'in 3 days'."
    )


@pytest.mark.parametrize("tz", ["Mars/Olympus", "", "../../etc/passwd", "europe/paris"])
def test_parse_when_rejects_unknown_timezones(tz: str) -> None:
    with pytest.raises(ValueError, match="not a time zone"):
        parse_when("tomorrow", tz=tz, now=NOW, after_lunch=LUNCH)


def test_format_when_is_unambiguous() -> None:
    dt = datetime(2025, 12, 2, 9, 0, tzinfo=UTC)
    assert format_when(dt, PARIS, now=NOW) == "Tue 2 Dec 10:00 CET"
    assert format_when(dt, "America/New_York", now=NOW) == "Tue 2 Dec 04:00 EST"
    assert format_when(datetime(2026, 7, 1, 8, 0, tzinfo=UTC), PARIS, now=NOW) == (
        "Wed 1 Jul 2026 10:00 CEST"
    )
    assert format_when(datetime(2025, 12, 2, 9, 0), "UTC", now=NOW) == "Tue 2 Dec 09:00 UTC"


def test_format_when_round_trips_parse_when() -> None:
    assert format_when(
        parse_when("next tuesday 10am", tz=PARIS, now=NOW, after_lunch=LUNCH), PARIS, now=NOW
    ) == ("Tue 2 Dec 10:00 CET")


# --- money --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$12,000", (1200000, "USD")),
        ("12k", (1200000, "USD")),
        ("12K", (1200000, "USD")),
        ("€1.5m", (150000000, "EUR")),
        ("£99.99", (9999, "GBP")),
        ("12,000 EUR", (1200000, "EUR")),
        ("1,234.56 usd", (123456, "USD")),
        ("JPY 5000", (5000, "JPY")),
        ("¥5000", (5000, "JPY")),
        ("5000", (500000, "USD")),
        ("0", (0, "USD")),
        ("1.234,56 €", (123456, "EUR")),
        ("99,99 EUR", (9999, "EUR")),
        ("US$ 1,000", (100000, "USD")),
        ("$12k", (1200000, "USD")),
        ("2.5k gbp", (250000, "GBP")),
        ("1bn", (100000000000, "USD")),
        ("10 KWD", (10000, "KWD")),
        ("  $ 12000  ", (1200000, "USD")),
    ],
)
def test_parse_money(text: str, expected: tuple[int, str]) -> None:
    assert parse_money(text) == expected


def test_parse_money_default_currency() -> None:
    assert parse_money("12k", default_currency="EUR") == (1200000, "EUR")
    assert parse_money("$5", default_currency="EUR") == (500, "USD")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-5", "cannot be negative"),
        ("$-5", "cannot be negative"),
        ("-$5", "cannot be negative"),
        ("abc", "couldn't read the amount"),
        ("", "couldn't read the amount"),
        ("$", "couldn't read the amount"),
        ("12,34,5", "couldn't read the amount"),
        ("¥5.5", "JPY amounts can't have that many decimals"),
        ("$1.234", r"Did you mean 1,234\? .*write 1234"),
        ("12 XYZ", "don't know the currency"),
        ("$12 EUR", "two currencies"),
        ("99999999999999999", "too large"),
        ("10000000000001", "too large"),
        ("9" * 100, "couldn't read the amount"),
    ],
)
def test_parse_money_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_money(text)


def test_parse_money_upper_bound_is_inclusive() -> None:
    assert parse_money("10000000000000") == (10**15, "USD")


# --- emails and phones ------------------------------------------------------------------


def test_normalise_email_lowercases_the_whole_address() -> None:
    assert normalise_email(" Jane.Doe@ACME.com ") == "jane.doe@acme.com"


@pytest.mark.parametrize("text", ["jane", "jane@", "@acme.com", "jane@acme", "a b@c.com", ""])
def test_normalise_email_rejects(text: str) -> None:
    with pytest.raises(Invalid, match="not a valid email address"):
        normalise_email(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+1 415 555 0100", "+14155550100"),
        ("(415) 555-0100", "+14155550100"),
        ("415.555.0100", "+14155550100"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+33 1 42 68 53 00", "+33142685300"),
    ],
)
def test_normalise_phone(text: str, expected: str) -> None:
    assert normalise_phone(text) == expected


def test_normalise_phone_default_region() -> None:
    assert normalise_phone("020 7946 0958", default_region="GB") == "+442079460958"


@pytest.mark.parametrize("text", ["12", "hello", "+1 000", "", "+999 1234567"])
def test_normalise_phone_rejects(text: str) -> None:
    with pytest.raises(Invalid, match="phone number"):
        normalise_phone(text)


@pytest.mark.parametrize(
    ("token", "expected"),
    [("jane@acme.com", True), ("j.doe+crm@mail.acme.co.uk", True), ("jane", False),
     ("@acme", False), ("jane@acme", False), ("#42", False), ("$12,000", False)],
)  # fmt: skip
def test_looks_like_email(token: str, expected: bool) -> None:
    assert looks_like_email(token) is expected


@pytest.mark.parametrize(
    "text",
    ["+1 415 555 0100", "+44 20 7946 0958", "(415) 555-0100", "415.555.0100", "4155550100",
     "+4930123456789", "+1(415)555-0100", "+33 6 12 34 56 78", "(0)30 1234567"],
)  # fmt: skip
def test_phone_pattern_matches_whole_phone_spans(text: str) -> None:
    match = PHONE_PATTERN.search(f"call {text} today")
    assert match is not None and match[0] == text
    assert looks_like_phone(text)


@pytest.mark.parametrize("text", ["50 seats", "$12,000", "12.5", "#4155550100", "2026"])
def test_phone_pattern_ignores_numbers_that_are_not_phones(text: str) -> None:
    assert not any(looks_like_phone(m[0]) for m in PHONE_PATTERN.finditer(text))


@pytest.mark.timeout(60)  # a hang guard, not a speed claim: it took minutes before the fix
def test_a_long_run_of_digits_is_not_a_phone_and_does_not_hang() -> None:
    """`add` followed by 3,000 digits once took a minute (catastrophic backtracking: the
    pattern could split a run of digits every possible way). Each group after the first now
    needs a separator, so the scan is linear."""
    assert not any(looks_like_phone(m[0]) for m in PHONE_PATTERN.finditer("0" * 3000))


# --- properties ----------------------------------------------------------------------------


@FAST
@given(st.text(max_size=120), st.sampled_from([PARIS, "UTC", "America/New_York", "nope"]))
def test_parse_when_raises_only_value_error(text: str, tz: str) -> None:
    try:
        result = parse_when(text, tz=tz, now=NOW, after_lunch=LUNCH)
    except ValueError:
        return
    assert result.tzinfo is not None


@FAST
@given(st.text(max_size=60))
def test_parse_money_raises_only_value_error(text: str) -> None:
    try:
        minor, currency = parse_money(text)
    except ValueError:
        return
    assert 0 <= minor <= 10**15 and len(currency) == 3


@FAST
@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["USD", "EUR", "JPY"]))
def test_parse_money_reads_back_plain_amounts(units: int, currency: str) -> None:
    minor, parsed_currency = parse_money(f"{units:,} {currency}")
    assert parsed_currency == currency
    assert minor == units * (1 if currency == "JPY" else 100)


@FAST
@given(st.text(max_size=80))
def test_normalisers_raise_only_invalid(text: str) -> None:
    for normalise in (normalise_email, normalise_phone):
        with contextlib.suppress(Invalid):
            assert normalise(text)


@FAST
@given(st.emails())
def test_normalise_email_accepts_generated_addresses_or_says_why(address: str) -> None:
    try:
        assert normalise_email(address) == normalise_email(address).lower()
    except Invalid as exc:
        assert "not a valid email address" in str(exc)
