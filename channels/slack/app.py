"""The bolt AsyncApp: its configuration, the two edge middlewares, listener registration.

Every listener acknowledges first and works after (`listeners.py`), so the app
answers within Slack's 3 seconds in production (`process_before_response=False`:
bolt returns the ack while the listener carries on). Tests pass True, so the HTTP
response comes back only once the work is done and assertions need no polling.
Only modal submissions validate before acknowledging: a field error has to ride
on the ack itself (`response_action: errors`).
"""

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.adapter import SlackChannel
from channels.slack.callbacks import Callbacks
from channels.slack.direct import DirectMessages, in_direct_message
from channels.slack.files import IMPORT_CONFIRM, FileImports, is_file_share
from channels.slack.home import HOME_MENU
from channels.slack.listeners import Listeners, deliver_to_url
from channels.slack.modals import CALLBACK_PREFIX, CHOOSE_PREFIX, CONTACT_SEARCH

logger = logging.getLogger(__name__)

REFUSAL = (
    "Sorry, this Rapport app only serves its own Slack workspace. "
    "Ask your admin to install Rapport for your team."
)
CONTACT_BUTTONS = re.compile(r"^contact_(log_call|add_note|remind|open_deal)(:\d+)?$")


@dataclass(frozen=True)
class SlackAppConfig:
    """What the app needs besides the client and callbacks (no secrets logged from here)."""

    signing_secret: str | None
    team_id: str | None = None
    process_before_response: bool = False
    deal_stages: tuple[str, ...] = field(default_factory=tuple)
    command: str = "/crm"
    shortcut_callback_id: str = "log_to_crm"
    socket_mode: bool = False


def requester_team(body: dict[str, Any]) -> str | None:
    """The team of the person asking (not of the channel: Slack Connect mixes teams)."""
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        return str(user["team_id"])
    event = body.get("event")
    if isinstance(event, dict):
        for key in ("user_team", "team"):
            if isinstance(event.get(key), str):
                return str(event[key])
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    if body.get("team_id"):
        return str(body["team_id"])
    return None


def build_app(
    *,
    client: AsyncWebClient,
    channel: SlackChannel,
    callbacks: Callbacks,
    config: SlackAppConfig,
) -> AsyncApp:
    app = AsyncApp(
        client=client,
        signing_secret=config.signing_secret or "",
        process_before_response=config.process_before_response,
        request_verification_enabled=not config.socket_mode,
        logger=logging.getLogger("channels.slack.bolt"),
    )
    listeners = Listeners(channel=channel, callbacks=callbacks, stages=config.deal_stages)
    direct = DirectMessages(
        channel=channel, callbacks=callbacks, publish_home=listeners.publish_home
    )
    files = FileImports(channel=channel, callbacks=callbacks, direct=direct)

    pinned: list[str] = [config.team_id] if config.team_id else []

    async def our_team() -> str | None:
        """SLACK_TEAM_ID, or the bot token's own workspace (auth.test, asked once): an
        unset setting no longer means "every workspace"."""
        if not pinned:
            try:
                found = (await client.auth_test()).get("team_id")
            except Exception as exc:  # noqa: BLE001 - fail closed, say why once
                logger.warning("slack workspace unknown (auth.test failed: %s)", type(exc).__name__)
                return None
            if found:
                pinned.append(str(found))
                logger.info("slack workspace pinned team=%s (from auth.test)", found)
        return pinned[0] if pinned else None

    async def only_our_team(body: dict[str, Any], next: Any) -> BoltResponse | None:
        team = requester_team(body)
        ours = await our_team()
        if ours is not None and team == ours:
            await next()
            return None
        logger.warning("slack request refused team=%s type=%s", team, body.get("type"))
        if body.get("command"):
            refusal = {"response_type": "ephemeral", "text": REFUSAL}
            return BoltResponse(
                status=200, body=json.dumps(refusal), headers={"content-type": "application/json"}
            )
        if body.get("response_url"):
            await deliver_to_url(str(body["response_url"]), {"text": REFUSAL})
        if body.get("type") == "block_suggestion":
            return BoltResponse(
                status=200,
                body=json.dumps({"options": []}),
                headers={"content-type": "application/json"},
            )
        return BoltResponse(status=200, body="")

    async def once_per_event(body: dict[str, Any], next: Any) -> BoltResponse | None:
        """Slack retries an event it thinks we missed (X-Slack-Retry-Num): act on it once.

        A slash command is acted on once per `trigger_id`: a captured request replayed
        inside the 5 minutes its signature stays valid (older ones fail the signature
        check) is dropped. The ids are stored in the database (ProcessedEvent), so a
        replay sent to another worker is dropped too."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not await callbacks.first_delivery(str(event_id)):
            logger.info("slack event already processed event_id=%s", event_id)
            return BoltResponse(status=200, body="")
        trigger = body.get("trigger_id") if body.get("command") else None
        if trigger and not await callbacks.first_delivery(f"trigger:{trigger}"):
            logger.warning("slack command replay dropped user=%s", body.get("user_id"))
            return BoltResponse(status=200, body="")
        await next()
        return None

    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        logger.error(
            "slack listener failed type=%s error=%s",
            body.get("type"),
            type(error).__name__,
            exc_info=error,
        )

    app.middleware(only_our_team)
    app.middleware(once_per_event)
    app.error(on_error)
    app.command(config.command)(listeners.on_command)
    app.action(re.compile(f"^{re.escape(CHOOSE_PREFIX)}"))(listeners.on_choose)
    app.action(HOME_MENU)(listeners.on_home_menu)
    app.action(CONTACT_BUTTONS)(listeners.on_contact_button)
    app.action(IMPORT_CONFIRM)(files.on_confirm)
    app.action(re.compile(r".+"))(listeners.on_action)
    app.options(CONTACT_SEARCH)(listeners.on_contact_options)
    app.view(re.compile(f"^{re.escape(CALLBACK_PREFIX)}"))(listeners.on_submit)
    app.shortcut(config.shortcut_callback_id)(listeners.on_log_shortcut)
    app.event("app_home_opened")(listeners.on_home_opened)
    # bolt runs the first listener that matches: IMs are commands, the rest inbox threads.
    app.event("message", matchers=[in_direct_message, is_file_share])(files.on_message)
    app.event("message", matchers=[in_direct_message])(direct.on_message)
    app.event("message")(listeners.on_message)
    return app
