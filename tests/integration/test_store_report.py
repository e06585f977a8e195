"""`Store.report()`: more sort memory for a report's transaction only, never left behind.

On PostgreSQL a report's sorts and hash aggregates spilled to disk at 100k customers
with the default 4 MB work_mem (README, "Purchase reports at two sizes"). The setting is
raised with `set_config(..., true)`, which ends with the transaction: these tests check
on the server that the report sees it and that the same pooled connection, used next
for ordinary work, is back on the server's value (after a commit and after an error).
Reports also begin read-only, so on SQLite a report never waits for the write lock.
"""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlmodel import Session

from bot.app import RapportApp
from crm.db import Store, make_engine
from crm.models import Contact
from tests.factories import rep_chat

REPORT_WORK_MEM = "77MB"  # not any server's default, so seeing it proves it was set


def show(session: Session) -> tuple[str, int]:
    """This transaction's work_mem and the server process (one per pooled connection)."""
    row = session.execute(text("SELECT current_setting('work_mem'), pg_backend_pid()")).one()
    return str(row[0]), int(row[1])


@pytest.fixture
def pg_store(pg_server_url: str) -> Iterator[Store]:
    store = Store(make_engine(pg_server_url), report_work_mem=REPORT_WORK_MEM)
    yield store
    store.dispose()


@pytest.mark.postgres
def test_a_report_has_the_setting_and_the_pooled_connection_gets_the_default_back(
    pg_store: Store,
) -> None:
    with pg_store.transaction() as session:
        default, pid = show(session)
    assert default != REPORT_WORK_MEM
    with pg_store.report() as session:
        assert session.execute(text("SHOW work_mem")).scalar_one() == REPORT_WORK_MEM
        inside, report_pid = show(session)
    assert (inside, report_pid) == (REPORT_WORK_MEM, pid)  # the one pooled connection
    with pg_store.transaction() as session:
        assert show(session) == (default, pid)
    with pg_store.read() as session:
        assert show(session) == (default, pid)


@pytest.mark.postgres
def test_a_report_that_fails_leaves_the_connection_on_the_default_too(pg_store: Store) -> None:
    with pg_store.transaction() as session:
        default, pid = show(session)
    with pytest.raises(ZeroDivisionError), pg_store.report() as session:
        assert show(session) == (REPORT_WORK_MEM, pid)
        raise ZeroDivisionError  # any error in the report: rolled back
    with pg_store.transaction() as session:
        assert show(session) == (default, pid)


@pytest.mark.postgres
def test_off_keeps_the_servers_work_mem_in_reports(pg_server_url: str) -> None:
    store = Store(make_engine(pg_server_url), report_work_mem=None)
    try:
        with store.transaction() as session:
            default, _ = show(session)
        with store.report() as session:
            assert show(session)[0] == default
    finally:
        store.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_app_passes_the_setting_into_its_store(make_rapport: Any) -> None:
    assert make_rapport(RAPPORT_REPORT_WORK_MEM="16mb").store.report_work_mem == "16MB"
    assert make_rapport(RAPPORT_REPORT_WORK_MEM="off").store.report_work_mem is None


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_the_chat_report_runs_its_queries_with_the_report_work_mem(
    make_rapport: Any,
) -> None:
    """Observed on the server while the pipeline report's own query on `deal` runs."""
    app: RapportApp = make_rapport(RAPPORT_REPORT_WORK_MEM=REPORT_WORK_MEM)
    alice = rep_chat(app, "Alice")
    await alice.say('deal Acme "50 seats" $12,000 stage proposal')
    seen: list[str] = []

    @event.listens_for(app.store.engine, "before_cursor_execute")
    def during(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM deal" in statement:
            driver = conn.connection.driver_connection
            seen.append(driver.execute("SELECT current_setting('work_mem')").fetchone()[0])

    text_ = await alice.say("report pipeline this month")
    event.remove(app.store.engine, "before_cursor_execute", during)
    assert "Open pipeline: 1 deal, $12,000.00" in text_
    assert seen and set(seen) == {REPORT_WORK_MEM}
    seen.clear()
    with app.store.transaction() as session:  # ordinary work after it: the server's value
        assert show(session)[0] != REPORT_WORK_MEM


@pytest.mark.timeout(60)  # before, the report waited out the 15 s busy timeout, then failed
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_chat_report_goes_ahead_while_a_writer_holds_the_sqlite_lock(
    make_rapport: Any,
) -> None:
    app: RapportApp = make_rapport()
    alice = rep_chat(app, "Alice")
    await alice.say('deal Acme "50 seats" $12,000 stage proposal')
    now = app.services.clock.now()
    with app.store.transaction() as writer:
        writer.add(Contact(name="Bram Stoker", created_at=now, updated_at=now))
        writer.flush()  # the write lock is held until this block ends
        started = time.monotonic()
        reply = await alice.say("report pipeline this month")
        waited = time.monotonic() - started
    assert "Open pipeline: 1 deal, $12,000.00" in reply
    assert waited < 10
