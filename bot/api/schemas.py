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
    currency: str = Field(default="USD", min_length=3, max_length=3)
    stage: str | None = Field(default=None, max_length=32)
    expected_close: date | None = None


class DealPatch(BaseModel):
    """`stage: won` or `lost` closes the deal (lost needs a `reason`), as in chat."""

    model_config = ConfigDict(extra="forbid")
    stage: str | None = Field(default=None, min_length=1, max_length=32)
    reason: str | None = Field(default=None, max_length=500)


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
