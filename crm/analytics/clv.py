"""Customer lifetime value: what a customer is worth, to decide where effort goes.

Two textbook forms are reported side by side, both per currency (USD and EUR are never
added: a business selling in both gets two answers):

- **Simple**: ``CLV = m / c``, with m the profit per customer per period and c the churn
  rate per period. It assumes a constant margin and churn, no discounting, and that a
  customer stays 1/c periods on average. With no churn it is unbounded (None).
- **Standard** (discounted, Gupta & Lehmann): ``CLV = m * r / (1 + d - r)``, with r the
  retention rate per period (1 - c) and d the discount rate per period. It assumes the
  margin arrives at the end of each period the customer survives, over an infinite
  horizon. It stays finite with no churn as long as d > 0.

Inputs, all over the report's period:

- m: sales in the period with a contact (purchases, and won deals closed in it that
  have no purchase row), times `margin` (the share of a sale that is profit; 1.0 treats
  revenue as profit), divided by the number of paying customers (contacts with such a
  sale). Sales linked only to a company are left out.
- c and r: from :func:`crm.analytics.churn.churn` over the same period.
- d: `discount_rate` is an annual rate (what money a year out is worth less), converted
  to the period's length: ``(1 + annual) ** (days / 365) - 1``.

Per contact the same formulas use that contact's own profit; per segment they use the
average profit of the segment's paying customers (segments from the RFM scoring).
Amounts are integer minor units, rounded half to even.
"""

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, union_all
from sqlalchemy.sql import Subquery
from sqlmodel import Session, col

from crm.analytics.churn import ChurnReport, churn, owned_by
from crm.analytics.period import Period
from crm.analytics.segments import SEGMENTS, scored_customers
from crm.analytics.sql import in_window
from crm.models import Contact, Deal
from crm.purchases import Purchase


@dataclass(frozen=True)
class Value:
    """The value of a group of paying customers in one currency."""

    group: str  # "all" or a segment name
    currency: str
    customers: int
    profit_minor: int
    avg_profit_minor: int
    simple_clv_minor: int | None
    standard_clv_minor: int | None


@dataclass(frozen=True)
class ContactValue:
    contact_id: int
    name: str
    segment: str | None
    currency: str
    profit_minor: int
    simple_clv_minor: int | None
    standard_clv_minor: int | None


@dataclass(frozen=True)
class CLVReport:
    period: Period
    margin: float
    churn: ChurnReport
    churn_rate: float | None
    retention_rate: float | None
    discount_rate: float  # annual, as given
    period_discount_rate: float
    by_currency: list[Value]
    by_segment: list[Value]
    top_contacts: list[ContactValue]  # up to `top` per currency, highest profit first
    note: str | None = None


def simple_clv(profit_per_period: float, churn_rate: float | None) -> float | None:
    """m / c; None when the churn rate is unknown or zero (the value is unbounded)."""
    if churn_rate is None or churn_rate <= 0:
        return None
    return profit_per_period / churn_rate


def standard_clv(
    margin_per_period: float, retention_rate: float | None, discount_rate: float
) -> float | None:
    """m * r / (1 + d - r); None when r is unknown or the sum would not converge."""
    if retention_rate is None:
        return None
    denominator = 1 + discount_rate - retention_rate
    if denominator <= 0:
        return None
    return margin_per_period * retention_rate / denominator


def period_discount_rate(annual_rate: float, days: float) -> float:
    """An annual discount rate compounded down (or up) to a period of `days` days."""
    if annual_rate <= -1:
        raise ValueError("discount_rate must be above -100%")
    return (1 + annual_rate) ** (days / 365) - 1


def customer_lifetime_value(
    session: Session,
    *,
    period: Period,
    margin: float = 1.0,
    discount_rate: float = 0.1,
    inactive_days: int = 90,
    owner_id: int | None = None,
    top: int = 10,
) -> CLVReport:
    """CLV per currency, per RFM segment and for the top contacts (see the module doc)."""
    if not 0 < margin <= 1:
        raise ValueError("margin must be in (0, 1]: the share of a sale that is profit")
    churn_report = churn(session, period=period, inactive_days=inactive_days, owner_id=owner_id)
    c, r = churn_report.churn_rate, churn_report.retention_rate
    d = period_discount_rate(discount_rate, period.days)
    sales = _sales_in(period)
    paid = (
        select(
            sales.c.cid,
            sales.c.currency,
            func.sum(sales.c.amount).label("total"),
        )
        .join(Contact, col(Contact.id) == sales.c.cid)
        .where(owned_by(owner_id))
        .group_by(sales.c.cid, sales.c.currency)
        .subquery("paid")
    )

    def value(group: str, currency: str, customers: int, revenue: int) -> Value:
        profit = _profit(revenue, margin)
        average = profit / customers
        return Value(
            group=group,
            currency=currency,
            customers=customers,
            profit_minor=profit,
            avg_profit_minor=round(average),
            simple_clv_minor=_minor(simple_clv(average, c)),
            standard_clv_minor=_minor(standard_clv(average, r, d)),
        )

    by_currency = [
        value("all", currency, int(n), int(total))
        for currency, n, total in session.execute(
            select(paid.c.currency, func.count(), func.sum(paid.c.total))
            .group_by(paid.c.currency)
            .order_by(paid.c.currency)
        )
    ]
    by_segment, top_rows = _segments_and_top(session, paid, period, owner_id, top, value)
    top_contacts = [
        ContactValue(
            contact_id=cid,
            name=name,
            segment=segment,
            currency=currency,
            profit_minor=(profit := _profit(total, margin)),
            simple_clv_minor=_minor(simple_clv(profit, c)),
            standard_clv_minor=_minor(standard_clv(profit, r, d)),
        )
        for cid, name, segment, currency, total in top_rows
    ]
    return CLVReport(
        period=period,
        margin=margin,
        churn=churn_report,
        churn_rate=c,
        retention_rate=r,
        discount_rate=discount_rate,
        period_discount_rate=d,
        by_currency=by_currency,
        by_segment=by_segment,
        top_contacts=top_contacts,
        note=_note(churn_report, bool(by_currency)),
    )


def _sales_in(period: Period) -> Subquery:
    """Purchases with a contact in the period, and won deals closed in it that have no
    purchase (won before purchases existed): each sale once."""
    with_purchase = select(col(Purchase.deal_id)).where(col(Purchase.deal_id).is_not(None))
    return union_all(
        select(
            col(Purchase.contact_id).label("cid"),
            col(Purchase.currency).label("currency"),
            col(Purchase.amount_minor).label("amount"),
        ).where(
            col(Purchase.contact_id).is_not(None),
            in_window(Purchase.purchased_at, period.start, period.end),
        ),
        select(col(Deal.contact_id), col(Deal.currency), col(Deal.amount_minor)).where(
            col(Deal.status) == "won",
            col(Deal.contact_id).is_not(None),
            in_window(Deal.closed_at, period.start, period.end),
            col(Deal.id).not_in(with_purchase),
        ),
    ).subquery("sales")


def _segments_and_top(
    session: Session,
    paid: Subquery,
    period: Period,
    owner_id: int | None,
    top: int,
    value: Callable[[str, str, int, int], Value],
) -> tuple[list[Value], list[tuple[int, str, str, str, int]]]:
    """Per-segment totals and the top contacts per currency.

    Two queries that each return a row per paying customer: their totals (`paid`,
    grouped by contact and currency in SQL) and their segments (the RFM scoring, narrowed
    to payers by IN, a keyed lookup on both databases); they are matched here by
    contact id in a dict. Joining the two derived tables in SQL let SQLite scan the
    payers once per scored customer, which grows with the square of the customers."""
    totals = session.execute(select(paid.c.cid, paid.c.currency, paid.c.total)).all()
    if not totals:
        return [], []
    rfm = scored_customers(session, as_of=period.end, owner_id=owner_id)
    segments: dict[int, str] = dict(
        session.execute(
            select(rfm.c.contact_id, rfm.c.segment).where(rfm.c.contact_id.in_(select(paid.c.cid)))
        ).all()
    )
    groups: dict[tuple[str, str], list[int]] = {}
    per_currency: dict[str, list[tuple[int, int, str]]] = {}
    for cid, currency, total in totals:
        segment = segments.get(cid)
        if segment is None:  # every payer has a touch, so this does not happen
            continue
        group = groups.setdefault((segment, currency), [0, 0])
        group[0] += 1
        group[1] += int(total)
        per_currency.setdefault(currency, []).append((-int(total), int(cid), segment))
    by_segment = [
        value(segment, currency, n, total) for (segment, currency), (n, total) in groups.items()
    ]
    by_segment.sort(key=lambda v: (SEGMENTS.index(v.group), v.currency))
    best = {currency: heapq.nsmallest(top, rows) for currency, rows in sorted(per_currency.items())}
    ids = {cid for rows in best.values() for _, cid, _ in rows}
    names: dict[int, str] = (
        dict(
            session.execute(
                select(col(Contact.id), col(Contact.name)).where(col(Contact.id).in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    top_rows = [
        (cid, names[cid], segment, currency, -negative)
        for currency, rows in best.items()
        for negative, cid, segment in rows
    ]
    return by_segment, top_rows


def _profit(revenue_minor: int, margin: float) -> int:
    """revenue × margin in exact decimal arithmetic, rounded to a whole minor unit."""
    return int((Decimal(revenue_minor) * Decimal(str(margin))).to_integral_value())


def _minor(amount: float | None) -> int | None:
    return None if amount is None else round(amount)


def _note(churn_report: ChurnReport, any_paying: bool) -> str | None:
    notes = []
    if churn_report.churn_rate is None:
        notes.append(
            "not enough data: no customers were active at the start of the period, "
            "so there is no churn rate to divide by"
        )
    elif churn_report.churn_rate == 0:
        notes.append(
            "no customer churned in the period, so the simple CLV is unbounded; "
            "the standard (discounted) form still applies"
        )
    if not any_paying:
        notes.append("no purchases or won deals with a contact in the period")
    return "; ".join(notes) or None
