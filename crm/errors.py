"""Typed domain errors. Services raise them; `bot/` turns them into friendly replies.

Each carries a message written for a person (no ids of internals, no stack
details), so the reply boundary can show `str(error)` as it is.
"""

from collections.abc import Sequence
from typing import Any


class CRMError(Exception):
    """Base of every error a person may see."""


class NotFound(CRMError):
    """The thing referred to does not exist (or the actor may not see it)."""


class Ambiguous(CRMError):
    """A reference matched several things; nothing was done."""

    def __init__(self, message: str, candidates: Sequence[Any], ref: str | None = None) -> None:
        super().__init__(message)
        self.candidates = list(candidates)
        self.ref = ref  # the text that was ambiguous, so a pick can replace it
        # Filled in by whoever shows the question while the candidates can still be read
        # (the rep dispatcher, before the rollback detaches them); empty otherwise.
        self.ids: list[int | None] = []
        self.listing = ""


class Invalid(CRMError):
    """A value failed validation; `field` names which one."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class Forbidden(CRMError):
    """The actor may not do this."""


class Conflict(CRMError):
    """The change clashes with existing data (e.g. an email already on another contact)."""

    def __init__(self, message: str, existing: Any = None, field: str | None = None) -> None:
        super().__init__(message)
        self.existing = existing
        self.field = field  # the value that clashes, when one does (e.g. "email")
