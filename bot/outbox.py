"""Draining the follow-up outbox: claim due rows, pick each one's address, send, record.

The tick is what APScheduler calls every few seconds; it is also called by the
shell between lines. Every outcome is written back on the row (sent, failed
with the reason, or pending again with a retry time).
"""

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.context import Services
from channels.base import Address, OutgoingMessage, Reply, SendResult
from crm import followups
from crm.models import ChannelIdentity, Contact, ContactPoint, Conversation, FollowUp

logger = logging.getLogger(__name__)

LATE_AFTER = timedelta(minutes=1)
MAX_ATTEMPTS = 5


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Target:
    address: Address | None
    problem: str | None = None  # why it cannot be sent (permanent)


def rep_address(session: Session, followup: FollowUp, channels: list[str]) -> Target:
    """A rep's reminder goes to Slack when they have a Slack id, else the shell, else email."""
    identities = session.exec(
        select(ChannelIdentity).where(ChannelIdentity.rep_id == followup.rep_id)
    ).all()
    by_channel = {i.channel: i.external_id for i in identities}
    for channel in ("slack", "shell", "email"):
        if channel in channels and channel in by_channel:
            return Target(Address(channel, by_channel[channel]))
    if "shell" in channels:
        return Target(Address("shell", str(followup.rep_id)))
    return Target(None, "the rep has no reachable channel")


def contact_address(session: Session, followup: FollowUp, channels: list[str]) -> Target:
    """A customer follow-up goes where they last wrote from, else any reachable channel."""
    contact = session.get(Contact, followup.contact_id)
    if contact is None:
        return Target(None, "the contact was deleted")
    if contact.opted_out:
        return Target(None, f"{contact.name} opted out of follow-ups")
    wanted = [followup.channel] if followup.channel else None
    last = session.exec(
        select(Conversation)
        .where(Conversation.contact_id == contact.id)
        .order_by(col(Conversation.last_message_at).desc())
    ).first()
    identities = {
        i.channel: i
        for i in session.exec(
            select(ChannelIdentity).where(ChannelIdentity.contact_id == contact.id)
        )
    }
    order = wanted or ([last.channel] if last else []) + ["telegram", "email", "shell"]
    for channel in order:
        if channel not in channels:
            continue
        identity = identities.get(channel)
        if identity is not None and not identity.reachable:
            continue
        if channel == "email":
            point = session.exec(
                select(ContactPoint).where(
                    ContactPoint.contact_id == contact.id, ContactPoint.kind == "email"
                )
            ).first()
            if point is not None:
                return Target(Address("email", point.value))
        elif last is not None and last.channel == channel:
            return Target(Address(channel, last.chat_id))
        elif identity is not None:
            return Target(Address(channel, identity.external_id))
    return Target(None, f"{contact.name} has no reachable channel")


class Outbox:
    def __init__(
        self, services: Services, *, worker: str | None = None, lease: timedelta | None = None
    ) -> None:
        self.services = services
        self.worker = worker or worker_name()
        self.lease = lease or timedelta(minutes=2)

    def _claim(self, now: datetime, limit: int) -> list[tuple[FollowUp, Target]]:
        channels = self.services.hub.names
        with self.services.store.transaction() as session:
            rows = followups.claim_due(
                session, worker=self.worker, now=now, lease=self.lease, limit=limit
            )
            return [
                (
                    row,
                    rep_address(session, row, channels)
                    if row.kind != "customer"
                    else contact_address(session, row, channels),
                )
                for row in rows
            ]

    def _finish(self, row: FollowUp, result: SendResult, now: datetime) -> None:
        retry_at = None
        if not result.delivered and not result.permanent and row.attempts < MAX_ATTEMPTS:
            delay = result.retry_after or min(300, 5 * 2 ** (row.attempts - 1))
            retry_at = now + timedelta(seconds=delay)
        with self.services.store.transaction() as session:
            followups.finish(
                session,
                followup_id=row.id,
                worker=self.worker,
                now=now,
                sent=result.delivered,
                error=result.error,
                retry_at=retry_at,
                late=now - row.due_at > LATE_AFTER,
            )

    async def tick(self, limit: int = 50) -> int:
        """Sends what is due; returns how many were delivered."""
        now = self.services.clock.now()
        claimed = await asyncio.to_thread(self._claim, now, limit)
        delivered = 0
        for row, target in claimed:
            if target.address is None:
                result = SendResult(delivered=False, error=target.problem, permanent=True)
            else:
                kind = "reminder" if row.kind == "reminder" else "followup"
                result = await self.services.hub.send(
                    OutgoingMessage(target.address, Reply(row.text), kind=kind,
                                    meta={"followup_id": row.id})
                )
            await asyncio.to_thread(self._finish, row, result, self.services.clock.now())
            delivered += int(result.delivered)
            if not result.delivered:
                logger.warning(
                    "follow-up not sent id=%s kind=%s error=%s", row.id, row.kind, result.error
                )
        return delivered
