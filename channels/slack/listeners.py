"""The bolt listeners: translate Slack payloads to `Callbacks` calls and answer back.

Each one acknowledges first (except modal submissions, whose ack carries field
errors), then calls Rapport, then answers through the payload's response_url or,
when there is none (App Home, expired URL), by direct message. A Slack API error
is logged with its code and, when it affects the rep, told to them in words.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from channels.base import Reply
from channels.slack.adapter import SlackChannel, api_error
from channels.slack.blocks import (
    action_value,
    base_action_id,
    fallback_text,
    option,
    plain_from_slack,
    reply_blocks,
    unescape_entities,
)
from channels.slack.callbacks import Answer, Callbacks, Who
from channels.slack.home import home_view
from channels.slack.modals import (
    ADD_CONTACT,
    CHOOSE_PREFIX,
    LOG_ACTIVITY,
    LOG_MESSAGE,
    NEW_DEAL,
    REMINDER,
    chooser_view,
    form_of,
    form_view,
    pack_meta,
    read_values,
    unpack_meta,
)

logger = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]
# `/crm <verb>` with nothing after it opens that verb's form instead of a usage error.
FORM_FOR_VERB = {"add": ADD_CONTACT, "log": LOG_ACTIVITY, "deal": NEW_DEAL, "remind": REMINDER}
CONTACT_FORMS = {
    "contact_log_call": (LOG_ACTIVITY, {"kind": "call"}),
    "contact_add_note": (LOG_ACTIVITY, {"kind": "note"}),
    "contact_remind": (REMINDER, {}),
    "contact_open_deal": (NEW_DEAL, {}),
}


async def deliver_to_url(url: str, message: Mapping[str, Any]) -> bool:
    """POST to a response_url; False when Slack refuses (expired, used five times)."""
    try:
        response = await AsyncWebhookClient(url).send_dict(dict(message))
    except Exception as exc:  # noqa: BLE001 - a dead URL falls back to a DM
        logger.warning("response_url failed error=%s", type(exc).__name__)
        return False
    if response.status_code != 200:
        logger.warning("response_url refused status=%s", response.status_code)
        return False
    return True


def who_of(body: Mapping[str, Any]) -> Who:
    """The user and channel of a slash command, interaction or event payload."""
    if "command" in body:
        return Who(
            str(body["user_id"]),
            str(body.get("user_name") or ""),
            body.get("team_id"),
            body.get("channel_id"),
        )
    user = body.get("user") or {}
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    team = user.get("team_id") or (body.get("team") or {}).get("id")
    return Who(
        str(user.get("id")), str(user.get("name") or user.get("username") or ""), team, channel
    )


class Listeners:
    def __init__(self, *, channel: SlackChannel, callbacks: Callbacks, stages: tuple[str, ...]):
        self.channel = channel
        self.client = channel.client
        self.callbacks = callbacks
        self.stages = stages

    # --- answering ------------------------------------------------------------------

    async def deliver(self, who: Who, answer: Answer | None, response_url: str | None) -> None:
        reply = answer.reply if answer is not None else None
        if reply is None:
            return
        if reply.image is not None:
            reply = await self._upload(who, reply)
        message: dict[str, Any] = {"text": fallback_text(reply), "blocks": reply_blocks(reply)}
        if response_url:
            message["response_type"] = "in_channel" if reply.public else "ephemeral"
            if answer is not None and answer.replace_original:
                message["replace_original"] = True
            if await deliver_to_url(response_url, message):
                return
        await self.tell(who, message)

    async def tell(self, who: Who, message: Mapping[str, Any]) -> None:
        """A direct message: the answer of last resort (no response_url, or it expired)."""
        try:
            await self.client.chat_postMessage(channel=who.user_id, **message)
        except SlackApiError as exc:
            logger.warning("direct message failed user=%s error=%s", who.user_id, api_error(exc))

    async def _upload(self, who: Who, reply: Reply) -> Reply:
        """Charts go to the rep's DM with Rapport (an ephemeral answer cannot carry a file)."""
        try:
            dm = await self.channel.dm_channel(who.user_id)
            await self.channel.upload_image(dm, reply)
        except SlackApiError as exc:
            logger.warning("chart upload failed user=%s error=%s", who.user_id, api_error(exc))
            return Reply(f"{reply.text}\n⚠ I couldn't upload the chart ({api_error(exc)}).")
        return Reply(
            f"{reply.text}\n📊 The chart is in your messages with Rapport.",
            public=reply.public,
            ok=reply.ok,
        )

    async def publish_home(self, who: Who) -> None:
        try:
            sections = await self.callbacks.home(who)
            await self.client.views_publish(user_id=who.user_id, view=home_view(sections))
        except SlackApiError as exc:
            logger.warning("home publish failed user=%s error=%s", who.user_id, api_error(exc))

    async def open_view(
        self, who: Who, trigger_id: str, view: dict[str, Any], response_url: str | None
    ) -> None:
        try:
            await self.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            code = api_error(exc)
            logger.warning("views.open failed user=%s error=%s", who.user_id, code)
            text = f"⚠ I couldn't open the form (Slack said `{code}`). Please try again."
            if not (response_url and await deliver_to_url(response_url, {"text": text})):
                await self.tell(who, {"text": text})

    # --- slash command ---------------------------------------------------------------

    async def on_command(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        who = who_of(body)
        text = unescape_entities(str(body.get("text") or "")).strip()
        response_url = body.get("response_url")
        meta = pack_meta({"response_url": response_url, "channel": who.channel_id})
        if not text:
            await self.open_view(who, body["trigger_id"], chooser_view(meta), response_url)
            return
        if text.lower() in FORM_FOR_VERB:
            view = form_view(FORM_FOR_VERB[text.lower()], meta, stages=self.stages)
            await self.open_view(who, body["trigger_id"], view, response_url)
            return
        answer = await self.callbacks.command(who, text)
        await self.deliver(who, answer, response_url)
        if answer.refresh_home:
            await self.publish_home(who)

    # --- buttons and selects -----------------------------------------------------------

    async def on_choose(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A chooser button: swap the chooser for the chosen form in the same modal."""
        await ack()
        view = body.get("view") or {}
        form = str(action["action_id"]).removeprefix(CHOOSE_PREFIX)
        try:
            await self.client.views_update(
                view_id=view.get("id"),
                hash=view.get("hash"),
                view=form_view(form, view.get("private_metadata") or "", stages=self.stages),
            )
        except SlackApiError as exc:
            logger.warning("views.update failed form=%s error=%s", form, api_error(exc))

    async def on_home_menu(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        who = who_of(body)
        await self.open_view(who, body["trigger_id"], chooser_view(pack_meta({})), None)

    async def on_contact_button(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        """Log call / Add note / Remind me / Open deal: the form, prefilled with the contact."""
        await ack()
        who = who_of(body)
        ref = action_value(action)
        form, prefill = CONTACT_FORMS[base_action_id(str(action["action_id"]))]
        label = await self.callbacks.contact_label(ref)
        values: dict[str, Any] = dict(prefill)
        if label is not None:
            values["contact"] = (label, ref)
            if form == REMINDER:
                values["text"] = f"Follow up with {label}"
        meta = pack_meta({"response_url": body.get("response_url"), "channel": who.channel_id})
        view = form_view(form, meta, prefill=values, stages=self.stages)
        await self.open_view(who, body["trigger_id"], view, body.get("response_url"))

    async def on_action(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        who = who_of(body)
        answer = await self.callbacks.action(
            who, base_action_id(str(action.get("action_id"))), action_value(action)
        )
        if (body.get("view") or {}).get("type") == "home":
            reply = answer.reply
            if reply is not None and not reply.ok:
                await self.tell(who, {"text": fallback_text(reply)})
            await self.publish_home(who)
            return
        await self.deliver(who, answer, body.get("response_url"))
        if answer.refresh_home:
            await self.publish_home(who)

    async def on_contact_options(self, ack: Ack, body: dict[str, Any]) -> None:
        found = await self.callbacks.search_contacts(str(body.get("value") or ""))
        await ack(options=[option(label, value) for label, value in found[:100]])

    # --- modals and the shortcut ---------------------------------------------------------

    async def on_submit(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        who = who_of(body)
        form = form_of(str(view.get("callback_id")))
        meta = unpack_meta(view.get("private_metadata"))
        values = read_values((view.get("state") or {}).get("values") or {})
        if form == LOG_MESSAGE and meta.get("channel") and meta.get("ts"):
            meta["permalink"] = await self.channel.permalink(
                meta["channel"], meta["ts"], meta.get("domain")
            )
        answer = await self.callbacks.submit(who, form, values, meta)
        if answer.errors:
            await ack(response_action="errors", errors=dict(answer.errors))
            return
        await ack()
        await self.deliver(who, answer, meta.get("response_url"))
        if answer.refresh_home:
            await self.publish_home(who)

    async def on_log_shortcut(self, ack: Ack, body: dict[str, Any]) -> None:
        """Message shortcut "Log to CRM": a note form prefilled with the message's text."""
        await ack()
        who = who_of(body)
        message = body.get("message") or {}
        meta = pack_meta(
            {
                "response_url": body.get("response_url"),
                "channel": who.channel_id,
                "ts": message.get("ts"),
                "domain": (body.get("team") or {}).get("domain"),
            }
        )
        text = plain_from_slack(str(message.get("text") or ""))
        view = form_view(LOG_MESSAGE, meta, prefill={"text": text})
        await self.open_view(who, body["trigger_id"], view, body.get("response_url"))

    # --- events ---------------------------------------------------------------------------

    async def on_home_opened(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        await self.publish_home(Who(str(event["user"]), team_id=body.get("team_id")))

    async def on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """A rep's reply in an inbox thread goes to the customer; everything else is ignored."""
        if event.get("bot_id") or event.get("subtype") not in (None, "thread_broadcast"):
            return
        thread_ts, channel_id = event.get("thread_ts"), event.get("channel")
        if not thread_ts or thread_ts == event.get("ts") or not channel_id or not event.get("user"):
            return
        who = Who(str(event["user"]), team_id=body.get("team_id"), channel_id=str(channel_id))
        text = plain_from_slack(str(event.get("text") or ""))
        answer = await self.callbacks.thread_reply(who, str(channel_id), str(thread_ts), text)
        if answer is None or answer.reply is None:
            return
        try:
            await self.client.chat_postMessage(
                channel=str(channel_id),
                thread_ts=str(thread_ts),
                text=fallback_text(answer.reply),
                blocks=reply_blocks(answer.reply),
            )
        except SlackApiError as exc:
            logger.warning("thread note failed channel=%s error=%s", channel_id, api_error(exc))
        if answer.refresh_home:
            await self.publish_home(who)
