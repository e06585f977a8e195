"""POST /api/v1/query: one call for what SOQL's `SELECT ... FROM Contact WHERE ...` asks,
over contacts, companies, deals, purchases, activities and follow-ups."""

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from bot.api import represent, schemas
from bot.api.auth import READ, deps_of
from bot.api.context import Caller
from bot.api.errors import COMMON_RESPONSES
from bot.api.pagination import MAX_LIMIT, page
from bot.api.querylang import compile_where
from crm.errors import Invalid

router = APIRouter(prefix="/v1", responses=COMMON_RESPONSES, tags=["query"])

SORTABLE = {
    "contact": ("id", "name", "created_at", "updated_at"),
    "deal": ("id", "amount_minor", "created_at", "updated_at"),
    "activity": ("id", "occurred_at"),
    "company": ("id", "name", "created_at", "updated_at"),
    "purchase": ("id", "purchased_at", "amount_minor", "created_at"),
    "followup": ("id", "due_at", "created_at"),
}


class QueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    object: Literal["contact", "deal", "activity", "company", "purchase", "followup"]
    fields: list[str] | None = Field(
        default=None,
        max_length=50,
        description="Fields of the object's body to return; all when omitted.",
    )
    where: dict[str, Any] | None = Field(
        default=None,
        description='`{"field": "email", "op": "eq", "value": "..."}`; combine with '
        '`{"and": [...]}`, `{"or": [...]}`, `{"not": {...}}`. '
        "Ops: eq ne lt lte gt gte in contains.",
    )
    sort: str = "id"
    cursor: str | None = Field(default=None, max_length=500)
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)


BODY: dict[str, type[BaseModel]] = {
    "contact": schemas.ContactOut,
    "deal": schemas.DealOut,
    "activity": schemas.ActivityOut,
    "company": schemas.CompanyOut,
    "purchase": schemas.PurchaseOut,
    "followup": schemas.FollowUpOut,
}


@router.post("/query", response_model=schemas.QueryOut, summary="Query with a filter language")
def query(body: QueryIn, request: Request, caller: Caller = READ) -> Any:
    model, condition = compile_where(body.object, body.where)
    known = set(BODY[body.object].model_fields)
    fields = body.fields or sorted(known)
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise Invalid(
            "fields", f"Unknown fields {', '.join(unknown[:5])}; see the object's schema."
        )
    allowed = {name: col(getattr(model, name)) for name in SORTABLE[body.object]}
    with deps_of(request).store.read() as session:
        statement = select(model)
        if condition is not None:
            statement = statement.where(condition)
        rows, nxt = page(
            session,
            statement,
            id_column=col(model.id),
            sort=body.sort,
            allowed=allowed,
            cursor=body.cursor,
            limit=body.limit,
        )
        items: list[BaseModel]
        if body.object == "contact":
            items = list(represent.contacts(session, rows))
        else:
            items = [BODY[body.object].model_validate(r, from_attributes=True) for r in rows]
    data = [item.model_dump(mode="json", include=set(fields)) for item in items]
    return {"data": data, "next_cursor": nxt}
