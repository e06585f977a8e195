"""Churn and retention over a period, plus an early warning from what customers write.

Rapport has no subscriptions, so "customer" and "cancelled" are defined from behaviour:

- **Active at the start**: the contact had an activity (any kind), a purchase or sent
  an inbound message in the `inactive_days` days before the period starts.
- **Churned by the end**, among those:
  1. tagged `churned`, or opted out (when the opt-out has a date, only if it happened
     before the end of the period). Tags carry no date, so a `churned` tag counts for
     any period the contact was active at the start of: the tag is taken as the truth.
  2. otherwise, no activity, purchase or inbound message in the `inactive_days` days before
     the end of the period ("went quiet").
- churn rate = churned / active at the start; retention = 1 - churn.

Won-to-lost deal flips are deliberately not churn: a lost deal is a lost sale, and
that customer may still be buying other things.

The share of inbound messages the classifier tagged `cancellation` in the period is
reported alongside: it moves before the churn rate does.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, case, func, not_, or_, select, true, union
from sqlalchemy.sql import ColumnElement, Subquery
from sqlmodel import Session, col

from crm.analytics.period import Period
from crm.analytics.sql import has_tag, in_window, share
from crm.models import Activity, Contact, Message
from crm.purchases import Purchase

CHURN_TAG = "churned"
CANCELLATION_NEED = "cancellation"


@dataclass(frozen=True)
class ChurnReport:
    period: Period
    inactive_days: int
    customers_at_start: int
    churned: int
    churned_tagged: int  # tagged `churned` or opted out
    churned_inactive: int  # went quiet for `inactive_days` by the end
    churn_rate: float | None
    retention_rate: float | None
    inbound_messages: int
    cancellation_messages: int
    cancellation_share: float | None
    note: str | None = None


def active_contacts(start: datetime, end: datetime) -> Subquery:
    """Distinct ids of contacts with an activity, purchase or inbound message in [start, end)."""
    activities: Select[int] = select(col(Activity.contact_id).label("contact_id")).where(
        in_window(Activity.occurred_at, start, end)
    )
    inbound: Select[int] = select(col(Message.contact_id).label("contact_id")).where(
        col(Message.direction) == "inbound", in_window(Message.sent_at, start, end)
    )
    bought: Select[int | None] = select(col(Purchase.contact_id).label("contact_id")).where(
        col(Purchase.contact_id).is_not(None), in_window(Purchase.purchased_at, start, end)
    )
    return union(activities, inbound, bought).subquery()


def owned_by(owner_id: int | None) -> ColumnElement[bool]:
    return col(Contact.owner_id) == owner_id if owner_id is not None else true()


def cancelled_by(end: datetime) -> ColumnElement[bool]:
    """Tagged `churned`, or opted out before `end` (an undated opt-out counts)."""
    opted_out = and_(
        col(Contact.opted_out),
        or_(col(Contact.consent_changed_at).is_(None), col(Contact.consent_changed_at) < end),
    )
    return or_(has_tag(CHURN_TAG), opted_out)


def churn(
    session: Session, *, period: Period, inactive_days: int = 90, owner_id: int | None = None
) -> ChurnReport:
    """Who was a customer when the period began, and how many had gone by its end."""
    if inactive_days < 1:
        raise ValueError("inactive_days must be at least 1")
    window = timedelta(days=inactive_days)
    at_start = active_contacts(period.start - window, period.start)
    at_end = active_contacts(period.end - window, period.end)
    tagged = cancelled_by(period.end)
    quiet = and_(not_(tagged), at_end.c.contact_id.is_(None))
    customers, churned_tagged, churned_inactive = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((tagged, 1), else_=0)), 0),
            func.coalesce(func.sum(case((quiet, 1), else_=0)), 0),
        )
        .select_from(Contact)
        .join(at_start, at_start.c.contact_id == Contact.id)
        .outerjoin(at_end, at_end.c.contact_id == Contact.id)
        .where(owned_by(owner_id))
    ).one()
    inbound, cancellations = _cancellation_signal(session, period, owner_id)
    customers, churned_tagged, churned_inactive = (
        int(customers),
        int(churned_tagged),
        int(churned_inactive),
    )
    churned = churned_tagged + churned_inactive
    rate = share(churned, customers)
    note = None
    if not customers:
        note = (
            "not enough data: no customers were active at the start of the period "
            f"(no activity or inbound message in the {inactive_days} days before it)"
        )
    return ChurnReport(
        period=period,
        inactive_days=inactive_days,
        customers_at_start=customers,
        churned=churned,
        churned_tagged=churned_tagged,
        churned_inactive=churned_inactive,
        churn_rate=rate,
        retention_rate=None if rate is None else 1 - rate,
        inbound_messages=inbound,
        cancellation_messages=cancellations,
        cancellation_share=share(cancellations, inbound),
        note=note,
    )


def _cancellation_signal(session: Session, period: Period, owner_id: int | None) -> tuple[int, int]:
    statement = select(
        func.count(),
        func.coalesce(func.sum(case((col(Message.need) == CANCELLATION_NEED, 1), else_=0)), 0),
    ).where(
        col(Message.direction) == "inbound", in_window(Message.sent_at, period.start, period.end)
    )
    if owner_id is not None:
        statement = statement.where(
            col(Message.contact_id).in_(select(col(Contact.id)).where(owned_by(owner_id)))
        )
    inbound, cancellations = session.execute(statement).one()
    return int(inbound), int(cancellations)
