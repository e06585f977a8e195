"""A Telegram Bot API stand-in: a real HTTP server on 127.0.0.1 (port 0) for e2e tests.

It speaks the wire protocol python-telegram-bot uses (`POST /bot<token>/<method>`,
form-encoded or multipart, non-string values JSON-encoded) and keeps the state a
test needs: a queue of updates served by a long-polling getUpdates that honours
`offset` (confirmed updates are dropped), the messages the bot sent, the webhook.
Every call is recorded. Failures are programmable per method: 429 with
`parameters.retry_after`, 403 "bot was blocked by the user" (or a blocked chat),
500, a dropped connection, a late answer (`slow`: the call takes effect, the
answer comes after the client's read timeout), and `go_away()` / `come_back()`
which really close and reopen the listening socket on the same port.
"""

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.standins.polling import wait

JSON_KEYS = {"reply_markup", "allowed_updates", "entities", "commands", "link_preview_options"}
INT_KEYS = {"chat_id", "offset", "limit", "timeout", "message_id", "message_thread_id"}
BOT_USER = {
    "id": 123,
    "is_bot": True,
    "first_name": "Rapport",
    "username": "rapport_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None
    drop: bool = False  # close the connection without an answer


class ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _decode(key: str, value: str) -> Any:
    if key in JSON_KEYS:
        return json.loads(value)
    if key in INT_KEYS:
        with contextlib.suppress(ValueError):
            return int(value)
    return value


class TelegramStandIn:
    def __init__(self, token: str = "123:TEST") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.pending: list[dict[str, Any]] = []
        self.offsets: list[int | None] = []
        self.blocked: set[int] = set()
        self.webhook: dict[str, Any] | None = None
        self.documents: list[Call] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.port = 0
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._delays: dict[str, deque[float]] = defaultdict(deque)
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._changed: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None

    # --- server lifecycle -----------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> "TelegramStandIn":
        self._changed = asyncio.Event()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(
            app, shutdown_timeout=0.2, handler_cancellation=True, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def go_away(self) -> None:
        """The API disappears: connections are cut and the port stops listening."""
        await self.stop()

    async def come_back(self) -> None:
        await self.start()

    # --- programming failures -------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int = 500,
        *,
        times: int = 1,
        description: str | None = None,
        retry_after: int | None = None,
        drop: bool = False,
    ) -> None:
        text = description or {
            429: f"Too Many Requests: retry after {retry_after}",
            403: "Forbidden: bot was blocked by the user",
            400: "Bad Request: chat not found",
        }.get(status, "Internal Server Error")
        for _ in range(times):
            self._failures[method].append(Failure(status, text, retry_after, drop))

    def slow(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The call succeeds (a message is really sent) but its answer comes `seconds` late."""
        self._delays[method].extend([seconds] * times)

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: every send to the chat is a 403 from now on."""
        self.blocked.add(chat_id)

    # --- updates a test pushes --------------------------------------------------------

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queues an update (keeping its update_id if it has one: a re-delivery)."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self.pending.append(update)
        self._notify()
        return update

    def user(self, user_id: int = 1001, first_name: str = "Jane", last_name: str = "Doe") -> dict:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "last_name": last_name}

    def message(
        self,
        chat_id: int,
        *,
        text: str | None = None,
        user: dict[str, Any] | None = None,
        chat_type: str = "private",
        **extra: Any,
    ) -> dict[str, Any]:
        """A new message update from a user (a private chat unless `chat_type` says)."""
        sender = user or self.user(chat_id if chat_type == "private" else 1001)
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = sender["first_name"]
        else:
            chat["title"] = "Customers group"
        body: dict[str, Any] = {
            "message_id": next(self._message_ids[chat_id]),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            **extra,
        }
        if text is not None:
            body["text"] = text
            if text.startswith("/"):
                length = len(text.split()[0])
                body["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.push({"message": body})

    def edit(self, update: dict[str, Any], text: str) -> dict[str, Any]:
        """An edited_message update for a message pushed earlier."""
        body = dict(update["message"], text=text, edit_date=int(time.time()))
        return self.push({"edited_message": body})

    def press(self, chat_id: int, sent: dict[str, Any], data: str) -> dict[str, Any]:
        """The user presses an inline button on a message the bot sent."""
        user = self.user(chat_id)
        return self.push(
            {
                "callback_query": {
                    "id": f"cb{next(self._update_ids)}",
                    "from": user,
                    "chat_instance": f"ci{chat_id}",
                    "data": data,
                    "message": sent,
                }
            }
        )

    # --- what the bot did -------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent successfully (sendMessage/sendDocument/sendPhoto)."""
        return [
            m
            for (chat, _), m in sorted(self.messages.items())
            if m.get("from", {}).get("is_bot") and (chat_id is None or chat == chat_id)
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [m["text"] for m in self.sent(chat_id) if "text" in m]

    async def wait_for(self, check: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Polls `check` until it returns something truthy (bounded by `timeout`)."""
        return await wait(check, timeout, interval=0.01)

    def last_confirmed(self) -> int:
        """The highest update id the bot confirmed (it asked for an offset past it)."""
        return max([o or 0 for o in self.offsets], default=0) - 1

    async def wait_for_texts(self, chat_id: int, count: int, timeout: float = 5.0) -> list[str]:
        await self.wait_for(lambda: len(self.texts(chat_id)) >= count, timeout)
        return self.texts(chat_id)

    # --- the HTTP side -------------------------------------------------------------------

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()

    async def _read(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            params = await request.json()
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = value.file.read()
                params[key] = value.filename
            else:
                params[key] = _decode(key, str(value))
        return params, files

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params, files = await self._read(request)
        self.calls.append(Call(method, params, files))
        if self._failures[method]:
            failure = self._failures[method].popleft()
            if failure.drop:
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            return self._error(failure.status, failure.description, failure.retry_after)
        api = getattr(self, f"_api_{method}", None)
        if api is None:
            return self._error(404, "Not Found: method not found")
        try:
            result = await api(params, files)
        except ApiError as exc:
            return self._error(exc.status, exc.description)
        if self._delays[method]:
            await asyncio.sleep(self._delays[method].popleft())
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    # --- Bot API methods ------------------------------------------------------------------

    async def _api_getMe(self, _params: dict, _files: dict) -> dict:  # noqa: N802
        return BOT_USER

    async def _api_getUpdates(self, params: dict, _files: dict) -> list:  # noqa: N802
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = params.get("offset")
        self.offsets.append(offset)
        if offset:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        assert self._changed is not None
        while not self.pending and time.monotonic() < deadline:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
        return self.pending[:limit]

    def _bot_message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        message = {
            "message_id": next(self._message_ids[chat_id]),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": BOT_USER,
            **content,
        }
        self.messages[(chat_id, message["message_id"])] = message
        return self._as_returned(message)

    @staticmethod
    def _as_returned(message: dict[str, Any]) -> dict[str, Any]:
        """Like Telegram: a sent message carries its markup back only when it is inline."""
        markup = message.get("reply_markup") or {}
        if "inline_keyboard" in markup:
            return dict(message)
        return {k: v for k, v in message.items() if k != "reply_markup"}

    async def _api_sendMessage(self, params: dict, _files: dict) -> dict:  # noqa: N802
        text = params.get("text") or ""
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        extra = {"reply_markup": params["reply_markup"]} if "reply_markup" in params else {}
        return self._bot_message(int(params["chat_id"]), text=text, **extra)

    async def _api_sendDocument(self, params: dict, files: dict) -> dict:  # noqa: N802
        content = files.get("document", b"")
        document = {
            "file_id": f"doc{len(self.documents) + 1}",
            "file_unique_id": f"u{len(self.documents) + 1}",
            "file_name": params.get("document"),
            "file_size": len(content),
        }
        message = self._bot_message(
            int(params["chat_id"]), document=document, caption=params.get("caption", "")
        )
        self.documents.append(self.calls[-1])
        return message

    async def _api_sendPhoto(self, params: dict, files: dict) -> dict:  # noqa: N802
        size = len(files.get("photo", b""))
        photo = [
            {"file_id": "p1", "file_unique_id": "p1", "width": 1, "height": 1, "file_size": size}
        ]
        return self._bot_message(int(params["chat_id"]), photo=photo)

    async def _api_editMessageText(self, params: dict, _files: dict) -> dict:  # noqa: N802
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to edit not found")
        message = self.messages[key]
        message["text"] = params["text"]
        message["edit_date"] = int(time.time())
        message.pop("reply_markup", None)
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        return self._as_returned(message)

    async def _api_answerCallbackQuery(self, _params: dict, _files: dict) -> bool:  # noqa: N802
        return True

    async def _api_setWebhook(self, params: dict, _files: dict) -> bool:  # noqa: N802
        self.webhook = {"url": params.get("url"), "secret_token": params.get("secret_token")}
        return True

    async def _api_deleteWebhook(self, _params: dict, _files: dict) -> bool:  # noqa: N802
        self.webhook = None
        return True

    async def _api_setMyCommands(self, _params: dict, _files: dict) -> bool:  # noqa: N802
        return True
