"""Tables of the open API: tokens and stored idempotent responses.

External ids live in crm/externalids.py, one table shared with `rapport import`.

Kept out of crm/models.py so the API's storage can be read (and merged) on its own.
A token is stored as a SHA-256 hash only: the secret is shown once at creation.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.db import JSONType, UTCDateTime

API_SCOPES = ("read", "write", "admin")


def _when(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class ApiToken(SQLModel, table=True):
    """An integration's credential; `prefix` is the public part shown in listings."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16, unique=True)
    secret_hash: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_type=JSONType)
    rep_id: int | None = Field(default=None, foreign_key="rep.id", ondelete="SET NULL")
    rate_per_minute: int = 600
    created_at: datetime = _when()
    last_used_at: datetime | None = _when(nullable=True)
    revoked_at: datetime | None = _when(nullable=True)


class IdempotencyRecord(SQLModel, table=True):
    """The response a POST with an `Idempotency-Key` gave, replayed on retries.

    Written in the same transaction as the change itself, so a retry either finds
    the change and its response, or neither exists."""

    __table_args__ = (UniqueConstraint("token_id", "key", name="uq_idempotency_token_key"),)

    id: int | None = Field(default=None, primary_key=True)
    token_id: int = Field(foreign_key="apitoken.id", ondelete="CASCADE")
    key: str = Field(max_length=200)
    method: str = Field(max_length=8)
    path: str = Field(max_length=300)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: str = Field(sa_type=Text)
    created_at: datetime = _when(index=True)


class ApiRateLimit(SQLModel, table=True):
    """Requests of one token in one fixed one-minute window, shared by every worker.

    A request upserts (token, window start) and adds one, atomically in one statement
    (crm.api_tokens.count_request); old windows are pruned by the nightly job."""

    __table_args__ = (UniqueConstraint("token_id", "window_start", name="uq_apiratelimit_window"),)

    id: int | None = Field(default=None, primary_key=True)
    token_id: int = Field(foreign_key="apitoken.id", ondelete="CASCADE")
    window_start: datetime = _when(index=True)
    requests: int = 0
