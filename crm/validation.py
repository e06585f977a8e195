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


def normalise_phone(text: str, default_region: str = "US") -> str:
    """Any common phone spelling -> E.164 (`+14155550100`); raises Invalid."""
    candidate = unicodedata.normalize("NFKC", text).strip()
    try:
        number = phonenumbers.parse(candidate[:60], default_region)
    except phonenumbers.NumberParseException:
        raise Invalid(
            "phone", f"'{candidate[:40]}' is not a phone number. Try +44 20 7946 0958."
        ) from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise Invalid(
            "phone",
            f"'{candidate[:40]}' is not a valid phone number. Include the country code, "
            "e.g. +1 415 555 0100.",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """E.164 -> international format for display (`+1 415-555-0100`)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalise_tag(text: str) -> str:
    tag = text.strip().lstrip("#").lower()
    if not TAG_PATTERN.match(tag):
        raise Invalid("tag", f"'#{tag[:40]}' is not a tag: use letters, digits, - and _.")
    return tag


def normalise_name(text: str) -> str:
    name = " ".join(text.split())
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
