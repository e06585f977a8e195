"""Per-channel send limits, so a burst of due follow-ups never trips a platform's flood control.

Telegram allows about 30 messages a second overall and one a second per chat;
Slack about one a second per channel. Each limit is a token bucket kept as a
GCRA "theoretical arrival time": a send *reserves* the next free slot in every
bucket it touches at once (no await in between), so concurrent senders on one
loop never overbook, and the caller sleeps until its slot. A reservation longer
than the caller is willing to wait is refused without being booked: the outbox
then puts the follow-up back in the table for later instead of holding its
claim (and its lease) while it sleeps.

Time is injected (`monotonic` and `sleep`), so tests and the dispatch benchmark
run on a virtual clock and never sleep for real.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping

from channels.base import SendLimit
from channels.hub import ChannelHub

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

Limit = SendLimit  # declared by each channel adapter in its ChannelTraits


class HubLimits(Mapping[str, tuple[Limit, ...]]):
    """Each channel's limits as its adapter declares them, read from the hub at send time
    (so a channel registered after the outbox was built is still limited)."""

    def __init__(self, hub: ChannelHub) -> None:
        self.hub = hub

    def __getitem__(self, channel: str) -> tuple[Limit, ...]:
        return self.hub.traits(channel).limits

    def __iter__(self) -> Iterator[str]:
        return iter(self.hub.names)

    def __len__(self) -> int:
        return len(self.hub.names)


class VirtualTime:
    """A clock for tests and benchmarks: `sleep` moves time forward instead of waiting.

    A sleeper yields once before moving the clock to its wake-up, so senders
    started together all book their slots at the same virtual instant, and after
    the batch the clock reads the latest wake-up, as it would in real time.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake = self.now + max(0.0, seconds)
        await asyncio.sleep(0)
        self.now = max(self.now, wake)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RateLimiter:
    """Token buckets per channel (and per chat where the platform counts per chat)."""

    def __init__(
        self,
        limits: Mapping[str, tuple[Limit, ...]] | None = None,
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.limits: Mapping[str, tuple[Limit, ...]] = {} if limits is None else limits
        self.monotonic = monotonic
        self.sleep = sleep
        self._tat: dict[tuple[str, str, int], float] = {}  # bucket -> theoretical arrival
        self._paused: dict[tuple[str, str], float] = {}  # (channel, chat) -> until

    @classmethod
    def unlimited(cls) -> "RateLimiter":
        return cls({})

    def _buckets(self, channel: str, chat_id: str) -> list[tuple[tuple[str, str, int], Limit]]:
        return [
            ((channel, chat_id if limit.per_chat else "*", index), limit)
            for index, limit in enumerate(self.limits.get(channel, ()))
        ]

    def wait_for(self, channel: str, chat_id: str) -> float:
        """Seconds until a send to this chat would be allowed (0 = now); books nothing."""
        now = self.monotonic()
        start = max(now, self._paused.get((channel, chat_id), now))
        for key, limit in self._buckets(channel, chat_id):
            start = max(start, self._tat.get(key, now) - limit.tolerance)
        return start - now

    def reserve(self, channel: str, chat_id: str, *, max_wait: float | None = None) -> float | None:
        """Books the next slot and returns the seconds to wait for it.

        None (nothing booked) when the wait would exceed `max_wait`.
        """
        wait = self.wait_for(channel, chat_id)
        if max_wait is not None and wait > max_wait:
            return None
        start = self.monotonic() + wait
        for key, limit in self._buckets(channel, chat_id):
            self._tat[key] = max(self._tat.get(key, start), start) + limit.interval
        return wait

    async def acquire(
        self, channel: str, chat_id: str, *, max_wait: float | None = None
    ) -> float | None:
        """Waits for a slot; returns the seconds waited, or None (refused, too long)."""
        wait = self.reserve(channel, chat_id, max_wait=max_wait)
        if wait is not None and wait > 0:
            await self.sleep(wait)
        return wait

    def pause(self, channel: str, chat_id: str, seconds: float) -> None:
        """After a 429: nothing more to this chat until the platform's retry_after has passed."""
        until = self.monotonic() + max(0.0, seconds)
        key = (channel, chat_id)
        self._paused[key] = max(self._paused.get(key, until), until)
        self._forget_old()

    def _forget_old(self) -> None:
        """Drops buckets and pauses long in the past so a month of chats does not pile up."""
        if len(self._tat) + len(self._paused) < 10_000:
            return
        horizon = self.monotonic() - 60.0
        self._tat = {k: v for k, v in self._tat.items() if v > horizon}
        self._paused = {k: v for k, v in self._paused.items() if v > horizon}

    def trim(self) -> None:
        """Called once per tick by the outbox; cheap unless thousands of chats were seen."""
        self._forget_old()
