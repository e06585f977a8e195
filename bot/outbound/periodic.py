"""Periodic work beyond the outbox: the weekly summary, the nightly retraining and the
nightly pruning of old dedupe keys and of the open API's history.

Several workers may run the same cron job; each report of the weekly summary is
posted once because the first worker to record `(weekly-report, <ISO week>:<report>)`
in the ProcessedEvent table wins and the others see the unique key taken. Such once-only
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
from bot.reports import WEEKLY_REPORTS, Assumptions, run_report
from channels.base import Address, OutgoingMessage, Reply
from crm.conversations import corrections
from crm.housekeeping import prune_api_history, prune_processed_events
from crm.self_service import delivered_before, first_delivery, forget_delivery

logger = logging.getLogger(__name__)

WEEKLY_REPORT_SOURCE = "weekly-report"
PRUNE_SOURCE = "prune-dedupe"
ONCE_ONLY_SOURCES = frozenset({WEEKLY_REPORT_SOURCE, PRUNE_SOURCE})


def _claim_once(services: Services, source: str, key: str) -> bool:
    if source not in ONCE_ONLY_SOURCES:
        # An unlisted source would be pruned like a re-delivery key, after a few days.
        raise ValueError(f"once-only source {source!r} is missing from ONCE_ONLY_SOURCES")
    with services.store.transaction() as session:
        return first_delivery(session, source=source, event_id=key, now=services.clock.now())


def _claim_weekly_reports(services: Services, week: str) -> list[str]:
    """The reports of `week` this worker is to post, each claimed for it (one transaction;
    a claim another worker holds makes its savepoint fail, see first_delivery)."""
    now = services.clock.now()
    with services.store.transaction() as session:
        if delivered_before(session, source=WEEKLY_REPORT_SOURCE, event_id=week):
            return []  # posted whole by a version that claimed the week at once
        return [
            name
            for name in WEEKLY_REPORTS
            if first_delivery(
                session, source=WEEKLY_REPORT_SOURCE, event_id=f"{week}:{name}", now=now
            )
        ]


def _give_back(services: Services, week: str, names: list[str]) -> None:
    with services.store.transaction() as session:
        for name in names:
            forget_delivery(session, source=WEEKLY_REPORT_SOURCE, event_id=f"{week}:{name}")


def _weekly_replies(services: Services, names: list[str]) -> list[Reply]:
    settings, now = services.settings, services.clock.now()
    replies = []
    with services.store.report() as session:
        for name in names:
            result = run_report(
                session,
                name=name,
                period_text="last week",
                tz=settings.timezone,
                now=now,
                pipeline=services.pipeline,
                assumptions=Assumptions.from_settings(settings),
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
    """Posts last week's pipeline, needs, inbox and customer-value reports to the reports
    channel, once.

    Runs hourly on Monday morning (bot/runtime/scheduler.py). A report whose post fails for
    a reason that may pass (Slack down, rate limited) gives its claim back, so the next
    run posts just the missing ones; a permanent refusal (say, the bot was removed from
    the channel) keeps the claim and is logged as an error, since retrying cannot help.
    Returns how many reports this call posted.
    """
    channel, team = services.settings.slack_reports_channel, services.hub.team_channel()
    if not channel or team is None:
        return 0
    week = services.clock.now().strftime("%G-W%V")
    names = await asyncio.to_thread(_claim_weekly_reports, services, week)
    if not names:
        return 0
    try:
        replies = await asyncio.to_thread(_weekly_replies, services, names)
    except Exception:
        await asyncio.to_thread(_give_back, services, week, names)  # the next run tries all
        raise
    posted, retry = 0, []
    for name, reply in zip(names, replies, strict=True):
        result = await services.hub.send(
            OutgoingMessage(Address(team, channel), reply, kind="notice")
        )
        if result.delivered:
            posted += 1
        elif result.permanent:
            logger.error("weekly %s report not posted, not retried error=%s", name, result.error)
        else:
            logger.warning("weekly %s report not posted, retried next hour error=%s",
                           name, result.error)  # fmt: skip
            retry.append(name)
    if retry:
        await asyncio.to_thread(_give_back, services, week, retry)
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


def _prune(services: Services) -> tuple[int, dict[str, int]] | None:
    now = services.clock.now()
    if not _claim_once(services, PRUNE_SOURCE, now.date().isoformat()):
        return None
    settings = services.settings
    dedupe = prune_processed_events(
        services.store,
        now=now,
        retention=timedelta(days=settings.dedupe_retention_days),
        once_only_sources=ONCE_ONLY_SOURCES,
    )
    api = prune_api_history(
        services.store,
        now=now,
        idempotency_retention=timedelta(hours=settings.idempotency_retention_hours),
        webhook_retention=timedelta(days=settings.webhook_retention_days),
    )
    return dedupe, api


async def prune_dedupe_keys(services: Services) -> int:
    """Nightly: deletes re-delivery keys too old to stop a duplicate (see crm.housekeeping),
    and the open API's history past its retention: idempotency records, delivered
    webhooks and their events, ended rate-limit windows (crm.housekeeping.prune_api_history).

    Once per UTC day across workers (the others would find nothing left to delete
    anyway, but would contend for the same rows). A database error is logged and
    swallowed: the rows wait for the next night, and the scheduler carries on.
    Returns how many dedupe keys this worker deleted.
    """
    try:
        pruned = await asyncio.to_thread(_prune, services)
    except SQLAlchemyError:
        logger.exception("dedupe keys not pruned; the next night retries")
        return 0
    if pruned is None:
        logger.debug("dedupe keys already pruned today by another worker")
        return 0
    deleted, api = pruned
    logger.info(
        "dedupe keys pruned rows=%s retention_days=%s",
        deleted,
        services.settings.dedupe_retention_days,
    )
    logger.info(
        "api history pruned idempotency=%s webhook_deliveries=%s webhook_events=%s rate_windows=%s",
        api["idempotency"],
        api["webhook_deliveries"],
        api["webhook_events"],
        api["rate_windows"],
    )
    return deleted


def _purge(services: Services) -> int:
    from crm.trash import purge_trash

    with services.store.transaction() as session:
        return purge_trash(session, now=services.clock.now())


async def purge_deleted_contacts(services: Services) -> int:
    """Nightly: deleted contacts older than the trash's 30 days are gone for good. Every
    worker may run it: the delete is idempotent. A database error waits for the next night."""
    try:
        purged = await asyncio.to_thread(_purge, services)
    except SQLAlchemyError:
        logger.exception("trash not purged; the next night retries")
        return 0
    if purged:
        logger.info("trash purged contacts=%s", purged)
    return purged
