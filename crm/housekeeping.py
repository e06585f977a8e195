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
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
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


# ---- the open API's history ----------------------------------------------------------


def _delete_batches(store: Store, model: Any, where: Callable[[], list[Any]], batch: int) -> int:
    """Deletes the rows of `model` matching `where()`, oldest ids first, `batch` per
    transaction, and returns how many went."""
    deleted = 0
    while True:
        with store.transaction() as session:
            ids = select(col(model.id)).where(*where()).order_by(col(model.id)).limit(batch)
            statement = (
                delete(model)
                .where(col(model.id).in_(ids))
                .execution_options(synchronize_session=False)
            )
            gone = int(getattr(session.execute(statement), "rowcount", 0) or 0)
        deleted += gone
        if gone < batch:
            return deleted


def prune_api_history(
    store: Store,
    *,
    now: datetime,
    idempotency_retention: timedelta,
    webhook_retention: timedelta,
    batch_size: int = BATCH_SIZE,
) -> dict[str, int]:
    """Nightly, for the open API: stored idempotent responses older than their retention
    (a retry after that is a new request), webhook deliveries delivered longer ago than
    the webhook retention, then the events of that age no delivery points at any more,
    and the rate-limit windows that ended. Pending and failed deliveries stay, so the log
    keeps what went wrong and a resumed subscription still sends what waits.

    An event is kept while the webhook pump may re-read its source row (the last
    `crm.webhooks.LOOKBACK` ids), or the pump would make it again and send it twice.
    """
    from crm.api_models import ApiRateLimit, IdempotencyRecord
    from crm.api_tokens import window_start
    from crm.webhook_models import WebhookCursor, WebhookDelivery, WebhookEvent
    from crm.webhooks import LOOKBACK

    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    idempotency_before = now - idempotency_retention
    webhook_before = now - webhook_retention
    counts = {
        "idempotency": _delete_batches(
            store,
            IdempotencyRecord,
            lambda: [col(IdempotencyRecord.created_at) < idempotency_before],
            batch_size,
        ),
        "webhook_deliveries": _delete_batches(
            store,
            WebhookDelivery,
            lambda: [
                col(WebhookDelivery.status) == "delivered",
                col(WebhookDelivery.delivered_at) < webhook_before,
            ],
            batch_size,
        ),
    }
    with store.transaction() as session:
        cursors = {c.source: c.last_id for c in session.execute(select(WebhookCursor)).scalars()}

    def old_events() -> list[Any]:
        undelivered = select(col(WebhookDelivery.event_id)).where(
            col(WebhookDelivery.event_id) == col(WebhookEvent.id)
        )
        reread = [
            (col(WebhookEvent.source) == source) & (col(WebhookEvent.source_id) <= last - LOOKBACK)
            for source, last in cursors.items()
        ]
        return [
            col(WebhookEvent.occurred_at) < webhook_before,
            ~undelivered.exists(),
            or_(*reread) if reread else col(WebhookEvent.id) < 0,
        ]

    counts["webhook_events"] = _delete_batches(store, WebhookEvent, old_events, batch_size)
    counts["rate_windows"] = _delete_batches(
        store,
        ApiRateLimit,
        lambda: [col(ApiRateLimit.window_start) < window_start(now)],
        batch_size,
    )
    return counts
