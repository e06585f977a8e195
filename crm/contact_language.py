"""The language Rapport answers a contact in.

Learned from the contact's own messages (each detected language replaces the last, since
people write in the language they want an answer in) unless a rep set it, which learning
never overrides. A rep's `edit <contact> language es` sets it (crm.contacts.edit_contact:
audited and undoable like any edit); `language auto` goes back to learning. Codes are
ISO 639-1, limited to the languages Rapport has texts for.
"""

from datetime import datetime

from sqlmodel import Session

from crm.errors import Invalid
from crm.models import Contact
from crm.needs.language import LANGUAGE_NAMES, SUPPORTED, normalise_code

REP = "rep"
DETECTED = "detected"
AUTO_WORDS = frozenset({"auto", "automatic", "detect", "none", "-"})


def learn_language(session: Session, contact: Contact, language: str | None, *, now: datetime):
    """Take a message's detected language as the contact's, unless a rep chose one."""
    if language is None or contact.language_source == REP or contact.language == language:
        return
    contact.language = language
    contact.language_source = DETECTED
    session.add(contact)


def parse_language(value: str) -> str | None:
    """`es`, `Spanish`, `español`-like names of the supported languages -> code; `auto` ->
    None (learn again). Anything else is refused, naming what is supported."""
    text = value.strip().casefold()
    if text in AUTO_WORDS:
        return None
    code = normalise_code(text)
    if code is not None:
        return code
    for code, name in LANGUAGE_NAMES.items():
        if text == name.casefold():
            return code
    supported = ", ".join(f"{code} ({LANGUAGE_NAMES[code]})" for code in SUPPORTED)
    raise Invalid("language", f"I don't have texts in {value.strip()!r}. Supported: {supported}")
