"""How long a line counts as typed twice.

A call, note, sale or customer reply that repeats the rep's own within this window is most
likely a double Enter, a paste or a retry after a slow answer, so Rapport asks before
writing (or sending) it a second time. Past it, the same words are new work: a second "no
answer" call the next morning is real. One value for every kind of entry, so the rule is
the same whatever was typed.
"""

from datetime import timedelta

REPEAT_WINDOW = timedelta(hours=1)


def same_words(a: str | None, b: str | None) -> bool:
    """Whether two entries say the same thing, case and spacing aside (a retyped line)."""
    return " ".join((a or "").split()).casefold() == " ".join((b or "").split()).casefold()
