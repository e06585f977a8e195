"""Pruning old ProcessedEvent rows, which nothing else ever deletes.

A row is written for every Slack event and interaction and every Telegram
command, so a re-delivery is recognised (`crm.self_service.first_delivery`).
Such a delivery key only matters while the platform may still re-deliver:
Slack retries an event for about an hour, Telegram keeps an update for at most
24 hours. After the retention a key can no longer prevent a duplicate and only
makes the table (and its unique index) grow forever.

The once-only keys of periodic jobs (e.g. the weekly summary's ISO week) are
different: deleting one while its period lasts would let the job run twice. The
caller names their sources (crm knows nothing of the scheduler) and they are
kept for `ONCE_ONLY_RETENTION`, far longer than any period in use.

Rows go in batches, each its own short transaction, so a large backlog never
holds a long lock on the table that every incoming event writes to.
"""

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlmodel import Session, col

from crm.db import Store
from crm.models import ProcessedEvent

logger = logging.getLogger(__name__)

DEFAULT_RETENTION = timedelta(days=14)
ONCE_ONLY_RETENTION = timedelta(days=60)
BATCH_SIZE = 5_000


def delete_processed_batch(
    session: Session,
    *,
    before: datetime,
    sources: Collection[str],
    in_sources: bool,
    limit: int,
) -> int:
    """Deletes up to `limit` of the oldest rows older than `before` whose source is (or,
    with `in_sources=False`, is not) in `sources`; returns how many went.

    A `DELETE ... WHERE id IN (SELECT id ... ORDER BY at LIMIT n)` because neither
    SQLite (as usually built) nor PostgreSQL accepts `DELETE ... LIMIT`; the subquery
    can walk the index on `at`. Does not commit: the caller owns the transaction.
    """
    where = [col(ProcessedEvent.at) < before]
    if sources:
        in_set = col(ProcessedEvent.source).in_(list(sources))
        where.append(in_set if in_sources else ~in_set)
    elif in_sources:
        return 0
    oldest = (
        select(col(ProcessedEvent.id)).where(*where).order_by(col(ProcessedEvent.at)).limit(limit)
    )
    statement = (
        delete(ProcessedEvent)
        .where(col(ProcessedEvent.id).in_(oldest))
        .execution_options(synchronize_session=False)
    )
    return session.exec(statement).rowcount or 0


def _prune(
    store: Store, *, before: datetime, sources: Collection[str], in_sources: bool, batch: int
) -> int:
    deleted = 0
    while True:
        with store.transaction() as session:
            gone = delete_processed_batch(
                session, before=before, sources=sources, in_sources=in_sources, limit=batch
            )
        deleted += gone
        if gone < batch:
            return deleted


def prune_processed_events(
    store: Store,
    *,
    now: datetime,
    once_only_sources: Collection[str],
    retention: timedelta = DEFAULT_RETENTION,
    once_only_retention: timedelta = ONCE_ONLY_RETENTION,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Deletes delivery keys older than `retention` and once-only keys (rows whose source
    is in `once_only_sources`) older than `once_only_retention` (never sooner than
    `retention`); returns how many rows were deleted.

    `once_only_sources` has no default on purpose: a caller that forgot it would
    prune the weekly summary's key mid-week and the summary would be posted twice.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    deliveries = _prune(
        store,
        before=now - retention,
        sources=once_only_sources,
        in_sources=False,
        batch=batch_size,
    )
    once_only = _prune(
        store,
        before=now - max(retention, once_only_retention),
        sources=once_only_sources,
        in_sources=True,
        batch=batch_size,
    )
    logger.debug("processed events pruned deliveries=%s once_only=%s", deliveries, once_only)
    return deliveries + once_only
