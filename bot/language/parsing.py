"""Pure value parsers for what reps type: dates, money, emails, phones.

Everything that needs context (the rep's time zone, "now", a default currency)
takes it as an argument, so these functions are deterministic and testable.
Every failure is a `ValueError` whose message can be shown to the rep as is.
"""

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, available_timezones

from dateparser.date import DateDataParser
from rapidfuzz import fuzz, process

from crm.money import THREE_DECIMALS, currency_exponent

# --- dates -----------------------------------------------------------------------

DEFAULT_TIME = time(9, 0)  # a date typed without a time means the start of the working day
END_OF_DAY = time(17, 0)
_MAX_WHEN_CHARS = 80
_MAX_AHEAD = timedelta(days=36525)  # beyond a century it is a misparse, not a plan
_MAX_BEHIND = timedelta(days=3660)
FAR_AHEAD = timedelta(days=366)  # further than this, confirmations say how far it is
DATE_ORDERS = ("DMY", "MDY", "YMD")

_WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "weds": 2,
    "wednesday": 2, "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "couple of": 2, "few": 3, "half an": 0.5,
}  # fmt: skip
_NAMED_CLOCKS = {
    "noon": time(12), "midday": time(12), "midnight": time(0), "morning": time(9),
    "afternoon": time(14), "evening": time(18), "eod": END_OF_DAY, "cob": END_OF_DAY,
}  # fmt: skip
_NUM = r"(?:\d+(?:\.\d+)?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")"
_SHORT_DURATION = re.compile(
    rf"(?:in|for|after)?\s*(?P<n>{_NUM})\s*(?P<unit>m|mins?|minutes?|h|hrs?|hours?)"
    r"(?:\s*(?:and\s*)?(?P<extra>\d{1,2})\s*(?:m|mins?|minutes?)?)?"
)
_DAY_DURATION = re.compile(rf"(?:in|after)?\s*(?P<n>{_NUM})\s*(?P<unit>d|days?|w|wks?|weeks?)")
_CLOCK = (
    r"(?P<h>\d{1,2})(?:[:.h](?P<m>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)"
    r"|(?P<h2>\d{1,2})[:.h](?P<m2>\d{2})"
    r"|(?P<named>" + "|".join(_NAMED_CLOCKS) + ")"
)
_BARE_HOUR = r"(?P<h3>\d{1,2})"
_CLOCK_AT_END = re.compile(
    rf"(?:^|\s)(?:(?:at|@)\s*)?(?:{_CLOCK})$|(?:^|\s)(?:at|@)\s*{_BARE_HOUR}$"
)
_CLOCK_AT_START = re.compile(
    rf"^(?:(?:at|@)\s*)?(?:{_CLOCK})(?:\s|$)|^(?:at|@)\s*{_BARE_HOUR}(?:\s|$)"
)
_DAY_THEN_HOUR = re.compile(r"^(?P<day>[a-z ]+?)\s+(?P<h3>\d{1,2})$")
_BAD_CLOCK = re.compile(
    r"(?<![\w:.])(?:(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)"
    r"|(?P<h2>\d{1,2}):(?P<m2>\d{2}))(?![\w:])"
)
_NUMERIC_DATE = re.compile(r"(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})(?:(?P=sep)(?P<c>\d{2,4}))?")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
         ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
         ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")),
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH_WORD = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH = re.compile(
    rf"(?<!\d)(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH_WORD})\b\.?"
    rf"(?:\s+(?P<y>\d{{4}}))?"
    rf"|\b(?P<mon2>{_MONTH_WORD})\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?(?!\d|:|\s*[ap]\.?m)"
    rf"(?:,?\s+(?P<y2>\d{{4}}))?"
)
_ORDER_WORDS = {"DMY": "day.month.year", "MDY": "month/day/year", "YMD": "year-month-day"}
_FILLER = re.compile(r"^(?:on|by|until|till|til|to|for|the)\s+")


class UnknownDate(ValueError):
    """A phrase that is no date. Its message, with a "did you mean" for a misspelt day or
    month, is only built when read: the grammar probes many phrases with `is_when` and
    drops these unread, so the fuzzy match must not run on every probe."""

    def __init__(self, text: str) -> None:
        self.shown = " ".join(str(text).split())[:40]
        super().__init__(self.shown)

    def __str__(self) -> str:
        typo = misspelt_date_word(self.shown, anywhere=True)
        if typo:
            fixed = re.sub(rf"\b{re.escape(typo[0])}\b", typo[1], self.shown, count=1)
            return f"I couldn't understand the date '{self.shown}'. Did you mean '{fixed}'?"
        return (
            f"I couldn't understand the date '{self.shown}'. "
            "Try 'tomorrow 9am', 'next tuesday 10:00' or 'in 3 days'."
        )


def _unknown_date(text: str) -> ValueError:
    return UnknownDate(text)


# Words worth a "did you mean": long enough that a close spelling is not another word.
_DATE_WORDS = tuple(
    sorted(
        {w for w in (*_WEEKDAYS, *_MONTHS) if len(w) >= 5}
        | {"tomorrow", "today", "tonight", "yesterday", "morning", "afternoon", "evening"}
    )
)


def misspelt_date_word(text: str, *, anywhere: bool = False) -> tuple[str, str] | None:
    """(`fridy`, `friday`) when a word of `text` is a near miss of a day, month or
    `tomorrow`, so a phrase that did not read as a date gets a "did you mean". In free
    text only a word after a date preposition counts (`call frida` is a name); in a
    phrase already known to be the date (`anywhere`), any word does."""
    words = re.findall(r"[^\W\d_]+", text)
    for at, word in enumerate(words):
        low = word.lower()
        if len(low) < 4 or low in _DATE_WORDS or low in _WEEKDAYS or low in _MONTHS:
            continue
        match = process.extractOne(low, _DATE_WORDS, scorer=fuzz.ratio, score_cutoff=80)
        if match is None:
            continue
        after_preposition = at > 0 and words[at - 1].lower() in _DATE_PREPOSITIONS
        if anywhere or after_preposition or match[0].startswith(("tom", "tod", "ton")):
            return word, match[0]  # `call frida` is a name; `on fridy`, `tomorow` are dates
    return None


_DATE_PREPOSITIONS = frozenset(
    {"on", "next", "this", "by", "until", "till", "in", "coming", "last"}
)


def _zone(tz: str) -> ZoneInfo:
    """ZoneInfo for a known IANA name only (never a path), else ValueError."""
    if not isinstance(tz, str) or tz not in _zone_names():
        raise ValueError(f"'{str(tz)[:60]}' is not a time zone. Use a name like Europe/Paris.")
    return ZoneInfo(tz)


_ZONES: set[str] = set()


def _zone_names() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones() | {"UTC"})
    return _ZONES


def parse_when(
    text: str,
    *,
    tz: str,
    now: datetime,
    after_lunch: time,
    dateorder: str | None = None,
) -> datetime:
    """Turn what a rep typed ("tomorrow at 9", "2h", "end of month") into an aware UTC time.

    Common phrases are handled here deterministically (dateparser gets some of them
    wrong, e.g. "tomorrow at 9" keeps the current time); anything else goes to
    dateparser. Rules: a day without a time is 09:00 local; "eod" is 17:00,
    "end of week" Friday 17:00, "end of month" the last day 17:00, "end of quarter"
    the quarter's last day 17:00, "after lunch" the team's lunch end, "next week"
    Monday 09:00; a weekday is its next occurrence still ahead ("next <weekday>"
    is never today); a bare hour 1-6 ("at 3") means the afternoon; minute/hour
    durations are exact, day/week durations land at 09:00. Numeric dates (`5.1.2027`)
    are read in `dateorder` (DMY, MDY or YMD; default: from the time zone); a
    4-digit first part is always year-month-day. A time or date that cannot exist
    ("13pm", "31 feb") is refused with the reason, never replaced by another one.
    The result may be in the past: whether that is allowed is the caller's call.
    """
    zone = _zone(tz)
    order = dateorder if dateorder in DATE_ORDERS else default_dateorder(tz)
    local_now = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(zone)
    phrase = _clean_phrase(text)
    if not phrase or len(phrase) > _MAX_WHEN_CHARS or phrase.replace(" ", "").isdigit():
        raise _unknown_date(str(text))
    _refuse_impossible(phrase, local_now, order)
    try:
        result = (
            _parse_numeric(phrase, local_now, order)
            or _parse_own(phrase, local_now, after_lunch)
            or _parse_fallback(phrase, tz, local_now, order)
        )
    except (OverflowError, ValueError) as exc:  # "in 99999999 days" and the like
        if isinstance(exc, ImpossibleDate):
            raise
        result = None
    if result is None or not (local_now - _MAX_BEHIND < result < local_now + _MAX_AHEAD):
        raise _unknown_date(text)
    return result.astimezone(UTC)


class ImpossibleDate(ValueError):
    """A date or time that is well-formed but does not exist (31 Feb, 13pm)."""


def default_dateorder(tz: str) -> str:
    """How people in this zone write numeric dates: month first in the US (and a few
    neighbours), year first in East Asia, day first everywhere else."""
    if tz.startswith(("America/", "US/", "Pacific/Honolulu")) and not tz.startswith(
        ("America/Argentina", "America/Sao_Paulo", "America/Bogota", "America/Lima",
         "America/Santiago", "America/Mexico_City", "America/Caracas", "America/Montevideo")
    ):  # fmt: skip
        return "MDY"
    if tz in ("Asia/Tokyo", "Asia/Shanghai", "Asia/Seoul", "Asia/Taipei", "Asia/Hong_Kong"):
        return "YMD"
    return "DMY"


def far_note(due: datetime, now: datetime) -> str:
    """ " (that is 20 years from now)" for confirmations of dates more than a year ahead,
    so a far-future date is seen and confirmed rather than silently accepted."""
    ahead = due - now
    if ahead <= FAR_AHEAD:
        return ""
    years = ahead.days // 365
    span = f"{years} years" if years > 1 else f"{ahead.days // 30} months"
    return f" (that is {span} from now)"


def typed_without_year(text: str) -> bool:
    """Whether the phrase names a calendar day but no year (`3 Dec`, `5.1`), so a day
    that has just passed was rolled to next year and the caller should say so."""
    phrase = _clean_phrase(text)
    for match in _DAY_MONTH.finditer(phrase):
        if not (match["y"] or match["y2"]):
            return True
    return any(len(m["a"]) < 4 and not m["c"] for m in _NUMERIC_DATE.finditer(phrase))


def _refuse_impossible(phrase: str, now: datetime, order: str) -> None:
    """Raise ImpossibleDate for a clock or calendar date that cannot exist."""
    for match in _BAD_CLOCK.finditer(phrase):
        hour = int(match["h"] or match["h2"])
        minute = int(match["m"] or match["m2"] or 0)
        bad_hour = not 1 <= hour <= 12 if match["ampm"] else hour > 23
        if bad_hour or minute > 59:
            raise ImpossibleDate(f"'{match[0]}' is not a time of day. Try 1pm, 13:00 or 9:30am.")
    for match in _DAY_MONTH.finditer(phrase):
        day = int(match["d"] or match["d2"])
        month = _MONTHS[match["mon"] or match["mon2"]]
        year_text = match["y"] or match["y2"]
        _check_day(day, month, int(year_text) if year_text else _next_year_of(month, day, now))


def _next_year_of(month: int, day: int, now: datetime) -> int:
    """The year a date typed without one falls in: this year unless it has passed."""
    year = now.year + 1 if (month, day) < (now.month, now.day) else now.year
    if month == 2 and day == 29:
        return next(y for y in range(year, year + 8) if calendar.isleap(y))
    return year


def _check_day(day: int, month: int, year: int) -> None:
    if not 1 <= month <= 12:
        raise ImpossibleDate(f"There is no month {month}.")
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        shown = f"{day} {_MONTH_NAMES[month - 1]}"
        if day <= 31 and month != 2 or day > 29:
            raise ImpossibleDate(f"{shown} does not exist.")
        raise ImpossibleDate(f"{shown} {year} does not exist ({year} is not a leap year).")


def _parse_numeric(phrase: str, now: datetime, order: str) -> datetime | None:
    """`5.1.2027`, `1/5`, `2027-01-05` (+ an optional time), read in the rep's date order."""
    head, _, tail = phrase.partition(" ")
    match = _NUMERIC_DATE.fullmatch(head)
    if not match or (match["sep"] == "." and not match["c"] and tail == ""
                     and _looks_like_clock_dot(head)):  # fmt: skip
        return None
    a, b, c = match["a"], match["b"], match["c"]
    year: int | None  # None: the next time that day comes
    if len(a) == 4:
        if not c:
            return None
        year, month, day = int(a), int(b), int(c)
    elif order == "YMD" and c:
        year, month, day = _full_year(a), int(b), int(c)
    elif order == "MDY" or (order == "YMD" and not c):
        month, day, year = int(a), int(b), _full_year(c) if c else None
    else:
        day, month, year = int(a), int(b), _full_year(c) if c else None
    if not 1 <= month <= 12:
        raise ImpossibleDate(
            f"'{head}' has no month {month}: you write dates {_ORDER_WORDS[order]} "
            "(change it with `dateorder DMY`, `dateorder MDY` or `dateorder YMD`)."
        )
    if year is None:
        year = _next_year_of(month, day, now)
    _check_day(day, month, year)
    clock = DEFAULT_TIME
    if tail:
        rest, found = _split_clock(_FILLER.sub("", tail) if tail else tail)
        if rest is None or rest or found is None:
            return None
        clock = found
    return datetime.combine(date(year, month, day), clock, tzinfo=now.tzinfo)


def _looks_like_clock_dot(head: str) -> bool:
    """A lone `h.mm` (`9.30`, `5.12`) stays a time, as dot clocks are common in Europe;
    a date needs the year or a one-digit month (`5.1`, `5.12.2026`)."""
    hours, _, minutes = head.partition(".")
    return len(minutes) == 2 and int(hours) <= 23 and int(minutes) <= 59


def _full_year(text: str) -> int:
    return int(text) + 2000 if len(text) <= 2 else int(text)


def _clean_phrase(text: str) -> str:
    if not isinstance(text, str):
        return ""
    phrase = " ".join(text.lower().split()).strip(" ,;!?")
    phrase = phrase.rstrip(".") if not phrase.endswith(("a.m.", "p.m.")) else phrase
    return _FILLER.sub("", phrase)


def _parse_own(phrase: str, now: datetime, after_lunch: time) -> datetime | None:
    """The phrases busy reps type most, resolved without dateparser."""
    short = _SHORT_DURATION.fullmatch(phrase)
    if short:
        return _add_short_duration(short, now)
    day_text, clock = _split_clock(phrase)
    if day_text is None:
        return None
    if not day_text:
        return _next_at(now.date(), clock or DEFAULT_TIME, now, roll_days=1)
    day = _resolve_day(day_text, now, after_lunch)
    if day is None:
        return None
    when, default_clock, roll = day
    return _next_at(when, clock or default_clock, now, roll_days=roll)


def _add_short_duration(match: re.Match[str], now: datetime) -> datetime:
    amount = _number(match["n"])
    hours = match["unit"].startswith("h")
    delta = timedelta(hours=amount) if hours else timedelta(minutes=amount)
    if match["extra"]:
        delta += timedelta(minutes=int(match["extra"]))
    return (now + delta).replace(microsecond=0)


def _number(word: str) -> float:
    return float(_NUMBER_WORDS.get(word, 0) or word)


def _split_clock(phrase: str) -> tuple[str | None, time | None]:
    """("tomorrow at 9" -> "tomorrow", 09:00); (None, None) if a time is malformed."""
    for pattern in (_CLOCK_AT_END, _CLOCK_AT_START):
        match = pattern.search(phrase)
        if match:
            rest = (phrase[: match.start()] + " " + phrase[match.end() :]).strip()
            clock = _clock(match)
            return (_FILLER.sub("", rest), clock) if clock else (None, None)
    bare = _DAY_THEN_HOUR.fullmatch(phrase)  # "tomorrow 9": only with a day word we know
    if bare and _is_own_day(bare["day"]):
        return (bare["day"], _clock(bare))
    return (phrase, None)


def _is_own_day(text: str) -> bool:
    probe = datetime(2000, 1, 3, 12, tzinfo=UTC)  # whether it is a day, not which moment
    return _resolve_day(_FILLER.sub("", text.strip()), probe, probe.time()) is not None


def _clock(match: re.Match[str]) -> time | None:
    groups = match.groupdict()
    if groups.get("named"):
        return _NAMED_CLOCKS[groups["named"]]
    hour = int(groups.get("h") or groups.get("h2") or groups.get("h3") or 0)
    minute = int(groups.get("m") or groups.get("m2") or 0)
    ampm = (groups.get("ampm") or "").replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    elif 1 <= hour <= 6:
        hour += 12  # "at 3" in a working day means 15:00
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _resolve_day(
    text: str, now: datetime, after_lunch: time
) -> tuple[date, time, int | None] | None:
    """A day phrase -> (date, default time, days to add if that moment has passed)."""
    today = now.date()
    fixed = {
        "today": (today, _today_default(now), None),
        "tonight": (today, time(20), None),
        "tomorrow": (today + timedelta(days=1), DEFAULT_TIME, None),
        "day after tomorrow": (today + timedelta(days=2), DEFAULT_TIME, None),
        "next week": (today + timedelta(days=7 - today.weekday()), DEFAULT_TIME, None),
        "next month": (_month_start(today, 1), DEFAULT_TIME, None),
    }
    text = {"tmrw": "tomorrow", "tmr": "tomorrow", "tomorow": "tomorrow"}.get(text, text)
    if text in fixed:
        return fixed[text]
    if text in ("eod", "end of day", "end of the day", "end of today", "cob", "close of business"):
        return (today, END_OF_DAY, 1)
    if text in ("eow", "end of week", "end of the week", "end of this week"):
        return (today + timedelta(days=(4 - today.weekday()) % 7), END_OF_DAY, 7)
    if text in ("eom", "end of month", "end of the month", "end of this month"):
        return (_month_start(today, 1) - timedelta(days=1), END_OF_DAY, None)
    if text in ("eoq", "end of quarter", "end of the quarter", "end of this quarter"):
        months_left = 3 - (today.month - 1) % 3
        return (_month_start(today, months_left) - timedelta(days=1), END_OF_DAY, None)
    if text in ("after lunch", "after lunch today"):
        return (today, after_lunch, 1)
    if text == "tomorrow after lunch":
        return (today + timedelta(days=1), after_lunch, None)
    return _resolve_weekday(text, today) or _resolve_day_duration(text, today)


def _today_default(now: datetime) -> time:
    if now.time() < DEFAULT_TIME:
        return DEFAULT_TIME
    return time(min(now.hour + 1, 23))


def _month_start(day: date, months_ahead: int) -> date:
    index = day.month - 1 + months_ahead
    return date(day.year + index // 12, index % 12 + 1, 1)


def _resolve_weekday(text: str, today: date) -> tuple[date, time, int | None] | None:
    words = text.split()
    if not words or words[-1] not in _WEEKDAYS or len(words) > 2:
        return None
    qualifier = words[0] if len(words) == 2 else ""
    if qualifier not in ("", "this", "next", "coming", "on"):
        return None
    ahead = (_WEEKDAYS[words[-1]] - today.weekday()) % 7
    if qualifier == "next" and ahead == 0:
        ahead = 7
    return (today + timedelta(days=ahead), DEFAULT_TIME, 7)


def _resolve_day_duration(text: str, today: date) -> tuple[date, time, int | None] | None:
    match = _DAY_DURATION.fullmatch(text)
    if not match:
        return None
    amount = _number(match["n"])
    days = amount * (7 if match["unit"].startswith("w") else 1)
    if days != int(days) or days > 3660:
        return None
    return (today + timedelta(days=int(days)), DEFAULT_TIME, None)


def _next_at(day: date, clock: time, now: datetime, *, roll_days: int | None) -> datetime:
    """Local `day` at `clock`; moved on by `roll_days` when that moment already passed."""
    result = datetime.combine(day, clock, tzinfo=now.tzinfo)
    if roll_days and result <= now:
        result = datetime.combine(day + timedelta(days=roll_days), clock, tzinfo=now.tzinfo)
    return result


def _parse_fallback(phrase: str, tz: str, now: datetime, order: str = "DMY") -> datetime | None:
    """dateparser for explicit dates ("dec 3", "2026-01-05 14:30"); 09:00 when no time."""
    day_text, clock = _split_clock(phrase)
    if day_text is None or not day_text:
        return None
    settings = {
        "TIMEZONE": tz,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "PREFER_DATES_FROM": "future",
        "RETURN_TIME_AS_PERIOD": True,
        "DATE_ORDER": order,
        "STRICT_PARSING": False,
    }
    try:
        data = DateDataParser(languages=["en"], settings=settings)
        parsed = data.get_date_data(day_text)
    except Exception:  # dateparser can raise almost anything on odd input
        return None
    if parsed is None or parsed.date_obj is None:
        return None
    result = parsed.date_obj.astimezone(now.tzinfo)
    if clock is None and parsed.period == "time":
        return result
    return datetime.combine(result.date(), clock or DEFAULT_TIME, tzinfo=now.tzinfo)


_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_when(dt: datetime, tz: str, *, now: datetime | None = None) -> str:
    """Format as `Tue 2 Dec 10:00 CET`: weekday, day, month, 24h clock, zone; the year only if
    it is not the current one. English names on purpose: the server locale must not
    change what reps read."""
    zone = _zone(tz)
    local = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(zone)
    current = now or datetime.now(UTC)
    current = (current if current.tzinfo else current.replace(tzinfo=UTC)).astimezone(zone)
    year = f" {local.year}" if local.year != current.year else ""
    day, month = _DAY_NAMES[local.weekday()], _MONTH_NAMES[local.month - 1]
    return f"{day} {local.day} {month}{year} {local:%H:%M} {local.tzname() or tz}"


# --- money -------------------------------------------------------------------------

MAX_MINOR = 10**15
_SYMBOLS = {
    "$": "USD", "us$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR",
    "c$": "CAD", "ca$": "CAD", "a$": "AUD", "au$": "AUD", "nz$": "NZD", "r$": "BRL",
    "₩": "KRW", "₽": "RUB", "₺": "TRY", "₪": "ILS", "fr": "CHF", "kr": "SEK",
}  # fmt: skip
CURRENCIES = frozenset({
    "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN", "CZK",
    "HUF", "RON", "BGN", "ISK", "TRY", "ILS", "AED", "SAR", "QAR", "KWD", "BHD", "OMR", "JOD",
    "INR", "PKR", "LKR", "BDT", "CNY", "HKD", "SGD", "TWD", "KRW", "THB", "MYR", "IDR", "PHP",
    "VND", "BRL", "MXN", "ARS", "CLP", "COP", "PEN", "UYU", "ZAR", "NGN", "KES", "EGP", "MAD",
    "TND", "UAH", "RUB", "GEL", "KZT", "XOF", "XAF",
})  # fmt: skip
_MULTIPLIERS = {"k": 10**3, "m": 10**6, "mm": 10**6, "mn": 10**6, "b": 10**9, "bn": 10**9,
                "lk": 10**5, "cr": 10**7}  # fmt: skip
_CURRENCY = r"[a-z]{3}|" + "|".join(re.escape(s) for s in sorted(_SYMBOLS, key=len, reverse=True))
_MONEY = re.compile(
    rf"(?P<sign1>[-−])?\s*(?P<pre>{_CURRENCY})?\s*(?P<sign2>[-−])?\s*"
    r"(?P<num>\d[\d,.]*)\s*(?P<mult>k|mm|mn|m|bn|b|lk|cr)?\s*"
    rf"(?P<post>{_CURRENCY})?"
)


def _bad_amount(text: str) -> ValueError:
    return ValueError(
        f"I couldn't read the amount '{' '.join(str(text).split())[:30]}'. "
        "Try $12,000, 12k, €1.5m or 12000 EUR."
    )


_CURRENCY_WORDS = {
    "dollars": "usd", "dollar": "usd", "bucks": "usd", "euros": "eur", "euro": "eur",
    "pounds": "gbp", "pound": "gbp", "quid": "gbp", "yen": "jpy", "rupees": "inr",
    "rupee": "inr", "francs": "chf", "franc": "chf", "yuan": "cny", "rmb": "cny",
}  # fmt: skip
_SCALE_WORDS = {"thousand": "k", "grand": "k", "million": "m", "millions": "m", "billion": "bn",
                "lakh": "lk", "lakhs": "lk", "crore": "cr", "crores": "cr"}  # fmt: skip
_WORDS = re.compile(r"\b(" + "|".join(sorted({**_CURRENCY_WORDS, **_SCALE_WORDS}, key=len,
                    reverse=True)) + r")\b")  # fmt: skip
# Digit groups: "1 000 000" (spaces, also no-break/thin), "7'500" (Swiss), "5,00,000" (Indian).
_SPACED_GROUPS = re.compile(r"(?<=\d)[ \u00a0\u202f\u2009'’](?=\d{3}(?!\d))")
_INDIAN = re.compile(r"\d{1,2}(?:,\d{2})+,\d{3}(?:\.\d{1,2})?")


def _money_words(cleaned: str) -> str:
    """`3 million dollars` -> `3m usd`; `5 lakh rupees` -> `500000 inr`; digit groups joined."""

    def word(match: re.Match[str]) -> str:
        name = match[1]
        return _CURRENCY_WORDS.get(name) or "\0" + _SCALE_WORDS[name]

    text = re.sub(r"\s*\0", "", _WORDS.sub(word, cleaned))  # scales become suffixes (3m)
    text = _SPACED_GROUPS.sub("", " ".join(text.split()))
    return _INDIAN.sub(lambda m: m[0].replace(",", ""), text)


@dataclass(frozen=True)
class Amount:
    """Money as typed: its value and the currency it names, or None when it names none
    (`5000`, `12k`). The grammar knows no settings, so an unstated currency stays None
    until a handler applies the business's own (RAPPORT_CURRENCY): reading `5000` as
    dollars in a euro business would put the wrong money on every deal."""

    value: Decimal
    currency: str | None = None

    def minor(self, default_currency: str) -> tuple[int, str]:
        """(minor units, currency), the stated currency or else `default_currency`.
        Raises ValueError for decimals the currency lacks or an absurd size."""
        return to_minor(self.value, self.currency or default_currency)


def read_amount(text: str) -> Amount:
    """`$12,000` -> Amount(12000, "USD"); `12k` -> Amount(12000, None).

    Also the world's spellings: `1.234,56 €`, `CHF 7'500`, `₹5,00,000`, `1 000 000 ¥`,
    `3 million dollars`. Decimal only, never float: money must not pick up binary
    rounding errors. A negative amount is refused, not read as positive.
    """
    cleaned = " ".join(str(text).lower().split()) if isinstance(text, str) else ""
    cleaned = _money_words(cleaned) if len(cleaned) <= 40 else cleaned
    match = _MONEY.fullmatch(cleaned) if len(cleaned) <= 40 else None
    if not match:
        if re.match(r"^\s*[-−]", cleaned) or re.search(r"[^\w\s][-−]\d", cleaned):
            raise ValueError("Amounts cannot be negative.")
        raise _bad_amount(text)
    if match["sign1"] or match["sign2"]:
        raise ValueError("Amounts cannot be negative.")
    currency = _stated_currency(match["pre"], match["post"])
    if (
        _DOT_OR_GROUP.fullmatch(match["num"])
        and not match["mult"]
        and currency not in THREE_DECIMALS
    ):
        raise _two_readings(match["num"])
    value = _decimal(match["num"], text) * _MULTIPLIERS.get(match["mult"] or "", 1)
    amount = Amount(value, currency)
    amount.minor(currency or "USD")  # a stated currency's decimals and the size, checked now
    return amount


# `12.500`: twelve and a half in one country, twelve thousand five hundred in the next
_DOT_OR_GROUP = re.compile(r"[1-9]\d{0,2}\.\d{3}")


def _two_readings(number: str) -> ValueError:
    """`12.500` is 12,500 with a thousands dot and 12.50 with a decimal point: ask."""
    grouped, point = number.replace(".", ""), Decimal(number)
    if point != round(point, 2):  # `1.234`: no currency here has three decimals
        return ValueError(
            f"Did you mean {int(grouped):,}? A dot before three digits may be a thousands "
            f"dot, and I won't guess with money: write {grouped}."
        )
    return ValueError(
        f"Is '{number}' {int(grouped):,} or {point:.2f}? "
        f"I won't guess with money: write {grouped} or {point:.2f}."
    )


def to_minor(value: Decimal, currency: str) -> tuple[int, str]:
    """12.5 EUR -> (1250, "EUR"); refuses decimals the currency does not have."""
    currency = _known_currency(currency.upper())
    minor = value.scaleb(currency_exponent(currency))
    if minor != minor.to_integral_value():
        raise ValueError(f"{currency} amounts can't have that many decimals.")
    if minor > MAX_MINOR:
        raise ValueError("That amount is too large to be a real deal value.")
    return int(minor), currency


def parse_money(text: str, default_currency: str = "USD") -> tuple[int, str]:
    """`$12,000` -> (1200000, "USD"); `€1.5m` -> (150000000, "EUR"); `JPY 5000` -> (5000, "JPY");
    an amount that names no currency is in `default_currency`. See `read_amount`."""
    return read_amount(text).minor(default_currency)


def _stated_currency(pre: str | None, post: str | None) -> str | None:
    codes = {_SYMBOLS.get(code, code.upper()) for code in (pre, post) if code}
    if len(codes) > 1:
        raise ValueError(f"That amount has two currencies ({' and '.join(sorted(codes))}).")
    return _known_currency(codes.pop()) if codes else None


def _known_currency(currency: str) -> str:
    if currency not in CURRENCIES:
        raise ValueError(
            f"I don't know the currency '{currency[:10]}'. Use a code like USD or EUR."
        )
    return currency


def _decimal(number: str, original: str) -> Decimal:
    """Read "12,000", "1,234.56", "1.234,56" or "99,99": the last separator followed by
    one or two digits is the decimal point, and thousands groups must be 3 digits."""
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?|\d+(\.\d+)?", number):
        plain = number.replace(",", "")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?|\d+,\d{1,2}", number):
        plain = number.replace(".", "").replace(",", ".")
    else:
        raise _bad_amount(original)
    try:
        return Decimal(plain)
    except InvalidOperation:
        raise _bad_amount(original) from None


# --- emails and phones --------------------------------------------------------------

_EMAIL_SHAPE = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]{2,}")
PHONE_PATTERN = re.compile(
    r"(?<![\w#+$€£¥/])(?<!\d[.,])"
    # Groups after the first need a separator unless a bracket ends or starts them: two
    # digit groups side by side would let a long run of digits be split every possible way
    # (catastrophic backtracking: `add` + 3,000 zeros took a minute).
    r"(?:\+\s?)?(?:\(\d{1,5}\)|\d{1,15})"
    r"(?:[\s.-]?\(\d{1,5}\)|[\s.-]\d{1,12}|(?<=\))\d{1,12}){0,7}"
    r"(?:\s*(?:ext\.?|extension|x|#)\s*\d{1,6})?"
    r"(?![\w/%]|[.,]\d)",
    re.IGNORECASE,
)
MIN_PHONE_DIGITS = 5  # fewer is a number in a name or a year ("Louis 14", 2026); more: a phone


def looks_like_email(token: str) -> bool:
    """A cheap shape check (x@y.zz) for telling emails apart from names while parsing."""
    return bool(_EMAIL_SHAPE.fullmatch(token.strip()))


def looks_like_phone(span: str) -> bool:
    """Is this span meant as a phone number (to validate, and refuse as typed if invalid)?
    A `+`, a bracketed area code or 5+ digits is enough: a number typed next to a name
    is a phone attempt, never part of the name."""
    digits = sum(ch.isdigit() for ch in span)
    if not PHONE_PATTERN.fullmatch(span) or digits > 22:
        return False
    return digits >= MIN_PHONE_DIGITS or span.lstrip().startswith(("+", "("))
