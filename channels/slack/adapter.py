"""The Slack channel the hub sends through: reminders to reps, team notices, inbox posts.

`send` never raises for a Slack refusal: it turns SlackApiError into a
DeliveryError saying whether retrying can help (a missing channel cannot, a
rate limit can, after its Retry-After). 429s are first retried inside the Web
API client (`AsyncRateLimitErrorRetryHandler`), so this only sees the ones left.
"""

import logging
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from channels.base import (
    AccountRefused,
    ChannelTraits,
    DeliveryError,
    OutgoingMessage,
    Reply,
    SendLimit,
    SendResult,
)
from channels.slack.blocks import fallback_text, reply_blocks
from channels.slack.inbox import inbox_blocks

logger = logging.getLogger(__name__)

PERMANENT_ERRORS = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "user_not_found",
    "user_disabled",
    "account_inactive",
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "missing_scope",
    "message_not_found",
    "cant_update_message",
    "msg_too_long",
    "invalid_blocks",
}


def make_client(token: str, *, base_url: str | None = None, retries: int = 2) -> AsyncWebClient:
    """A Web API client that waits out 429s (Retry-After) and retries dropped connections."""
    kwargs: dict[str, Any] = {"token": token}
    if base_url:
        kwargs["base_url"] = base_url if base_url.endswith("/") else base_url + "/"
    client = AsyncWebClient(**kwargs)
    client.retry_handlers = [
        AsyncConnectionErrorRetryHandler(max_retry_count=1),
        AsyncRateLimitErrorRetryHandler(max_retry_count=retries),
    ]
    return client


def api_error(exc: SlackApiError) -> str:
    """The short error code Slack gave (`channel_not_found`), never the response body."""
    response = getattr(exc, "response", None)
    try:
        code = response["error"] if response is not None else None
    except Exception:  # noqa: BLE001 - a non-JSON answer (an upload URL's) has no code
        code = None
    return str(code) if code else "slack_error"


def delivery_error(exc: SlackApiError) -> DeliveryError:
    code = api_error(exc)
    retry_after = None
    response = getattr(exc, "response", None)
    if code == "ratelimited" and response is not None:
        try:
            retry_after = float(response.headers.get("Retry-After", "30"))
        except (TypeError, ValueError):
            retry_after = 30.0
    return DeliveryError(code, permanent=code in PERMANENT_ERRORS, retry_after=retry_after)


class SlackChannel:
    """Hub adapter; also the small Web API helpers the bolt listeners share."""

    name = "slack"
    # About one message a second per channel (Slack's chat.postMessage tier).
    traits = ChannelTraits(
        rep_rank=0,
        limits=(SendLimit(1.0, per_chat=True),),
        team_posts=True,
        shows_images=True,
        sends_files=True,
        confirms_delivery=True,
    )

    def __init__(self, client: AsyncWebClient, *, allow_guests: bool = False) -> None:
        self.client = client
        self.allow_guests = allow_guests
        self._identity: set[str] | None = None

    async def start(self) -> None:
        """Nothing to start: the bolt app (HTTP or Socket Mode) is the Component's job."""

    async def stop(self) -> None:
        """Nothing to stop; the Web API client holds no connection between calls."""

    async def send(self, message: OutgoingMessage) -> SendResult:
        channel, reply = message.address.chat_id, message.reply
        meta = message.meta or {}
        if message.kind == "inbox_redact":
            return await self._redact_thread(message)
        if message.kind.startswith("inbox"):
            blocks = inbox_blocks(reply, meta)
        else:
            blocks = reply_blocks(reply)
        text = fallback_text(reply)
        try:
            if meta.get("update_ts"):
                response = await self.client.chat_update(
                    channel=channel, ts=str(meta["update_ts"]), text=text, blocks=blocks
                )
            elif reply.image is not None:
                return await self._send_image(channel, reply)
            else:
                response = await self.client.chat_postMessage(
                    channel=channel,
                    text=text,
                    blocks=blocks,
                    thread_ts=message.address.thread_id,
                    unfurl_links=False,
                    unfurl_media=False,
                )
        except SlackApiError as exc:
            logger.warning(
                "slack send failed kind=%s channel=%s error=%s",
                message.kind,
                channel,
                api_error(exc),
            )
            raise delivery_error(exc) from None
        return SendResult(delivered=True, external_id=f"{response['channel']}:{response['ts']}")

    async def _redact_thread(self, message: OutgoingMessage) -> SendResult:
        """Overwrite a post and every message the bot wrote in its thread (erasure).

        Messages by people are left: the bot may only edit its own; a rep's answer in the
        thread is theirs to delete.  Returns delivered when every bot message was done."""
        channel, ts = message.address.chat_id, str(message.address.thread_id)
        text = fallback_text(message.reply)
        mine = await self._bot_ids()
        cursor: str | None = None
        failed = 0
        try:
            while True:
                page = await self.client.conversations_replies(
                    channel=channel, ts=ts, cursor=cursor, limit=200
                )
                for item in page.get("messages") or []:
                    if item.get("bot_id") in mine or item.get("user") in mine:
                        try:
                            await self.client.chat_update(
                                channel=channel, ts=item["ts"], text=text, blocks=[]
                            )
                        except SlackApiError as exc:
                            failed += 1
                            logger.warning("redaction failed error=%s", api_error(exc))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError as exc:
            raise delivery_error(exc) from None
        if failed:
            return SendResult(delivered=False, error=f"{failed} message(s) not redacted")
        return SendResult(delivered=True, external_id=f"{channel}:{ts}")

    async def _bot_ids(self) -> set[str]:
        """The bot's own user and bot ids (auth.test, asked once)."""
        if self._identity is None:
            response = await self.client.auth_test()
            self._identity = {str(response.get("user_id")), str(response.get("bot_id"))}
        return self._identity

    async def _send_image(self, channel: str, reply: Reply) -> SendResult:
        target = await self.dm_channel(channel) if channel.startswith(("U", "W")) else channel
        await self.upload_image(target, reply)
        return SendResult(delivered=True, external_id=target)

    async def upload_image(
        self, channel_id: str, reply: Reply, *, thread_ts: str | None = None
    ) -> None:
        """files_upload_v2 (getUploadURLExternal, the upload, completeUploadExternal)."""
        assert reply.image is not None
        title = reply.image_title or "chart"
        await self.client.files_upload_v2(
            channel=channel_id,
            thread_ts=thread_ts,
            content=reply.image,
            filename=f"{title.replace(' ', '-').lower()[:60] or 'chart'}.png",
            title=title,
            initial_comment=fallback_text(reply),
        )

    async def dm_channel(self, user_id: str) -> str:
        """The IM channel id with a user (files need an id; messages accept the user id)."""
        response = await self.client.conversations_open(users=user_id)
        return str(response["channel"]["id"])

    async def profile(self, user_id: str) -> tuple[str, str | None]:
        """(display name, IANA time zone) from users.info, for a rep seen the first time.

        Raises AccountRefused for a deactivated or bot account, and for a guest unless
        RAPPORT_SLACK_ALLOW_GUESTS: a guest invited to one channel is not the team."""
        response = await self.client.users_info(user=user_id)
        user = response.get("user") or {}
        if user.get("deleted") or user.get("is_bot"):
            raise AccountRefused("This Slack account cannot use Rapport.")
        guest = user.get("is_restricted") or user.get("is_ultra_restricted")
        if guest and not self.allow_guests:
            raise AccountRefused("Slack guests cannot use Rapport. Ask an admin.")
        profile = user.get("profile") or {}
        name = (
            profile.get("real_name")
            or user.get("real_name")
            or profile.get("display_name")
            or user.get("name")
            or user_id
        )
        tz = user.get("tz")
        try:
            if tz:
                ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            tz = None
        return str(name), tz

    async def permalink(self, channel_id: str, ts: str, team_domain: str | None) -> str:
        """chat.getPermalink, or the archive link built by hand if Slack will not say."""
        try:
            response = await self.client.chat_getPermalink(channel=channel_id, message_ts=ts)
            return str(response["permalink"])
        except SlackApiError as exc:
            logger.warning("permalink failed channel=%s error=%s", channel_id, api_error(exc))
        host = f"https://{team_domain}.slack.com" if team_domain else "https://slack.com"
        return f"{host}/archives/{channel_id}/p{ts.replace('.', '')}"
