"""SQL building blocks the measures share, written once for SQLite and PostgreSQL.

The measures aggregate in the database so a report over a million activities moves a
few rows, not a million. Where the two dialects differ (time differences, percentiles,
JSON tags) the difference is confined here.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    SQLColumnExpression,
    String,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    select,
)
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from crm.models import Contact

PERCENTILES = (Fraction(1, 2), Fraction(9, 10))


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    """`later - earlier` in seconds, as a number both databases can average and sort.

    SQLite keeps timestamps as text, so it goes through whole epoch seconds (exact for
    the minutes-to-days spans measured here); PostgreSQL subtracts timestamptz values.
    """
    if dialect(session) == "sqlite":
        return cast(
            cast(func.strftime("%s", later), Integer) - cast(func.strftime("%s", earlier), Integer),
            Float,
        )
    return cast(extract("epoch", later - earlier), Float)


def has_tag(tag: str) -> ColumnElement[bool]:
    """True when the contact's JSON tag list holds `tag` (tags are normalised lower-case
    words, so matching the quoted JSON string is exact on both databases)."""
    return cast(Contact.tags, String).like(f'%"{tag}"%')


def share(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide by."""
    return part / whole if whole else None


@dataclass(frozen=True)
class Spread:
    """How a duration is distributed: median and 90th percentile, linearly interpolated
    between neighbouring values (like PostgreSQL's percentile_cont and numpy's default)."""

    count: int
    median: float | None
    p90: float | None


EMPTY_SPREAD = Spread(0, None, None)


def grouped_spread(
    session: Session,
    *,
    value: ColumnElement[Any],
    key: SQLColumnExpression[Any] | None,
    where: Sequence[ColumnElement[bool]],
) -> dict[Any, Spread]:
    """Median and p90 of `value` per `key` (None: one overall group) in one query.

    SQLite has no percentile function, so ranks come from window functions: for a
    percentile p over n sorted values the position is p*(n-1); the two neighbouring
    values are picked in SQL with integer arithmetic (no float floor/ceil, which differ
    between dialects) and interpolated here, once per group.
    """
    group = key if key is not None else literal(0)
    base = select(group.label("k"), value.label("x")).where(*where, value.is_not(None)).subquery()
    ranked = select(
        base.c.k,
        base.c.x,
        (func.row_number().over(partition_by=base.c.k, order_by=base.c.x) - 1).label("i"),
        func.count().over(partition_by=base.c.k).label("n"),
    ).subquery()
    picks: list[ColumnElement[Any]] = []
    for p in PERCENTILES:
        scaled = (ranked.c.n - 1) * p.numerator
        low = scaled // p.denominator
        high = low + case((scaled % p.denominator > 0, 1), else_=0)
        picks.append(func.max(case((ranked.c.i == low, ranked.c.x))))
        picks.append(func.max(case((ranked.c.i == high, ranked.c.x))))
    statement = select(ranked.c.k, func.max(ranked.c.n), *picks).group_by(ranked.c.k)
    out: dict[Any, Spread] = {}
    for row in session.execute(statement):  # one row per group
        k, n, *values = row
        n = int(n)
        results = []
        for index, p in enumerate(PERCENTILES):
            low_value, high_value = values[2 * index], values[2 * index + 1]
            fraction = (n - 1) * p - (n - 1) * p.numerator // p.denominator
            results.append(float(low_value) + (float(high_value) - float(low_value)) * fraction)
        out[k if key is not None else None] = Spread(n, results[0], results[1])
    return out


def in_window(column: Any, start: Any, end: Any) -> ColumnElement[bool]:
    """`start <= column < end`: half-open, so adjacent windows never share a row."""
    return and_(column >= start, column < end)
