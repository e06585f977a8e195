"""After ``/forget`` commits: erase the copies Rapport wrote outside the database.

The Slack inbox post of each erased conversation, and every message Rapport posted in
its thread (the customer's words, burst notes, delivery ticks), are overwritten in place
with ``chat.update`` (an OutgoingMessage of kind ``inbox_redact``; the Slack channel lists
the thread with ``conversations.replies``).  Reps' own thread messages cannot be edited by
the bot (Slack lets only their author or an admin do that): docs/security.md says so.

A need model trained with the customer's corrections holds their words (TF-IDF
vocabularies): it is deleted at once, and retrained in the background without them;
until that finishes the process keeps classifying with the model it has in memory.
"""

import asyncio
import contextlib
import logging
from pathlib import Path

from bot.context import Services
from bot.slack.inbox import REDACTED_POST, redact_inbox  # noqa: F401 - tests read it here
from crm.conversations import corrections
from crm.privacy import Erasure

logger = logging.getLogger(__name__)


def drop_model(services: Services) -> bool:
    """Delete the saved need model (and its metadata); True if there was one."""
    from crm.needs.classifier import model_path

    path = model_path(Path(services.settings.data_dir))
    existed = path.exists()
    for target in (path, path.with_suffix(".json")):
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
    return existed


def _retrain_without(services: Services) -> None:
    from crm.needs.classifier import NeedClassifier, retrain

    with services.store.transaction() as session:
        extra = corrections(session)
    report = retrain(Path(services.settings.data_dir), extra_examples=extra, force=True)
    services.classifier = NeedClassifier.load(report.path)
    logger.info("classifier retrained after an erasure examples=%s", report.n_examples)


async def finish_erasure(services: Services, erasure: Erasure) -> asyncio.Task | None:
    """Redact the Slack copies; drop the model if it learnt from them and start its
    retraining (the task is returned so a caller, or a test, can await it)."""
    await redact_inbox(services, erasure.inbox_refs)
    if erasure.corrections <= 0:
        return None
    await asyncio.to_thread(drop_model, services)
    if services.classifier is None:
        return None
    return asyncio.create_task(asyncio.to_thread(_retrain_without, services))
