"""Slack for the reps: the bolt app over HTTP (`POST /slack/events`) or Socket Mode.

`attach_slack` builds the Web API client (429s waited out), registers the
adapter on the hub as "slack" (reminders, deal notices, inbox posts go through
it), subscribes the inbox to the customer desk and hands the bolt app the
bridge as its callbacks. With SLACK_APP_TOKEN set the app dials out over Socket
Mode (no public URL needed); otherwise it serves HTTP and needs the signing
secret. `process_before_response=False` in production acknowledges Slack at
once and works after; tests pass True for determinism.
"""

import json
import logging

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.app import RapportApp
from bot.runtime import Component
from bot.settings import SettingsError
from bot.slack.bridge import SlackBridge
from bot.slack.inbox import SlackInbox
from channels.http import HttpRoutes
from channels.slack.adapter import SlackChannel, make_client
from channels.slack.app import SlackAppConfig, build_app

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class SlackNotConfigured(SettingsError):
    """A Slack setting is missing; the message names the variable."""


def attach_slack(rapport: RapportApp, *, process_before_response: bool = False) -> Component:
    settings = rapport.settings
    if settings.slack_bot_token is None:
        raise SlackNotConfigured("SLACK_BOT_TOKEN is not set.")
    socket_mode = settings.slack_app_token is not None
    secret = settings.slack_signing_secret
    if not socket_mode and secret is None:
        raise SlackNotConfigured(
            "SLACK_SIGNING_SECRET is needed to serve Slack over HTTP "
            "(or set SLACK_APP_TOKEN to use Socket Mode)."
        )
    client = make_client(
        settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
    )
    channel = SlackChannel(client, allow_guests=settings.slack_allow_guests)
    rapport.services.hub.register(channel)
    inbox = SlackInbox(rapport.services, rapport.dispatcher, settings.slack_inbox_channel)
    rapport.desk.subscribe(inbox.on_event)
    bridge = SlackBridge(rapport, profile=channel.profile, inbox=inbox)
    config = SlackAppConfig(
        signing_secret=secret.get_secret_value() if secret else None,
        team_id=settings.slack_team_id,
        process_before_response=process_before_response,
        deal_stages=tuple(rapport.services.pipeline.names),
        socket_mode=socket_mode,
    )
    app = build_app(client=client, channel=channel, callbacks=bridge, config=config)
    extra: dict[str, object] = {"app": app, "bridge": bridge, "channel": channel}

    if socket_mode:
        assert settings.slack_app_token is not None
        handler = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
        extra["socket"] = handler

        async def start() -> None:
            await handler.connect_async()
            logger.info("slack socket mode connected inbox=%s", settings.slack_inbox_channel)

        async def stop() -> None:
            await handler.close_async()

        return Component("slack", start=start, stop=stop, extra=extra)

    request_handler = AsyncSlackRequestHandler(app)
    verifier = SignatureVerifier(secret.get_secret_value()) if secret else None

    async def events(request: Request) -> Response:
        """The signature is checked before bolt sees the request: bolt parses the body
        first, and an unsigned non-JSON or non-UTF-8 body made it raise (a 500 with a
        traceback).  One short warning line per refused request, never the body."""
        body = await request.body()  # at most MAX_BODY_BYTES (channels.http)
        try:
            text = body.decode("utf-8")  # Slack sends UTF-8; anything else is not Slack
        except UnicodeDecodeError:
            logger.warning("slack request refused reason=body is not UTF-8")
            return Response("bad request", status_code=400)
        if verifier is None or not verifier.is_valid_request(text, dict(request.headers)):
            logger.warning(
                "slack request refused: Invalid request signature (bad, missing or stale)"
            )
            return Response("invalid request", status_code=401)
        try:
            if "json" in request.headers.get("content-type", ""):
                json.loads(text)
            elif not text.strip():
                raise ValueError("empty body")
        except ValueError:
            logger.warning("slack request refused reason=malformed signed body")
            return Response("bad request", status_code=400)
        try:
            return await request_handler.handle(request)
        except ValueError:  # a signed body that is not the JSON/form it claims to be
            logger.warning("slack request refused reason=unparseable signed body")
            return Response("bad request", status_code=400)

    async def started() -> None:
        logger.info("slack http ready path=%s inbox=%s", EVENTS_PATH, settings.slack_inbox_channel)

    routes = HttpRoutes(routes=[Route(EVENTS_PATH, events, methods=["POST"])], on_startup=[started])
    return Component("slack", http=routes, extra=extra)
