"""Rapport's HTTP server (channels/http.py with the API mounted as `rapport run` does)
on 127.0.0.1 in a thread of its own, so blocking clients (schemathesis' requests) and
async ones can both call it. Stopped on exit; every wait is bounded."""

import asyncio
import threading
from types import TracebackType

from bot.app import RapportApp
from bot.runtime.api import attach_api
from channels.http import HttpServer, build_http_app


class ServedApi:
    def __init__(self, rapport: RapportApp) -> None:
        self.rapport = rapport
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: HttpServer | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _start(self) -> None:
        component = attach_api(self.rapport)

        async def health() -> str | None:
            return await asyncio.to_thread(self.rapport.store.health)

        self._server = HttpServer(
            build_http_app(health, [component.http]), host="127.0.0.1", port=0
        )
        await self._server.start()
        self.port = self._server.port

    def __enter__(self) -> "ServedApi":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=20)
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop).result(timeout=20)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
