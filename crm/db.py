"""Engines, sessions and the column types that make SQLite and PostgreSQL agree.

Rapport's services are synchronous SQLModel code; async callers (the chat
adapters, the scheduler) run them in a worker thread. One code path for both
databases keeps transactions explicit and testable, and SQLite in WAL mode with
a busy timeout handles concurrent threads well at this scale.
"""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

logger = logging.getLogger(__name__)

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always returns them aware (UTC).

    SQLite keeps no offset, so without this a value read back is naive and
    comparisons with `now()` fail; PostgreSQL gets `timestamptz`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a timezone first")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from pysqlite: left alone it emits BEGIN lazily and
    # a SAVEPOINT outside its BEGIN commits on RELEASE, breaking nested transactions.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


READ_ONLY = "rapport_read_only"  # execution option set by Store.read()


def _sqlite_begin(connection: Any) -> None:
    """BEGIN IMMEDIATE takes the write lock up front, so two writers queue on the busy
    timeout instead of failing with a lock-upgrade error halfway through. A read
    (`Store.read`) begins DEFERRED: in WAL mode it then reads a snapshot beside the
    writer and never waits for the lock (measured: 20 concurrent `?q=` searches at 100k
    contacts each holding the write lock made 38 of 2,000 API requests time out)."""
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`, with SQLite's pragmas set on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 15}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.drivername in {"postgresql", "postgres"}:
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20)
    event.listen(engine, "checkout", _ping_if_idle)
    event.listen(engine, "checkin", _note_checkin)
    return engine


IDLE_BEFORE_PING = 5.0  # seconds a pooled connection may rest before it is checked


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """A pooled connection that has rested is checked before use; a busy one is not.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout, which measured ~1 ms per
    transaction with psycopg (a fifth of an inbound message's cost). A connection in
    steady use was fine a moment ago; one that rested may have been cut by a server
    restart or a firewall, and is replaced before anyone sees an error
    (``DisconnectionError`` makes the pool retry with a fresh connection). A restart
    *during* traffic is caught by the callers' own retries (the Telegram store retry,
    the outbox's next tick), as SQLAlchemy then invalidates the whole pool.
    """
    rested = record.info.get("checked_in_at")
    if rested is None or time.monotonic() - rested < IDLE_BEFORE_PING:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as exc:  # noqa: BLE001 - any failure means the connection is gone
        raise DisconnectionError(f"stale pooled connection: {type(exc).__name__}") from exc


def db_now(session: Any) -> datetime:
    """The database server's current time (UTC, aware), for comparisons between workers.

    Leases are written and compared on this clock, never on a worker's own: two workers
    whose clocks disagree (one ran 3 minutes ahead) still agree on whether a lease ran
    out. PostgreSQL's CURRENT_TIMESTAMP is the transaction's start (a claim's lease is then
    a little shorter than asked, never longer); SQLite's is the file's host clock, to the
    millisecond (every process on one SQLite file shares that host's clock).
    """
    if session.get_bind().dialect.name == "sqlite":
        raw = session.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
        return datetime.fromisoformat(str(raw)).replace(tzinfo=UTC)
    value = session.execute(text("SELECT CURRENT_TIMESTAMP")).scalar_one()
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class Store:
    """The database handle services are given: one engine, short transactions.

    `report_work_mem` is PostgreSQL's `work_mem` for report transactions (`report()`), a
    value like "64MB" (bot/settings.py validates RAPPORT_REPORT_WORK_MEM); None keeps the
    server's. At 100k customers the reports' sorts and hash aggregates outgrow the
    default 4 MB and spill to disk, so they grow faster than the data; raising it for
    every connection instead would let each of the pool's 30 connections use that much
    per sort in ordinary traffic.
    """

    def __init__(self, engine: Engine, *, report_work_mem: str | None = None) -> None:
        self.engine = engine
        self.report_work_mem = report_work_mem

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A transaction that only reads: on SQLite it does not take the write lock, so
        reads never queue behind each other or a writer. Writing in it is a bug (SQLite
        would refuse the lock upgrade when another writer got in first)."""
        engine = self.engine.execution_options(**{READ_ONLY: True})
        with Session(engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()  # nothing to keep; ends the snapshot without expiring rows
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def report(self) -> Iterator[Session]:
        """A read-only transaction for a report (`read()`), with PostgreSQL's `work_mem`
        raised for this transaction only. `set_config(..., true)` is SET LOCAL: it ends
        with the transaction, commit or rollback, so a pooled connection goes back to
        the pool with the server's setting. SQLite has no such knob."""
        with self.read() as session:
            self.tune_for_report(session)
            yield session

    def tune_for_report(self, session: Session) -> None:
        """Applies the report settings to the transaction `session` is in (or begins).
        For a caller that already holds a transaction, such as the chat dispatcher's."""
        if self.dialect != "postgresql" or not self.report_work_mem:
            return
        session.execute(
            text("SELECT set_config('work_mem', :value, true)"), {"value": self.report_work_mem}
        )

    def ping(self) -> bool:
        """True when the database answers; used by /healthz."""
        return self.health() is None

    def health(self) -> str | None:
        """None when the database answers and looks intact, else a short reason (/healthz).

        SELECT 1 on both; on SQLite also `PRAGMA quick_check` (a few ms on a small file:
        page and index structure, not a full integrity_check), so a damaged file reports
        unhealthy instead of failing one request in ten.
        """
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                if self.dialect == "sqlite":
                    rows = [r[0] for r in connection.exec_driver_sql("PRAGMA quick_check")]
                    if rows != ["ok"]:
                        logger.warning("database quick_check failed first=%s", rows[:1])
                        return "database integrity check failed"
            return None
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            logger.warning("database ping failed error=%s", type(exc).__name__)
            return "database unreachable"

    def dispose(self) -> None:
        self.engine.dispose()
