"""RFM segmentation: who to thank, who to nurture, who to win back.

Each customer (a contact with at least one activity, inbound message or won deal
before `as_of`) gets three raw measures:

- **R**ecency: the latest of their last activity, last inbound message, last won deal.
- **F**requency: activities + inbound messages + purchases, all time up to `as_of`.
- **M**onetary: purchases (and won deals that have no purchase), summed per currency
  (never across currencies).

Recency has an absolute floor as well as quintiles: anyone who made a purchase in the
last RECENT_DAYS days scores R>=4, so a customer who just bought is never "lost" or
"at risk", even when every other customer bought more recently.

Each is scored 1-5 by quintile among the customers in scope (a rep's own book when
`owner_id` is given): score = 1 + floor(5 * below / n), where `below` is how many
customers have a strictly worse value. Ties share the lower score, so a crowd of
customers with no won deal all get M=1 rather than being spread over 1-4 at random,
and the result is deterministic. A customer with deals in several currencies gets the
best of their per-currency M scores. With fewer than five customers the scores are
coarse (one customer scores 1/1/1, "lost" even if they bought 31 days ago): the report
says so and the reports show no segment label at all.

Segments, first matching rule wins (every R/F/M combination lands in exactly one):

| segment     | rule                   | meaning                                   |
|-------------|------------------------|-------------------------------------------|
| champions   | R>=4 and F>=4 and M>=4 | recent, frequent, big spenders            |
| loyal       | R>=3 and F>=4          | engaged often, still around               |
| new         | R>=4 and F=1           | just arrived, few touches so far          |
| potential   | R>=3                   | recent, moderately engaged: nurture       |
| at_risk     | R<=2 and F>=3          | used to engage a lot, gone quiet: win back |
| hibernating | R=2 and F<=2           | quiet, never very engaged                 |
| lost        | R=1 and F<=2           | longest gone, least engaged               |
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, func, literal, null, select, union_all
from sqlalchemy.sql import Subquery
from sqlmodel import Session, col

from crm.analytics.churn import owned_by
from crm.db import UTCDateTime
from crm.models import Activity, Contact, Deal, Message
from crm.purchases import Purchase

RECENT_DAYS = 30  # bought this recently: R is at least 4, never lost or at risk
MIN_CUSTOMERS = 5  # quintiles need five customers to mean anything
SEGMENTS = ("champions", "loyal", "potential", "new", "at_risk", "hibernating", "lost")
SEGMENT_RULES = {
    "champions": "R>=4 and F>=4 and M>=4",
    "loyal": "R>=3 and F>=4",
    "new": "R>=4 and F=1",
    "potential": "R>=3",
    "at_risk": "R<=2 and F>=3",
    "hibernating": "R=2 and F<=2",
    "lost": "R=1 and F<=2",
}


@dataclass(frozen=True)
class SegmentMember:
    contact_id: int
    name: str
    last_touch: datetime
    recency_days: int
    frequency: int
    r: int
    f: int
    m: int


@dataclass(frozen=True)
class Segment:
    name: str
    rule: str
    size: int
    share: float | None
    avg_frequency: float | None
    members: list[SegmentMember] = field(default_factory=list)


@dataclass(frozen=True)
class SegmentsReport:
    as_of: datetime
    customers: int
    segments: list[Segment]  # always all seven, in SEGMENTS order
    note: str | None = None


def _score(below: Any, n: Any) -> Any:
    """1 + floor(5 * below / n) in SQL integer arithmetic (portable, no float floor)."""
    return 1 + (5 * below) // n


def scored_customers(session: Session, *, as_of: datetime, owner_id: int | None = None) -> Subquery:
    """One row per customer: contact_id, last_touch, frequency, r, f, m, segment.

    Shaped for speed on a million activities: each source is aggregated per contact
    through its (contact_id, time) index, the money ranking travels in the same UNION
    as the touches (a LEFT JOIN against a derived table made SQLite scan it once per
    customer), and every step reads the previous one once.
    """
    del session  # the query is dialect-neutral; kept for a uniform signature
    won = and_(
        col(Deal.status) == "won", col(Deal.closed_at) < as_of, col(Deal.contact_id).is_not(None)
    )
    # a won deal is a purchase (crm.purchases); deals won before purchases existed and
    # without one still count, so nothing is counted twice and nothing is lost
    won_alone = and_(
        won,
        col(Deal.id).not_in(
            select(col(Purchase.deal_id)).where(col(Purchase.deal_id).is_not(None))
        ),
    )
    bought = and_(col(Purchase.purchased_at) < as_of, col(Purchase.contact_id).is_not(None))
    spent = union_all(
        select(
            col(Deal.contact_id).label("cid"),
            col(Deal.currency),
            col(Deal.amount_minor).label("amount"),
        ).where(won_alone),
        select(col(Purchase.contact_id), col(Purchase.currency), col(Purchase.amount_minor)).where(
            bought
        ),
    ).subquery("spent")
    money = select(spent.c.cid, spent.c.currency, func.sum(spent.c.amount).label("total"))
    if owner_id is not None:
        money = money.join(Contact, col(Contact.id) == spent.c.cid).where(owned_by(owner_id))
    per_currency = money.group_by(spent.c.cid, spent.c.currency).subquery("money")
    # how many customers have at least this much in the currency (peers included: the
    # default RANGE frame); the smallest count over a contact's currencies is their best
    at_least = func.count().over(
        partition_by=per_currency.c.currency, order_by=per_currency.c.total.desc()
    )
    no_ge = cast(null(), BigInteger)  # typed: PostgreSQL resolves bare NULLs in a UNION as text
    no_day = cast(null(), UTCDateTime)
    touches = union_all(
        select(
            col(Activity.contact_id).label("cid"),
            func.max(Activity.occurred_at).label("last"),
            func.count().label("n"),
            no_ge.label("ge"),
            no_day.label("bought"),
        )
        .where(col(Activity.occurred_at) < as_of)
        .group_by(col(Activity.contact_id)),
        select(col(Message.contact_id), func.max(Message.sent_at), func.count(), no_ge, no_day)
        .where(col(Message.direction) == "inbound", col(Message.sent_at) < as_of)
        .group_by(col(Message.contact_id)),
        select(col(Deal.contact_id), func.max(Deal.closed_at), literal(0), no_ge, no_day)
        .where(won_alone)
        .group_by(col(Deal.contact_id)),
        select(
            col(Purchase.contact_id),
            func.max(Purchase.purchased_at),
            func.count(),
            no_ge,
            func.max(Purchase.purchased_at),
        )
        .where(bought)
        .group_by(col(Purchase.contact_id)),
        select(per_currency.c.cid, no_day, literal(0), at_least, no_day),
    ).subquery("touches")
    scope = select(
        touches.c.cid,
        func.max(touches.c.last).label("last_touch"),
        func.sum(touches.c.n).label("frequency"),
        func.min(touches.c.ge).label("ge"),
        func.max(touches.c.bought).label("last_bought"),
    )
    if owner_id is not None:
        scope = scope.join(Contact, col(Contact.id) == touches.c.cid).where(owned_by(owner_id))
    scope_rows = scope.group_by(touches.c.cid).subquery("scope")
    n = func.count().over()
    r_below = func.rank().over(order_by=scope_rows.c.last_touch) - 1
    f_below = func.rank().over(order_by=scope_rows.c.frequency) - 1
    # absolute floor: whoever bought in the last RECENT_DAYS scores R>=4, so a customer
    # who bought last week is never "lost" however the quintiles fall
    recent = scope_rows.c.last_bought >= as_of - timedelta(days=RECENT_DAYS)
    r_score = case((and_(recent, _score(r_below, n) < 4), 4), else_=_score(r_below, n))
    scores = select(
        scope_rows.c.cid.label("contact_id"),
        scope_rows.c.last_touch,
        scope_rows.c.frequency,
        r_score.label("r"),
        _score(f_below, n).label("f"),
        func.coalesce(_score(n - scope_rows.c.ge, n), 1).label("m"),
    ).subquery("scores")
    segment = case(
        (and_(scores.c.r >= 4, scores.c.f >= 4, scores.c.m >= 4), "champions"),
        (and_(scores.c.r >= 3, scores.c.f >= 4), "loyal"),
        (and_(scores.c.r >= 4, scores.c.f == 1), "new"),
        (scores.c.r >= 3, "potential"),
        (scores.c.f >= 3, "at_risk"),
        (scores.c.r == 2, "hibernating"),
        else_="lost",
    )
    return select(scores, segment.label("segment")).subquery("rfm")


def rfm_segments(
    session: Session,
    *,
    as_of: datetime,
    owner_id: int | None = None,
    members_per_segment: int | None = 10,
) -> SegmentsReport:
    """Segment sizes and, per segment, up to `members_per_segment` customers (None: all),
    best first (highest M, then F, then most recent). One query: the scoring is the
    expensive part, so sizes ride along as window aggregates instead of a second pass."""
    rfm = scored_customers(session, as_of=as_of, owner_id=owner_id)
    segment = rfm.c.segment
    place = func.row_number().over(
        partition_by=segment,
        order_by=(rfm.c.m.desc(), rfm.c.f.desc(), rfm.c.last_touch.desc(), rfm.c.contact_id),
    )
    listed = select(
        rfm,
        place.label("place"),
        func.count().over(partition_by=segment).label("size"),
        func.avg(rfm.c.frequency).over(partition_by=segment).label("avg_frequency"),
    ).subquery("listed")
    statement = (
        select(listed, col(Contact.name))
        .join(Contact, col(Contact.id) == listed.c.contact_id)
        .order_by(listed.c.segment, listed.c.place)
    )
    if members_per_segment is not None:
        statement = statement.where(listed.c.place <= max(1, members_per_segment))
    sizes: dict[str, tuple[int, float]] = {}
    members: dict[str, list[SegmentMember]] = {}
    for row in session.execute(statement).mappings():  # at most `limit` rows per segment
        name = row["segment"]
        sizes[name] = (int(row["size"]), float(row["avg_frequency"]))
        if members_per_segment == 0:
            continue
        last = row["last_touch"]
        members.setdefault(name, []).append(
            SegmentMember(
                contact_id=int(row["contact_id"]),
                name=row["name"],
                last_touch=last,
                recency_days=max(0, (as_of - last).days),
                frequency=int(row["frequency"]),
                r=int(row["r"]),
                f=int(row["f"]),
                m=int(row["m"]),
            )
        )
    customers = sum(size for size, _ in sizes.values())
    segments = [
        Segment(
            name=name,
            rule=SEGMENT_RULES[name],
            size=sizes.get(name, (0, 0.0))[0],
            share=sizes[name][0] / customers if name in sizes else (0.0 if customers else None),
            avg_frequency=sizes[name][1] if name in sizes else None,
            members=members.get(name, []),
        )
        for name in SEGMENTS
    ]
    note = None
    if customers == 0:
        note = "not enough data: no contact has any activity, message or won deal yet"
    elif customers < MIN_CUSTOMERS:
        note = (
            f"not enough data: only {customers} customer(s); quintile scores need at least "
            f"{MIN_CUSTOMERS}, so no customer is labelled with a segment yet"
        )
    return SegmentsReport(as_of=as_of, customers=customers, segments=segments, note=note)
