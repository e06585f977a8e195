"""Commands typed in a direct message to Rapport (the app's Messages tab).

A rep who chats with the bot expects `find jane` to work as `/crm find jane` does,
so a DM line goes through the very same `Callbacks.command` as the slash command:
same actor resolution, authorization, "which one?" picks, error replies and
audit. Only the edges differ: the answer is a chat.postMessage into the DM (in
the rep's thread if they wrote in one), because a message event carries neither
a response_url nor a trigger_id.

Only a person's own new line in an IM is a command. Rapport's replies come back
as `message.im` events too (with `bot_id`), and edits, deletions and joins arrive
as subtypes; answering any of them would loop or act twice. Retries of the same
event are dropped earlier, by the app's `once_per_event` middleware.
"""

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError

from channels.base import Reply
from channels.slack.adapter import SlackChannel, api_error
from channels.slack.blocks import fallback_text, reply_blocks, unescape_entities
from channels.slack.callbacks import Callbacks, Who

logger = logging.getLogger(__name__)

# A person's plain message; `thread_broadcast` is a thread reply also shown in the DM.
PERSON_SUBTYPES = (None, "thread_broadcast")
# Typed out of habit: "/crm add ..." (a leading "/" would make Slack run the command).
_SLASH_CRM = re.compile(r"^\s*/crm\b\s*", re.IGNORECASE)

PublishHome = Callable[[Who], Awaitable[None]]


async def in_direct_message(event: Mapping[str, Any]) -> bool:
    """bolt matcher: this `message` event happened in a 1:1 DM with Rapport."""
    return event.get("channel_type") == "im"


def is_rep_line(event: Mapping[str, Any]) -> bool:
    """A new message written by a person, not a bot, an edit or a deletion."""
    return (
        not event.get("bot_id")
        and event.get("subtype") in PERSON_SUBTYPES
        and bool(event.get("user"))
        and bool(event.get("channel"))
    )


def command_text(raw: str) -> str:
    """The command the rep typed: Slack's `&amp;`/`&lt;`/`&gt;` undone, `/crm ` dropped.

    Links (`<mailto:...|...>`) are left for the grammar, which unwraps them for
    `/crm` too."""
    return _SLASH_CRM.sub("", unescape_entities(raw), count=1).strip()


class DirectMessages:
    """The `message` listener for IMs; `publish_home` keeps App Home in step, as /crm does."""

    def __init__(
        self, *, channel: SlackChannel, callbacks: Callbacks, publish_home: PublishHome
    ) -> None:
        self.channel = channel
        self.callbacks = callbacks
        self.publish_home = publish_home

    async def on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if not is_rep_line(event):
            return
        channel_id = str(event["channel"])
        who = Who(str(event["user"]), team_id=body.get("team_id"), channel_id=channel_id)
        answer = await self.callbacks.command(who, command_text(str(event.get("text") or "")))
        thread_ts = event.get("thread_ts")
        if answer.reply is not None:
            await self.answer(channel_id, answer.reply, str(thread_ts) if thread_ts else None)
        if answer.refresh_home:
            await self.publish_home(who)

    async def answer(self, channel_id: str, reply: Reply, thread_ts: str | None) -> None:
        """Into the DM itself: a chart as a file with the text as its comment."""
        try:
            if reply.image is not None:
                await self.channel.upload_image(channel_id, reply, thread_ts=thread_ts)
                return
            await self.channel.client.chat_postMessage(
                channel=channel_id,
                thread_ts=thread_ts,
                text=fallback_text(reply),
                blocks=reply_blocks(reply),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            logger.warning("dm answer failed channel=%s error=%s", channel_id, api_error(exc))
