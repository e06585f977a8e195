"""Answers to a customer retried in the background after a transient failure.

PTB's AIORateLimiter retries only a 429, so a 5xx from the Bot API, or a
refused connection, while acknowledging a message used to lose the
acknowledgement. Only failures that prove the message was not delivered are
retried: Telegram answered with a server error, or no connection was made. A
read timeout, or a connection cut after the request was written, is left
alone: Telegram may have delivered it, and a second "Thanks, we got your
message" is worse than none. Permanent errors (blocked, bad request, chat
migrated) and a 429 outlasting the rate limiter keep the Sender's mapping.

The first attempt is made inline; the retries run in a background task (the
channel tracks and cancels it on stop), so the update is handled and
confirmed to Telegram without waiting out the backoff.
"""

import asyncio
import logging

import httpx
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut

from channels.telegram.send import Delivery, Sender

logger = logging.getLogger(__name__)

# httpx errors raised before a byte of the request left: nothing can have been delivered.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def worth_retrying(exc: TelegramError) -> bool:
    """True when Telegram failed the request with a 5xx or never received it."""
    if not isinstance(exc, NetworkError) or isinstance(exc, BadRequest):
        return False  # Forbidden, ChatMigrated, RetryAfter, InvalidToken, BadRequest
    cause = exc.__cause__
    if isinstance(cause, httpx.HTTPError):  # HTTPXRequest wraps transport failures
        return isinstance(cause, NOT_SENT)
    if isinstance(exc, TimedOut):
        return False
    # PTB raises a plain NetworkError for an HTTP status it has no class for (a 5xx),
    # chained to a TelegramError when the body was an HTML error page.
    return cause is None or isinstance(cause, TelegramError)


def retry_delays(retries: int, initial: float, maximum: float) -> list[float]:
    """Exponential, capped: (3, 1, 4) is 1 s, 2 s, 4 s."""
    return [min(maximum, initial * 2**attempt) for attempt in range(max(retries, 0))]


class ReplyRetrier:
    """Sends one answer, retrying it after a transient failure with the given delays."""

    def __init__(self, sender: Sender, delivery: Delivery, delays: list[float]) -> None:
        self.sender = sender
        self.delivery = delivery
        self.delays = delays

    async def send(self) -> bool:
        """The first attempt; True when it failed transiently and a retry is due."""
        return await self._attempt(1)

    async def retry(self) -> None:
        """Waits and tries again until sent, failed for good, or out of retries."""
        for attempt, delay in enumerate(self.delays, start=2):
            await asyncio.sleep(delay)
            if not await self._attempt(attempt):
                return

    async def _attempt(self, attempt: int) -> bool:
        chat_id = self.delivery.chat_id
        try:
            await self.delivery.run()
        except TelegramError as exc:
            if not worth_retrying(exc):
                error = await self.sender.failure(chat_id, exc)  # tells on_unreachable
                logger.warning("telegram reply not sent chat_id=%s error=%s", chat_id, error)
                return False
            if attempt > len(self.delays):
                logger.warning(
                    "telegram reply given up chat_id=%s error=%s attempts=%s",
                    chat_id,
                    type(exc).__name__,
                    attempt,
                )
                return False
            logger.warning(
                "telegram reply failed chat_id=%s error=%s attempt=%s retry_in=%.1fs",
                chat_id,
                type(exc).__name__,
                attempt,
                self.delays[attempt - 1],
            )
            return True
        if attempt > 1:
            logger.info("telegram reply sent on retry chat_id=%s attempt=%s", chat_id, attempt)
        return False
