"""Ids are never handed out twice.

SQLite's plain ``INTEGER PRIMARY KEY`` gives a deleted row's id to the next row when the
deleted one was the highest; after an erasure a new customer became ``#1`` again, and a
rep's ``reply 1``, an ``undo`` and a stale Close button all reached the new person.
``AUTOINCREMENT`` makes SQLite remember the highest id ever used (``sqlite_sequence``).
PostgreSQL sequences never go back, so nothing changes there.  Every table gets the flag
when the schema is created (``create_all``, including tables other modules add later);
``crm/migrations/versions/0004_security.py`` rebuilds existing SQLite tables with it.
"""

from typing import Any

from sqlalchemy import MetaData, Table, event


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
