"""Staying connected: long polling and the webhook, both confirming an update only
once it was handled; start-up and call retries with backoff; no token in logs.

PTB's own Updater puts fetched updates on a queue and immediately asks for the
next batch with `offset = last + 1`, which confirms the batch to Telegram
before any handler ran: a crash (or a database outage) at that moment loses
the messages. Here each update is handled (`Application.process_update`, which
awaits the blocking handlers, and so the store) before the offset moves past
it, so anything not yet stored is delivered again after a restart and the
store's dedupe keeps it single.

A network error, a timeout, a 5xx, a 409 (webhook still set) or a 429 never
ends the loop: it logs once per outage, backs off exponentially, and resumes.
"""

import asyncio
import contextlib
import hmac
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application, BaseUpdateProcessor

logger = logging.getLogger(__name__)

Process = Callable[[Update], Awaitable[None]]


def retry_after_seconds(exc: RetryAfter) -> float:
    """RetryAfter's value without PTB's int/timedelta deprecation warning."""
    value = getattr(exc, "_retry_after", None)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value or 1)


class Backoff:
    """Exponential delays with a little jitter, reset by a success."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self.failures = 0

    def next(self) -> float:
        delay = min(self.maximum, self.initial * 2**self.failures)
        self.failures += 1
        return delay * random.uniform(0.9, 1.1)

    def reset(self) -> None:
        self.failures = 0


REDACTED_LOGGERS = ("httpx", "telegram.Bot", "telegram.ext.ExtBot")


class TokenRedactor(logging.Filter):
    """httpx logs every request URL at INFO, and the Bot API puts the token in the URL;
    PTB logs every call's parameters at DEBUG, setWebhook's secret_token included."""

    def __init__(self, token: str, *secrets: str) -> None:
        super().__init__()
        self.token = token
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message.replace(self.token, "<token>")
        for secret in self.secrets:
            redacted = redacted.replace(secret, "<secret>")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class ConfirmingProcessor(BaseUpdateProcessor):
    """One update at a time, telling whoever waits (a webhook request) when it is done.

    The webhook answers Telegram only after its update went through the
    handlers, so a crash before the store is a redelivery, not a loss.
    """

    def __init__(self) -> None:
        super().__init__(max_concurrent_updates=1)
        self._waiting: dict[int, list[asyncio.Future[None]]] = {}

    def expect(self, update_id: int) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(update_id, []).append(future)
        return future

    def forget(self, update_id: int, future: asyncio.Future[None]) -> None:
        waiting = self._waiting.get(update_id, [])
        if future in waiting:
            waiting.remove(future)
        if not waiting:
            self._waiting.pop(update_id, None)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await coroutine
        finally:
            if isinstance(update, Update):
                for future in self._waiting.pop(update.update_id, []):
                    if not future.done():
                        future.set_result(None)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


class WebhookEndpoint:
    """POST /telegram/webhook: checks the secret header, queues the update, and answers
    once it was handled (a timeout answers 503, so Telegram delivers it again)."""

    HEADER = "X-Telegram-Bot-Api-Secret-Token"

    def __init__(
        self,
        application: Application,
        processor: ConfirmingProcessor,
        *,
        secret: str,
        wait: float,
        ready: Callable[[], bool],
        held: Callable[[int], bool] | None = None,
    ) -> None:
        self.application = application
        self.held = held  # an update the handlers could not store: answered 503
        self.processor = processor
        self.secret = secret.encode()
        self.wait = wait
        self.ready = ready

    async def handle(self, request: Request) -> Response:
        given = request.headers.get(self.HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            logger.warning("telegram webhook refused: wrong secret client=%s", request.client)
            return Response(status_code=403)
        if not self.ready():
            return Response(status_code=503)  # Telegram delivers it again later
        try:
            data = await request.json()
        except ValueError:
            return Response(status_code=400)
        if not isinstance(data, dict) or "update_id" not in data:
            return Response(status_code=400)
        try:
            update = Update.de_json(data, self.application.bot)
        except (KeyError, TypeError, ValueError):
            return Response(status_code=400)
        done = self.processor.expect(update.update_id)
        await self.application.update_queue.put(update)
        try:
            async with asyncio.timeout(self.wait):
                await done
        except TimeoutError:
            logger.warning("telegram webhook update slow update_id=%s", update.update_id)
            return Response(status_code=503)  # Telegram retries; the store deduplicates
        finally:
            self.processor.forget(update.update_id, done)
        if self.held is not None and self.held(update.update_id):
            return Response(status_code=503)  # not stored: Telegram delivers it again
        return Response(status_code=200)


async def initialize(application: Application, backoff: Backoff, *, timeout: float) -> None:
    """getMe, retried while the API is unreachable; a refused token fails at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            await application.initialize()
            return
        except InvalidToken:
            raise RuntimeError(
                "Telegram refused TELEGRAM_BOT_TOKEN; check it with @BotFather."
            ) from None
        except TelegramError as exc:
            delay = backoff.next()
            if loop.time() + delay > deadline:
                raise RuntimeError("the Telegram Bot API could not be reached") from exc
            logger.warning(
                "telegram getMe failed error=%s retry_in=%.1fs", type(exc).__name__, delay
            )
            await asyncio.sleep(delay)


async def retrying(what: str, call: Callable[[], Awaitable[object]], backoff: Backoff) -> None:
    """Repeats a call (setWebhook, setMyCommands) until the API takes it."""
    while True:
        try:
            await call()
            return
        except TelegramError as exc:
            delay = backoff.next()
            logger.warning(
                "telegram %s failed error=%s retry_in=%.1fs", what, type(exc).__name__, delay
            )
            await asyncio.sleep(delay)


class Poller:
    def __init__(
        self,
        bot: Bot,
        process: Process,
        *,
        timeout: float = 25,
        backoff: Backoff | None = None,
        allowed_updates: list[str] | None = None,
        held: Callable[[int], bool] | None = None,
    ) -> None:
        self.bot = bot
        self.process = process
        self.held = held  # an update the handlers could not store: not confirmed
        self.timeout = timeout
        self.backoff = backoff or Backoff()
        self.allowed_updates = allowed_updates
        self.offset: int | None = None
        self._confirmed: int | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="telegram-poller")

    async def stop(self) -> None:
        """Finishes the update in hand, stops, and confirms what was handled."""
        if self._task is None:
            return
        self._stopping.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self.offset is not None and self.offset != self._confirmed:
            try:
                await self.bot.get_updates(
                    offset=self.offset, timeout=0, allowed_updates=self.allowed_updates
                )
            except TelegramError as exc:
                logger.warning(
                    "telegram final offset not confirmed offset=%s error=%s (updates will be "
                    "delivered again and deduplicated)",
                    self.offset,
                    type(exc).__name__,
                )

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _fetch(self) -> list[Update] | None:
        """One long poll, abandoned (unconfirmed) if stop is asked meanwhile."""
        fetch = asyncio.ensure_future(
            self.bot.get_updates(
                offset=self.offset,
                timeout=timedelta(seconds=self.timeout),
                allowed_updates=self.allowed_updates,
            )
        )
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({fetch, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not fetch.done():
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await fetch
            return None
        return list(fetch.result())

    async def _drop_webhook(self) -> None:
        """Polling and a webhook exclude each other (the API answers 409)."""
        while not self._stopping.is_set():
            try:
                await self.bot.delete_webhook(drop_pending_updates=False)
                return
            except TelegramError as exc:
                delay = self.backoff.next()
                logger.warning(
                    "telegram deleteWebhook failed error=%s retry_in=%.1fs",
                    type(exc).__name__,
                    delay,
                )
                await self._pause(delay)

    async def _run(self) -> None:
        await self._drop_webhook()
        self.backoff.reset()
        outage = False
        while not self._stopping.is_set():
            try:
                updates = await self._fetch()
            except RetryAfter as exc:
                await self._pause(retry_after_seconds(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - the loop must survive any outage
                delay = self.backoff.next()
                level = logging.WARNING if not outage else logging.DEBUG
                if isinstance(exc, InvalidToken | Conflict):
                    level = logging.ERROR
                logger.log(
                    level,
                    "telegram polling failed error=%s retry_in=%.1fs",
                    type(exc).__name__,
                    delay,
                )
                outage = True
                await self._pause(delay)
                continue
            if updates is None:
                break
            if outage:
                logger.info("telegram polling recovered")
                outage = False
            self.backoff.reset()
            self._confirmed = self.offset  # this fetch confirmed everything before `offset`
            await self._handle(updates)

    async def _handle(self, updates: list[Update]) -> None:
        for update in updates:
            if self._stopping.is_set():
                return  # not confirmed: delivered again next time, deduplicated
            try:
                await self.process(update)
            except Exception:  # noqa: BLE001 - one bad update must not stop polling
                logger.exception("telegram update crashed update_id=%s", update.update_id)
            if self.held is not None and self.held(update.update_id):
                return  # fetched again next time (or by the next process)
            self.offset = update.update_id + 1
