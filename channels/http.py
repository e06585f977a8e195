"""One Starlette app, served by uvicorn, for every HTTP-facing channel.

Adapters contribute routes (`/telegram/webhook`, `/slack/events`) and start/stop
hooks run in the app's lifespan; `/healthz` answers 200 when the database is
reachable and passes a quick integrity check, and 503 (with the reason) when not.
The server is started and stopped by the runner inside Rapport's own event loop
(`Server.serve()`), never `uvicorn.run`.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

logger = logging.getLogger(__name__)

# --- request bodies over a limit are refused before they are read ----------------------
# Refuse request bodies over a limit before they are read (pure ASGI middleware).
#
# One unsigned 256 MB POST to ``/slack/events`` took the process to 1 GiB: the signature
# can only be checked over the whole body, so bolt read all of it first.  Slack's and
# Telegram's payloads are far smaller than 1 MB.  A declared ``Content-Length`` over the
# limit is answered 413 without reading a byte; a chunked body is counted as it arrives
# and cut off with 413 the moment it passes the limit.  One short warning line each.

MAX_BODY_BYTES = 1_000_000

Scope = dict[str, Any]
ASGIMessage = dict[str, Any]


class BodyTooLarge(Exception):
    pass


async def _refuse(send: Any, status: int = 413) -> None:
    body = b'{"error": "request body too large"}'
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    def __init__(self, app: Any, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                logger.warning("http request refused path=%s reason=bad content-length", path)
                await _refuse(send, 400)
                return
            if too_big:
                logger.warning("http request refused path=%s reason=body over %d bytes",
                               path, self.max_bytes)  # fmt: skip
                await _refuse(send)
                return
        seen = 0
        started = False

        async def counting_receive() -> ASGIMessage:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: ASGIMessage) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            logger.warning("http request refused path=%s reason=streamed body over %d bytes",
                           path, self.max_bytes)  # fmt: skip
            if not started:
                await _refuse(send)


HealthCheck = Callable[[], Awaitable[str | None]]  # None: healthy; else what is wrong
Hook = Callable[[], Awaitable[None]]


@dataclass
class HttpRoutes:
    """What an adapter adds to the shared server."""

    routes: list[BaseRoute] = field(default_factory=list)
    on_startup: list[Hook] = field(default_factory=list)
    on_shutdown: list[Hook] = field(default_factory=list)


def build_http_app(
    health: HealthCheck, parts: list[HttpRoutes], *, max_body: int = MAX_BODY_BYTES
) -> Starlette:
    """The app; bodies over ``max_body`` bytes are refused unread (channels.body_limit)."""

    async def healthz(_request: Request) -> JSONResponse:
        problem = await health()
        body: dict[str, object] = {
            "status": "ok" if problem is None else "unavailable",
            "database": problem is None,
        }
        if problem is not None:
            body["problem"] = problem
        return JSONResponse(body, status_code=200 if problem is None else 503)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        for part in parts:
            for hook in part.on_startup:
                await hook()
        try:
            yield
        finally:
            for part in reversed(parts):
                for hook in reversed(part.on_shutdown):
                    try:
                        await hook()
                    except Exception:  # noqa: BLE001 - keep shutting the others down
                        logger.exception("http shutdown hook failed")

    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"])]
    for part in parts:
        routes.extend(part.routes)
    return Starlette(
        routes=routes, lifespan=lifespan, middleware=[Middleware(BodyLimit, max_bytes=max_body)]
    )


class HttpServer:
    """uvicorn inside our loop: `await start()` returns once it is listening."""

    def __init__(self, app: Starlette, *, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="on", access_log=False
        )
        self.server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 10.0) -> None:
        self._task = asyncio.create_task(self.server.serve())
        async with asyncio.timeout(timeout):
            while not self.server.started:
                if self._task.done():
                    self._task.result()  # raises the start-up error (e.g. port in use)
                    raise RuntimeError("HTTP server stopped during start-up")
                await asyncio.sleep(0.02)

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0 in tests)."""
        for server in self.server.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        raise RuntimeError("HTTP server is not listening")

    async def stop(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
