"""What customers ask for, over time, and how well the classifier tags it.

Counts inbound messages per need per local day, week or month of the viewer's time zone.
Bucket boundaries are computed here as local midnights converted to UTC (DST-aware)
and handed to the database as a CASE over the indexed `sent_at`, so the database
groups the rows and both SQLite and PostgreSQL bucket identically.

- other_share: messages tagged `other` / classified messages (untagged ones excluded):
  a rising share means the need list no longer fits what customers write.
- mean_confidence: mean classifier confidence over messages that carry one.
- correction_rate: messages whose need a rep corrected / inbound messages.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import Select, case, func, select
from sqlmodel import Session, col

from crm.analytics.churn import owned_by
from crm.analytics.period import Period, local_midnight
from crm.analytics.sql import in_window, share
from crm.models import Contact, Message

OTHER = "other"
UNCLASSIFIED = "unclassified"
AUTO_DAY_LIMIT = 45  # periods up to this many days are shown per day,
AUTO_WEEK_LIMIT = 400  # up to this many per week, longer ones per month
MAX_BUCKETS = 400  # each bucket is one CASE branch evaluated per message

Grain = Literal["day", "week", "month"]
Granularity = Literal["auto", "day", "week", "month"]


@dataclass(frozen=True)
class NeedBucket:
    start: datetime  # UTC
    label: str  # local date the bucket starts on, YYYY-MM-DD
    counts: dict[str, int]
    total: int


@dataclass(frozen=True)
class NeedTotal:
    need: str
    count: int
    share: float | None  # of inbound messages
    mean_confidence: float | None
    corrected: int


@dataclass(frozen=True)
class NeedsReport:
    period: Period
    granularity: Grain
    buckets: list[NeedBucket]
    totals: list[NeedTotal]  # most frequent first
    inbound: int
    classified: int
    other_share: float | None
    mean_confidence: float | None
    correction_rate: float | None
    note: str | None = None
    # language -> need -> inbound messages ("unknown" when it was not detected)
    by_language: dict[str, dict[str, int]] | None = None


def bucket_starts(period: Period, granularity: Grain) -> list[datetime]:
    """UTC starts of each local day/week/month in the period; the first is the period
    start, the others local midnights (weeks start on Monday)."""
    zone = period.zone
    first, last = period.local_dates()
    starts = [period.start]
    day = _next_start(first, granularity)
    while day <= last:
        starts.append(local_midnight(day, zone))
        day = _next_start(day, granularity)
    return starts


def _next_start(day: date, granularity: Grain) -> date:
    if granularity == "day":
        return day + timedelta(days=1)
    if granularity == "week":
        return day + timedelta(days=7 - day.weekday())
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _auto_grain(period: Period) -> Grain:
    if period.days <= AUTO_DAY_LIMIT:
        return "day"
    return "week" if period.days <= AUTO_WEEK_LIMIT else "month"


def needs_over_time(
    session: Session,
    *,
    period: Period,
    granularity: Granularity = "auto",
    owner_id: int | None = None,
) -> NeedsReport:
    """Counts per need per bucket, with the classifier's quality signals (module doc)."""
    grain: Grain = _auto_grain(period) if granularity == "auto" else granularity
    starts = bucket_starts(period, grain)
    if len(starts) > MAX_BUCKETS:
        raise ValueError(f"That is {len(starts)} {grain}s; pick a shorter period.")
    sent = col(Message.sent_at)
    bucket = case(*((sent < s, i) for i, s in enumerate(starts[1:])), else_=len(starts) - 1)
    if len(starts) == 1:
        bucket = case((sent.is_not(None), 0), else_=0)
    rows = select(
        bucket.label("bucket"),
        func.coalesce(Message.need, UNCLASSIFIED).label("need"),
        col(Message.need_confidence).label("confidence"),
        case((col(Message.need_corrected), 1), else_=0).label("fixed"),
    ).where(col(Message.direction) == "inbound", in_window(sent, period.start, period.end))
    if owner_id is not None:
        rows = rows.where(
            col(Message.contact_id).in_(select(col(Contact.id)).where(owned_by(owner_id)))
        )
    inbound_rows = rows.subquery("inbound_rows")  # grouped outside: PostgreSQL cannot match
    statement = select(  # a CASE with bound parameters between SELECT and GROUP BY
        inbound_rows.c.bucket,
        inbound_rows.c.need,
        func.count(),
        func.sum(inbound_rows.c.confidence),
        func.count(inbound_rows.c.confidence),
        func.sum(inbound_rows.c.fixed),
    ).group_by(inbound_rows.c.bucket, inbound_rows.c.need)
    counts: list[dict[str, int]] = [{} for _ in starts]
    per_need: dict[str, list[float]] = {}  # need -> [count, confidence sum, n confident, fixed]
    for index, name, n, conf_sum, conf_n, fixed in session.execute(statement):  # bucket x need
        counts[int(index)][name] = int(n)
        acc = per_need.setdefault(name, [0, 0.0, 0, 0])
        acc[0] += int(n)
        acc[1] += float(conf_sum or 0)
        acc[2] += int(conf_n)
        acc[3] += int(fixed or 0)
    inbound = sum(int(acc[0]) for acc in per_need.values())
    classified = inbound - int(per_need.get(UNCLASSIFIED, [0])[0])
    confident = sum(int(acc[2]) for acc in per_need.values())
    totals = sorted(
        (
            NeedTotal(
                need=name,
                count=int(acc[0]),
                share=share(int(acc[0]), inbound),
                mean_confidence=acc[1] / acc[2] if acc[2] else None,
                corrected=int(acc[3]),
            )
            for name, acc in per_need.items()
        ),
        key=lambda t: (-t.count, t.need),
    )
    by_language = _by_language(session, period, owner_id)
    zone = period.zone
    buckets = [
        NeedBucket(
            start, start.astimezone(zone).date().isoformat(), counts[i], sum(counts[i].values())
        )
        for i, start in enumerate(starts)
    ]
    return NeedsReport(
        period=period,
        granularity=grain,
        buckets=buckets,
        totals=totals,
        inbound=inbound,
        classified=classified,
        other_share=share(int(per_need.get(OTHER, [0])[0]), classified),
        mean_confidence=(
            sum(acc[1] for acc in per_need.values()) / confident if confident else None
        ),
        correction_rate=share(sum(int(acc[3]) for acc in per_need.values()), inbound),
        note=None if inbound else "not enough data: no inbound messages in the period",
        by_language=by_language,
    )


UNKNOWN_LANGUAGE = "unknown"


def _by_language(
    session: Session, period: Period, owner_id: int | None
) -> dict[str, dict[str, int]]:
    """Inbound messages per detected language and need, most frequent language first."""
    sent = col(Message.sent_at)
    rows: Select[str, str, int] = select(
        func.coalesce(Message.language, UNKNOWN_LANGUAGE).label("language"),
        func.coalesce(Message.need, UNCLASSIFIED).label("need"),
        col(Message.contact_id).label("contact_id"),
    ).where(col(Message.direction) == "inbound", in_window(sent, period.start, period.end))
    if owner_id is not None:
        rows = rows.where(
            col(Message.contact_id).in_(select(col(Contact.id)).where(owned_by(owner_id)))
        )
    inbound = rows.subquery("inbound_languages")  # grouped outside, as needs_over_time does
    statement = select(inbound.c.language, inbound.c.need, func.count()).group_by(
        inbound.c.language, inbound.c.need
    )
    table: dict[str, dict[str, int]] = {}
    for language, need, n in session.execute(statement):
        table.setdefault(str(language), {})[str(need)] = int(n)
    return dict(sorted(table.items(), key=lambda item: (-sum(item[1].values()), item[0])))
