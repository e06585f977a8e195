"""Small pieces the list routes share: aware datetimes from query strings, ranges."""

from datetime import UTC, datetime
from typing import Any, overload


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: datetime | None) -> datetime | None: ...
def aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def in_range(statement: Any, column: Any, low: Any, high: Any) -> Any:
    if low is not None:
        statement = statement.where(column >= low)
    if high is not None:
        statement = statement.where(column <= high)
    return statement
