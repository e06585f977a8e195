"""Rapport's tables (SQLModel). Invariants only; behaviour lives in the services.

Statuses and kinds are `crm.enums` StrEnums stored as plain strings (so PostgreSQL needs
no native ENUM types), each guarded by a CHECK constraint (`crm.enums.check`). Every
timestamp column is `UTCDateTime`: written as UTC, read back timezone-aware.
Money is integer minor units plus an ISO currency code.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Table, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from crm.db import JSONType, UTCDateTime
from crm.enums import (
    ActivityKind,
    ConversationStatus,
    DealStatus,
    Delivery,
    Direction,
    EnumText,
    FollowUpKind,
    FollowUpStatus,
    PointKind,
    Role,
    check,
)


def _empty_list() -> list[Any]:
    """Default factory. Not ``list`` itself: pydantic inspects a factory's signature on
    every construction, and a builtin's signature is parsed from text (~0.2 ms a row)."""
    return []


def _empty_dict() -> dict[str, Any]:
    """Default factory (see `_empty_list`)."""
    return {}


def _custom_fields() -> Any:
    """Custom fields of companies, deals and activities (issue 18). The server default
    lets bulk loaders that write raw INSERTs (benchmarks/) leave the column out."""
    return Field(
        default_factory=_empty_dict,
        sa_type=JSONType,
        sa_column_kwargs={"server_default": text("'{}'")},
    )


def _when(nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None,
        sa_type=UTCDateTime,
        nullable=nullable,
        index=index,
    )


class Rep(SQLModel, table=True):
    """A member of the sales team (created from Slack or the shell on first use)."""

    __table_args__ = (check("rep", "role", Role),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    role: Role = Field(default=Role.REP, sa_type=EnumText(Role, 16))
    timezone: str = Field(default="UTC", max_length=64)
    dateorder: str | None = Field(default=None, max_length=3)  # DMY/MDY/YMD; None: from zone
    active: bool = True
    created_at: datetime = _when()


class Company(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    name_key: str = Field(max_length=200, unique=True)  # case-folded name, for dedupe
    domain: str | None = Field(default=None, max_length=253)
    custom_fields: dict[str, Any] = _custom_fields()
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
    # the language Rapport answers them in (ISO 639-1); learned from their messages unless
    # a rep set it (language_source "rep"), which learning never overrides
    language: str | None = Field(default=None, max_length=8)
    language_source: str | None = Field(default=None, max_length=16)
    opted_out: bool = False
    consent_changed_at: datetime | None = _when(nullable=True)
    consent_source: str | None = Field(default=None, max_length=32)
    custom_fields: dict[str, Any] = Field(default_factory=_empty_dict, sa_type=JSONType)
    created_via: str = Field(default="shell", max_length=32)
    search_text: str = Field(default="", sa_type=Text)  # folded name, company, points, tags
    created_at: datetime = _when(index=True)
    updated_at: datetime = _when()
    last_activity_at: datetime | None = _when(nullable=True)


class ContactPoint(SQLModel, table=True):
    """An email address or phone number (normalised) that identifies one contact."""

    __table_args__ = (
        UniqueConstraint("kind", "value", name="uq_contactpoint_kind_value"),
        check("contactpoint", "kind", PointKind),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    kind: PointKind = Field(sa_type=EnumText(PointKind, 8))
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
    __table_args__ = (
        Index("ix_deal_status_stage", "status", "stage"),
        check("deal", "status", DealStatus),
    )

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
    status: DealStatus = Field(default=DealStatus.OPEN, sa_type=EnumText(DealStatus, 8))
    expected_close: date | None = None
    close_reason: str | None = Field(default=None, max_length=500)
    custom_fields: dict[str, Any] = _custom_fields()
    closed_at: datetime | None = _when(nullable=True)
    stage_changed_at: datetime = _when()
    last_activity_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when()
    updated_at: datetime = _when()


class Purchase(SQLModel, table=True):
    """One purchase by a contact and/or a company (services: crm/purchases.py)."""

    __table_args__ = (
        Index("ix_purchase_contact_when", "contact_id", "purchased_at"),
        Index("ix_purchase_deal", "deal_id", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", ondelete="SET NULL")
    company_id: int | None = Field(
        default=None, foreign_key="company.id", index=True, ondelete="SET NULL"
    )
    deal_id: int | None = Field(default=None, foreign_key="deal.id", ondelete="SET NULL")
    rep_id: int | None = Field(default=None, foreign_key="rep.id", ondelete="SET NULL")
    purchased_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    amount_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    currency: str = Field(default="USD", max_length=3)
    quantity: int = 1
    reference: str | None = Field(default=None, max_length=200)
    source: str = Field(default="rep", max_length=16)
    anonymised: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Activity(SQLModel, table=True):
    """Something that happened with a contact: a call, meeting, email, note or message."""

    __table_args__ = (
        Index("ix_activity_contact_when", "contact_id", "occurred_at"),
        check("activity", "kind", ActivityKind),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", ondelete="CASCADE")
    deal_id: int | None = Field(default=None, foreign_key="deal.id", ondelete="SET NULL")
    rep_id: int | None = Field(default=None, foreign_key="rep.id", index=True, ondelete="SET NULL")
    kind: ActivityKind = Field(sa_type=EnumText(ActivityKind, 16))
    text: str = Field(default="", sa_type=Text)
    source_url: str | None = Field(default=None, max_length=500)
    custom_fields: dict[str, Any] = _custom_fields()
    occurred_at: datetime = _when(index=True)
    created_at: datetime = _when()


class Conversation(SQLModel, table=True):
    """A customer's thread with the business on one channel; one open at a time."""

    __table_args__ = (
        Index("ix_conversation_status_last", "status", "last_message_at"),
        check("conversation", "status", ConversationStatus),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=128)  # where replies go on that channel
    status: ConversationStatus = Field(
        default=ConversationStatus.OPEN, sa_type=EnumText(ConversationStatus, 8)
    )
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
        check("message", "direction", Direction),
        check("message", "delivery", Delivery),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", ondelete="CASCADE")
    contact_id: int = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    channel: str = Field(max_length=16)
    external_id: str | None = Field(default=None, max_length=128)
    direction: Direction = Field(sa_type=EnumText(Direction, 8))
    kind: str = Field(default="text", max_length=16)
    text: str = Field(default="", sa_type=Text)
    file_id: str | None = Field(default=None, max_length=300)
    file_size: int | None = None
    need: str | None = Field(default=None, max_length=32, index=True)
    need_confidence: float | None = None
    need_corrected: bool = False
    language: str | None = Field(default=None, max_length=8)  # detected; None when unsure
    author_rep_id: int | None = Field(default=None, foreign_key="rep.id", ondelete="SET NULL")
    delivery: Delivery = Field(default=Delivery.RECEIVED, sa_type=EnumText(Delivery, 16))
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

    __table_args__ = (
        Index("ix_followup_status_due", "status", "due_at"),
        check("followup", "kind", FollowUpKind),
        check("followup", "status", FollowUpStatus),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: FollowUpKind = Field(default=FollowUpKind.REMINDER, sa_type=EnumText(FollowUpKind, 16))
    due_at: datetime = _when()
    rep_id: int | None = Field(default=None, foreign_key="rep.id", index=True, ondelete="CASCADE")
    contact_id: int | None = Field(
        default=None, foreign_key="contact.id", index=True, ondelete="CASCADE"
    )
    channel: str | None = Field(default=None, max_length=16)  # None: the target's best channel
    text: str = Field(default="", sa_type=Text)
    status: FollowUpStatus = Field(
        default=FollowUpStatus.PENDING, sa_type=EnumText(FollowUpStatus, 16)
    )
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    stop_on_reply: bool = True
    late: bool = False
    claimed_by: str | None = Field(default=None, max_length=100)
    # The fencing token of the row's last claim: outcomes are written only under it.
    claim_token: str | None = Field(default=None, max_length=32)
    lease_until: datetime | None = _when(nullable=True)  # on the database's clock
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


class TrashedContact(SQLModel, table=True):
    """One deleted contact, restorable for 30 days (crm/trash.py restores and purges)."""

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(index=True)
    name: str = Field(max_length=200)
    payload: dict[str, Any] = Field(sa_type=JSONType)
    deleted_by: str = Field(max_length=100)
    deleted_at: datetime = Field(sa_type=UTCDateTime, index=True)


def table_name(model: type[SQLModel]) -> str:
    """A table class's name (SQLModel types `__tablename__` as a str or a function making one)."""
    name = model.__tablename__
    return name if isinstance(name, str) else name()


def table_of(model: type[SQLModel]) -> Table:
    """A table class's Table (SQLAlchemy sets `__table__`, which SQLModel does not declare)."""
    return SQLModel.metadata.tables[table_name(model)]


def snapshot(row: SQLModel, *, exclude: set[str] | None = None) -> dict[str, Any]:
    """A JSON-safe copy of a row for the audit log."""
    out: dict[str, Any] = {}
    # warnings=False: a status set from a plain string ("won") rather than its enum member
    # is the same text; pydantic would otherwise warn on every such audit snapshot.
    dump = row.model_dump(exclude=exclude or {"search_text"}, warnings=False)
    for key, value in dump.items():
        if isinstance(value, datetime | date):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out


# Tables of the open API and webhooks (issue 20), imported so create_all sees them.
import crm.api_models  # noqa: E402, F401
import crm.externalids  # noqa: E402, F401 - registers the import tables (issue 18)
import crm.ids  # noqa: E402 - after the tables: SQLite never reuses an id (AUTOINCREMENT)
import crm.webhook_models  # noqa: E402, F401

crm.ids.install(SQLModel.metadata)
