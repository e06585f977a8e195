"""A CSV dropped into the DM with Rapport: download it, show the dry run, import on confirm.

Slack sends a `message` event with subtype `file_share` and the file's id; the bytes are
fetched from `url_private_download` with the bot token (files:read scope). Nothing is
kept between the dry run and the confirmation: the "Import it" button carries the file
id, and the file is fetched again when pressed, so an abandoned dry run leaves nothing
behind. What the file means is Rapport's business (`Callbacks.import_file`).
"""

import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from channels.base import Reply
from channels.slack.adapter import SlackChannel, api_error
from channels.slack.callbacks import Callbacks, Who
from channels.slack.direct import DirectMessages

logger = logging.getLogger(__name__)

IMPORT_CONFIRM = "import_confirm"
MAX_BYTES = 50 * 1024 * 1024
TOO_BIG = Reply("That file is over 50 MB; import it with `rapport import FILE`.", ok=False)
UNREADABLE = Reply("I couldn't download that file from Slack; try uploading it again.", ok=False)


async def is_file_share(event: Mapping[str, Any]) -> bool:
    """bolt matcher: a person shared a file (in a DM, with the other matcher)."""
    return (
        event.get("subtype") == "file_share"
        and not event.get("bot_id")
        and bool(event.get("files"))
        and bool(event.get("user"))
    )


class FileImports:
    def __init__(self, *, channel: SlackChannel, callbacks: Callbacks, direct: DirectMessages):
        self.channel = channel
        self.callbacks = callbacks
        self.direct = direct

    async def on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        channel_id = str(event["channel"])
        who = Who(str(event["user"]), team_id=body.get("team_id"), channel_id=channel_id)
        file_id = str((event["files"][0] or {}).get("id") or "")
        await self._run(who, channel_id, file_id, confirm=False)

    async def on_confirm(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = body.get("user") or {}
        channel_id = str((body.get("channel") or {}).get("id") or "")
        who = Who(str(user.get("id")), user_name=str(user.get("name") or ""),
                  team_id=(body.get("team") or {}).get("id"), channel_id=channel_id)  # fmt: skip
        await self._run(who, channel_id, str(action.get("value") or ""), confirm=True)

    async def _run(self, who: Who, channel_id: str, file_id: str, *, confirm: bool) -> None:
        try:
            name, data = await self.download(file_id)
        except _Refused as exc:
            await self.direct.answer(channel_id, exc.reply, None)
            return
        answer = await self.callbacks.import_file(who, name, data, file_id, confirm=confirm)
        if answer.reply is not None:
            await self.direct.answer(channel_id, answer.reply, None)

    async def download(self, file_id: str) -> tuple[str, bytes]:
        try:
            info = (await self.channel.client.files_info(file=file_id))["file"]
        except (SlackApiError, KeyError, TypeError) as exc:
            detail = api_error(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
            logger.warning("files.info failed file=%s error=%s", file_id, detail)
            raise _Refused(UNREADABLE) from None
        if int(info.get("size") or 0) > MAX_BYTES:
            raise _Refused(TOO_BIG)
        url = str(info.get("url_private_download") or info.get("url_private") or "")
        headers = {"Authorization": f"Bearer {self.channel.client.token}"}
        timeout = aiohttp.ClientTimeout(total=60)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, headers=headers) as response,
            ):
                response.raise_for_status()
                data = await response.content.read(MAX_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            logger.warning("file download failed file=%s error=%s", file_id, type(exc).__name__)
            raise _Refused(UNREADABLE) from None
        if len(data) > MAX_BYTES:
            raise _Refused(TOO_BIG)
        return str(info.get("name") or file_id), data


class _Refused(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply
