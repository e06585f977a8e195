"""Cell values of other CRMs' exports: dates, amounts, lists of emails and phones.

Pure functions that raise ValueError with a sentence for the report. Dates try the
layouts exports use (ISO, US month-first, European day-first when the day is over 12)
before dateparser, which is thorough but ~100x slower, and its answers are cached
because one export repeats the same few spellings.
"""

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

import dateparser

from crm.money import currency_exponent

EMAIL_SPLIT = re.compile(r"[;,\s]+")
PHONE_SPLIT = re.compile(r"\s*(?:[;,|\n/]|\s{2,}| or )\s*")
_FORMATS = (  # numeric day/month dates are read by _numeric, in the file's date order
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M",
    "%d-%b-%Y",
    "%b %d, %Y",
    "%d %b %Y",
)
_NUMERIC = re.compile(
    r"(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
    r"(?:[ T]+(?P<time>\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?))?"
)
_TIMES = ("%H:%M:%S", "%H:%M", "%I:%M %p", "%I:%M:%S %p", "%I:%M%p")
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "us$": "USD"}
_AMOUNT = re.compile(
    r"(?P<pre>[a-z]{3}|us\$|[$€£¥₹])?\s*(?P<num>\d[\d,.' ]*)\s*(?P<post>[a-z]{3}|[$€£¥₹])?"
)
MAX_MINOR = 10**15


_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_%+-]{1,64}(?:\.[a-z0-9_%+-]{1,64}){0,8}@"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,8}[a-z]{2,24}"
)
_SPECIAL_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test", "example"})


def plain_email(text: str) -> str | None:
    """The normalised form of an everyday ASCII address, or None to ask email-validator.

    email-validator costs ~100 us an address, a third of an imported row; an address of
    this shape is one it accepts unchanged but for case (tests/unit/test_imports_values.py
    checks that against email-validator itself)."""
    candidate = text.strip().lower()
    if len(candidate) > 254 or not _PLAIN_EMAIL.fullmatch(candidate):
        return None
    local = candidate.split("@", 1)[0]
    if len(local) > 64 or candidate.rsplit(".", 1)[1] in _SPECIAL_TLDS:
        return None
    return candidate


def split_emails(text: str) -> list[str]:
    return [p for p in EMAIL_SPLIT.split(text) if p]


def split_phones(text: str) -> list[str]:
    return [p.strip() for p in PHONE_SPLIT.split(text) if p.strip()]


def split_tags(text: str) -> list[str]:
    """ "#vip #churn-risk" (Rapport's export) -> two tags; "Hot lead, VIP" (another CRM's
    labels, one per comma or semicolon) -> hot-lead, vip."""
    if "#" in text:
        parts = re.split(r"[;,\s]+", text)
    else:
        parts = ["-".join(p.split()) for p in re.split(r"[;,\n]+", text)]
    return [p.lstrip("#") for p in parts if p.lstrip("#")]


@dataclass(frozen=True)
class DateReading:
    """A date cell read: its value, and whether the file's date order decided it."""

    value: datetime
    ambiguous: bool = False  # `04/03/2025`: both orders make a date; read in the order given
    against_order: bool = False  # `13/03/2025` in a month-first file: only day-first works


def read_datetime(text: str, *, tz: str = "UTC", dateorder: str = "MDY") -> DateReading:
    """A date or date-time cell -> aware UTC datetime (naive values are in `tz`).

    Numeric dates such as 04/03/2025 are read in `dateorder` (DMY: day first; MDY or
    YMD: month first, as US exports write them); the reading says when that order was
    what decided, so the import report can name it instead of guessing silently.
    """
    value = text.strip()
    numeric = _numeric(value, day_first=dateorder == "DMY")
    reading = numeric or DateReading(_fast(value) or _slow(value))  # type: ignore[arg-type]
    if reading.value is None:
        raise ValueError(f"'{value[:40]}' is not a date I can read; use 2026-03-02 or 03/02/2026.")
    parsed = reading.value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return replace(reading, value=parsed.astimezone(UTC))


def parse_datetime(text: str, *, tz: str = "UTC", dateorder: str = "MDY") -> datetime:
    return read_datetime(text, tz=tz, dateorder=dateorder).value


def parse_date(text: str) -> date:
    return parse_datetime(text).date()


def _numeric(value: str, *, day_first: bool) -> DateReading | None:
    match = _NUMERIC.fullmatch(value)
    if match is None:
        return None
    day_first = day_first or match["sep"] == "."  # 04.03.2025 is day-first everywhere
    a, b, year = int(match["a"]), int(match["b"]), int(match["y"])
    if len(match["y"]) == 2:
        year += 2000 if year < 70 else 1900
    clock = _clock(match["time"]) if match["time"] else time()
    if clock is None:
        return None
    wanted, other = ((a, b), (b, a)) if day_first else ((b, a), (a, b))  # (day, month)
    first, second = _day(year, *wanted), _day(year, *other)
    if first is not None:
        ambiguous = second is not None and a != b and match["sep"] != "."
        return DateReading(datetime.combine(first, clock), ambiguous=ambiguous)
    if second is not None:
        return DateReading(datetime.combine(second, clock), against_order=True)
    return None


def _day(year: int, day: int, month: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _clock(text: str) -> time | None:
    cleaned = re.sub(r"\s*([AaPp])\.?[Mm]\.?$", r" \1M", text.strip()).upper()
    for layout in _TIMES:
        try:
            return datetime.strptime(cleaned, layout).time()
        except ValueError:
            continue
    return None


def _fast(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(
            value.replace("Z", "+00:00") if value.endswith("Z") else value
        )
    except ValueError:
        pass
    for layout in _FORMATS:
        try:
            return datetime.strptime(value, layout)
        except ValueError:
            continue
    return None


@lru_cache(maxsize=4096)
def _slow(value: str) -> datetime | None:
    if len(value) > 60:
        return None
    return dateparser.parse(value, settings={"PREFER_DAY_OF_MONTH": "first"})


def parse_amount(text: str, *, currency: str | None, default_currency: str) -> tuple[int, str]:
    """ "$12,000.50" / "12.000,50 EUR" / "1200" -> (minor units, currency code)."""
    cleaned = text.strip().lower().replace("\u00a0", " ")
    negative = cleaned.startswith(("-", "(")) or cleaned.endswith(")")
    cleaned = cleaned.strip("-() ")
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        raise ValueError(f"'{text.strip()[:30]}' is not an amount; use 12000.50 or $12,000.")
    if negative:
        raise ValueError(f"'{text.strip()[:30]}' is negative; an amount cannot be.")
    marked = [_SYMBOLS.get(m, m.upper()) for m in (match["pre"], match["post"]) if m]
    if currency and marked and marked[0] != currency.upper():
        raise ValueError(f"'{text.strip()[:30]}' says {marked[0]} but the currency is {currency}.")
    code = (currency or (marked[0] if marked else default_currency)).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError(f"'{code[:10]}' is not a currency code like USD or EUR.")
    number = _decimal(match["num"].replace(" ", "").replace("'", ""), text)
    minor = number.scaleb(currency_exponent(code))
    if minor != minor.to_integral_value():
        minor = minor.quantize(Decimal(1))  # a CRM export's 1234.5678 rounds to the cent
    if minor > MAX_MINOR:
        raise ValueError(f"'{text.strip()[:30]}' is too large to be an amount.")
    return int(minor), code


def _decimal(number: str, original: str) -> Decimal:
    """ "12,000" / "1,234.56" / "1.234,56" / "99,99": the last separator followed by one or
    two digits (or any digits when it is the only kind) is the decimal point."""
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?|\d+(\.\d+)?", number):
        plain = number.replace(",", "")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?|\d+,\d+", number):
        plain = number.replace(".", "").replace(",", ".")
    else:
        raise ValueError(f"'{original.strip()[:30]}' is not an amount; use 12000.50 or $12,000.")
    try:
        return Decimal(plain)
    except InvalidOperation:
        raise ValueError(f"'{original.strip()[:30]}' is not an amount.") from None


def format_amount(minor: int, currency: str) -> str:
    """Minor units -> a plain decimal string an import reads back exactly ("1200.50")."""
    exponent = currency_exponent(currency)
    return str(Decimal(minor).scaleb(-exponent)) if exponent else str(minor)


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "y", "x", "won", "closed won"}:
        return True
    if value in {"0", "false", "no", "n", ""}:
        return False
    raise ValueError(f"'{text.strip()[:20]}' is not yes or no.")
