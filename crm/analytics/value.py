"""Customer value from purchases: expected purchases, expected value and P(alive).

As of a day (purchases on that day included, nothing after it used), every contact who
bought (a purchase, or a won deal that has none) is summarised in SQL as one row per
purchase-day, the BTYD models
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

Cost: one grouped query (rows = customer-days) and vectorised numpy, linear in the
purchases; the segment and contact look-ups are one query each.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Date, cast, func, select, union_all
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


def _day(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _sales(end: datetime) -> Any:
    """Purchases, and won deals that have none (won before purchases existed), up to end."""
    with_purchase = select(Purchase.deal_id).where(col(Purchase.deal_id).is_not(None))
    return union_all(
        select(
            col(Purchase.contact_id).label("cid"),
            col(Purchase.purchased_at).label("at"),
            col(Purchase.amount_minor).label("amount"),
            col(Purchase.currency).label("currency"),
        ).where(col(Purchase.purchased_at) < end, col(Purchase.contact_id).is_not(None)),
        select(Deal.contact_id, Deal.closed_at, Deal.amount_minor, Deal.currency).where(
            Deal.status == "won",
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


def _purchase_days(
    session: Session, end: datetime, currency: str, owner_id: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sales = _sales(end)
    day = _day(session, sales.c.at).label("day")
    statement = (
        select(sales.c.cid, day, func.sum(sales.c.amount))
        .where(sales.c.currency == currency)
        .group_by(sales.c.cid, day)
        .order_by(sales.c.cid, day)
    )
    if owner_id is not None:
        statement = statement.join(Contact, col(Contact.id) == sales.c.cid).where(
            owned_by(owner_id)
        )
    rows = session.execute(statement).all()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    days = np.array([str(r[1])[:10] for r in rows], dtype="datetime64[D]").astype(np.int64)
    amounts = np.fromiter((float(r[2] or 0) for r in rows), dtype=np.float64, count=len(rows))
    return ids, days, amounts


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
    ids, days, amounts = _purchase_days(session, end, currency, owner_id)
    contact_ids, index = np.unique(ids, return_inverse=True)
    end_day = int(np.datetime64(as_of, "D").astype(np.int64))
    summary = btyd.summarise(index, days, amounts, end_day)
    repeat = int((summary.frequency > 0).sum())
    notes = []
    if other_currency:
        notes.append(f"{other_currency} purchase(s) in other currencies are not modelled")
    fits: dict[str, btyd.Fit] = {}
    method = "rfm"
    if repeat < min_repeat_customers:
        notes.append(
            f"not enough data for the value model: {repeat} repeat customer(s), it needs "
            f"{min_repeat_customers}; showing RFM segments and past spend instead"
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
    spend = np.bincount(index, weights=amounts, minlength=len(contact_ids))
    last_day = np.full(len(contact_ids), np.iinfo(np.int64).min)
    np.maximum.at(last_day, index, days)
    customers = _customers(
        session, end, owner_id if with_segments else None, contact_ids, summary, spend,
        last_day, expected, alive, value, with_segments,
    )  # fmt: skip
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
    contact_ids: np.ndarray,
    s: btyd.Summary,
    spend: np.ndarray,
    last_day: np.ndarray,
    expected: np.ndarray | None,
    alive: np.ndarray | None,
    value: np.ndarray | None,
    with_segments: bool,
) -> list[CustomerValue]:
    """Joins the model's arrays with names, owners and segments (one query each)."""
    if not len(contact_ids):
        return []
    segments: dict[int, str] = {}
    if with_segments:
        rfm = scored_customers(session, as_of=end, owner_id=owner_id)
        segments = dict(session.execute(select(rfm.c.contact_id, rfm.c.segment)).all())
    people = {
        row[0]: row
        for row in session.execute(
            select(
                Contact.id,
                Contact.name,
                Contact.custom_fields,
                Contact.owner_id,
                Contact.last_activity_at,
            )
        )
    }
    out = []
    for i, cid in enumerate(contact_ids.tolist()):
        person = people.get(cid)
        if person is None:
            continue
        fields = person[2] or {}
        out.append(
            CustomerValue(
                contact_id=cid,
                name=person[1],
                external_id=None
                if fields.get("external_id") is None
                else str(fields["external_id"]),
                owner_id=person[3],
                last_contact=person[4],
                purchases=int(s.frequency[i]) + 1,
                spend_minor=int(round(float(spend[i]))),
                last_purchase=date(1970, 1, 1) + timedelta(days=int(last_day[i])),
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
    return out
