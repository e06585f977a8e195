"""ChannelHub: every send goes through it, by channel name.

An unknown or stopped channel is an error the caller sees (never a silent
drop), and any exception an adapter raises becomes a SendResult, so the
scheduler and handlers deal with one shape of outcome.
"""

import logging

from channels.base import Channel, ChannelTraits, DeliveryError, OutgoingMessage, SendResult

logger = logging.getLogger(__name__)


class UnknownChannel(LookupError):
    pass


class ChannelHub:
    def __init__(self) -> None:
        self._channels: dict[str, Channel] = {}

    def register(self, channel: Channel) -> None:
        self._channels[channel.name] = channel

    def unregister(self, name: str) -> None:
        self._channels.pop(name, None)

    def has(self, name: str) -> bool:
        return name in self._channels

    @property
    def names(self) -> list[str]:
        return sorted(self._channels)

    def traits(self, name: str) -> ChannelTraits:
        """The adapter's declared traits; a channel that declares none is assumed to be
        an unlimited one for nobody in particular (a test stand-in, say)."""
        channel = self._channels.get(name)
        return getattr(channel, "traits", None) or ChannelTraits()

    def rep_channels(self) -> list[str]:
        """Registered channels that reach reps, in the order they should be tried."""
        ranked = [(self.traits(n).rep_rank, n) for n in self._channels]
        return [name for rank, name in sorted((r, n) for r, n in ranked if r is not None)]

    def customer_channels(self) -> list[str]:
        """Registered channels that reach customers, in the order they should be tried."""
        ranked = [(self.traits(n).customer_rank, n) for n in self._channels]
        return [name for rank, name in sorted((r, n) for r, n in ranked if r is not None)]

    def team_channel(self) -> str | None:
        """The first registered channel that can post to a team channel, if any."""
        return next((n for n in self.rep_channels() if self.traits(n).team_posts), None)

    def get(self, name: str) -> Channel:
        try:
            return self._channels[name]
        except KeyError:
            raise UnknownChannel(f"The {name} channel is not configured.") from None

    async def send(self, message: OutgoingMessage) -> SendResult:
        if message.address.channel not in self._channels:
            return SendResult(
                delivered=False,
                error=f"the {message.address.channel} channel is not configured",
                permanent=True,
            )
        channel = self._channels[message.address.channel]
        try:
            return await channel.send(message)
        except DeliveryError as exc:
            return SendResult(
                delivered=False,
                error=exc.reason,
                permanent=exc.permanent,
                retry_after=exc.retry_after,
            )
        except Exception as exc:  # noqa: BLE001 - an adapter bug must not stop the caller
            logger.exception("send failed channel=%s kind=%s", channel.name, message.kind)
            return SendResult(delivered=False, error=f"{type(exc).__name__}", permanent=False)

    async def start_all(self) -> None:
        for channel in self._channels.values():
            await channel.start()

    async def stop_all(self) -> None:
        for channel in reversed(list(self._channels.values())):
            try:
                await channel.stop()
            except Exception:  # noqa: BLE001 - keep stopping the others
                logger.exception("stopping channel=%s failed", channel.name)
