"""Normalising what people type: emails, phones, tags, time zones.

These live in the domain (not in the chat layer) because dedupe depends on them:
two spellings of one address must be the same key everywhere.
"""

import re
import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from crm.errors import Invalid

TAG_PATTERN = re.compile(r"^[\w-]{1,40}$", re.UNICODE)


def normalise_email(text: str) -> str:
    """`Jane@ACME.com ` -> `jane@acme.com`; raises Invalid with the reason."""
    candidate = text.strip()
    try:
        result = validate_email(candidate, check_deliverability=False)
    except (EmailNotValidError, UnicodeError, ValueError) as exc:  # idna errors on odd unicode
        raise Invalid(
            "email", f"'{candidate[:80]}' is not a valid email address ({exc})."
        ) from None
    return result.normalized.lower()


_EXTENSION = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*(\d{1,6})\s*$", re.IGNORECASE)


def normalise_phone(text: str, default_region: str = "US") -> str:
    """Any common phone spelling -> E.164 (`+14155550100`), an extension kept as
    `+14155550123;ext=42` (RFC 3966). `00` before a country code means `+` (how most
    of the world dials abroad); a number without either is read in `default_region`.
    Raises Invalid quoting the text as typed."""
    typed = unicodedata.normalize("NFKC", text).strip()
    candidate, ext = typed[:60], None
    found = _EXTENSION.search(candidate)
    if found:
        candidate, ext = candidate[: found.start()], found[1]
    region = (default_region or "US").upper()
    number = _valid_number(candidate, region)
    if number is None and re.match(r"00[1-9]", candidate):
        number = _valid_number("+" + candidate[2:], region)
    if number is None:
        national = not re.match(r"\s*(?:\+|00)", candidate)
        read_as = f" Without one it is read as a {region} number." if national else ""
        raise Invalid(
            "phone",
            f"'{typed[:40]}' is not a valid phone number. Include the country code, "
            f"e.g. +1 415 555 0100.{read_as}",
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164};ext={ext}" if ext else e164


def _valid_number(candidate: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number):
        return number
    return None


def format_phone(e164: str) -> str:
    """E.164 -> international format for display (`+1 415-555-0100`, `... ext. 42`)."""
    try:
        number = phonenumbers.parse(e164.replace(";ext=", " ext. "), None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalise_tag(text: str) -> str:
    tag = text.strip().lstrip("#").lower()
    if not TAG_PATTERN.match(tag):
        raise Invalid("tag", f"'#{tag[:40]}' is not a tag: use letters, digits, - and _.")
    return tag


_UNDECOMPOSED = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae",
                               "œ": "oe", "þ": "th", "ð": "d"})  # fmt: skip


def fold(text: str) -> str:
    """The search key of a text: case-folded with accents removed (`José` -> `jose`,
    `Straße` -> `strasse`, `Øre` -> `ore`), so a rep finds people however they type."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", bare.translate(_UNDECOMPOSED))


def normalise_name(text: str) -> str:
    """NFC, so `José` typed with a combining accent is the same name as the precomposed one."""
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if not name:
        raise Invalid("name", "A contact needs a name.")
    if len(name) > 200:
        raise Invalid("name", "That name is longer than 200 characters.")
    return name


def check_timezone(text: str) -> str:
    name = text.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        raise Invalid(
            "timezone", f"'{name[:60]}' is not a time zone. Use a name like Europe/Paris."
        ) from None
    return name
