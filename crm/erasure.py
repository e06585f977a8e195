"""Find and scrub every copy of an erased customer's personal data, in every table.

``crm.privacy.erase_contact`` deletes the rows that belong to the contact.  Copies live
elsewhere too: audit snapshots (of their activities, of a contact merged into them),
reps' reminders that name them, deal titles, re-delivery keys holding their chat id.
Rather than list those places (and miss the next table someone adds), the contact's
*terms* (name, display names, handle, emails, phones, channel ids, message texts) are
searched for in every text and JSON column of every table, and each hit is rewritten:
the term becomes ``[erased]``; a re-delivery key or a per-chat state row is deleted; a
unique key is cleared.  Terms shorter than :data:`MIN_TERM` (ids) or :data:`MIN_TEXT`
(message texts: "ok" is not personal) are not searched, so unrelated rows stay intact.
"""

import json
import re
from collections.abc import Iterable
from typing import Any

import phonenumbers
from sqlalchemy import JSON, String, Text, cast, delete, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

REDACTED = "[erased]"
MIN_TERM = 4  # a name, handle, email, phone or id shorter than this is not searched
MIN_TEXT = 12  # a message text shorter than this is not searched (too common)
DELETE_ON_HIT = ("processedevent", "chatstate")  # keys and dialog state: drop, don't edit


def terms_of(identifiers: Iterable[str | None], texts: Iterable[str | None] = ()) -> list[str]:
    """The distinct, searchable terms, longest first (so a name goes before its part)."""
    found = {t.strip() for t in identifiers if t and len(t.strip()) >= MIN_TERM}
    found |= {t.strip() for t in texts if t and len(t.strip()) >= MIN_TEXT}
    return sorted(found, key=lambda t: (-len(t), t))


def phone_formats(e164: str) -> list[str]:
    """The ways people write a stored (E.164) phone number: "+1 415-555-0142",
    "(415) 555-0142", "415 555 0142", "4155550142"..."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return []
    formats = {
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
        str(number.national_number),
    }
    spaced = {re.sub(r"[^\d+]+", " ", f).strip() for f in formats}
    return sorted(formats | spaced | {s.lstrip("+").strip() for s in spaced})


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def contacts_in_text(text: str, region: str = "US") -> list[str]:
    """Phone numbers (in their usual spellings) and emails a customer wrote in a message:
    a rep who copies one into a note or a reminder copies the customer's data."""
    found = _EMAIL.findall(text)
    for match in phonenumbers.PhoneNumberMatcher(text, region):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        found += [match.raw_string, e164, *phone_formats(e164)]
    return found


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _variants(term: str, is_json: bool) -> list[str]:
    """How a term can appear in the column's stored text (JSON escapes on SQLite)."""
    if not is_json:
        return [term]
    return list(dict.fromkeys([term, json.dumps(term)[1:-1]]))


def _scrub_text(value: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(REDACTED, value)


def _scrub_json(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return _scrub_text(value, pattern)
    if isinstance(value, list):
        return [_scrub_json(v, pattern) for v in value]
    if isinstance(value, dict):
        return {_scrub_text(str(k), pattern): _scrub_json(v, pattern) for k, v in value.items()}
    return value


def scrub_everywhere(session: Session, terms: list[str], *, skip: Iterable[str] = ()) -> int:
    """Rewrite every row of every table that holds one of ``terms``; returns rows touched."""
    if not terms:
        return 0
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    touched = 0
    for table in SQLModel.metadata.sorted_tables:
        if table.name in set(skip):
            continue
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        pk = list(table.primary_key.columns)
        if not columns or len(pk) != 1:
            continue
        conditions = []
        for column in columns:
            is_json = isinstance(column.type, JSON)
            text = cast(column, Text) if is_json else column
            for term in terms:
                for variant in _variants(term, is_json):
                    conditions.append(text.ilike(_like(variant), escape="\\"))
        rows = session.execute(select(table).where(or_(*conditions))).mappings().all()
        for row in rows:
            touched += 1
            key = pk[0] == row[pk[0].name]
            if table.name in DELETE_ON_HIT:
                session.execute(delete(table).where(key))
                continue
            values: dict[str, Any] = {}
            for column in columns:
                value = row[column.name]
                if value is None:
                    continue
                if isinstance(column.type, JSON):
                    new = _scrub_json(value, pattern)
                else:
                    new = _scrub_text(str(value), pattern)
                    if column.unique:
                        new = None if pattern.search(str(value)) else value
                    elif length := getattr(column.type, "length", None):
                        new = new[:length]
                if new != value:
                    values[column.name] = new
            if values:
                session.execute(update(table).where(key).values(**values))
    return touched
