"""Neutral message types at the channel boundary, and the Channel protocol.

Handlers speak only these types; each adapter translates them to and from its
platform (Block Kit, inline keyboards, plain text). Nothing here imports a chat
SDK or the CRM.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class Unavailable(Exception):
    """A callback cannot do its work for now (the store is unreachable): the channel keeps
    the message unconfirmed and tries again, instead of apologising and dropping it."""


@dataclass(frozen=True)
class Address:
    """Where a message comes from or goes to: `(telegram, "12345")`, `(slack, "C01", ts)`."""

    channel: str
    chat_id: str
    thread_id: str | None = None


@dataclass(frozen=True)
class Attachment:
    kind: str  # photo, document, voice, location, sticker, video
    file_id: str | None = None
    size: int | None = None
    caption: str | None = None


@dataclass(frozen=True)
class IncomingMessage:
    address: Address
    sender_id: str
    sender_name: str
    text: str
    message_id: str | None = None
    sent_at: datetime | None = None
    attachment: Attachment | None = None
    phone: str | None = None  # a phone number the user shared with the platform
    edited: bool = False
    language_hint: str | None = None  # the language of the sender's app (Telegram's code)


@dataclass(frozen=True)
class Action:
    """A button (or a choice in a select when `options` is set) the person can press."""

    label: str
    action_id: str
    value: str = ""
    style: str | None = None  # "primary" | "danger" | None
    options: tuple[tuple[str, str], ...] = ()  # (label, value) pairs for a select


@dataclass(frozen=True)
class Card:
    """A titled block of fields: a contact card, a deal, a conversation."""

    title: str
    fields: tuple[tuple[str, str], ...] = ()
    subtitle: str | None = None
    footer: str | None = None


@dataclass(frozen=True)
class Reply:
    """What a handler answers: text always, cards and actions when they help.

    `public` asks the channel to show it to the team (e.g. a deal won) rather
    than only to the person who asked; `image` is a PNG (a chart) with its title.
    """

    text: str
    cards: tuple[Card, ...] = ()
    actions: tuple[Action, ...] = ()
    public: bool = False
    image: bytes | None = None
    image_title: str | None = None
    ok: bool = True


@dataclass(frozen=True)
class OutgoingMessage:
    address: Address
    reply: Reply
    kind: str = "message"  # "message", "reminder", "followup", "notice"
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    """What happened to a send. `permanent` failures (blocked, unknown chat) are not retried."""

    delivered: bool
    external_id: str | None = None
    error: str | None = None
    permanent: bool = False
    retry_after: float | None = None
    # The recipient's client reads it from the store (another terminal's shell): the
    # sender must have stored it; `delivered` then says whether that client is open now.
    queued: bool = False


class AccountRefused(Exception):
    """A chat account may not act as a team member (a guest, a deactivated or a bot
    account); the message says why, for the person."""


class DeliveryError(Exception):
    """A channel could not deliver; `permanent` says whether retrying can help."""

    def __init__(
        self, reason: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


OnMessage = Callable[[IncomingMessage], Awaitable[Reply | None]]


@dataclass(frozen=True)
class SendLimit:
    """A platform's flood limit: `rate` sends a second, bursts of `burst`, counted per chat
    when `per_chat` (else over the whole channel)."""

    rate: float
    burst: int = 1
    per_chat: bool = False

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    @property
    def tolerance(self) -> float:
        return (self.burst - 1) * self.interval


@dataclass(frozen=True)
class ChannelTraits:
    """What the bot may assume about a channel, declared by its adapter, so that routing,
    rate limits and rendering read these instead of comparing channel names.

    `rep_rank` / `customer_rank`: the order in which a channel is tried for a rep or a
    customer (lower first; None: not for that audience).
    `by_email`: addressed by an e-mail address (the person's, when no identity is stored).
    `rep_by_id`: reaches any rep by their rep id (a local console), the last resort.
    `team_posts`: can post to a team channel (won deals, weekly reports).
    `shows_images`: shows a PNG inline; else a chart is saved to a file and named.
    `sends_files`: can send a file (an export) to a person.
    `confirms_delivery`: a send's success means the person's app got it.
    `private_chat_is_sender`: a person's private chat has their user id (Telegram), so a
    reply to someone who wrote from a group can go to them privately instead.

    What an adapter does not declare it is assumed not to have (the safe reading: a chart
    is saved to a file rather than sent to a channel that might not show it).
    """

    rep_rank: int | None = None
    customer_rank: int | None = None
    limits: tuple[SendLimit, ...] = ()
    by_email: bool = False
    rep_by_id: bool = False
    team_posts: bool = False
    private_chat_is_sender: bool = False
    shows_images: bool = False
    sends_files: bool = False
    confirms_delivery: bool = False

    @property
    def for_reps(self) -> bool:
        return self.rep_rank is not None

    @property
    def for_customers(self) -> bool:
        return self.customer_rank is not None


class CustomerCallbacks(Protocol):
    """What a customer channel (Telegram, a web chat, e-mail inbound) hands its events to.

    Implemented once, channel-neutrally, by bot/customer/callbacks.py; an adapter calls
    these and never imports the bot or the CRM. `commands` is the (name, description)
    menu a channel may show. `on_message` raises `Unavailable` when the message could not
    be stored yet (the channel keeps it unconfirmed and tries again).
    """

    commands: tuple[tuple[str, str], ...]

    async def on_message(self, message: IncomingMessage) -> Reply | None: ...

    async def on_command(self, name: str, args: str, message: IncomingMessage) -> Reply | None: ...

    async def on_action(
        self, action_id: str, value: str, message: IncomingMessage
    ) -> Reply | None: ...

    async def on_group(self, address: Address) -> Reply | None: ...

    async def on_unreachable(self, chat_id: str, reason: str) -> None: ...


class FileSender(Protocol):
    """A channel that can send a person a file (a data export)."""

    async def send_document(
        self, address: Address, *, filename: str, content: bytes, caption: str | None = None
    ) -> SendResult: ...


class Channel(Protocol):
    """An adapter: started with callbacks, asked to send, stopped."""

    name: str
    traits: ChannelTraits

    async def start(self) -> None: ...

    async def send(self, message: OutgoingMessage) -> SendResult: ...

    async def stop(self) -> None: ...
