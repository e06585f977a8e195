"""Channel stand-ins for the outbox tests: one that records, one that fails on cue.

Both satisfy `channels.base.Channel` and carry the traits the real adapter of the same
name declares (`standard_traits`), so routing and the outbox's RateLimiter treat them as
they would treat Telegram, Slack, the shell or e-mail; neither limits itself. `at` stamps
each send with the time the caller supplies (a virtual clock's monotonic, typically).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from channels.base import ChannelTraits, DeliveryError, OutgoingMessage, SendLimit, SendResult
from channels.console import ConsoleChannel
from channels.email import EmailChannel
from channels.slack.adapter import SlackChannel
from channels.telegram.channel import telegram_traits


def standard_traits(name: str, telegram_per_second: float = 30.0) -> ChannelTraits:
    """The traits the real adapter called `name` declares (none for an unknown name)."""
    declared = {
        "telegram": telegram_traits(telegram_per_second),
        "slack": SlackChannel.traits,
        "shell": ConsoleChannel.traits,
        "email": EmailChannel.traits,
    }
    return declared.get(name, ChannelTraits())


def standard_limits(telegram_per_second: float = 30.0) -> dict[str, tuple[SendLimit, ...]]:
    """Every real adapter's declared send limits, by channel name."""
    return {
        name: standard_traits(name, telegram_per_second).limits
        for name in ("telegram", "slack", "shell", "email")
    }


@dataclass(frozen=True)
class Sent:
    message: OutgoingMessage
    at: float

    @property
    def chat_id(self) -> str:
        return self.message.address.chat_id

    @property
    def text(self) -> str:
        return self.message.reply.text

    @property
    def followup_id(self) -> int | None:
        return self.message.meta.get("followup_id")


class RecordingChannel:
    """Delivers everything, instantly, and keeps what it was given."""

    def __init__(
        self,
        name: str,
        *,
        at: Callable[[], float] | None = None,
        traits: ChannelTraits | None = None,
    ) -> None:
        self.name = name
        self.traits = traits or standard_traits(name)
        self.at = at or (lambda: 0.0)
        self.sent: list[Sent] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.sent.append(Sent(message, self.at()))
        return SendResult(delivered=True, external_id=f"{self.name}-{len(self.sent)}")

    def to(self, chat_id: str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]


class FlakyChannel(RecordingChannel):
    """Plays a script of outcomes (SendResult or an exception to raise), then delivers.

    Failed attempts are kept in `attempts` so a test can see every try.
    """

    def __init__(self, name: str, script: Iterable[SendResult | Exception]) -> None:
        super().__init__(name)
        self.script = list(script)
        self.attempts: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.attempts.append(message)
        if self.script:
            outcome = self.script.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            if not outcome.delivered:
                return outcome
        return await super().send(message)


def too_many_requests(seconds: float) -> SendResult:
    return SendResult(delivered=False, error="429 Too Many Requests", retry_after=seconds)


def refused(reason: str = "403 Forbidden: bot was blocked by the user") -> DeliveryError:
    return DeliveryError(reason, permanent=True)
