"""`Store.read()`: reads that do not queue behind the writer on SQLite.

Found by `benchmarks.api`: every API read began with BEGIN IMMEDIATE, so 20 concurrent
`?q=` searches at 100k contacts waited on each other for the write lock and 38 of 2,000
requests timed out after the 15 s busy wait. A read now begins DEFERRED and reads WAL's
snapshot beside a writer.
"""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import SQLModel, select

from crm.db import Store, make_engine
from crm.models import Contact

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def person(name: str) -> Contact:
    return Contact(name=name, created_at=NOW, updated_at=NOW)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    engine = make_engine(f"sqlite:///{tmp_path / 'rapport.db'}")
    SQLModel.metadata.create_all(engine)
    return Store(engine)


@pytest.mark.timeout(60)  # a hang guard: before the fix this read waited out the busy timeout
def test_a_read_goes_ahead_while_a_writer_holds_the_lock(sqlite_store: Store) -> None:
    with sqlite_store.transaction() as session:
        session.add(person("Ada Lovelace"))
    with sqlite_store.transaction() as writer:
        writer.add(person("Bram Stoker"))
        writer.flush()  # the write lock is held and Bram is not committed
        with sqlite_store.read() as reader:
            names = [c.name for c in reader.exec(select(Contact))]
    assert names == ["Ada Lovelace"]  # the committed snapshot, not the writer's row
    with sqlite_store.read() as reader:
        rows = list(reader.exec(select(Contact).order_by(Contact.id)))
    assert [c.name for c in rows] == ["Ada Lovelace", "Bram Stoker"]  # both, once committed
    assert rows[0].name == "Ada Lovelace"  # rows stay usable after the read ends


def test_a_read_on_postgresql_or_sqlite_returns_what_a_transaction_does(store: Store) -> None:
    with store.transaction() as session:
        session.add(person("Zoë Ångström"))
    with store.transaction() as session:
        expected = [c.name for c in session.exec(select(Contact))]
    with store.read() as session:
        assert [c.name for c in session.exec(select(Contact))] == expected == ["Zoë Ångström"]
