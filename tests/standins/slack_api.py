"""A Slack Web API stand-in: a real aiohttp server on 127.0.0.1, port 0.

It answers the methods Rapport uses (auth.test, chat.*, views.*, users.info,
conversations.open, the three steps of files_upload_v2, files.info and the private
download of a shared file, apps.connections.open),
takes response_url posts at `/respond/<key>`, and serves a Socket Mode
websocket at `/socket` (hello, then whatever envelopes a test sends; acks are
queued). Every call is recorded; errors and 429s can be scripted per method.
"""

import asyncio
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

TEAM_ID = "T0TEAM"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
DOMAIN = "rapport-test"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None


@dataclass
class Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _decode(value: Any) -> Any:
    """Form-encoded calls JSON-encode their lists and dicts; turn them back."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class SlackStandin:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []  # (key, body) posted to response_url
        self.uploads: dict[str, bytes] = {}
        self.files: dict[str, tuple[str, bytes]] = {}  # shared by users: id -> (name, bytes)
        self.downloads: list[str] = []  # Authorization header of each file download
        # The last version of every message posted through the API, by (channel, ts):
        # chat.update replaces it, conversations.replies lists a thread from it.
        self.posts: dict[tuple[str, str], dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.socket_acks: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.socket_ready = asyncio.Event()
        self._script: dict[str, list[Scripted]] = {}
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._ws: web.WebSocketResponse | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> "SlackStandin":
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files/{file_id}", self._download)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, key: str = "r1") -> str:
        return f"{self.url}/respond/{key}"

    # --- scripting and reading ----------------------------------------------------------

    def add_user(self, user_id: str, name: str, tz: str = "Europe/Paris") -> None:
        self.users[user_id] = {
            "id": user_id,
            "name": name.lower().replace(" ", "."),
            "real_name": name,
            "tz": tz,
            "profile": {"real_name": name, "display_name": name.split()[0]},
        }

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """The next `times` calls of `method` answer {"ok": false, "error": error}."""
        self._script.setdefault(method, []).extend(
            Scripted(200, {"ok": False, "error": error}) for _ in range(times)
        )

    def rate_limit(self, method: str, *, retry_after: int = 0, times: int = 1) -> None:
        self._script.setdefault(method, []).extend(
            Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})
            for _ in range(times)
        )

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def last(self, method: str) -> dict[str, Any]:
        calls = self.calls_to(method)
        assert calls, f"no {method} call; calls were {[c.method for c in self.calls]}"
        return calls[-1].args

    def responded(self, key: str = "r1") -> list[dict[str, Any]]:
        return [body for k, body in self.responses if k == key]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        async with asyncio.timeout(timeout):
            while len(self.calls_to(method)) < count:
                await asyncio.sleep(0.01)
        return self.calls_to(method)

    # --- Socket Mode ------------------------------------------------------------------------

    async def send_envelope(self, envelope: Mapping[str, Any], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            await self.socket_ready.wait()
        assert self._ws is not None
        await self._ws.send_str(json.dumps(envelope))

    async def next_ack(self, timeout: float = 5.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            return await self.socket_acks.get()

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._ws = ws
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        self.socket_ready.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                if "envelope_id" in data:
                    await self.socket_acks.put(data)
        return ws

    # --- HTTP handlers -----------------------------------------------------------------------

    async def _respond(self, request: web.Request) -> web.Response:
        self.responses.append((request.match_info["key"], await request.json()))
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text=f"OK - {len(self.uploads[request.match_info['file_id']])}")

    async def _download(self, request: web.Request) -> web.Response:
        """url_private_download: needs the bot token, as Slack's does."""
        self.downloads.append(request.headers.get("Authorization", ""))
        if not request.headers.get("Authorization", "").startswith("Bearer xoxb-"):
            return web.Response(status=403, text="not authorized")
        name_and_data = self.files.get(request.match_info["file_id"])
        if name_and_data is None:
            return web.Response(status=404)
        return web.Response(body=name_and_data[1], content_type="text/csv")

    def add_file(self, file_id: str, name: str, data: bytes) -> dict[str, Any]:
        """A file a user shared; returns the `files` entry of its file_share event."""
        self.files[file_id] = (name, data)
        return {"id": file_id, "name": name, "filetype": "csv", "size": len(data)}

    def _m_files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = str(args.get("file"))
        if file_id not in self.files:
            return {"ok": False, "error": "file_not_found"}
        name, data = self.files[file_id]
        return {"ok": True, "file": {"id": file_id, "name": name, "size": len(data),
                "url_private_download": f"{self.url}/files/{file_id}"}}  # fmt: skip

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = {k: _decode(v) for k, v in request.query.items()}
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                args.update({k: _decode(v) for k, v in (await request.json()).items()})
            else:
                args.update({k: _decode(v) for k, v in (await request.post()).items()})
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth else args.get("token")
        self.calls.append(Call(method, args, token))
        queue = self._script.get(method)
        if queue:
            scripted = queue.pop(0)
            return web.json_response(
                scripted.body, status=scripted.status, headers=scripted.headers
            )
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        body = handler(args) if handler else {"ok": True}
        return web.json_response(body)

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1_772_400_000 + n}.{n:06d}"

    @staticmethod
    def _channel_id(channel: str) -> str:
        if channel.startswith(("U", "W")):
            return "D" + channel[1:]
        return channel.lstrip("#")

    def _m_auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{DOMAIN}.slack.com/",
            "team": "Rapport Test",
            "user": "rapport",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = self._next_ts()
        channel = self._channel_id(str(args.get("channel")))
        message = {"text": args.get("text"), "ts": ts, "blocks": args.get("blocks")}
        self.posts[(channel, ts)] = {
            **message,
            "thread_ts": args.get("thread_ts") or ts,
            "bot_id": BOT_ID,
            "user": BOT_USER_ID,
        }
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def add_post(self, channel: str, ts: str, text: str, *, thread_ts: str, user: str) -> None:
        """A message a person wrote (e.g. a rep's answer in a thread)."""
        self.posts[(channel, ts)] = {"text": text, "ts": ts, "thread_ts": thread_ts,
                                     "user": user, "blocks": None}  # fmt: skip

    def _m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, thread = str(args.get("channel")), str(args.get("ts"))
        found = [dict(m) for (c, _), m in sorted(self.posts.items())
                 if c == channel and m.get("thread_ts") == thread]  # fmt: skip
        if not found:
            return {"ok": False, "error": "thread_not_found"}
        return {"ok": True, "messages": found, "has_more": False}

    def _m_chat_postEphemeral(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (str(args.get("channel")), str(args.get("ts")))
        if key in self.posts:
            if self.posts[key].get("bot_id") != BOT_ID:
                return {"ok": False, "error": "cant_update_message"}
            self.posts[key] = {**self.posts[key], "text": args.get("text"),
                               "blocks": args.get("blocks")}  # fmt: skip
        return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts"),
                "text": args.get("text")}  # fmt: skip

    def _m_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = str(args.get("message_ts", "")).replace(".", "")
        return {
            "ok": True,
            "channel": args.get("channel"),
            "permalink": f"https://{DOMAIN}.slack.com/archives/{args.get('channel')}/p{ts}",
        }

    def _view(self, args: dict[str, Any]) -> dict[str, Any]:
        view = dict(args.get("view") or {})
        view.update({"id": args.get("view_id") or f"V{next(self._ids):04d}", "hash": "h1"})
        return {"ok": True, "view": view}

    _m_views_open = _m_views_publish = _m_views_update = _m_views_push = _view

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user")))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": {"id": self._channel_id(str(args.get("users")))}}

    def _m_files_getUploadURLExternal(self, _args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ids):04d}"
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files") or []
        return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title")} for f in files]}

    def _m_apps_connections_open(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
