"""Customer value from purchases: expected purchases, expected value and P(alive).

As of a day (purchases on that day included, nothing after it used), every contact who
bought (a purchase, or a won deal that has none) is summarised in SQL as one row per
customer (purchase-days, first and last purchase day, spend), the BTYD models
(crm.analytics.btyd) are fitted on those summaries, and each customer gets:

- expected purchases over the horizon (default 12 months),
- expected spend per purchase (Gamma-Gamma) and expected value = the product,
- P(alive), the chance they still buy at all.

Rules the issue left open, decided here:

- Days are UTC calendar days; a customer's several purchases on one day count once (as
  Fader, Hardie & Lee count them), with that day's spend summed.
- One currency per model: the business's main currency (most purchases) is modelled;
  purchases in other currencies are left out and the note says how many. Amounts are
  never mixed across currencies.
- The default model is Pareto/NBD: on CDNOW its P(alive) ranks who will not buy again
  far better than BG/NBD's (whose P(alive) is 1 for every one-time buyer), see the
  benchmark. BG/NBD is fitted too and its parameters are always reported.
- Under MIN_REPEAT_CUSTOMERS repeat customers, or when no model converges, there are no
  model figures: the caller falls back to RFM segments and the note says why.
- No discounting and no margin: expected value is revenue over the horizon.

Cost: one grouped query that returns a row per customer (with the contact's name, owner
and external id joined in), vectorised numpy over customers, and one query for the
segments: linear in the purchases, and only customers ever reach Python.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Date, Integer, case, cast, func, literal, select, text, union_all
from sqlmodel import Session, col

from crm.analytics import btyd
from crm.analytics.churn import owned_by
from crm.analytics.segments import scored_customers
from crm.models import Contact, Deal
from crm.purchases import Purchase

MIN_REPEAT_CUSTOMERS = 300
DEFAULT_HORIZON = "12m"
MODELS = ("pareto_nbd", "bgnbd")
DEFAULT_MODEL = "pareto_nbd"
_HORIZON = re.compile(r"^\s*(\d{1,4}(?:\.\d+)?)\s*([dwmy])\s*$", re.IGNORECASE)
_WEEKS_PER = {"d": 1 / 7, "w": 1.0, "m": 365.25 / 12 / 7, "y": 365.25 / 7}


def parse_horizon(text: str | None) -> float:
    """ "39w", "12m", "90d", "1y" -> weeks. Raises ValueError with the accepted forms."""
    match = _HORIZON.match(text or DEFAULT_HORIZON)
    if match is None:
        raise ValueError(f"'{(text or '')[:20]}' is not a horizon; use e.g. 39w, 12m, 90d or 1y.")
    weeks = float(match.group(1)) * _WEEKS_PER[match.group(2).lower()]
    if not 0 < weeks <= 520:
        raise ValueError("The horizon must be between a day and ten years.")
    return weeks


@dataclass(frozen=True)
class CustomerValue:
    contact_id: int
    name: str
    external_id: str | None
    owner_id: int | None
    last_contact: datetime | None
    purchases: int  # purchase-days up to as-of
    spend_minor: int  # up to as-of, in the report's currency
    last_purchase: date
    expected_purchases: float | None
    expected_value_minor: int | None
    p_alive: float | None
    segment: str | None


@dataclass(frozen=True)
class ValueReport:
    as_of: date
    horizon_weeks: float
    currency: str | None
    method: str  # "pareto_nbd", "bgnbd" or "rfm" (fallback)
    customers: list[CustomerValue]  # highest expected value first (spend when rfm)
    repeat_customers: int
    total_expected_value_minor: int | None
    model: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    # How many customers the RFM scoring ranked (None: not scored, with_segments=False).
    # Under segments.MIN_CUSTOMERS the quintiles mean nothing, so reports show no labels.
    rfm_customers: int | None = None


def _sales(end: datetime) -> Any:
    """Purchases, and won deals that have none (won before purchases existed), up to end."""
    with_purchase = select(col(Purchase.deal_id)).where(col(Purchase.deal_id).is_not(None))
    return union_all(
        select(
            col(Purchase.contact_id).label("cid"),
            col(Purchase.purchased_at).label("at"),
            col(Purchase.amount_minor).label("amount"),
            col(Purchase.currency).label("currency"),
        ).where(col(Purchase.purchased_at) < end, col(Purchase.contact_id).is_not(None)),
        select(
            col(Deal.contact_id), col(Deal.closed_at), col(Deal.amount_minor), col(Deal.currency)
        ).where(
            col(Deal.status) == "won",
            col(Deal.closed_at) < end,
            col(Deal.contact_id).is_not(None),
            col(Deal.id).not_in(with_purchase),
        ),
    ).subquery("sales")


def _main_currency(session: Session, end: datetime) -> tuple[str | None, int]:
    sales = _sales(end)
    rows = session.execute(
        select(sales.c.currency, func.count())
        .group_by(sales.c.currency)
        .order_by(func.count().desc(), sales.c.currency)
    ).all()
    if not rows:
        return None, 0
    return rows[0][0], sum(int(n) for _, n in rows[1:])


def _utc_date(session: Session, column: Any) -> Any:
    """The UTC calendar day of a timestamp: a date on PostgreSQL, 'YYYY-MM-DD' text on
    SQLite (both sort as days do). The GROUP BY key of the value query; on PostgreSQL it
    is the very expression migration 0014 keeps statistics on, which is what lets the
    planner group purchases in index order instead of spilling a hash table to disk."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _day_number(session: Session, day: Any) -> Any:
    """A `_utc_date` as whole days since 1970-01-01 (an integer the database computes,
    so no date string crosses into Python)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(day - cast(literal("1970-01-01"), Date), Integer)
    # julianday of a midnight is n + 0.5 exactly, so the difference is an exact integer
    return cast(func.julianday(day) - 2440587.5, Integer)


def _spend_per_day(session: Session, contact: Any, at: Any, amount: Any, *where: Any) -> Any:
    """SELECT contact, UTC day, sum(amount) ... GROUP BY contact, day, on one table."""
    day = _utc_date(session, at)
    return (
        select(contact.label("cid"), day.label("day"), func.sum(amount).label("spend"))
        .where(*where)
        .group_by(contact, day)
    )


@contextmanager
def _grouped_in_order(session: Session) -> Iterator[None]:
    """PostgreSQL: no hash aggregates for the one statement inside, then the setting as
    it was (transaction-local either way).

    Measured at 100k customers / 1M purchases: with the report work_mem (64MB) the
    planner believed the ~1M customer-days would fit a hash table, chose two hash
    aggregates and a sort, and spilled 24 MB + 12 MB + 22 MB to disk (EXPLAIN ANALYZE
    6.8 s on a loaded machine); told not to hash, it streams the purchases in
    `ix_purchase_contact_when` order with no temp files at any work_mem (4.2 s). Without
    that index order it sorts instead, still one pass and no hash table."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    before = session.execute(text("SELECT current_setting('enable_hashagg')")).scalar_one()
    session.execute(text("SELECT set_config('enable_hashagg', 'off', true)"))
    try:
        yield
    finally:
        session.execute(text("SELECT set_config('enable_hashagg', :v, true)"), {"v": before})


@dataclass(frozen=True)
class _Buyers:
    """One row per customer, aggregated in SQL: purchase-days, first and last day (day
    numbers), total spend, the first day's spend, and the contact's own fields."""

    ids: np.ndarray
    days: np.ndarray
    first: np.ndarray
    last: np.ndarray
    spend: np.ndarray
    first_spend: np.ndarray
    people: list[tuple[str | None, Any, int | None, datetime | None]]


def _buyers(session: Session, end: datetime, currency: str, owner_id: int | None) -> _Buyers:
    """GROUP BY contact in the database: what moves to Python is a row per customer
    however many purchases they made. A customer's purchases on one day count once (the
    inner GROUP BY day); the first day's spend is picked with a window, since the
    Gamma-Gamma spend model uses the repeat purchases only.

    Purchases and won deals are each grouped by (contact, day) on their own table before
    they meet: grouped through the UNION ALL, PostgreSQL could use no statistics and
    hashed ~1M customer-days at 100k customers, spilling to disk; grouped on `purchase`
    it reads `ix_purchase_contact_when` in order (statistics from migration 0014) and
    every step after streams, sorted by contact then day, with no temp files (EXPLAIN in
    the README's "Purchase reports at two sizes")."""
    purchases_per_day = _spend_per_day(
        session,
        col(Purchase.contact_id),
        col(Purchase.purchased_at),
        col(Purchase.amount_minor),
        col(Purchase.purchased_at) < end,
        col(Purchase.contact_id).is_not(None),
        col(Purchase.currency) == currency,
    )
    with_purchase = select(col(Purchase.deal_id)).where(col(Purchase.deal_id).is_not(None))
    deals_per_day = _spend_per_day(
        session,
        col(Deal.contact_id),
        col(Deal.closed_at),
        col(Deal.amount_minor),
        col(Deal.status) == "won",
        col(Deal.closed_at) < end,
        col(Deal.contact_id).is_not(None),
        col(Deal.id).not_in(with_purchase),
        col(Deal.currency) == currency,
    )
    both = union_all(purchases_per_day, deals_per_day).subquery("both_per_day")
    # a won deal on a day with purchases makes that day one purchase-day, not two
    per_day = (
        select(
            both.c.cid,
            _day_number(session, both.c.day).label("day"),
            func.sum(both.c.spend).label("spend"),
            func.row_number().over(partition_by=both.c.cid, order_by=both.c.day).label("nth"),
        )
        .group_by(both.c.cid, both.c.day)
        .subquery("per_day")
    )
    per_customer = (
        select(
            per_day.c.cid,
            func.count().label("days"),
            func.min(per_day.c.day).label("first"),
            func.max(per_day.c.day).label("last"),
            func.sum(per_day.c.spend).label("spend"),
            func.sum(case((per_day.c.nth == 1, per_day.c.spend), else_=0)).label("first_spend"),
        )
        .group_by(per_day.c.cid)
        .subquery("per_customer")
    )
    statement = (
        select(
            *per_customer.c,
            col(Contact.name),
            col(Contact.custom_fields),
            col(Contact.owner_id),
            col(Contact.last_activity_at),
        )
        .outerjoin(Contact, col(Contact.id) == per_customer.c.cid)
        .order_by(per_customer.c.cid)
    )
    if owner_id is not None:
        statement = statement.where(owned_by(owner_id))
    with _grouped_in_order(session):
        rows = session.execute(statement).all()
    n = len(rows)

    def column(i: int, dtype: Any) -> np.ndarray:
        return np.fromiter((r[i] or 0 for r in rows), dtype=dtype, count=n)

    return _Buyers(
        ids=column(0, np.int64),
        days=column(1, np.int64),
        first=column(2, np.int64),
        last=column(3, np.int64),
        spend=column(4, np.float64),
        first_spend=column(5, np.float64),
        people=[(r[6], r[7], r[8], r[9]) for r in rows],
    )


def customer_value(
    session: Session,
    *,
    as_of: date,
    horizon_weeks: float = 52.18,
    model: str | None = None,
    owner_id: int | None = None,
    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS,
    with_segments: bool = True,
) -> ValueReport:
    """Per-customer expected purchases, value and P(alive) as of the end of `as_of`.

    `with_segments=False` skips the RFM scoring (segment None), the costly part of the SQL,
    for callers that need only the totals or P(alive)."""
    chosen = model or DEFAULT_MODEL
    if chosen not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}")
    end = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=UTC)
    currency, other_currency = _main_currency(session, end)
    if currency is None:
        return ValueReport(as_of, horizon_weeks, None, "rfm", [], 0, None, {}, _NO_PURCHASES)
    buyers = _buyers(session, end, currency, owner_id)
    end_day = int(np.datetime64(as_of, "D").astype(np.int64))
    summary = btyd.summary_from_totals(
        buyers.days, buyers.first, buyers.last, buyers.spend, buyers.first_spend, end_day
    )
    repeat = int((summary.frequency > 0).sum())
    notes = []
    if other_currency:
        notes.append(f"{other_currency} purchase(s) in other currencies are not modelled")
    fits: dict[str, btyd.Fit] = {}
    method = "rfm"
    if repeat < min_repeat_customers:
        notes.append(
            f"not enough data for the value model: {repeat} repeat customer(s), it needs "
            f"{min_repeat_customers}; ranking by past spend instead"
        )
    else:
        fits = {"bgnbd": btyd.fit_bgnbd(summary), "pareto_nbd": btyd.fit_pareto(summary)}
        fits["gamma_gamma"] = btyd.fit_gamma_gamma(summary)
        order = [chosen] + [m for m in MODELS if m != chosen]
        method = next((m for m in order if fits[m].converged), "rfm")
        if method == "rfm":
            notes.append("the purchase models did not converge; showing RFM segments instead")
        elif method != chosen:
            notes.append(f"{chosen} did not converge ({fits[chosen].message}); using {method}")
    expected, alive, value = _predict(method, fits, summary, horizon_weeks)
    if method != "rfm" and not fits["gamma_gamma"].converged:
        notes.append(f"spend model did not converge ({fits['gamma_gamma'].message}): no values")
    customers, rfm_customers = _customers(
        session, end, owner_id, buyers, summary, expected, alive, value, with_segments
    )
    total = None if value is None else int(round(float(np.sum(value))))
    return ValueReport(
        as_of=as_of,
        horizon_weeks=horizon_weeks,
        currency=currency,
        method=method,
        customers=customers,
        repeat_customers=repeat,
        total_expected_value_minor=total,
        model=_model_key(method, fits, summary, horizon_weeks),
        note="; ".join(notes) or None,
        rfm_customers=rfm_customers,
    )


_NO_PURCHASES = "not enough data: no purchases recorded up to that day"


def _predict(
    method: str, fits: dict[str, btyd.Fit], s: btyd.Summary, horizon: float
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    if method == "rfm":
        return None, None, None
    p = fits[method].params
    x, t_x, big_t = s.frequency, s.recency, s.age
    if method == "bgnbd":
        expected = btyd.bgnbd_expected(p, horizon, x, t_x, big_t)
        alive = btyd.bgnbd_p_alive(p, x, t_x, big_t)
    else:
        expected = btyd.pareto_expected(p, horizon, x, t_x, big_t)
        alive = btyd.pareto_p_alive(p, x, t_x, big_t)
    value = None
    if fits["gamma_gamma"].converged:
        value = expected * btyd.expected_spend(fits["gamma_gamma"].params, x, s.monetary)
    return expected, alive, value


def _model_key(
    method: str, fits: dict[str, btyd.Fit], s: btyd.Summary, horizon: float
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "method": method,
        "time_unit": "week",
        "horizon_weeks": round(horizon, 3),
        "customers": len(s.frequency),
        "repeat_customers": int((s.frequency > 0).sum()),
    }
    for name, fit in fits.items():
        out[name] = {
            "params": {k: round(v, 6) for k, v in fit.params.items()},
            "log_likelihood": round(fit.log_likelihood, 3),
            "converged": fit.converged,
        }
    return out


def _customers(
    session: Session,
    end: datetime,
    owner_id: int | None,
    buyers: _Buyers,
    s: btyd.Summary,
    expected: np.ndarray | None,
    alive: np.ndarray | None,
    value: np.ndarray | None,
    with_segments: bool,
) -> tuple[list[CustomerValue], int | None]:
    """Joins the model's arrays with the buyers' own fields and their segments (the
    segments in one more query, one row per customer), and how many customers were scored."""
    if not len(buyers.ids):
        return [], None
    segments: dict[int, str] = {}
    if with_segments:
        rfm = scored_customers(session, as_of=end, owner_id=owner_id)
        segments = dict(session.execute(select(rfm.c.contact_id, rfm.c.segment)).all())
    out = []
    for i, cid in enumerate(buyers.ids.tolist()):
        name, fields, owner, last_contact = buyers.people[i]
        if name is None:  # no contact row: modelled, not listed
            continue
        external = (fields or {}).get("external_id")
        out.append(
            CustomerValue(
                contact_id=cid,
                name=name,
                external_id=None if external is None else str(external),
                owner_id=owner,
                last_contact=last_contact,
                purchases=int(s.frequency[i]) + 1,
                spend_minor=int(round(float(buyers.spend[i]))),
                last_purchase=date(1970, 1, 1) + timedelta(days=int(buyers.last[i])),
                expected_purchases=None if expected is None else float(expected[i]),
                expected_value_minor=None if value is None else int(round(float(value[i]))),
                p_alive=None if alive is None else float(alive[i]),
                segment=segments.get(cid),
            )
        )
    out.sort(
        key=lambda c: (
            -(c.expected_value_minor if c.expected_value_minor is not None else c.spend_minor),
            c.contact_id,
        )
    )
    return out, len(segments) if with_segments else None
