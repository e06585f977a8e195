"""The Telegram channel: a python-telegram-bot Application handed Rapport's callbacks.

It imports only the neutral types and the SDK. Updates become IncomingMessages
given to `on_message` (texts, files, places, edits, a shared phone number),
`on_command` (/start, /help...) and `on_action` (inline buttons, each query
answered); their answers are rendered as text plus a keyboard. `send()` is what
the hub calls for rep replies and follow-ups (channels/telegram/send.py).

Never losing an update: handlers are blocking (PTB's default), so
`Application.process_update` returns only once `on_message` has stored the
message. Long polling calls it directly and moves the offset past an update
only afterwards (PTB's Updater would confirm on its next fetch, before any
handler ran, hence `.updater(None)`); the webhook queues the update on
`update_queue` and answers Telegram when a one-slot update processor (so also
one at a time, like `concurrent_updates(False)`) has finished it. A failing
store is retried before the customer gets an apology; nobody sees a traceback;
failures are logged once with chat and update ids, never with message text
above DEBUG or the token. An answer lost to a 5xx or a refused connection is
sent again in the background (channels/telegram/retry.py).
"""

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.routing import Route
from telegram import BotCommand, Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationHandlerStop,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from channels.base import (
    Address,
    ChannelTraits,
    CustomerCallbacks,
    DeliveryError,
    IncomingMessage,
    OnMessage,
    OutgoingMessage,
    Reply,
    SendLimit,
    SendResult,
    Unavailable,
)
from channels.http import HttpRoutes
from channels.telegram.connection import (
    REDACTED_LOGGERS,
    Backoff,
    ConfirmingProcessor,
    Poller,
    TokenRedactor,
    WebhookEndpoint,
    initialize,
    retrying,
)
from channels.telegram.render import CHANNEL, command_of, incoming_from, parse_callback_data
from channels.telegram.retry import ReplyRetrier, retry_delays
from channels.telegram.send import OnUnreachable, Sender

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
APOLOGY = "Sorry, something went wrong on our side. Please try again in a moment."
GROUP_TYPES = {"group", "supergroup"}

OnCommand = Callable[[str, str, IncomingMessage], Awaitable[Reply | None]]
OnAction = Callable[[str, str, IncomingMessage], Awaitable[Reply | None]]
OnGroup = Callable[[Address], Awaitable[Reply | None]]


@dataclass
class TelegramCallbacks:
    """Callbacks as plain functions (tests hand the channel these); Rapport itself hands it
    the channel-neutral bot.customer.callbacks, which implement channels.base.CustomerCallbacks.
    Either way the channel never imports the bot or the CRM."""

    on_message: OnMessage
    on_command: OnCommand
    on_action: OnAction
    commands: tuple[tuple[str, str], ...] = ()  # (name, description) for the menu
    on_group: OnGroup | None = None  # a group wrote while groups are not allowed
    on_unreachable: OnUnreachable | None = None  # (chat_id, reason) after a permanent failure


@dataclass(frozen=True)
class TelegramConfig:
    token: str = field(repr=False)
    api_url: str | None = None  # e.g. a local Bot API server; default api.telegram.org
    webhook_url: str | None = None  # set: webhook mode; unset: long polling
    webhook_secret: str | None = field(default=None, repr=False)  # unset: random per process
    webhook_path: str = "/telegram/webhook"
    allow_groups: bool = False
    rate_per_second: float = 30.0
    poll_timeout: float = 25.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    store_attempts: int = 3
    # A message whose store keeps failing (not "unavailable": a bug, a constraint, a corrupt
    # page) is left unconfirmed so Telegram delivers it again; after this many deliveries
    # in this process it is confirmed with an apology, so one bad update cannot hold back
    # every later one for the 24 hours Telegram keeps it.
    redeliveries: int = 5
    reply_retries: int = 3  # an answer to the customer after a 5xx or a refused connection
    reply_retry_initial: float = 1.0  # then doubling: 1 s, 2 s, 4 s
    reply_retry_max: float = 4.0
    startup_timeout: float = 60.0
    webhook_wait: float = 45.0  # answer Telegram within its ~60 s, after the update is handled
    phone_action: str = "share_phone"  # a Reply action with this id asks for the phone


def _ids(update: object) -> tuple[int | None, int | None]:
    if isinstance(update, Update):
        chat = update.effective_chat
        return update.update_id, chat.id if chat else None
    return None, None


def telegram_traits(rate_per_second: float = 30.0) -> ChannelTraits:
    """About 30 messages a second overall (configurable) and one a second per chat."""
    return ChannelTraits(
        customer_rank=0,
        limits=(SendLimit(rate_per_second), SendLimit(1.0, per_chat=True)),
        shows_images=True,
        sends_files=True,
        confirms_delivery=True,
        private_chat_is_sender=True,
    )


class TelegramChannel:
    name = CHANNEL

    def __init__(
        self, config: TelegramConfig, callbacks: "TelegramCallbacks | CustomerCallbacks"
    ) -> None:
        self.config = config
        self.callbacks = callbacks
        self.traits = telegram_traits(config.rate_per_second)
        self._closing = asyncio.Event()
        self._held: set[int] = set()  # update ids not stored: left unconfirmed
        self._failed: dict[int, int] = {}  # update id -> deliveries whose store failed
        self.webhook_secret = config.webhook_secret or secrets.token_urlsafe(32)
        self.processor = ConfirmingProcessor()
        self._redactor = TokenRedactor(config.token, self.webhook_secret)
        for name in REDACTED_LOGGERS:  # PTB logs the API URL (token inside) while building
            logging.getLogger(name).addFilter(self._redactor)
        self.application = self._build()
        self.sender = Sender(
            self.application.bot,
            phone_action=config.phone_action,
            on_unreachable=callbacks.on_unreachable,
        )
        self.poller: Poller | None = None
        self._initialized = False
        self._ready = False
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def webhook_mode(self) -> bool:
        return bool(self.config.webhook_url)

    def _build(self) -> Application:
        builder = (
            Application.builder()
            .token(self.config.token)
            .updater(None)
            .concurrent_updates(self.processor)
            .rate_limiter(
                AIORateLimiter(
                    overall_max_rate=self.config.rate_per_second,
                    overall_time_period=1,
                    max_retries=3,
                )
            )
        )
        if self.config.api_url:
            base = self.config.api_url.rstrip("/")
            builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
        application = builder.build()
        names = [name for name, _ in self.callbacks.commands]
        message = filters.UpdateType.MESSAGE
        application.add_handler(TypeHandler(Update, self._gate), group=-1)
        if names:
            application.add_handler(CommandHandler(names, self._on_command, filters=message))
        application.add_handler(MessageHandler(message & filters.COMMAND, self._on_command))
        edited, content = filters.UpdateType.EDITED_MESSAGE, message & ~filters.StatusUpdate.ALL
        application.add_handler(MessageHandler(edited, self._on_edit))
        application.add_handler(MessageHandler(content, self._on_message))
        application.add_handler(CallbackQueryHandler(self._on_callback))
        application.add_error_handler(self._on_error)
        return application

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self._closing.clear()
        self._held.clear()
        for name in REDACTED_LOGGERS:
            logging.getLogger(name).addFilter(self._redactor)
        backoff = Backoff(self.config.backoff_initial, self.config.backoff_max)
        await initialize(self.application, backoff, timeout=self.config.startup_timeout)
        self._initialized = True
        await self.application.start()
        self._ready = True
        self._background(self._set_commands())
        if self.webhook_mode:
            self._background(self._set_webhook())
        else:
            self.poller = Poller(
                self.application.bot,
                self.application.process_update,
                timeout=self.config.poll_timeout,
                backoff=Backoff(self.config.backoff_initial, self.config.backoff_max),
                allowed_updates=ALLOWED_UPDATES,
                held=self._held.__contains__,
            )
            self.poller.start()
        logger.info(
            "telegram started mode=%s bot=%s",
            "webhook" if self.webhook_mode else "polling",
            self.application.bot.username,
        )

    def _background(self, job: Awaitable[None]) -> None:
        task = asyncio.ensure_future(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _retrying(self, what: str, call: Callable[[], Awaitable[object]]) -> Awaitable[None]:
        return retrying(what, call, Backoff(self.config.backoff_initial, self.config.backoff_max))

    async def _set_webhook(self) -> None:
        bot = self.application.bot
        await self._retrying(
            "setWebhook",
            lambda: bot.set_webhook(
                url=str(self.config.webhook_url),
                secret_token=self.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            ),
        )

    async def _set_commands(self) -> None:
        if self.callbacks.commands:
            menu = [BotCommand(name, text) for name, text in self.callbacks.commands]
            await self._retrying(
                "setMyCommands", lambda: self.application.bot.set_my_commands(menu)
            )

    async def stop(self) -> None:
        """Stops polling (confirming what was handled), drains the queue, closes HTTP."""
        self._ready = False
        self._closing.set()  # a message waiting for the store is left unconfirmed
        if self.poller is not None:
            await self.poller.stop()
            self.poller = None
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.application.running:
            await self.application.stop()
        if self._initialized:
            await self.application.shutdown()
            self._initialized = False
        for name in REDACTED_LOGGERS:
            logging.getLogger(name).removeFilter(self._redactor)

    # --- webhook ---------------------------------------------------------------------

    def http_routes(self) -> HttpRoutes | None:
        if not self.webhook_mode:
            return None
        endpoint = WebhookEndpoint(
            self.application,
            self.processor,
            secret=self.webhook_secret,
            wait=self.config.webhook_wait,
            ready=lambda: self._ready,
            held=self._held.__contains__,
        )
        route = Route(self.config.webhook_path, endpoint.handle, methods=["POST"])
        return HttpRoutes(routes=[route])

    # --- incoming ----------------------------------------------------------------------

    async def _gate(self, update: Update, _context: CallbackContext) -> None:
        """Channel posts and other bots are dropped; groups get one notice unless allowed."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None:
            return
        if chat.type == "channel" or (user is not None and user.is_bot):
            raise ApplicationHandlerStop
        if chat.type in GROUP_TYPES and not self.config.allow_groups:
            if update.message is not None and self.callbacks.on_group is not None:
                address = Address(CHANNEL, str(chat.id))
                reply = await self._guarded(update, "group", self.callbacks.on_group(address))
                if reply is not None:
                    await self._reply(address, reply)
            raise ApplicationHandlerStop

    async def _on_message(self, update: Update, _context: CallbackContext) -> None:
        message = update.message
        incoming = incoming_from(message) if message is not None else None
        if incoming is None:
            return
        reply = await self._store(update, incoming)
        if reply is not None:
            await self._reply(incoming.address, reply, remove_keyboard=incoming.phone is not None)

    async def _on_edit(self, update: Update, _context: CallbackContext) -> None:
        message = update.edited_message
        incoming = incoming_from(message, edited=True) if message is not None else None
        if incoming is not None:
            reply = await self._store(update, incoming)
            if reply is not None:
                await self._reply(incoming.address, reply)

    async def _store(self, update: Update, incoming: IncomingMessage) -> Reply | None:
        """Hands the message to Rapport, retrying a failing store before giving up.

        The update is not confirmed while this runs, so a crash here means a
        redelivery, never a loss; only after the last attempt does the customer
        get an apology (and the failure is logged with its traceback, once).
        """
        backoff = Backoff(self.config.backoff_initial, self.config.backoff_max)
        attempt, waited = 0, False
        self._held.discard(update.update_id)  # delivered again: try it afresh
        while attempt < self.config.store_attempts:
            attempt += 1
            try:
                reply = await self.callbacks.on_message(incoming)
                if waited:
                    logger.info("telegram message stored after a store outage update_id=%s",
                                _ids(update)[0])  # fmt: skip
                self._failed.pop(update.update_id, None)
                return reply
            except Unavailable as exc:  # the store is down: hold the update, no apology
                update_id, chat_id = _ids(update)
                if not waited:
                    logger.warning(
                        "telegram message waits for the store update_id=%s chat_id=%s error=%s",
                        update_id,
                        chat_id,
                        exc,
                    )
                waited, attempt = True, attempt - 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), timeout=backoff.next())
                if self._closing.is_set():
                    self._held.add(update.update_id)
                    return None
            except Exception as exc:  # noqa: BLE001 - the boundary: retry, then apologise
                update_id, chat_id = _ids(update)
                if attempt == self.config.store_attempts:
                    return self._not_stored(update, chat_id, exc)
                logger.warning(
                    "telegram message store failed update_id=%s chat_id=%s attempt=%s error=%s",
                    update_id,
                    chat_id,
                    attempt,
                    type(exc).__name__,
                )
                await asyncio.sleep(backoff.next())
        return None

    def _not_stored(self, update: Update, chat_id: object, exc: Exception) -> Reply | None:
        """Every try of this delivery failed: leave the update unconfirmed (Telegram
        delivers it again, the store's dedupe keeps it single), no apology; after
        `redeliveries` deliveries, confirm it with the apology."""
        update_id = update.update_id
        deliveries = self._failed.get(update_id, 0) + 1
        if deliveries >= self.config.redeliveries:
            self._failed.pop(update_id, None)
            logger.error(
                "telegram message not stored, given up update_id=%s chat_id=%s deliveries=%s",
                update_id,
                chat_id,
                deliveries,
                exc_info=exc,
            )
            return Reply(APOLOGY, ok=False)
        self._failed[update_id] = deliveries
        self._held.add(update_id)
        logger.warning(
            "telegram message not stored, left unconfirmed update_id=%s chat_id=%s "
            "delivery=%s error=%s",
            update_id,
            chat_id,
            deliveries,
            type(exc).__name__,
        )
        return None

    async def _on_command(self, update: Update, _context: CallbackContext) -> None:
        message = update.message
        incoming = incoming_from(message) if message is not None else None
        if message is None or incoming is None:
            return
        name, args = command_of(message)
        addressed = (message.text or "").split(maxsplit=1)[0].partition("@")[2].lower()
        if addressed and addressed != (self.application.bot.username or "").lower():
            return  # `/start@another_bot` in a group is not for us
        reply = await self._guarded(
            update, f"command {name}", self.callbacks.on_command(name, args, incoming)
        )
        if reply is not None:
            await self._reply(incoming.address, reply)

    async def _on_callback(self, update: Update, _context: CallbackContext) -> None:
        query = update.callback_query
        chat = update.effective_chat
        if query is None or chat is None:
            return
        with contextlib.suppress(TelegramError):
            await query.answer()  # stops the button's spinner whatever happens next
        action_id, value = parse_callback_data(query.data)
        incoming = IncomingMessage(
            address=Address(CHANNEL, str(chat.id)),
            sender_id=str(query.from_user.id),
            sender_name=query.from_user.full_name,
            text=query.data or "",
            message_id=f"callback:{query.id}",
        )
        reply = await self._guarded(
            update, f"action {action_id}", self.callbacks.on_action(action_id, value, incoming)
        )
        if reply is None:
            return
        if isinstance(query.message, Message) and await self.sender.edit(query.message, reply):
            return
        await self._reply(incoming.address, reply)

    async def _guarded(
        self, update: Update, what: str, job: Awaitable[Reply | None]
    ) -> Reply | None:
        """A command, a button or a group notice. A failure leaves the update unconfirmed
        like a message's (each command's re-delivery key is stored with what it did, so
        running it again is safe); after `redeliveries` deliveries, the apology."""
        self._held.discard(update.update_id)
        try:
            reply = await job
        except Exception as exc:  # noqa: BLE001 - the boundary: hold, then apologise
            _update_id, chat_id = _ids(update)
            logger.warning("telegram %s failed update_id=%s", what, update.update_id)
            return self._not_stored(update, chat_id, exc)
        self._failed.pop(update.update_id, None)
        return reply

    async def _on_error(self, update: object, context: CallbackContext) -> None:
        """Last line: an exception that escaped a handler. Logged once, customer apologised to."""
        update_id, chat_id = _ids(update)
        logger.error(
            "telegram update failed update_id=%s chat_id=%s",
            update_id,
            chat_id,
            exc_info=context.error,
        )
        if chat_id is not None:
            await self._reply(Address(CHANNEL, str(chat_id)), Reply(APOLOGY, ok=False))

    # --- outgoing ----------------------------------------------------------------------

    async def _reply(
        self, address: Address, reply: Reply, *, remove_keyboard: bool = False
    ) -> None:
        """An answer to something the customer did; a failure is logged, never raised.

        A 5xx or a refused connection is retried in the background, so the
        update is confirmed without waiting out the backoff (telegram_retry.py).
        """
        config = self.config
        retrier = ReplyRetrier(
            self.sender,
            self.sender.prepare(address, reply, remove_keyboard=remove_keyboard),
            retry_delays(config.reply_retries, config.reply_retry_initial, config.reply_retry_max),
        )
        if await retrier.send():
            self._background(retrier.retry())

    async def send(self, message: OutgoingMessage) -> SendResult:
        if not self._ready:
            raise DeliveryError("the Telegram channel is not connected", permanent=False)
        sent = await self.sender.deliver(message.address, message.reply)
        external = f"{message.address.chat_id}:{sent.message_id}" if sent else None
        return SendResult(delivered=True, external_id=external)

    async def send_document(
        self, address: Address, *, filename: str, content: bytes, caption: str | None = None
    ) -> SendResult:
        """A file (the customer's /mydata export); raises DeliveryError like `send`."""
        return await self.sender.document(
            address, filename=filename, content=content, caption=caption
        )
