"""Periodic work beyond the outbox: the weekly summary, the nightly retraining and the
nightly pruning of old dedupe keys.

Several workers may run the same cron job; the weekly summary is posted once
because the first worker to record `(weekly-report, <ISO week>)` in the
ProcessedEvent table wins and the others see the unique key taken. Such once-only
keys share the table with the re-delivery keys of Slack and Telegram, which are
pruned after a few days: their sources are listed in ONCE_ONLY_SOURCES so the
pruning keeps them long enough (see crm.housekeeping).
"""

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.context import Services
from bot.reports import run_report
from channels.base import Address, OutgoingMessage, Reply
from crm.conversations import corrections
from crm.housekeeping import prune_processed_events
from crm.self_service import first_delivery

logger = logging.getLogger(__name__)

WEEKLY_REPORTS = ("pipeline", "needs", "inbox")
WEEKLY_REPORT_SOURCE = "weekly-report"
PRUNE_SOURCE = "prune-dedupe"
ONCE_ONLY_SOURCES = frozenset({WEEKLY_REPORT_SOURCE, PRUNE_SOURCE})


def _claim_once(services: Services, source: str, key: str) -> bool:
    if source not in ONCE_ONLY_SOURCES:
        # An unlisted source would be pruned like a re-delivery key, after a few days.
        raise ValueError(f"once-only source {source!r} is missing from ONCE_ONLY_SOURCES")
    with services.store.transaction() as session:
        return first_delivery(session, source=source, event_id=key, now=services.clock.now())


def _weekly_replies(services: Services) -> list[Reply]:
    settings, now = services.settings, services.clock.now()
    replies = []
    with services.store.transaction() as session:
        for name in WEEKLY_REPORTS:
            result = run_report(
                session,
                name=name,
                period_text="last week",
                tz=settings.timezone,
                now=now,
                pipeline=services.pipeline,
                margin=settings.clv_margin,
                discount_rate=settings.clv_discount_rate,
                inactive_days=settings.churn_inactive_days,
            )
            replies.append(
                Reply(
                    f"{result.title}\n{result.text}",
                    image=result.chart,
                    image_title=result.title,
                    public=True,
                )
            )
    return replies


async def post_weekly_summary(services: Services) -> int:
    """Posts last week's pipeline, needs and inbox reports to the reports channel, once."""
    channel = services.settings.slack_reports_channel
    if not channel or not services.hub.has("slack"):
        return 0
    week = services.clock.now().strftime("%G-W%V")
    if not await asyncio.to_thread(_claim_once, services, WEEKLY_REPORT_SOURCE, week):
        return 0
    posted = 0
    for reply in await asyncio.to_thread(_weekly_replies, services):
        result = await services.hub.send(
            OutgoingMessage(Address("slack", channel), reply, kind="notice")
        )
        if result.delivered:
            posted += 1
        else:
            logger.warning("weekly summary not posted error=%s", result.error)
    return posted


def _retrain(services: Services) -> bool:
    from crm.needs.classifier import NeedClassifier, retrain

    with services.store.transaction() as session:
        extra = corrections(session)
    report = retrain(Path(services.settings.data_dir), extra_examples=extra)
    logger.info(
        "classifier retrained kept=%s examples=%s corrections=%s reason=%s",
        report.kept,
        report.n_examples,
        len(extra),
        report.reason,
    )
    if report.kept:
        services.classifier = NeedClassifier.load(report.path)
    return report.kept


async def retrain_classifier(services: Services) -> bool:
    """Nightly: shipped data plus reps' corrections; the new model replaces the old one
    only when it is not worse on a held-out split (see crm.needs.classifier.retrain)."""
    return await asyncio.to_thread(_retrain, services)


def _prune(services: Services) -> int | None:
    now = services.clock.now()
    if not _claim_once(services, PRUNE_SOURCE, now.date().isoformat()):
        return None
    return prune_processed_events(
        services.store,
        now=now,
        retention=timedelta(days=services.settings.dedupe_retention_days),
        once_only_sources=ONCE_ONLY_SOURCES,
    )


async def prune_dedupe_keys(services: Services) -> int:
    """Nightly: deletes re-delivery keys too old to stop a duplicate (see crm.housekeeping).

    Once per UTC day across workers (the others would find nothing left to delete
    anyway, but would contend for the same rows). A database error is logged and
    swallowed: the rows wait for the next night, and the scheduler carries on.
    Returns how many rows this worker deleted.
    """
    try:
        deleted = await asyncio.to_thread(_prune, services)
    except SQLAlchemyError:
        logger.exception("dedupe keys not pruned; the next night retries")
        return 0
    if deleted is None:
        logger.debug("dedupe keys already pruned today by another worker")
        return 0
    logger.info(
        "dedupe keys pruned rows=%s retention_days=%s",
        deleted,
        services.settings.dedupe_retention_days,
    )
    return deleted
