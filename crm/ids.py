"""Ids are never handed out twice.

SQLite's plain ``INTEGER PRIMARY KEY`` gives a deleted row's id to the next row when the
deleted one was the highest; after an erasure a new customer became ``#1`` again, and a
rep's ``reply 1``, an ``undo`` and a stale Close button all reached the new person.
``AUTOINCREMENT`` makes SQLite remember the highest id ever used (``sqlite_sequence``).
PostgreSQL sequences never go back, so nothing changes there.  Every table gets the flag
when the schema is created (``create_all``, including tables other modules add later);
``crm/migrations/versions/0004_security.py`` rebuilds existing SQLite tables with it.
"""

from typing import Any, Protocol, TypeVar

from sqlalchemy import MetaData, Table, event
from sqlmodel import Session, SQLModel

_Row = TypeVar("_Row", bound=SQLModel)


class HasId(Protocol):
    """A table row: its id is None until the row is flushed."""

    id: int | None


class UnsavedRow(RuntimeError):
    """A row's id was read before the row was flushed: a bug, not a person's mistake."""


def id_of(row: HasId) -> int:
    """The id of a row that has been flushed (loaded rows and rows after `flush()`)."""
    if row.id is None:
        raise UnsavedRow(f"{type(row).__name__} has no id yet: flush it first")
    return row.id


class MissingRow(LookupError):
    """A row that a foreign key points at is not there: a bug, not a person's mistake."""


def row_of(session: Session, model: type[_Row], row_id: int) -> _Row:
    """`session.get` for a row that must exist (the target of a foreign key)."""
    row = session.get(model, row_id)
    if row is None:
        raise MissingRow(f"{model.__name__} #{row_id} is missing")
    return row


def never_reuse_ids(table: Table) -> None:
    table.dialect_kwargs["sqlite_autoincrement"] = True


def _before_create(metadata: MetaData, _connection: Any, **kw: Any) -> None:
    for table in kw.get("tables") or metadata.tables.values():
        never_reuse_ids(table)


def install(metadata: MetaData) -> None:
    """Flag the tables known now and any created later through ``metadata``."""
    for table in metadata.tables.values():
        never_reuse_ids(table)
    if not event.contains(metadata, "before_create", _before_create):
        event.listen(metadata, "before_create", _before_create)
