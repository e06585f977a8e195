"""Report periods: words a rep types ("last month") turned into a UTC interval.

A period is computed in the viewer's time zone (a rep in Tokyo asking for "this week"
means their Monday, not London's) and returned as UTC datetimes, because every stored
timestamp is UTC. The interval is half-open, `[start, end)`, so adjacent periods never
count a row twice, and it never reaches past `now`: "this month" means month to date,
which keeps "went inactive by the end of the period" meaningful.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_DAYS = 30
MAX_DAYS = 3660

EXAMPLES = (
    "this week, last month, this quarter, Q4, november, since monday, last 7 days, "
    "or 2026-01-01 to 2026-03-31"
)
_ISO_DATE = r"\d{4}-\d{1,2}-\d{1,2}"
_RANGE = re.compile(
    rf"^(?:from\s+)?({_ISO_DATE})(?:\s*(?:to|until|through|\.\.|–|—)\s*|\s+-\s+)"
    rf"({_ISO_DATE})$"
)
_SINGLE = re.compile(rf"^(?:on\s+)?({_ISO_DATE})$")
_LAST_N = re.compile(r"^(?:the\s+)?(?:last|past|previous)\s+(\d{1,4})\s+(day|week)s?$")
_NAMED = re.compile(r"^(this|last|previous|current)\s+(week|month|quarter|year)$")
_QUARTER = re.compile(r"^(?:in\s+)?q([1-4])(?:\s+(\d{4}))?$")
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december")  # fmt: skip
_MONTH = re.compile(
    r"^(?:in\s+)?(" + "|".join(f"{m[:3]}(?:{m[3:]})?" for m in _MONTH_NAMES) + r")\.?"
    r"(?:\s+(\d{4}))?$"
)
_SINCE = re.compile(r"^since\s+(.+)$")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Period:
    """`[start, end)` in UTC; `label` is what a person reads back ("last month (...)")."""

    start: datetime
    end: datetime
    label: str
    tz: str = "UTC"

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def local_dates(self) -> tuple[date, date]:
        """First and last local calendar day touched by the period (inclusive)."""
        last = max(self.start, self.end - timedelta(microseconds=1))
        return self.start.astimezone(self.zone).date(), last.astimezone(self.zone).date()


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local calendar day begins (DST-aware)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def parse_period(text: str | None, *, tz: str, now: datetime) -> Period:
    """Turns "last month", "last 7 days", "2026-01-01 to 2026-03-31"... into a Period.

    None or blank means the last 30 days (today and the 29 days before it). Weeks start
    on Monday; quarters are calendar quarters; a date range includes its end date.
    Raises ValueError with a message fit to show a person, naming the accepted forms.
    """
    if now.tzinfo is None:
        raise ValueError("parse_period needs an aware `now`")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{tz}' is not a time zone; use a name like Europe/Paris.") from None
    words = " ".join((text or "").lower().split())
    today = now.astimezone(zone).date()
    first, last, name = _local_days(words, today)
    if last < first:
        raise ValueError(
            f"That period ends ({last.isoformat()}) before it starts ({first.isoformat()})."
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise ValueError("That period is longer than ten years; pick a shorter one.")
    start = local_midnight(first, zone)
    if start > now:
        raise ValueError(f"That period starts on {first.isoformat()}, which is still to come.")
    end = min(local_midnight(last + timedelta(days=1), zone), now.astimezone(UTC))
    shown_last = min(last, today)
    span = first.isoformat() if shown_last == first else f"{first} to {shown_last}"
    label = f"{name} ({span})" if name else span
    return Period(start=start, end=end, label=label, tz=tz)


def _local_days(words: str, today: date) -> tuple[date, date, str | None]:
    """(first day, last day, name) for the words, in local calendar days."""
    if not words:
        return today - timedelta(days=DEFAULT_DAYS - 1), today, f"last {DEFAULT_DAYS} days"
    if words == "today":
        return today, today, "today"
    if words == "yesterday":
        day = today - timedelta(days=1)
        return day, day, "yesterday"
    if (m := _LAST_N.match(words)) is not None:
        count, unit = int(m.group(1)), m.group(2)
        days = count * (7 if unit == "week" else 1)
        if not 1 <= days <= MAX_DAYS:
            raise ValueError("Pick between 1 day and ten years, e.g. last 7 days.")
        return today - timedelta(days=days - 1), today, f"last {count} {unit}{'s' * (count > 1)}"
    if (m := _NAMED.match(words)) is not None:
        back = m.group(1) in {"last", "previous"}
        first, last = _calendar_unit(m.group(2), today, back)
        return first, last, f"{'last' if back else 'this'} {m.group(2)}"
    if (m := _RANGE.match(words)) is not None:
        return _iso(m.group(1)), _iso(m.group(2)), None
    if (m := _SINGLE.match(words)) is not None:
        day = _iso(m.group(1))
        return day, day, None
    return _named_span(words, today)


def _named_span(words: str, today: date) -> tuple[date, date, str | None]:
    """`Q4` / `q1 2026` (the latest one begun, unless a year is given), a month name
    (`november`, `nov 2025`: the latest one begun), `since monday` / `since 2026-01-05`."""
    if (m := _QUARTER.match(words)) is not None:
        quarter = int(m.group(1))
        year = int(m.group(2)) if m.group(2) else today.year
        if not m.group(2) and date(year, 3 * quarter - 2, 1) > today:
            year -= 1
        first = date(year, 3 * quarter - 2, 1)
        return first, _month_end(year, 3 * quarter), f"Q{quarter} {year}"
    if (m := _MONTH.match(words)) is not None:
        month = next(i for i, name in enumerate(_MONTH_NAMES, 1) if name.startswith(m.group(1)))
        year = int(m.group(2)) if m.group(2) else today.year
        if not m.group(2) and date(year, month, 1) > today:
            year -= 1
        return (
            date(year, month, 1),
            _month_end(year, month),
            f"{_MONTH_NAMES[month - 1].title()} {year}",
        )
    if (m := _SINCE.match(words)) is not None:
        first = _since(m.group(1), today)
        return first, today, f"since {m.group(1)}"
    raise ValueError(f"I don't understand the period '{words[:60]}'. Try {EXAMPLES}.")


def _calendar_unit(unit: str, today: date, back: bool) -> tuple[date, date]:
    """The week/month/quarter/year containing today, or the one before it."""
    if unit == "week":
        first = today - timedelta(days=today.weekday()) - timedelta(days=7 * back)
        return first, first + timedelta(days=6)
    if unit == "year":
        year = today.year - back
        return date(year, 1, 1), date(year, 12, 31)
    months = 1 if unit == "month" else 3
    index = (today.year * 12 + today.month - 1) // months - back  # unit number since year 0
    first_month = index * months
    first = date(first_month // 12, first_month % 12 + 1, 1)
    next_month = first_month + months
    last = date(next_month // 12, next_month % 12 + 1, 1) - timedelta(days=1)
    return first, last


def _month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def _since(text: str, today: date) -> date:
    """The first day of "since <text>": a weekday (the latest one, today included), a
    month name, `yesterday`, or an ISO date."""
    day = text.removeprefix("last ").strip()
    weekday = [i for i, w in enumerate(_WEEKDAYS) if len(day) >= 3 and w.startswith(day)]
    if weekday:
        return today - timedelta(days=(today.weekday() - weekday[0]) % 7)
    if day == "yesterday":
        return today - timedelta(days=1)
    if re.fullmatch(_ISO_DATE, day):
        return _iso(day)
    if _MONTH.match(day):
        return _named_span(day, today)[0]
    raise ValueError(f"I don't understand the period 'since {text[:40]}'. Try {EXAMPLES}.")


def _iso(text: str) -> date:
    try:
        year, month, day = (int(part) for part in text.split("-"))
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"'{text}' is not a real date; write it as YYYY-MM-DD.") from None
