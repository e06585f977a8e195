"""Rapport's tables (SQLModel). Invariants only; behaviour lives in the services.

Enumerations are stored as plain strings (see the `*_KINDS` tuples) so that
PostgreSQL needs no native ENUM types and migrations stay simple. Every
timestamp column is `UTCDateTime`: written as UTC, read back timezone-aware.
Money is integer minor units plus an ISO currency code.
"""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.db import JSONType, UTCDateTime

ROLES = ("rep", "admin")
CHANNELS = ("telegram", "slack", "email", "shell")
POINT_KINDS = ("email", "phone")
ACTIVITY_KINDS = ("call", "meeting", "email", "note", "message")
DEAL_STATUSES = ("open", "won", "lost")
DIRECTIONS = ("inbound", "outbound")
MESSAGE_KINDS = ("text", "photo", "document", "voice", "location", "sticker", "video", "other")
DELIVERY_STATES = ("received", "pending", "delivered", "failed")
CONVERSATION_STATES = ("open", "closed")
FOLLOWUP_KINDS = ("reminder", "customer", "digest", "nudge", "survey", "notice")
FOLLOWUP_STATES = ("pending", "claimed", "sent", "done", "failed", "cancelled")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _empty_list() -> list[Any]:
    """Default factory. Not ``list`` itself: pydantic inspects a factory's signature on
    every construction, and a builtin's signature is parsed from text (~0.2 ms a row)."""
    return []


def _empty_dict() -> dict[str, Any]:
    """Default factory (see `_empty_list`)."""
    return {}


def _when(nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None,
        sa_type=UTCDateTime,
        nullable=nullable,
        index=index,
    )


class Rep(SQLModel, table=True):
    """A member of the sales team (created from Slack or the shell on first use)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    role: str = Field(default="rep", max_length=16)
    timezone: str = Field(default="UTC", max_length=64)
    active: bool = True
    created_at: datetime = _when()


class Company(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    name_key: str = Field(max_length=200, unique=True)  # case-folded name, for dedupe
    domain: str | None = Field(default=None, max_length=253)
    created_at: datetime = _when()
    updated_at: datetime = _when()


class Contact(SQLModel, table=True):
    """A person the business talks to. Channel-neutral: identities live elsewhere."""

    __table_args__ = (Index("ix_contact_owner", "owner_id"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    company_id: int | None = Field(default=None, foreign_key="company.id", ondelete="SET NULL")
    owner_id: int | None = Field(default=None, foreign_key="rep.id", ondelete="SET NULL")
    tags: list[str] = Field(default_factory=_empty_list, sa_type=JSONType)
    timezone: str | None = Field(default=None, max_length=64)
    opted_out: bool = False
    consent_changed_at: datetime | None = _when(nullable=True)
    consent_source: str | None = Field(default=None, max_length=32)
    custom_fields: dict[str, Any] = Field(default_factory=_empty_dict, sa_type=JSONType)
    created_via: str = Field(default="shell", max_length=32)
    search_text: str = Field(default="", sa_type=Text)  # lower-cased name, company, points, tags
    created_at: datetime = _when(index=True)
    updated_at: datetime = _when()
    last_activity_at: datetime | None = _when(nullable=True)


class ContactPoint(SQLModel, table=True):
    """An email address or phone number (normalised) that identifies one contact."""

    __table_args__ = (UniqueConstraint("kind", "value", name="uq_contactpoint_kind_value"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=8)
    value: str = Field(max_length=320)
    position: int = 0
    created_at: datetime = _when()


class ChannelIdentity(SQLModel, table=True):
    """A contact's or rep's id on one channel: `(telegram, 12345)`, `(slack, U0ABC)`."""

    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_identity_channel_external"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=128)
    contact_id: int | None = Field(
        default=None, foreign_key="contact.id", index=True, ondelete="CASCADE"
    )
    rep_id: int | None = Field(default=None, foreign_key="rep.id", index=True, ondelete="CASCADE")
    display_name: str | None = Field(default=None, max_length=200)
    reachable: bool = True
    unreachable_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = _when()


class Deal(SQLModel, table=True):
    __table_args__ = (Index("ix_deal_status_stage", "status", "stage"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    contact_id: int | None = Field(
        default=None, foreign_key="contact.id", index=True, ondelete="SET NULL"
    )
    company_id: int | None = Field(
        default=None, foreign_key="company.id", index=True, ondelete="SET NULL"
    )
    owner_id: int | None = Field(
        default=None, foreign_key="rep.id", index=True, ondelete="SET NULL"
    )
    amount_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    currency: str = Field(default="USD", max_length=3)
    stage: str = Field(default="lead", max_length=32)
    status: str = Field(default="open", max_length=8)
    expected_close: date | None = None
    close_reason: str | None = Field(default=None, max_length=500)
    closed_at: datetime | None = _when(nullable=True)
    stage_changed_at: datetime = _when()
    last_activity_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when()
    updated_at: datetime = _when()


class Activity(SQLModel, table=True):
    """Something that happened with a contact: a call, meeting, email, note or message."""

    __table_args__ = (Index("ix_activity_contact_when", "contact_id", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", ondelete="CASCADE")
    deal_id: int | None = Field(default=None, foreign_key="deal.id", ondelete="SET NULL")
    rep_id: int | None = Field(default=None, foreign_key="rep.id", index=True, ondelete="SET NULL")
    kind: str = Field(max_length=16)
    text: str = Field(default="", sa_type=Text)
    source_url: str | None = Field(default=None, max_length=500)
    occurred_at: datetime = _when(index=True)
    created_at: datetime = _when()


class Conversation(SQLModel, table=True):
    """A customer's thread with the business on one channel; one open at a time."""

    __table_args__ = (Index("ix_conversation_status_last", "status", "last_message_at"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=128)  # where replies go on that channel
    status: str = Field(default="open", max_length=8)
    assignee_id: int | None = Field(
        default=None, foreign_key="rep.id", index=True, ondelete="SET NULL"
    )
    need: str | None = Field(default=None, max_length=32)
    need_confidence: float | None = None
    inbox_ref: str | None = Field(default=None, max_length=200)  # e.g. the Slack post's ts
    opened_at: datetime = _when()
    last_message_at: datetime = _when()
    last_ack_at: datetime | None = _when(nullable=True)
    first_response_at: datetime | None = _when(nullable=True)
    closed_at: datetime | None = _when(nullable=True)
    satisfaction: int | None = None


class Message(SQLModel, table=True):
    """One inbound or outbound customer message. `(channel, external_id)` dedupes retries."""

    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_message_channel_external"),
        Index("ix_message_conversation_sent", "conversation_id", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", ondelete="CASCADE")
    contact_id: int = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    channel: str = Field(max_length=16)
    external_id: str | None = Field(default=None, max_length=128)
    direction: str = Field(max_length=8)
    kind: str = Field(default="text", max_length=16)
    text: str = Field(default="", sa_type=Text)
    file_id: str | None = Field(default=None, max_length=300)
    file_size: int | None = None
    need: str | None = Field(default=None, max_length=32, index=True)
    need_confidence: float | None = None
    need_corrected: bool = False
    author_rep_id: int | None = Field(default=None, foreign_key="rep.id", ondelete="SET NULL")
    delivery: str = Field(default="received", max_length=16)
    failure_reason: str | None = Field(default=None, max_length=300)
    edits: list[dict[str, Any]] = Field(default_factory=_empty_list, sa_type=JSONType)
    sent_at: datetime = _when(index=True)
    created_at: datetime = _when()


class NeedCorrection(SQLModel, table=True):
    """A rep's correction of a need tag: a labelled example for retraining."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int | None = Field(default=None, foreign_key="message.id", ondelete="SET NULL")
    text: str = Field(sa_type=Text)
    old_need: str | None = Field(default=None, max_length=32)
    new_need: str = Field(max_length=32)
    rep_id: int | None = Field(default=None, foreign_key="rep.id", ondelete="SET NULL")
    created_at: datetime = _when()


class FollowUp(SQLModel, table=True):
    """The outbox: a message due at a time, claimed atomically by one worker."""

    __table_args__ = (Index("ix_followup_status_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="reminder", max_length=16)
    due_at: datetime = _when()
    rep_id: int | None = Field(default=None, foreign_key="rep.id", index=True, ondelete="CASCADE")
    contact_id: int | None = Field(
        default=None, foreign_key="contact.id", index=True, ondelete="CASCADE"
    )
    channel: str | None = Field(default=None, max_length=16)  # None: the target's best channel
    text: str = Field(default="", sa_type=Text)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    stop_on_reply: bool = True
    late: bool = False
    claimed_by: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = _when(nullable=True)
    sent_at: datetime | None = _when(nullable=True)
    created_by_id: int | None = Field(default=None, foreign_key="rep.id", ondelete="SET NULL")
    created_at: datetime = _when()
    updated_at: datetime = _when()


class AuditLog(SQLModel, table=True):
    """Who changed what, when, through which channel, with before and after."""

    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(max_length=100, index=True)  # "rep:3", "customer:7", "system"
    action: str = Field(max_length=50)
    entity_type: str = Field(max_length=32)
    entity_id: int | None = None
    before: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    channel: str | None = Field(default=None, max_length=16)
    at: datetime = _when(index=True)


class ProcessedEvent(SQLModel, table=True):
    """External event ids already handled (Slack retries, Telegram re-deliveries) and the
    once-only keys of periodic jobs. `at` is indexed because crm.housekeeping deletes
    old rows by it every night."""

    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_processed_source_event"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    event_id: str = Field(max_length=200)
    at: datetime = _when(index=True)


class ChatState(SQLModel, table=True):
    """Small per-address dialog state kept in the store (not in a chat SDK)."""

    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_chatstate_address"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=128)
    data: dict[str, Any] = Field(default_factory=_empty_dict, sa_type=JSONType)
    updated_at: datetime = _when()


def snapshot(row: SQLModel, *, exclude: set[str] | None = None) -> dict[str, Any]:
    """A JSON-safe copy of a row for the audit log."""
    out: dict[str, Any] = {}
    for key, value in row.model_dump(exclude=exclude or {"search_text"}).items():
        if isinstance(value, datetime | date):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out


import crm.ids  # noqa: E402 - after the tables: SQLite never reuses an id (AUTOINCREMENT)

crm.ids.install(SQLModel.metadata)
