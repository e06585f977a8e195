"""Elapsed business time and sending windows, in a given time zone.

"Unanswered for 4 business hours" must not count the night or the weekend, and
it must hold across a daylight-saving change, so the arithmetic is done on
aware datetimes converted to UTC before any subtraction (subtracting two
datetimes that share a ZoneInfo uses wall-clock time and is off by an hour on
the day the clocks change).
"""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.hours import Hours, QuietHours

MAX_DAYS = 400  # a waiting customer from over a year ago counts as "a long time" anyway


def zone_name(preferred: str | None, fallback: str) -> str:
    """`preferred` when it is a known IANA zone, else `fallback` (bad data never crashes a send)."""
    if preferred:
        try:
            ZoneInfo(preferred)
            return preferred
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return fallback


QUIET_HOURS_OFF = frozenset({"", "off", "none", "no"})


def parse_quiet_hours(text: str) -> QuietHours:
    """`21:00-08:00` -> QuietHours; `off` -> never quiet (a 24/7 business, or a test run
    at night). Raises ValueError naming the expected shape."""
    if text.strip().lower() in QUIET_HOURS_OFF:
        return QuietHours(time(0, 0), time(0, 0))  # an empty window: nothing is quiet
    try:
        start_text, end_text = (part.strip() for part in text.split("-"))
        start = time.fromisoformat(start_text.zfill(5))
        end = time.fromisoformat(end_text.zfill(5))
    except ValueError:
        raise ValueError(f"'{text}' is not like '21:00-08:00' (or 'off')") from None
    return QuietHours(start, end)


def business_time_between(hours: Hours, start: datetime, end: datetime, tz: str) -> timedelta:
    """How much of [start, end) falls inside opening hours, counted in real (UTC) time."""
    if end <= start:
        return timedelta(0)
    zone = ZoneInfo(tz)
    first = max(start, end - timedelta(days=MAX_DAYS)).astimezone(zone).date()
    last = end.astimezone(zone).date()
    total = timedelta(0)
    day = first
    while day <= last:
        if day.weekday() in hours.days:
            opens = datetime.combine(day, hours.start, tzinfo=zone).astimezone(UTC)
            closes = datetime.combine(day, hours.end, tzinfo=zone).astimezone(UTC)
            low, high = max(opens, start.astimezone(UTC)), min(closes, end.astimezone(UTC))
            if high > low:
                total += high - low
        day += timedelta(days=1)
    return total


def local_day_bounds(now: datetime, tz: str) -> tuple[datetime, datetime]:
    """The local calendar day containing `now`, as [midnight, next midnight) in UTC."""
    zone = ZoneInfo(tz)
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end
