"""Request and response bodies of the API (pydantic), separate from the tables.

Tables do not validate (SQLModel `table=True`), and the API's shape should not
change because a column was added: these models are the contract in OpenAPI.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

CustomValue = str | int | float | bool | None
MAX_ID = 2_147_483_647  # ids are 32-bit on PostgreSQL: larger ones are refused, not a 500
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


class ExternalId(BaseModel):
    system: str = Field(min_length=1, max_length=64)
    external_id: str = Field(min_length=1, max_length=200)


class ContactOut(BaseModel):
    id: int
    name: str
    company_id: int | None
    company: str | None
    owner_id: int | None
    emails: list[str]
    phones: list[str]
    tags: list[str]
    timezone: str | None
    opted_out: bool
    custom_fields: dict[str, Any]
    external_ids: list[ExternalId]
    created_via: str
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime | None


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    emails: list[str] = Field(default_factory=list, max_length=20)
    phones: list[str] = Field(default_factory=list, max_length=20)
    company: str | None = Field(default=None, max_length=200)
    owner_id: Id | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    timezone: str | None = Field(default=None, max_length=64)
    custom_fields: dict[str, CustomValue] = Field(default_factory=dict, max_length=50)
    external_ids: list[ExternalId] = Field(default_factory=list, max_length=10)


class ContactPatch(BaseModel):
    """Only the fields given change. Emails and phones are added (the first stays
    primary, as in chat); `tags` replaces the set; `custom_fields` merges."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    emails: list[str] | None = Field(default=None, max_length=20)
    phones: list[str] | None = Field(default=None, max_length=20)
    company: str | None = Field(default=None, max_length=200)
    owner_id: Id | None = None
    tags: list[str] | None = Field(default=None, max_length=50)
    timezone: str | None = Field(default=None, max_length=64)
    custom_fields: dict[str, CustomValue] | None = Field(default=None, max_length=50)


class ContactPage(BaseModel):
    data: list[ContactOut]
    next_cursor: str | None


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source_id: Id = Field(description="The duplicate; it is folded in and deleted.")


class MergeOut(BaseModel):
    contact: ContactOut
    moved: dict[str, int]


class BulkRecord(ContactPatch):
    external_id: str = Field(min_length=1, max_length=200)


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str = Field(min_length=1, max_length=64, description="e.g. `billing`")
    records: list[BulkRecord] = Field(min_length=1, max_length=1000)


class BulkResult(BaseModel):
    index: int
    external_id: str
    status: Literal["created", "updated", "error"]
    id: int | None = None
    error: dict[str, Any] | None = None


class BulkOut(BaseModel):
    created: int
    updated: int
    errors: int
    results: list[BulkResult]


class CompanyOut(BaseModel):
    id: int
    name: str
    domain: str | None
    created_at: datetime
    updated_at: datetime


class CompanyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


class CompanyPatch(BaseModel):
    """Only the fields given change, as chat's `edit company`: a rename to a name another
    company has is a 422 on `name`."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    domain: str | None = Field(default=None, min_length=1, max_length=200)


class CompanyPage(BaseModel):
    data: list[CompanyOut]
    next_cursor: str | None


class DealOut(BaseModel):
    id: int
    title: str
    contact_id: int | None
    company_id: int | None
    owner_id: int | None
    amount_minor: int
    currency: str
    stage: str
    status: str
    expected_close: date | None
    close_reason: str | None
    closed_at: datetime | None
    stage_changed_at: datetime
    created_at: datetime
    updated_at: datetime


class DealCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    contact_id: Id | None = None
    amount_minor: int = Field(default=0, ge=0, le=10**15)
    currency: str | None = Field(
        default=None, min_length=3, max_length=3, description="Default: the business's currency"
    )
    stage: str | None = Field(default=None, max_length=32)
    expected_close: date | None = None


class DealPatch(BaseModel):
    """Only the fields given change. `stage: won` or `lost` closes the deal (lost needs a
    `reason`), as in chat. `null` empties `expected_close`, `owner_id`, `contact_id` or
    `company_id`; a new `contact_id` brings the contact's company unless `company_id`
    is given too. `currency` alone re-labels the amount."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=200)
    amount_minor: int | None = Field(default=None, ge=0, le=10**15)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    stage: str | None = Field(default=None, min_length=1, max_length=32)
    reason: str | None = Field(default=None, max_length=500)
    expected_close: date | None = None
    owner_id: Id | None = None
    contact_id: Id | None = None
    company_id: Id | None = None


class DealPage(BaseModel):
    data: list[DealOut]
    next_cursor: str | None


class ActivityOut(BaseModel):
    id: int
    contact_id: int
    deal_id: int | None
    rep_id: int | None
    kind: str
    text: str
    occurred_at: datetime
    created_at: datetime


class ActivityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_id: Id
    kind: str = Field(max_length=16)
    text: str = Field(min_length=1, max_length=10000)
    occurred_at: datetime | None = None
    deal_id: Id | None = None


class ActivityPatch(BaseModel):
    """Only the fields given change; the contact and deal stay (log a new activity)."""

    model_config = ConfigDict(extra="forbid")
    kind: str | None = Field(default=None, max_length=16)
    text: str | None = Field(default=None, min_length=1, max_length=10000)
    occurred_at: datetime | None = None


class ActivityPage(BaseModel):
    data: list[ActivityOut]
    next_cursor: str | None


class FollowUpOut(BaseModel):
    id: int
    kind: str
    due_at: datetime
    rep_id: int | None
    contact_id: int | None
    text: str
    status: str
    created_at: datetime


class FollowUpCreate(BaseModel):
    """A reminder to a rep (`rep_id`), or a message to a customer (`contact_id`)."""

    model_config = ConfigDict(extra="forbid")
    due_at: datetime
    text: str = Field(min_length=1, max_length=4000)
    rep_id: Id | None = None
    contact_id: Id | None = None


class FollowUpPatch(BaseModel):
    """A pending follow-up's new time and/or text; a sent or cancelled one is a 409."""

    model_config = ConfigDict(extra="forbid")
    due_at: datetime | None = None
    text: str | None = Field(default=None, min_length=1, max_length=4000)


class FollowUpPage(BaseModel):
    data: list[FollowUpOut]
    next_cursor: str | None


class ConversationOut(BaseModel):
    id: int
    contact_id: int
    channel: str
    status: str
    assignee_id: int | None
    need: str | None
    opened_at: datetime
    last_message_at: datetime
    closed_at: datetime | None


class ConversationPage(BaseModel):
    data: list[ConversationOut]
    next_cursor: str | None


class MessageOut(BaseModel):
    id: int
    conversation_id: int
    contact_id: int
    channel: str
    direction: str
    kind: str
    text: str
    need: str | None
    author_rep_id: int | None
    delivery: str
    failure_reason: str | None
    sent_at: datetime


class MessagePage(BaseModel):
    data: list[MessageOut]
    next_cursor: str | None


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4096)


class RepOut(BaseModel):
    id: int
    name: str
    email: str | None
    role: str
    timezone: str
    active: bool


class RepPage(BaseModel):
    data: list[RepOut]
    next_cursor: str | None


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    paused_reason: str | None
    consecutive_failures: int
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret; shown only in this answer.")


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000)
    events: list[str] = Field(min_length=1, max_length=50)


class DeliveryOut(BaseModel):
    id: int
    subscription_id: int
    event_type: str
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime
    delivered_at: datetime | None


class QueryOut(BaseModel):
    data: list[dict[str, Any]]
    next_cursor: str | None


class TrashedContactOut(BaseModel):
    """A deleted contact, restorable until `purge_at` (POST .../restore)."""

    contact_id: int
    name: str
    emails: list[str]
    phones: list[str]
    deleted_by: str
    deleted_at: datetime
    purge_at: datetime
    counts: dict[str, int] = Field(description="Rows kept with it, per kind")


class TrashedContactDetail(TrashedContactOut):
    contact: dict[str, Any] = Field(description="The contact row as it was when deleted")


class TrashPage(BaseModel):
    data: list[TrashedContactOut]
    next_cursor: str | None


class RestoreOut(BaseModel):
    contact: ContactOut
    restored: dict[str, int] = Field(description="Rows put back, per kind")


class PurchaseOut(BaseModel):
    id: int
    contact_id: int | None
    company_id: int | None
    deal_id: int | None
    rep_id: int | None
    purchased_at: datetime
    amount_minor: int
    currency: str
    quantity: int
    reference: str | None
    source: str
    anonymised: bool
    created_at: datetime


class PurchaseCreate(BaseModel):
    """A sale: to a contact (its company is taken along) and/or a company."""

    model_config = ConfigDict(extra="forbid")
    contact_id: Id | None = None
    company_id: Id | None = None
    amount_minor: int = Field(ge=0, le=10**15, description="Minor units: 12000 is $120.00")
    currency: str | None = Field(
        default=None, min_length=3, max_length=3, description="Default: the business's currency"
    )
    purchased_at: datetime | None = Field(default=None, description="Default: now; not future")
    quantity: int = Field(default=1, ge=1, le=1_000_000)
    reference: str | None = Field(default=None, max_length=200)


class PurchasePatch(BaseModel):
    """Only the fields given change; `reference: null` empties it. The customer stays
    (delete and record again); a won deal's purchase is edited through its deal (409)."""

    model_config = ConfigDict(extra="forbid")
    amount_minor: int | None = Field(default=None, ge=0, le=10**15)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    purchased_at: datetime | None = Field(default=None, description="Not in the future")
    quantity: int | None = Field(default=None, ge=1, le=1_000_000)
    reference: str | None = Field(default=None, max_length=200)


class PurchasePage(BaseModel):
    data: list[PurchaseOut]
    next_cursor: str | None


class TokenOut(BaseModel):
    """An API token as listed: never its secret."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    rep_id: int | None
    rate_per_minute: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    secret: str | None = Field(
        description="The token to send as `Authorization: Bearer ...`: shown in this answer "
        "only, never stored in clear (null when an Idempotency-Key replays the answer)."
    )


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Literal["read", "write", "admin"]] = Field(min_length=1, max_length=3)
    rep_id: Id | None = Field(default=None, description="Act as this rep (audit, `owner=me`)")
    rate_per_minute: int = Field(default=600, ge=1, le=1_000_000)


class TokenPage(BaseModel):
    data: list[TokenOut]
    next_cursor: str | None
