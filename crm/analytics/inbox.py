"""How fast and how well the team answers customers.

Covers conversations *opened* in the period (so a slow answer is charged to the period
the customer wrote in):

- first-response time: first_response_at - opened_at, for answered conversations;
- resolution time: closed_at - opened_at, for closed ones;
- median and p90 of both (p90 is what the unluckiest tenth of customers lived through,
  which a mean hides), overall, per assignee and per need;
- satisfaction: mean of the 1-5 ratings given, with how many were given.
"""

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import SQLColumnExpression, func, select
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col

from crm.analytics.period import Period
from crm.analytics.sql import EMPTY_SPREAD, Spread, grouped_spread, in_window, seconds_between
from crm.models import Conversation, Rep

UNASSIGNED = "unassigned"
UNKNOWN_NEED = "unclassified"


@dataclass(frozen=True)
class InboxGroup:
    key: str  # "all", a rep's name, or a need
    conversations: int
    answered: int
    closed: int
    first_response: Spread  # seconds
    resolution: Spread  # seconds
    satisfaction_avg: float | None
    satisfaction_count: int


@dataclass(frozen=True)
class InboxReport:
    period: Period
    overall: InboxGroup
    by_rep: list[InboxGroup]  # busiest first
    by_need: list[InboxGroup]
    unanswered: int
    note: str | None = None


def inbox_performance(
    session: Session, *, period: Period, assignee_id: int | None = None
) -> InboxReport:
    """Response and resolution times and satisfaction for the period (module doc)."""
    where: list[ColumnElement[bool]] = [
        in_window(col(Conversation.opened_at), period.start, period.end)
    ]
    if assignee_id is not None:
        where.append(col(Conversation.assignee_id) == assignee_id)
    overall = _groups(session, where, None)
    reps = dict(session.execute(select(col(Rep.id), col(Rep.name))).all())
    by_rep = [
        _rename(group, reps.get(key, f"rep #{key}") if key is not None else UNASSIGNED)
        for key, group in _groups(session, where, col(Conversation.assignee_id)).items()
    ]
    by_need = [
        _rename(group, key or UNKNOWN_NEED)
        for key, group in _groups(session, where, col(Conversation.need)).items()
    ]
    total = overall.get(None) or _empty()
    note = None if total.conversations else "not enough data: no conversations opened in the period"
    return InboxReport(
        period=period,
        overall=_rename(total, "all"),
        by_rep=sorted(by_rep, key=lambda g: (-g.conversations, g.key)),
        by_need=sorted(by_need, key=lambda g: (-g.conversations, g.key)),
        unanswered=total.conversations - total.answered,
        note=note,
    )


def _groups(
    session: Session, where: list[ColumnElement[bool]], key: SQLColumnExpression[Any] | None
) -> dict[Any, InboxGroup]:
    """Counts, satisfaction and spreads per key value (None: one overall group)."""
    answered = col(Conversation.first_response_at)
    closed = col(Conversation.closed_at)
    first = grouped_spread(
        session,
        value=seconds_between(session, answered, col(Conversation.opened_at)),
        key=key,
        where=[*where, answered.is_not(None)],
    )
    resolution = grouped_spread(
        session,
        value=seconds_between(session, closed, col(Conversation.opened_at)),
        key=key,
        where=[*where, closed.is_not(None)],
    )
    out: dict[Any, InboxGroup] = {}
    for k, n, n_answered, n_closed, sat_avg, sat_n in _grouped_counts(session, where, key):
        out[k] = InboxGroup(
            key=str(k),
            conversations=int(n),
            answered=int(n_answered),
            closed=int(n_closed),
            first_response=first.get(k, EMPTY_SPREAD),
            resolution=resolution.get(k, EMPTY_SPREAD),
            satisfaction_avg=float(sat_avg) if sat_avg is not None else None,
            satisfaction_count=int(sat_n),
        )
    return out


def _grouped_counts(
    session: Session, where: list[ColumnElement[bool]], key: SQLColumnExpression[Any] | None
) -> list[Any]:
    columns = (
        func.count(),
        func.count(col(Conversation.first_response_at)),
        func.count(col(Conversation.closed_at)),
        func.avg(Conversation.satisfaction),
        func.count(col(Conversation.satisfaction)),
    )
    if key is None:
        return [(None, *row) for row in session.execute(select(*columns).where(*where))]
    return list(session.execute(select(key, *columns).where(*where).group_by(key)))


def _empty() -> InboxGroup:
    return InboxGroup("all", 0, 0, 0, EMPTY_SPREAD, EMPTY_SPREAD, None, 0)


def _rename(group: InboxGroup, key: str) -> InboxGroup:
    return replace(group, key=key)
