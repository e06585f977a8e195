"""A pooled PostgreSQL connection that rested is checked before use; a busy one is not.

Rapport replaced SQLAlchemy's ping-on-every-checkout (about 1 ms per transaction) with a
check only after a connection rested (crm.db._ping_if_idle). Against a private server
that is restarted between two transactions: a rested connection is replaced without
anyone seeing an error, and one in steady use fails once, after which the pool has been
invalidated and the next transaction works (the callers retry, e.g. the Telegram store).
"""

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from crm import db
from crm.db import Store, make_engine
from tests.standins.private_postgres import PrivatePostgres, running_private_postgres

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def server() -> Iterator[PrivatePostgres]:
    yield from running_private_postgres()


def one(store: Store) -> int:
    with store.transaction() as session:
        return int(session.connection().execute(text("SELECT 1")).scalar_one())


def restart(server: PrivatePostgres) -> None:
    server.stop()
    server.start()


def test_a_rested_connection_is_replaced_without_an_error(server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store = Store(make_engine(server.url))
    try:
        assert one(store) == 1
        restart(server)
        monkeypatch.setattr(db, "IDLE_BEFORE_PING", 0.0)  # it has rested long enough
        assert one(store) == 1  # the dead pooled connection was swapped, no error
    finally:
        store.dispose()


def test_a_busy_connection_is_not_pinged_and_fails_once(server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store = Store(make_engine(server.url))
    try:
        assert one(store) == 1
        restart(server)
        monkeypatch.setattr(db, "IDLE_BEFORE_PING", 3600.0)  # in steady use: no ping
        with pytest.raises(OperationalError):
            one(store)
        assert one(store) == 1  # the pool was invalidated; a fresh connection works
    finally:
        store.dispose()
