"""Slack's side of the conversation, for the e2e tests: signed requests and payloads.

`SlackWorld.running(tmp_path)` starts the Web API stand-in, builds Rapport
with Slack pointed at it, and serves the real bolt app on Rapport's own HTTP
server (bot.runtime.service.Service, port 0). Tests then POST what Slack would POST,
signed with the signing secret, and read what Rapport called back.
"""

import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.app import RapportApp
from bot.context import DEFAULT_NEEDS, Handled
from bot.customer.desk import Received
from bot.runtime.service import Service
from bot.runtime.slack import attach_slack
from bot.settings import Settings
from channels.base import (
    Address,
    DeliveryError,
    IncomingMessage,
    OutgoingMessage,
    Reply,
    SendResult,
)
from crm.clock import ManualClock
from tests.standins.outbox_channels import standard_traits
from tests.standins.slack_api import TEAM_ID, SlackStandin

SECRET = "test-secret"
REP = "U0ALICE"
ADMIN = "U0ROOT"
INBOX = "CINBOX"
DEALS = "CDEALS"


def signed_headers(body: bytes, *, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    """`v0=` + HMAC-SHA256(secret, "v0:{ts}:{body}"), exactly as Slack signs."""
    timestamp = str(int(at if at is not None else time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


@dataclass(frozen=True)
class Prediction:
    need: str
    confidence: float


class KeywordClassifier:
    """A deterministic need classifier: the inbox shows its need and confidence."""

    labels = DEFAULT_NEEDS

    def predict(self, text: str) -> Prediction:
        lowered = text.lower()
        if "price" in lowered or "how much" in lowered:
            return Prediction("pricing", 0.87)
        if "refund" in lowered:
            return Prediction("refund", 0.91)
        return Prediction("other", 0.40)


def block_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text a person sees in Block Kit blocks: sections, fields, context elements."""
    found = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            found.append(block["text"]["text"])
        found.extend(f["text"] for f in block.get("fields", []))
        found.extend(e["text"] for e in block.get("elements", []) if isinstance(e.get("text"), str))
    return found


CHART_PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


def answer_with_a_chart(rapport: RapportApp, monkeypatch: Any) -> bytes:
    """Every command answers with a chart (as `report pipeline` does once there is data);
    returns the image bytes to look for in the stand-in's uploads."""

    async def chart(actor, text, address=None):  # type: ignore[no-untyped-def]
        return Handled(Reply("Pipeline by stage", image=CHART_PNG, image_title="Pipeline"))

    monkeypatch.setattr(rapport.dispatcher, "handle_text", chart)
    return CHART_PNG


class FakeTelegram:
    """A recording customer channel registered as "telegram"; `refuse` makes it fail."""

    name = "telegram"
    traits = standard_traits("telegram")

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []
        self.refuse: str | None = None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, message: OutgoingMessage) -> SendResult:
        if self.refuse:
            raise DeliveryError(self.refuse, permanent=True)
        self.sent.append(message)
        return SendResult(delivered=True, external_id=f"tg-{len(self.sent)}")


class SlackWorld:
    def __init__(
        self, standin: SlackStandin, rapport: RapportApp, service: Service, *, fake_telegram: bool
    ) -> None:
        self.standin = standin
        self.rapport = rapport
        self.service = service
        self.telegram = FakeTelegram()
        if fake_telegram:
            rapport.services.hub.register(self.telegram)
        self.http = httpx.AsyncClient(timeout=10)
        self._ids = itertools.count(1)

    @classmethod
    @contextlib.asynccontextmanager
    async def running(
        cls,
        tmp_path: Path,
        *,
        process_before_response: bool = True,
        telegram_api: Any = None,
        **overrides: Any,
    ) -> AsyncIterator["SlackWorld"]:
        """`telegram_api`: a started Telegram Bot API stand-in to wire the real Telegram
        channel to (instead of the recording FakeTelegram)."""
        standin = await SlackStandin().start()
        standin.add_user(REP, "Alice Martin", "Europe/Paris")
        standin.add_user(ADMIN, "Root Admin", "UTC")
        values: dict[str, Any] = {
            "RAPPORT_DATA_DIR": str(tmp_path),
            "RAPPORT_DATABASE_URL": None,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_APP_TOKEN": None,
            "RAPPORT_SLACK_API_URL": standin.api_url,
            "SLACK_TEAM_ID": TEAM_ID,
            "RAPPORT_SLACK_ADMINS": ADMIN,
            "RAPPORT_SLACK_INBOX_CHANNEL": INBOX,
            "RAPPORT_SLACK_DEALS_CHANNEL": DEALS,
            "RAPPORT_HTTP_PORT": 0,
            "TELEGRAM_BOT_TOKEN": None,
        }
        if telegram_api is not None:
            values |= {"TELEGRAM_BOT_TOKEN": telegram_api.token,
                       "RAPPORT_TELEGRAM_API_URL": telegram_api.url}  # fmt: skip
        values.update(overrides)
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        rapport = RapportApp.build(settings, clock=ManualClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
        rapport.prepare_database()
        rapport.services.classifier = KeywordClassifier()
        components = [attach_slack(rapport, process_before_response=process_before_response)]
        if telegram_api is not None:
            from bot.runtime.telegram import attach_telegram

            components.append(
                attach_telegram(rapport, poll_timeout=1, backoff_initial=0.05, backoff_max=0.3)
            )
        service = Service(rapport, components=components)
        world = cls(standin, rapport, service, fake_telegram=telegram_api is None)
        try:
            await service.start()
            yield world
        finally:
            await world.http.aclose()
            await service.stop()
            rapport.close()
            await standin.stop()

    async def customer_writes(
        self, text: str, *, name: str = "Carol Customer", chat_id: str = "555", message_id: str = ""
    ) -> Received:
        """A customer's Telegram message arriving at the desk (as the Telegram channel would)."""
        self._messages = getattr(self, "_messages", 0) + 1
        message = IncomingMessage(
            Address("telegram", chat_id),
            sender_id=chat_id,
            sender_name=name,
            text=text,
            message_id=message_id or f"tg-in-{self._messages}",
        )
        return await self.rapport.desk.receive(message)

    @property
    def url(self) -> str:
        assert self.service.http is not None
        return f"http://127.0.0.1:{self.service.http.port}"

    # --- raw requests -------------------------------------------------------------------------

    async def post(
        self,
        body: bytes,
        content_type: str,
        *,
        headers: Mapping[str, str] | None = None,
        signature: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        sent = {"Content-Type": content_type, **(signature or signed_headers(body))}
        sent.update(headers or {})
        return await self.http.post(f"{self.url}/slack/events", content=body, headers=sent)

    async def form(self, fields: Mapping[str, str], **kwargs: Any) -> httpx.Response:
        return await self.post(
            urlencode(fields).encode(), "application/x-www-form-urlencoded", **kwargs
        )

    # --- what Slack sends -------------------------------------------------------------------------

    async def command(
        self,
        text: str,
        *,
        user: str = REP,
        team: str = TEAM_ID,
        channel: str = "C0SALES",
        key: str = "r1",
    ) -> httpx.Response:
        return await self.form(
            {
                "token": "legacy",
                "team_id": team,
                "team_domain": "rapport-test",
                "channel_id": channel,
                "channel_name": "sales",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/crm",
                "text": text,
                "response_url": self.standin.response_url(key),
                "trigger_id": f"trigger-{next(self._ids)}",
                "api_app_id": "A0RAPPORT",
            }
        )

    async def interact(self, payload: Mapping[str, Any], **kwargs: Any) -> httpx.Response:
        return await self.form({"payload": json.dumps(payload)}, **kwargs)

    def _base(self, kind: str, user: str, team: str) -> dict[str, Any]:
        return {
            "type": kind,
            "team": {"id": team, "domain": "rapport-test"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
            "api_app_id": "A0RAPPORT",
            "token": "legacy",
            "trigger_id": f"trigger-{next(self._ids)}",
        }

    async def click(
        self,
        action_id: str,
        value: str = "",
        *,
        user: str = REP,
        team: str = TEAM_ID,
        where: str = "message",
        selected: str | None = None,
        key: str = "r2",
        channel: str = "C0SALES",
    ) -> httpx.Response:
        """A button (or a select when `selected` is given) in a message, the home tab or a modal."""
        action: dict[str, Any] = {"action_id": action_id, "block_id": "b1", "action_ts": "1.2"}
        if selected is not None:
            action.update(type="static_select", selected_option={"value": selected})
        else:
            action.update(type="button", value=value)
        payload = self._base("block_actions", user, team) | {"actions": [action]}
        if where == "message":
            payload |= {
                "container": {"type": "message", "channel_id": channel, "message_ts": "1.1"},
                "channel": {"id": channel, "name": "sales"},
                "message": {"ts": "1.1", "text": "..."},
                "response_url": self.standin.response_url(key),
            }
        elif where == "home":
            payload |= {"container": {"type": "view", "view_id": "VHOME"},
                        "view": {"id": "VHOME", "type": "home", "hash": "h"}}  # fmt: skip
        else:
            payload |= {
                "container": {"type": "view", "view_id": "VMODAL"},
                "view": {"id": "VMODAL", "type": "modal", "hash": "h", "private_metadata": where},
            }
        return await self.interact(payload)

    async def submit(
        self,
        form: str,
        values: Mapping[str, str],
        *,
        meta: str = "{}",
        user: str = REP,
        selects: tuple[str, ...] = ("contact", "kind", "stage"),
    ) -> httpx.Response:
        """A modal submission; `selects` are the fields read as a selected option."""
        state: dict[str, Any] = {}
        for field, value in values.items():
            if field in selects:
                chosen = {"value": value} if value else None
                state[field] = {"value": {"type": "static_select", "selected_option": chosen}}
            else:
                state[field] = {"value": {"type": "plain_text_input", "value": value or None}}
        view = {
            "id": "VMODAL",
            "type": "modal",
            "callback_id": f"rapport:{form}",
            "private_metadata": meta,
            "state": {"values": state},
            "hash": "h",
        }
        return await self.interact(self._base("view_submission", user, TEAM_ID) | {"view": view})

    async def suggest(self, query: str, *, user: str = REP) -> httpx.Response:
        payload = self._base("block_suggestion", user, TEAM_ID) | {
            "action_id": "contact_search",
            "block_id": "contact",
            "value": query,
            "view": {"id": "VMODAL", "type": "modal", "callback_id": "rapport:log_activity"},
        }
        return await self.interact(payload)

    async def shortcut(self, text: str, *, user: str = REP, ts: str = "1772400000.000100"):  # type: ignore[no-untyped-def]
        payload = self._base("message_action", user, TEAM_ID) | {
            "callback_id": "log_to_crm",
            "channel": {"id": "C0SALES", "name": "sales"},
            "message": {"type": "message", "user": "U0BOB", "ts": ts, "text": text},
            "message_ts": ts,
            "response_url": self.standin.response_url("r3"),
        }
        return await self.interact(payload)

    def event_body(self, event: Mapping[str, Any], *, event_id: str, team: str = TEAM_ID) -> bytes:
        return json.dumps(
            {
                "token": "legacy",
                "team_id": team,
                "api_app_id": "A0RAPPORT",
                "event": dict(event),
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(time.time()),
                "authorizations": [{"team_id": team, "user_id": "UBOT", "is_bot": True}],
            }
        ).encode()

    async def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str,
        retry: int | None = None,
        team: str = TEAM_ID,
    ) -> httpx.Response:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(
            self.event_body(event, event_id=event_id, team=team),
            "application/json",
            headers=headers if retry is not None else None,
        )
