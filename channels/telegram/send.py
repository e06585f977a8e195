"""Sending to Telegram: a neutral Reply out, Telegram's errors mapped to DeliveryError.

Every call goes through the bot's AIORateLimiter (configured by the adapter),
which spaces requests and retries a 429 after its `retry_after`; what is left
after the retries becomes a DeliveryError the hub turns into a SendResult:
blocked or vanished chats are permanent (and `on_unreachable` is told, so the
contact is marked unreachable), network trouble is temporary. Answers to
something the customer did are also retried after a 5xx or a refused
connection (channels/telegram/retry.py), resuming a `Delivery` where it failed.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from channels.base import Address, DeliveryError, Reply, SendResult
from channels.telegram.connection import retry_after_seconds
from channels.telegram.render import CAPTION_LIMIT, phone_keyboard, render_reply

logger = logging.getLogger(__name__)

UNREACHABLE_HINTS = ("chat not found", "user is deactivated", "peer_id_invalid")

OnUnreachable = Callable[[str, str], Awaitable[None]]


def chat_ref(chat_id: str) -> int | str:
    """Telegram wants numeric chat ids as numbers (`@channelname` stays a string)."""
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


@dataclass
class Delivery:
    """A Reply's Bot API calls, remembering how far they got.

    A retry after a transient failure (channels/telegram/retry.py) resumes at
    the call that failed, so an image or a chunk Telegram already took is not
    sent twice.
    """

    chat_id: str
    calls: list[Callable[[], Awaitable[Message]]]
    done: int = 0
    first: Message | None = None

    async def run(self) -> Message | None:
        """Makes the calls not made yet; a failing one raises its TelegramError."""
        while self.done < len(self.calls):
            sent = await self.calls[self.done]()
            self.first = self.first or sent
            self.done += 1
        return self.first


class Sender:
    def __init__(
        self, bot: Bot, *, phone_action: str, on_unreachable: OnUnreachable | None = None
    ) -> None:
        self.bot = bot
        self.phone_action = phone_action
        self.on_unreachable = on_unreachable

    def prepare(self, address: Address, reply: Reply, *, remove_keyboard: bool = False) -> Delivery:
        """Renders a Reply into its Bot API calls: its image, then its text in chunks,
        the keyboard on the last one."""
        chat_id = chat_ref(address.chat_id)
        thread_id = address.thread_id
        thread = int(thread_id) if thread_id and thread_id.isdigit() else None
        private = isinstance(chat_id, int) and chat_id > 0
        rendered = render_reply(reply, phone_action=self.phone_action, private=private)
        markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
        markup = rendered.inline
        if rendered.phone_button is not None:
            markup = phone_keyboard(rendered.phone_button)
        elif markup is None and remove_keyboard:
            markup = ReplyKeyboardRemove()
        calls: list[Callable[[], Awaitable[Message]]] = []
        if reply.image is not None:
            calls.append(partial(
                self.bot.send_photo,
                chat_id=chat_id,
                photo=reply.image,
                caption=(reply.image_title or "")[:CAPTION_LIMIT] or None,
                message_thread_id=thread,
            ))  # fmt: skip
        for index, chunk in enumerate(rendered.chunks):
            last = index == len(rendered.chunks) - 1
            calls.append(partial(
                self.bot.send_message,
                chat_id=chat_id,
                text=chunk,
                reply_markup=markup if last else None,
                message_thread_id=thread,
            ))  # fmt: skip
        return Delivery(address.chat_id, calls)

    async def deliver(
        self, address: Address, reply: Reply, *, remove_keyboard: bool = False
    ) -> Message | None:
        """Sends a Reply; returns the first message sent (its id identifies the delivery)."""
        try:
            return await self.prepare(address, reply, remove_keyboard=remove_keyboard).run()
        except TelegramError as exc:
            raise await self.failure(address.chat_id, exc) from exc

    async def edit(self, message: Message, reply: Reply) -> bool:
        """Replaces a message's text and buttons; False when it cannot (the caller sends)."""
        rendered = render_reply(reply, phone_action=self.phone_action, private=False)
        if len(rendered.chunks) != 1:
            return False
        try:
            await self.bot.edit_message_text(
                rendered.chunks[0],
                chat_id=message.chat_id,
                message_id=message.message_id,
                reply_markup=rendered.inline,
            )
            return True
        except TelegramError as exc:
            logger.info("telegram edit failed chat_id=%s error=%s", message.chat_id, exc)
            return False

    async def document(
        self, address: Address, *, filename: str, content: bytes, caption: str | None = None
    ) -> SendResult:
        try:
            sent = await self.bot.send_document(
                chat_id=chat_ref(address.chat_id),
                document=content,
                filename=filename,
                caption=(caption or "")[:CAPTION_LIMIT] or None,
            )
        except TelegramError as exc:
            raise await self.failure(address.chat_id, exc) from exc
        return SendResult(delivered=True, external_id=f"{address.chat_id}:{sent.message_id}")

    async def failure(self, chat_id: str, exc: TelegramError) -> DeliveryError:
        """Maps Telegram's error to a DeliveryError, telling Rapport when a chat is gone."""
        text = exc.message
        unreachable = False
        if isinstance(exc, Forbidden):
            blocked = "blocked" in text.lower()
            reason = "the customer blocked the bot" if blocked else f"Telegram refused: {text}"
            error, unreachable = DeliveryError(reason, permanent=True), True
        elif isinstance(exc, RetryAfter):
            seconds = retry_after_seconds(exc)
            error = DeliveryError(
                f"Telegram rate limit, retry in {seconds:.0f}s", retry_after=seconds
            )
        elif isinstance(exc, ChatMigrated):
            error = DeliveryError("the group chat moved to a new id", permanent=True)
        elif isinstance(exc, BadRequest):
            unreachable = any(hint in text.lower() for hint in UNREACHABLE_HINTS)
            reason = "the chat no longer exists" if unreachable else f"Telegram refused: {text}"
            error = DeliveryError(reason, permanent=True)
        elif isinstance(exc, NetworkError):
            error = DeliveryError("Telegram could not be reached", permanent=False)
        else:
            error = DeliveryError(f"Telegram error: {type(exc).__name__}", permanent=False)
        logger.warning(
            "telegram send failed chat_id=%s error=%s permanent=%s",
            chat_id,
            type(exc).__name__,
            error.permanent,
        )
        if unreachable and self.on_unreachable is not None:
            try:
                await self.on_unreachable(chat_id, error.reason)
            except Exception:  # noqa: BLE001 - recording it must not hide the failure
                logger.exception("telegram on_unreachable failed chat_id=%s", chat_id)
        return error
