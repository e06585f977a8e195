"""The sales pipeline: what is open now, what it is likely worth, what closed and why.

- Open deals by stage are a snapshot (now), amounts per currency.
- Weighted forecast: each open amount times its stage's win probability (from the
  configured Pipeline), per currency, rounded half-even to a minor unit per stage.
- Win rate: won / (won + lost) among deals closed in the period.
- Cycle length: mean days from creation to close for deals won in the period.
- Closed deals in the period with their reasons, and lost reasons ranked.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col

from crm.analytics.period import Period
from crm.analytics.sql import in_window, seconds_between, share
from crm.deals import Pipeline, pipeline_summary
from crm.models import Deal

CLOSED_LIST_LIMIT = 20
NO_REASON = "(no reason given)"


@dataclass(frozen=True)
class StageRow:
    stage: str
    probability: int  # percent
    deals: int
    amounts: dict[str, int]  # currency -> minor units
    weighted: dict[str, int]


@dataclass(frozen=True)
class ClosedDeal:
    id: int
    title: str
    status: str  # won | lost
    amount_minor: int
    currency: str
    reason: str | None
    closed_at: datetime | None


@dataclass(frozen=True)
class PipelineReport:
    period: Period
    stages: list[StageRow]  # pipeline order
    open_deals: int
    open_amounts: dict[str, int]
    forecast: dict[str, int]  # weighted, per currency
    won: int
    lost: int
    win_rate: float | None
    avg_cycle_days: float | None
    won_amounts: dict[str, int]
    lost_amounts: dict[str, int]
    lost_reasons: list[tuple[str, int]]  # most common first
    closed: list[ClosedDeal] = field(default_factory=list)  # latest first, up to 20
    note: str | None = None


def weighted(amount_minor: int, probability: int) -> int:
    """amount × probability% in exact arithmetic, rounded half to even."""
    return round(Fraction(amount_minor * probability, 100))


def pipeline_report(
    session: Session, *, period: Period, pipeline: Pipeline, owner_id: int | None = None
) -> PipelineReport:
    """Open pipeline now plus what closed in the period (module doc)."""
    stages = [
        StageRow(
            stage=s.stage,
            probability=s.probability,
            deals=s.count,
            amounts=dict(sorted(s.amounts.items())),
            weighted={c: weighted(a, s.probability) for c, a in sorted(s.amounts.items())},
        )
        for s in pipeline_summary(session, pipeline=pipeline, owner_id=owner_id)
    ]
    open_amounts: Counter[str] = Counter()
    forecast: Counter[str] = Counter()
    for row in stages:  # one row per stage
        open_amounts.update(row.amounts)
        forecast.update(row.weighted)

    closed_where: list[ColumnElement[bool]] = [
        col(Deal.status).in_(("won", "lost")),
        in_window(col(Deal.closed_at), period.start, period.end),
    ]
    if owner_id is not None:
        closed_where.append(col(Deal.owner_id) == owner_id)
    counts: dict[str, int] = Counter()
    amounts: dict[str, dict[str, int]] = {"won": {}, "lost": {}}
    for status, currency, n, total in session.execute(
        select(col(Deal.status), col(Deal.currency), func.count(), func.sum(col(Deal.amount_minor)))
        .where(*closed_where)
        .group_by(col(Deal.status), col(Deal.currency))
        .order_by(col(Deal.currency))
    ):
        counts[status] += int(n)
        amounts[status][currency] = int(total or 0)
    cycle_seconds = session.execute(
        select(func.avg(seconds_between(session, col(Deal.closed_at), col(Deal.created_at)))).where(
            *closed_where, col(Deal.status) == "won"
        )
    ).one()[0]
    reasons = session.execute(
        select(col(Deal.close_reason), func.count())
        .where(*closed_where, col(Deal.status) == "lost")
        .group_by(col(Deal.close_reason))
    ).all()
    closed = [
        ClosedDeal(
            d.id or 0, d.title, d.status, d.amount_minor, d.currency, d.close_reason, d.closed_at
        )
        for d in session.execute(
            select(Deal)
            .where(*closed_where)
            .order_by(col(Deal.closed_at).desc(), col(Deal.id).desc())
            .limit(CLOSED_LIST_LIMIT)
        ).scalars()
    ]
    won, lost = counts["won"], counts["lost"]
    note = None
    if not stages and not won and not lost:
        note = "not enough data: no open deals and none closed in the period"
    elif not won and not lost:
        note = "no deals were won or lost in the period, so there is no win rate yet"
    return PipelineReport(
        period=period,
        stages=stages,
        open_deals=sum(row.deals for row in stages),
        open_amounts=dict(sorted(open_amounts.items())),
        forecast=dict(sorted(forecast.items())),
        won=won,
        lost=lost,
        win_rate=share(won, won + lost),
        avg_cycle_days=None if cycle_seconds is None else float(cycle_seconds) / 86400,
        won_amounts=amounts["won"],
        lost_amounts=amounts["lost"],
        lost_reasons=sorted(
            ((r or NO_REASON, int(n)) for r, n in reasons), key=lambda x: (-x[1], x[0])
        ),
        closed=closed,
        note=note,
    )
