"""Keyset (cursor) pagination on (sort key, id), so pages stay right while rows are added.

An offset skips or repeats rows when something is inserted before it; a cursor that
says "after (value, id)" does not. The cursor is opaque to clients (base64 JSON) and
carries the sort it was made for, so it cannot be replayed against another sort.
"""

import base64
import binascii
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session

from crm.errors import Invalid

MAX_LIMIT = 200


def encode(sort: str, value: Any, row_id: int) -> str:
    if isinstance(value, datetime | date):
        value = {"dt": value.isoformat()}
    raw = json.dumps({"s": sort, "v": value, "i": row_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        value, row_id = data["v"], int(data["i"])
        if data["s"] != sort:
            raise ValueError("sort changed")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Invalid("cursor", "That cursor is not one this API gave for this sort.") from None
    if isinstance(value, dict) and "dt" in value:
        value = datetime.fromisoformat(value["dt"])
    return value, row_id


def parse_sort(sort: str, allowed: dict[str, Any]) -> tuple[str, Any, bool]:
    """`name` or `-name` -> (name, column, descending), refusing other fields."""
    descending = sort.startswith("-")
    name = sort.lstrip("-+")
    if name not in allowed:
        raise Invalid("sort", f"Sort by one of {', '.join(sorted(allowed))} (prefix - to reverse).")
    return name, allowed[name], descending


def page(
    session: Session,
    statement: Any,
    *,
    id_column: Any,
    sort: str,
    allowed: dict[str, Any],
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:
    """Rows of one page and the cursor of the next (None on the last page)."""
    name, column, descending = parse_sort(sort, allowed)
    if cursor:
        value, last_id = decode(cursor, sort)
        if descending:
            after = or_(column < value, and_(column == value, id_column < last_id))
        else:
            after = or_(column > value, and_(column == value, id_column > last_id))
        statement = statement.where(after)
    order = (column.desc(), id_column.desc()) if descending else (column.asc(), id_column.asc())
    rows = list(session.exec(statement.order_by(*order).limit(limit + 1)).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode(sort, getattr(last, name), last.id)
