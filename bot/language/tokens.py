"""Lexical helpers for `bot.language.grammar`: cleaning input, refs, ids, tags, quotes, amounts,
and finding where a date phrase sits inside free text.

Kept apart from the verb handlers so each stays small; everything here is pure.
"""

import re
import unicodedata
from datetime import UTC, datetime
from zoneinfo import available_timezones

from bot.language.parsing import (
    CURRENCIES,
    PHONE_PATTERN,
    Amount,
    ImpossibleDate,
    looks_like_email,
    looks_like_phone,
    parse_when,
    read_amount,
)

MAX_INPUT_CHARS = 4000
_MAX_ID_DIGITS = 18  # fits a signed 64-bit integer column

QUOTED = re.compile(r"\"([^\"]*)\"|“([^”]*)”|„([^“”]*)[“”]|‘([^’]*)’|(?<!\w)'([^']*)'(?!\w)")
TAG = re.compile(r"(?<![^\s,;(])#([^\W\d][\w-]*|\d[\w-]*[^\W\d][\w-]*)(?![\w#])")
_ID = re.compile(rf"#?(\d{{1,{_MAX_ID_DIGITS}}})")
_PREFIX = re.compile(r"^(?:/+\s*|crm\b[\s:,]*)", re.IGNORECASE)
_EDGE_PUNCT = " \t\n,;:"


_SLACK_LINK = re.compile(
    r"<(?:mailto:|tel:|https?://)[^|>\s]*\|([^>]*)>|<(?:mailto:|tel:)([^|>\s]*)>"
)


def clean_input(text: str) -> str:
    """Drop control characters (NUL breaks databases) but keep newlines and tabs;
    unwrap Slack's auto-links (`<mailto:a@b.co|a@b.co>` -> `a@b.co`); strip the
    leading "/" or "crm " that Slack users type out of habit."""
    text = _SLACK_LINK.sub(lambda m: m[1] if m[1] is not None else m[2], text)
    kept = "".join(
        ch if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs") else " " for ch in text
    )
    stripped = kept.strip()
    for _ in range(2):  # "/crm add ..." has both prefixes
        stripped = _PREFIX.sub("", stripped, count=1).strip()
    return stripped


def split_verb(text: str) -> tuple[str, str]:
    """("Log call with Jane: hi") -> ("log", "call with Jane: hi"); "follow up" is one verb."""
    match = re.match(r"(\S+)\s*(.*)", text, re.DOTALL)
    if not match:
        return "", ""
    verb, rest = match[1].lower().rstrip(":,.!"), match[2]
    if verb in ("follow", "follow-up", "f/u") and (verb != "follow" or _starts_with(rest, "up")):
        rest = rest[2:].lstrip() if verb == "follow" else rest
        verb = "followup"
    if verb.endswith("?") and verb != "?":
        verb = verb.rstrip("?") or "?"
    return verb, rest.strip()


def _starts_with(text: str, word: str) -> bool:
    return bool(re.match(rf"{word}\b", text, re.IGNORECASE))


def strip_quotes(text: str) -> str:
    """'"How is it going?"' -> 'How is it going?'; anything else is returned trimmed."""
    text = text.strip()
    match = QUOTED.fullmatch(text)
    if match:
        return next(group for group in match.groups() if group is not None).strip()
    return text


def quoted_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, inner text) of every quoted part, in order."""
    return [
        (m.start(), m.end(), next(g for g in m.groups() if g is not None).strip())
        for m in QUOTED.finditer(text)
    ]


def normalise_ref(text: str) -> str:
    """Tidy a contact/deal ref: unquote, trim punctuation, and read a bare number
    ("12") as an id ("#12") because nobody names a contact with digits."""
    ref = strip_quotes(text.strip(_EDGE_PUNCT)).strip(_EDGE_PUNCT)
    ref = " ".join(ref.split())
    if re.fullmatch(r"\d{1,9}", ref):
        return f"#{ref}"
    return ref


def take_ref(text: str) -> tuple[str, str]:
    """Split off one ref: a quoted name, `#42`, or the first word. Returns (ref, rest)."""
    text = text.strip()
    spans = quoted_spans(text)
    if spans and spans[0][0] == 0:
        start, end, inner = spans[0]
        return inner, text[end:].strip()
    parts = text.split(None, 1)
    if not parts:
        return "", ""
    return normalise_ref(parts[0]), (parts[1] if len(parts) > 1 else "").strip()


def starts_with_exact_ref(text: str) -> bool:
    """True when the text opens with an unambiguous ref: a quoted name or `#id`."""
    text = text.strip()
    spans = quoted_spans(text)
    return bool(spans and spans[0][0] == 0) or bool(re.match(r"#\d+\b", text))


_COLON = re.compile(r"(?<!\d):|:(?!\d)")


def split_colon(text: str) -> tuple[str, str, str]:
    """Like `str.partition(":")` but a colon inside a time ("10:30") does not count."""
    match = _COLON.search(text)
    if not match:
        return text, "", ""
    return text[: match.start()], ":", text[match.end() :]


def parse_id(token: str) -> int | None:
    """`7` or `#7` -> 7; anything else (including 0 and absurdly long numbers) -> None."""
    match = _ID.fullmatch(token.strip().rstrip(".,:;"))
    if not match or int(match[1]) == 0:
        return None
    return int(match[1])


def extract_tags(text: str) -> tuple[tuple[str, ...], str]:
    """("jane #VIP #churn-risk") -> (("vip", "churn-risk"), "jane"): lower-cased,
    de-duplicated, order kept; `#42` is an id, never a tag."""
    tags = tuple(dict.fromkeys(m[1].lower() for m in TAG.finditer(text)))
    return tags, " ".join(TAG.sub(" ", text).split())


# --- dates inside free text --------------------------------------------------------

_PROBE_NOW = datetime(2030, 1, 7, 12, tzinfo=UTC)  # any instant: only "does it parse" matters
_MAX_WHEN_WORDS = 7
_MAX_ATTEMPTS = 120
_MARKER_WORDS = frozenset({
    "today", "yesterday", "tonight", "tomorrow", "tmrw", "tmr", "next", "this", "coming", "on",
    "at", "by", "in", "after", "end", "eod", "eoq", "last", "eow", "eom", "cob", "noon", "midday",
    "morning", "afternoon", "evening", "until", "till", "mon", "monday", "tue", "tues", "tuesday",
    "wed", "weds", "wednesday", "thu", "thur", "thurs", "thursday", "fri", "friday", "sat",
    "saturday", "sun", "sunday", "jan", "january", "feb", "february", "mar", "march", "apr",
    "april", "may", "jun", "june", "jul", "july", "aug", "august", "sep", "sept", "september",
    "oct", "october", "nov", "november", "dec", "december",
})  # fmt: skip
_MARKER_TOKEN = re.compile(
    r"\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{1,4})?"  # 12/3, 2026-01-05
    r"|\d{1,2}(?::\d{2})?\s*[ap]\.?m\.?"  # 9am, 10:30pm
    r"|\d{1,2}:\d{2}"  # 10:30, and 25:00 so that it is refused with the reason
    r"|\d+(?:\.\d+)?(?:m|mins?|h|hrs?|d|w)"  # 2h, 30m, 3d
)


def is_when(text: str, *, or_impossible: bool = False) -> bool:
    """Does this phrase read as a date/time? (decided with a fixed clock, in UTC). With
    `or_impossible`, a date or time shaped right that cannot exist (`25:00`, `13pm`,
    `31 feb`) counts too: it is still the date the rep meant to give, to be refused with
    the reason rather than left in a note's text."""
    try:
        parse_when(text, tz="UTC", now=_PROBE_NOW, after_lunch=_PROBE_NOW.time())
    except ImpossibleDate:
        return or_impossible
    except ValueError:
        return False
    return True


def is_marker(word: str) -> bool:
    """Can a date phrase start with this word? Cheap filter before calling `is_when`."""
    word = word.lower().strip(",;:()")
    return word in _MARKER_WORDS or bool(_MARKER_TOKEN.fullmatch(word))


def find_when(text: str, *, allow_at_start: bool = False) -> tuple[str, str] | None:
    """Find the date phrase in free text -> (text without it, date phrase).

    Deterministic: first the longest date phrase that ends the text, trying start
    words left to right ("call bob on monday at 9"); then a shorter phrase in the
    middle ("call bob tomorrow about pricing"). Only words that can open a date
    phrase are tried, and the number of attempts is capped.
    """
    words = list(re.finditer(r"\S+", text))
    starts = [i for i, w in enumerate(words) if is_marker(w[0]) and (i or allow_at_start)]
    attempts = 0
    for span_end in (len(words), None):
        for i in starts:
            last = min(len(words) - 1, i + _MAX_WHEN_WORDS)
            ends = [len(words)] if span_end else range(last, i, -1)
            for j in ends:
                attempts += 1
                if attempts > _MAX_ATTEMPTS:
                    return None
                if _try_when(text, words, i, j):
                    return _whole_phrase(text, words, i, j)
    return _date_shaped(text, words, starts)


_DATE_SHAPED = re.compile(
    r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}|\d{1,2}(?::\d{2})?\s*[ap]\.?m\.?|\d{1,2}:\d{2}", re.I
)


def _date_shaped(
    text: str, words: list[re.Match[str]], starts: list[int]
) -> tuple[str, str] | None:
    """A last word that can only be a date or a time (`13.13.2027`, `13pm`) but does not
    parse: returned as the date, so the rep hears why it is wrong instead of "when?"."""
    for i in reversed(starts):
        if _DATE_SHAPED.fullmatch(words[i][0].strip(",;:()")):
            rest, phrase = _whole_phrase(text, words, i, i + 1)
            return (rest, phrase) if rest else None
    return None


_UNITS = r"(?:years?|yrs?|months?|mos?|weeks?|wks?|days?|hours?|hrs?|minutes?|mins?)"
_GLUE_AFTER = re.compile(
    rf"{_UNITS}|ago|later|from\s+now|\d{{1,2}}(?:[:.]\d{{2}})?\s*[ap]\.?m\.?|\d{{1,2}}[:h]\d{{2}}"
    r"|\d+(?:st|nd|rd|th)|\d{4}",
    re.IGNORECASE,
)
_GLUE_BEFORE = re.compile(r"last|past|previous|this|next|coming|\d{1,2}(?:st|nd|rd|th)?", re.I)
MONTH_WORD = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"  # dec, Dec.
_MONTH_START = re.compile(MONTH_WORD + "$", re.IGNORECASE)


def _whole_phrase(text: str, words: list[re.Match[str]], i: int, j: int) -> tuple[str, str]:
    """The date phrase found at words[i:j], grown over neighbouring words that belong to a
    date ("3" before "Dec", "last" before "monday", "years" after "in 20", "13pm" after
    "tomorrow"). The grown phrase is returned even when it does not parse, so the
    caller refuses it with the reason instead of reading a different date and pasting
    the leftover words into the text (a date is understood whole or not at all)."""
    while j < len(words) and _GLUE_AFTER.fullmatch(words[j][0].strip(",;:()")):
        j += 1
    i = grown_start([w[0] for w in words], i, floor=0)
    start, end = words[i].start(), words[j - 1].end()
    phrase = text[start:end].strip(",;:() ")
    rest = (text[:start].rstrip(" ,;:-") + " " + text[end:].lstrip(" ,;:-")).strip()
    return rest, phrase


def grown_start(words: list[str], i: int, *, floor: int) -> int:
    """Where a date phrase found at words[i] really starts: moved left over words that
    belong to it ("3" before "Dec", "3rd of" before "December", "last" before "monday"),
    never before words[floor]."""
    while i > floor:
        before = words[i - 1].strip(",;:()")
        if _glue_before(before, words[i]):
            i -= 1
        elif (
            before.lower() == "of"
            and i - 2 >= floor
            and _DAY_NUMBER.fullmatch(words[i - 2].strip(",;:()"))
            and _MONTH_START.match(words[i])
        ):
            i -= 2
        else:
            break
    return i


_DAY_NUMBER = re.compile(r"\d{1,2}(?:st|nd|rd|th)?", re.IGNORECASE)


def _glue_before(word: str, first: str) -> bool:
    """A number before a month name ("3 Dec") or a qualifier before a day ("last monday")."""
    if not _GLUE_BEFORE.fullmatch(word):
        return False
    if word[0].isdigit():
        return bool(_MONTH_START.match(first))
    return first.lower().strip(",;:()") in _MARKER_WORDS and not first[0].isdigit()


_DANGLING = frozenset({"about", "and", "at", "on", "by", "the", "of", "for", "to", "in", "with"})


def _try_when(text: str, words: list[re.Match[str]], i: int, j: int) -> tuple[str, str] | None:
    start, end = words[i].start(), words[j - 1].end()
    phrase = text[start:end].strip(",;:() ")
    last = phrase.rsplit(None, 1)[-1].lower() if phrase else ""
    # dateparser skips filler words, so "tomorrow about" would parse: never end on one
    if not phrase or last in _DANGLING or len(phrase) > 80 or not is_when(phrase):
        return None
    rest = (text[:start].rstrip(" ,;:-") + " " + text[end:].lstrip(" ,;:-")).strip()
    return (rest, phrase) if rest else None


# --- amounts -------------------------------------------------------------------------

SYMBOLS_RE = "[$€£¥₹₩₽₺₪]"
_SYMBOL = re.compile(SYMBOLS_RE)
_SCALED = re.compile(r"[-−]?\d[\d,.]*\s*(?:k|m|mm|mn|bn|b)", re.IGNORECASE)
_GROUPED = re.compile(
    r"[-−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"  # 12,500.50
    r"|[-−]?\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?|[-−]?\d+,\d{1,2}"  # 12.500,50 and 99,90
)
_BARE = re.compile(r"\d+(?:\.\d{1,2})?")
_YEAR = re.compile(r"(?:19[89]|20\d)\d")


def find_amount(words: list[str], stop_words: frozenset[str]) -> tuple[int, int, Amount] | None:
    """First money-looking token(s) -> (start, end, the amount; its currency None if unstated).

    Money-looking: a currency symbol ($12,000), a scale (12k, 1.5m), a currency code
    next to a number (12000 EUR, JPY 5000) or thousands commas. A bare number counts
    only as the last word or right before a keyword, so "50 seats" stays in a title,
    and never when it looks like a year (1980-2099).
    Raises ValueError (from read_amount) when it looks like money but isn't valid.
    """
    cleaned = [w.strip(",;()") for w in words]
    for i, word in enumerate(cleaned):
        spelled = _spelled_amount(cleaned, i)
        if spelled:
            return spelled
        pair = " ".join(cleaned[i : i + 2])
        if i + 1 < len(cleaned) and _is_code_pair(word, cleaned[i + 1]):
            return i, i + 2, read_amount(pair)
        if _money_shaped(word, cleaned[i + 1] if i + 1 < len(cleaned) else None, stop_words):
            return i, i + 1, read_amount(word)
    return None


_NUM_WORD = re.compile(rf"[-−]?{SYMBOLS_RE}?\d[\d,.'’]*(?:k|m|mm|bn|b)?{SYMBOLS_RE}?", re.I)
_GROUP_WORD = re.compile(rf"\d{{3}}(?:[.,]\d{{1,2}})?{SYMBOLS_RE}?")
_AMOUNT_WORDS = frozenset({
    "thousand", "grand", "million", "millions", "billion", "lakh", "lakhs", "crore", "crores",
    "dollars", "dollar", "bucks", "euros", "euro", "pounds", "pound", "quid", "yen", "rupees",
    "rupee", "francs", "franc", "yuan", "rmb",
})  # fmt: skip


def _spelled_amount(words: list[str], i: int) -> tuple[int, int, Amount] | None:
    """An amount written over several words: `1 000 000 ¥`, `1.234,56 €`, `CHF 7'500`,
    `3 million dollars`. The longest run of amount-shaped words that parse wins."""
    for n in range(min(5, len(words) - i), 1, -1):
        span = words[i : i + n]
        if not _spelled_shape(span):
            continue
        try:
            amount = read_amount(" ".join(span))
        except ValueError as exc:
            if "negative" in str(exc):
                raise
            continue
        return i, i + n, amount
    return None


def is_currency_word(word: str) -> bool:
    """`CHF`, `eur`, `€`: a currency named on its own, next to the number it qualifies."""
    word = word.strip(",;()")
    return word.upper() in CURRENCIES or bool(_SYMBOL.fullmatch(word))


def _spelled_shape(span: list[str]) -> bool:
    def is_currency(word: str) -> bool:
        return is_currency_word(word) or word.lower() in _AMOUNT_WORDS

    numbers = [i for i, w in enumerate(span) if _NUM_WORD.fullmatch(w)]
    if not numbers or numbers[0] > 1 or (numbers[0] == 1 and not is_currency(span[0])):
        return False
    tail = span[numbers[0] + 1 :]
    valid = all(_GROUP_WORD.fullmatch(w) or is_currency(w) for w in tail)
    return valid and bool(tail or numbers[0] == 1)


def _is_code_pair(first: str, second: str) -> bool:
    number = re.compile(r"[-−]?\d[\d,.]*(?:k|m|mm|bn|b)?", re.IGNORECASE)
    return bool(
        (first.upper() in CURRENCIES and number.fullmatch(second))
        or (second.upper() in CURRENCIES and number.fullmatch(first))
    )


def _money_shaped(word: str, following: str | None, stop_words: frozenset[str]) -> bool:
    if not any(ch.isdigit() for ch in word):
        return False
    if _SYMBOL.search(word) or _SCALED.fullmatch(word) or _GROUPED.fullmatch(word):
        return True
    if not _BARE.fullmatch(word) or _YEAR.fullmatch(word):  # "renewal 2026" is a title
        return False
    return following is None or following.lower() in stop_words


# --- clauses ----------------------------------------------------------------------------

Span = tuple[int, int, str, str]  # start, end, kind, value
_COMPANY = re.compile(
    r"(?:^|\s)(?:at|from)\s+|(?:^|\s)@\s*(?=\S)|(?:^|[,;])\s*company\s*[:=]?\s+", re.IGNORECASE
)  # `company Acme` counts only after a comma: `add Jane, jane@x.com, company Acme`


def split_contact_details(text: str) -> tuple[str, dict[str, tuple[str, ...]], str | None]:
    """`Jane Doe jane@acme.com +1 415 555 0100 at Acme #vip` -> (name, {"email": ...,
    "phone": ..., "tag": ...}, company). Emails, phones and tags may sit anywhere;
    "at|from|@ <company>" runs to the next of them. Values are kept as typed."""
    specials: list[Span] = []
    for match in re.finditer(r"\S+", text):
        token = match[0].strip(",;<>()").rstrip(".")
        tags = extract_tags(token.rstrip("."))[0] if token.startswith("#") else ()
        if looks_like_email(token):
            specials.append((match.start(), match.end(), "email", token))
        elif len(tags) == 1:
            specials.append((match.start(), match.end(), "tag", tags[0]))
    for match in PHONE_PATTERN.finditer(_blank(text, specials)):
        if looks_like_phone(match[0]):
            specials.append((match.start(), match.end(), "phone", match[0].strip()))
    specials.sort()
    name_parts, company = _name_and_company(_blank(text, specials, mark="\0").split("\0"))
    # `add Jane Doe, jane@x.com, +1 ...` leaves empty pieces between the commas: drop them
    pieces = (piece.strip(" -") for piece in re.split(r"[,;]", " ".join(name_parts)))
    name = " ".join(strip_quotes(", ".join(piece for piece in pieces if piece)).split())
    values = {
        kind: tuple(dict.fromkeys(value for _, _, k, value in specials if k == kind))
        for kind in ("email", "phone", "tag")
    }
    return name, values, company


def _blank(text: str, spans: list[Span], mark: str = " ") -> str:
    for start, end, _, _ in spans:
        text = text[:start] + mark + " " * (end - start - 1) + text[end:]
    return text


def _name_and_company(segments: list[str]) -> tuple[list[str], str | None]:
    name_parts: list[str] = []
    company = None
    for segment in segments:
        match = _COMPANY.search(segment)
        if match and company is None:
            name_parts.append(segment[: match.start()])
            company = strip_quotes(segment[match.end() :].strip(" ,;.-")) or None
        else:
            name_parts.append(segment)
    return name_parts, company


_FOLLOW_UP_TAIL = re.compile(
    r"(?:[,;.\n]|\s[-–—]\s|\s)\s*(?:and\s+|then\s+)?(?:follow[\s-]?up|f/u|remind\s+me)\s+",
    re.IGNORECASE,
)


def split_follow_up(text: str) -> tuple[str, str | None]:
    """`wants pricing, follow up next tuesday 10am` -> ("wants pricing", "next tuesday 10am").
    A tail is only split off when the rest reads as a date (optionally after "with
    <someone>"), so "..., follow up with legal" stays part of the note. The comma is
    optional: "hi follow up tomorrow 10am" splits the same way."""
    for match in _FOLLOW_UP_TAIL.finditer(text):
        when = text[match.end() :].strip().rstrip(".!")
        for candidate in (when, re.sub(r"^with\s+\S+\s+", "", when, flags=re.IGNORECASE)):
            if is_when(candidate, or_impossible=True):
                return text[: match.start()].strip(), candidate
    return text, None


DEAL_KEYWORDS = frozenset({"stage", "close", "closing", "closes"})
DealTerms = tuple[Amount | None, str | None, str | None, str]


def deal_terms(words: list[str]) -> DealTerms:
    """(amount, stage, close_when, leftover words) from what follows a deal's ref/title.
    `close <when>` runs to `stage` or the end; raises ValueError with what is missing."""
    amount = None
    found = find_amount(words, DEAL_KEYWORDS)
    if found:
        start, end, amount = found
        words = words[:start] + words[end:]
    stage = close_when = None
    leftover: list[str] = []
    i = 0
    while i < len(words):
        word = words[i].lower()
        if word == "stage":
            if i + 1 >= len(words):
                raise ValueError("Which stage? e.g. stage proposal")
            stage, i = words[i + 1].lower().strip(",;"), i + 2
        elif word in ("close", "closing", "closes"):
            stop = next((k for k in range(i + 1, len(words)) if words[k].lower() == "stage"), None)
            close_when, i = _close_phrase(words[i + 1 : stop]), stop or len(words)
        else:
            leftover.append(words[i])
            i += 1
    return amount, stage, close_when, " ".join(leftover).strip(" ,;-")


def _close_phrase(words: list[str]) -> str:
    phrase = re.sub(r"^(?:by|on)\s+", "", " ".join(words), flags=re.IGNORECASE).strip(" ,;")
    if not phrase:
        raise ValueError("When will it close? e.g. close end of month")
    return phrase


def split_reminder(body: str) -> tuple[str, str] | None:
    """(text, when) from what follows "remind me": "<when>: <text>", "<text>: <when>",
    "<when> to <text>", else the date phrase found in "[to] <text> <when>"."""
    return _reminder_colon(body) or _reminder_prefix(body) or _reminder_suffix(body)


def _reminder_colon(body: str) -> tuple[str, str] | None:
    left, sep, right = split_colon(body)
    if not sep or not right.strip():
        return None
    left_when = re.sub(r"^to\s+", "", left.strip(), flags=re.IGNORECASE)
    if is_when(left_when):
        return right, left_when
    return (left, right.strip()) if is_when(right.strip()) else None


def _reminder_prefix(body: str) -> tuple[str, str] | None:
    if re.match(r"to\b", body, re.IGNORECASE):
        return None
    for match in re.finditer(r"\s+to\s+", body, re.IGNORECASE):
        if is_when(body[: match.start()]):
            return body[match.end() :], body[: match.start()].strip()
    return None


def _reminder_suffix(body: str) -> tuple[str, str] | None:
    body = re.sub(r"^to\s+", "", body, flags=re.IGNORECASE)
    return find_when(body, allow_at_start=True)


def ref_then_when(head: str) -> tuple[str, str]:
    """`jane doe tomorrow 10am` -> ("jane doe", "tomorrow 10am"): a quoted name or
    `#id`, else the words before the first word that can start a date (at least one)."""
    head = head.strip()
    if starts_with_exact_ref(head):
        return take_ref(head)
    words = head.split()
    at = next((i for i, w in enumerate(words) if i and is_marker(w)), min(1, len(words)))
    at = grown_start(words, at, floor=1) if at < len(words) else at
    return normalise_ref(" ".join(words[:at])), " ".join(words[at:])


_ZONE_NAMES: dict[str, str] = {}


def zone_names() -> dict[str, str]:
    """Lower-cased IANA name -> its real spelling ("europe/paris" -> "Europe/Paris")."""
    if not _ZONE_NAMES:
        _ZONE_NAMES.update({z.lower(): z for z in available_timezones() | {"UTC"}})
        _ZONE_NAMES.setdefault("gmt", "UTC")
    return _ZONE_NAMES
