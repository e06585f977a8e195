"""One Starlette app, served by uvicorn, for every HTTP-facing channel.

Adapters contribute routes (`/telegram/webhook`, `/slack/events`) and start/stop
hooks run in the app's lifespan; `/healthz` answers 200 when the database is
reachable and 503 when it is not. The server is started and stopped by the
runner inside Rapport's own event loop (`Server.serve()`), never `uvicorn.run`.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[bool]]
Hook = Callable[[], Awaitable[None]]


@dataclass
class HttpRoutes:
    """What an adapter adds to the shared server."""

    routes: list[BaseRoute] = field(default_factory=list)
    on_startup: list[Hook] = field(default_factory=list)
    on_shutdown: list[Hook] = field(default_factory=list)


def build_http_app(health: HealthCheck, parts: list[HttpRoutes]) -> Starlette:
    async def healthz(_request: Request) -> JSONResponse:
        ok = await health()
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "database": ok},
            status_code=200 if ok else 503,
        )

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
    return Starlette(routes=routes, lifespan=lifespan)


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
