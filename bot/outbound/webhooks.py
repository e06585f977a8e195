"""The webhook sender: pump new events, claim due deliveries, POST them signed.

Each delivery is claimed (crm/webhooks.py) before it is sent and finished after, so
two workers never send the same delivery at once, and a worker killed mid-send
leaves a claim whose lease runs out and which another worker then sends. A receiver
may therefore see a delivery twice (after a crash), never two different deliveries
of one event: it dedupes on the `Rapport-Delivery` header, like Stripe's event ids.
"""

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import timedelta

import aiohttp

from bot.outbound.outbox import worker_name
from crm import webhooks
from crm.clock import Clock
from crm.db import Store

logger = logging.getLogger(__name__)
USER_AGENT = "Rapport-Webhooks/1"


@dataclass
class WebhookTick:
    queued: int = 0
    delivered: int = 0
    failed: int = 0


class WebhookWorker:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        worker: str | None = None,
        lease: timedelta = timedelta(seconds=60),
        timeout: float = 10.0,
        batch: int = 20,
    ) -> None:
        self.store, self.clock = store, clock
        self.worker = worker or f"webhooks:{worker_name()}"
        self.lease, self.timeout, self.batch = lease, timeout, batch
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _pump(self) -> int:
        with self.store.transaction() as session:
            return webhooks.pump(session, now=self.clock.now())

    def _claim(self) -> list[webhooks.Claimed]:
        with self.store.transaction() as session:
            return webhooks.claim(
                session,
                worker=self.worker,
                now=self.clock.now(),
                lease=self.lease,
                limit=self.batch,
            )

    def _finish(
        self, claimed: webhooks.Claimed, ok: bool, status: int | None, error: str | None
    ) -> str:
        with self.store.transaction() as session:
            return webhooks.finish(
                session,
                delivery_id=claimed.delivery_id,
                worker=self.worker,
                now=self.clock.now(),
                ok=ok,
                status=status,
                error=error,
            )

    async def _post(self, claimed: webhooks.Claimed) -> tuple[bool, int | None, str | None]:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        body = json.dumps(claimed.body, separators=(",", ":"), default=str).encode()
        stamp = int(self.clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Rapport-Delivery": f"dlv_{claimed.delivery_id}",
            "Rapport-Event": claimed.event_type,
            "Rapport-Timestamp": str(stamp),
            "Rapport-Signature": webhooks.sign(claimed.secret, stamp, body),
        }
        try:
            async with self._http.post(
                claimed.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                ok = 200 <= response.status < 300
                return ok, response.status, None if ok else f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return False, None, f"{type(exc).__name__}: {str(exc)[:200]}"

    async def tick(self) -> WebhookTick:
        stats = WebhookTick(queued=await asyncio.to_thread(self._pump))
        claimed = await asyncio.to_thread(self._claim)
        outcomes = await asyncio.gather(*(self._post(c) for c in claimed))
        for item, (ok, status, error) in zip(claimed, outcomes, strict=True):
            result = await asyncio.to_thread(self._finish, item, ok, status, error)
            if ok:
                stats.delivered += 1
            else:
                stats.failed += 1
                logger.warning(
                    "webhook not delivered delivery=%s attempt=%s status=%s now=%s",
                    item.delivery_id,
                    item.attempt,
                    status,
                    result,
                )
        return stats
