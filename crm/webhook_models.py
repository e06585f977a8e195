"""Webhook tables: subscriptions, events, and the delivery outbox.

One `WebhookDelivery` row per (event, subscription), unique, so however many
workers pump events, each subscriber gets each event once; workers claim rows
the way crm/claims.py claims follow-ups (FOR UPDATE SKIP LOCKED plus a lease).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.db import JSONType, UTCDateTime

DELIVERY_STATES = ("pending", "claimed", "delivered", "failed")


def _when(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class WebhookSubscription(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    events: list[str] = Field(default_factory=list, sa_type=JSONType)
    secret: str = Field(max_length=100)  # the HMAC key; needed in clear to sign
    active: bool = True
    paused_reason: str | None = Field(default=None, max_length=300)
    consecutive_failures: int = 0
    # Only changes after the subscription was made are sent: the audit / message ids then.
    audit_after: int = 0
    message_after: int = 0
    created_by: str = Field(default="system", max_length=100)
    created_at: datetime = _when()


class WebhookEvent(SQLModel, table=True):
    """A change worth telling subscribers about, taken from the audit log or a message."""

    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_webhookevent_source"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)  # "audit" or "message"
    source_id: int
    event_type: str = Field(max_length=50)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    occurred_at: datetime = _when()


class WebhookDelivery(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id", name="uq_webhookdelivery_pair"),
        Index("ix_webhookdelivery_status_next", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="webhookevent.id", ondelete="CASCADE")
    subscription_id: int = Field(
        foreign_key="webhooksubscription.id", index=True, ondelete="CASCADE"
    )
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _when()
    claimed_by: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = _when(nullable=True)
    last_status: int | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    delivered_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when()


class WebhookCursor(SQLModel, table=True):
    """How far the event pump has read a source (audit log, messages)."""

    source: str = Field(primary_key=True, max_length=16)
    last_id: int = 0
