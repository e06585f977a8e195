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


class Channel(Protocol):
    """An adapter: started with callbacks, asked to send, stopped."""

    name: str

    async def start(self) -> None: ...

    async def send(self, message: OutgoingMessage) -> SendResult: ...

    async def stop(self) -> None: ...
