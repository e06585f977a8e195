"""The closed sets of values that statuses and kinds may take.

`StrEnum`, stored as plain strings: a member compares equal to its text, so rows read
back from the database, JSON payloads and the tests' literals all work, and PostgreSQL
needs no native ENUM type (whose migrations need `ALTER TYPE`). What the database must
refuse is declared once here too: `check(column, Enum)` builds the CHECK constraint the
models declare and migration 0003 adds, so a typo'd status cannot be stored.

Channel names are deliberately NOT an enum: a new channel is an adapter module and a line
of wiring, and must not need a migration.
"""

from enum import StrEnum

from sqlalchemy import CheckConstraint, Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import AutoString


class Role(StrEnum):
    REP = "rep"
    ADMIN = "admin"


class PointKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"


class ActivityKind(StrEnum):
    CALL = "call"
    MEETING = "meeting"
    EMAIL = "email"
    NOTE = "note"
    MESSAGE = "message"


class DealStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class ConversationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Delivery(StrEnum):
    """An inbound message is `received`; a reply is `pending` until the channel confirms."""

    RECEIVED = "received"
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class FollowUpKind(StrEnum):
    REMINDER = "reminder"  # to a rep
    CUSTOMER = "customer"  # to a customer, on a rep's behalf
    DIGEST = "digest"  # a rep's morning digest, composed when sent
    NUDGE = "nudge"  # stale deal / unanswered customer, to a rep
    SURVEY = "survey"  # satisfaction question after a closed conversation
    NOTICE = "notice"  # a one-off message to a rep (a failure, a deal event)

    @property
    def to_customer(self) -> bool:
        return self in {FollowUpKind.CUSTOMER, FollowUpKind.SURVEY}

    @property
    def workday_only(self) -> bool:
        """Rep messages the scheduler holds to business hours."""
        return self in {FollowUpKind.DIGEST, FollowUpKind.NUDGE}

    @property
    def failure_told_to_rep(self) -> bool:
        """Whose permanent failure the rep hears about."""
        return self is FollowUpKind.CUSTOMER


class FollowUpStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ActorKind(StrEnum):
    """Who did something (crm.actors.Actor.kind; written into the audit log's `actor`)."""

    REP = "rep"
    CUSTOMER = "customer"
    SYSTEM = "system"


def check(table: str, column: str, values: type[StrEnum]) -> CheckConstraint:
    """`column IN (...)` named `ck_<table>_<column>`, the same in the models and migration."""
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"ck_{table}_{column}")


# (table, column, enum): every constrained column, for the models and migration 0003.
CHECKED: tuple[tuple[str, str, type[StrEnum]], ...] = (
    ("rep", "role", Role),
    ("contactpoint", "kind", PointKind),
    ("deal", "status", DealStatus),
    ("activity", "kind", ActivityKind),
    ("conversation", "status", ConversationStatus),
    ("message", "direction", Direction),
    ("message", "delivery", Delivery),
    ("followup", "kind", FollowUpKind),
    ("followup", "status", FollowUpStatus),
)


class EnumText(TypeDecorator[StrEnum]):
    """A `VARCHAR(length)` column that hands back members of `values`, not bare strings,
    so code reading a row gets the same type it wrote. The database sees plain text."""

    impl = AutoString
    cache_ok = True

    def __init__(self, values: type[StrEnum], length: int) -> None:
        super().__init__(length=length)
        self.values = values

    def process_bind_param(self, value: object, dialect: Dialect) -> str | None:
        return None if value is None else str(self.values(str(value)))

    def process_result_value(self, value: object, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.values(str(value))
