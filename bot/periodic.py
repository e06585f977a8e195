"""Periodic work beyond the outbox: the weekly summary and the nightly retraining.

Several workers may run the same cron job; the weekly summary is posted once
because the first worker to record `(weekly-report, <ISO week>)` in the
ProcessedEvent table wins and the others see the unique key taken.
"""

import asyncio
import logging
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from bot.context import Services
from bot.reports import run_report
from channels.base import Address, OutgoingMessage, Reply
from crm.conversations import corrections
from crm.models import ProcessedEvent

logger = logging.getLogger(__name__)

WEEKLY_REPORTS = ("pipeline", "needs", "inbox")


def _claim_once(services: Services, source: str, key: str) -> bool:
    try:
        with services.store.transaction() as session:
            session.add(ProcessedEvent(source=source, event_id=key, at=services.clock.now()))
    except IntegrityError:
        return False
    return True


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
    if not await asyncio.to_thread(_claim_once, services, "weekly-report", week):
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
