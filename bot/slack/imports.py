"""Importing a file an admin shared in the DM: the dry run first, the import on confirm.

The report is the same one `rapport import` prints, trimmed to fit a Slack message; the
confirm button carries only the Slack file id (see channels/slack/files.py).
"""

import asyncio
import io
import logging
from typing import TYPE_CHECKING

from bot.import_options import import_options
from channels.base import Action, Reply
from crm.actors import Actor
from crm.errors import CRMError
from crm.imports import ImportReport, run_import

if TYPE_CHECKING:
    from bot.app import RapportApp

logger = logging.getLogger(__name__)

IMPORT_CONFIRM = "import_confirm"  # the channel's action id for the button
MAX_CHARS = 2800
NOT_ADMIN = Reply("Only an admin can import files. Ask an admin, or see `/crm help`.", ok=False)


def _trimmed(report: ImportReport) -> str:
    text = report.summary()
    if len(text) <= MAX_CHARS:
        return text
    return text[:MAX_CHARS].rsplit("\n", 1)[0] + "\n... (the rest: run `rapport import --dry-run`)"


def import_reply(
    rapport: "RapportApp", actor: Actor, name: str, data: bytes, file_id: str, *, confirm: bool
) -> Reply:
    """Runs in a worker thread: the import is synchronous store code."""
    if not actor.is_admin:
        return NOT_ADMIN
    options = import_options(rapport.settings, dry_run=not confirm)
    try:
        report = run_import(
            rapport.store, io.BytesIO(data), actor=actor, now=rapport.services.clock.now(),
            options=options,
        )  # fmt: skip
    except CRMError as exc:
        return Reply(f"{name}: {exc}", ok=False)
    text = f"*{name}*\n{_trimmed(report)}"
    if confirm or report.failure or not (report.created or report.updated):
        return Reply(text, ok=report.failure is None)
    button = Action("Import it", IMPORT_CONFIRM, value=file_id, style="primary")
    return Reply(text + "\nPress *Import it* to do it for real.", actions=(button,))


async def import_answer(
    rapport: "RapportApp", actor: Actor, name: str, data: bytes, file_id: str, *, confirm: bool
) -> Reply:
    logger.info("slack import file=%s confirm=%s actor=%s", file_id, confirm, actor.label)
    return await asyncio.to_thread(
        import_reply, rapport, actor, name, data, file_id, confirm=confirm
    )
