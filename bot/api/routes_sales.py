"""/api/v1/deals: list (filters, sort, cursor), get, create, patch (stages, won/lost) and
delete, through crm.deals (chat's `deal`, `edit deal`, `delete deal`), audited as the token."""

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from bot.api import represent, schemas, writes
from bot.api.auth import READ, WRITE, deps_of
from bot.api.context import Caller
from bot.api.errors import COMMON_RESPONSES
from bot.api.filters import aware, in_range
from bot.api.pagination import MAX_LIMIT, page
from bot.api.routes_contacts import owner_id
from bot.api.schemas import IdPath, IdQuery
from crm.contacts import get_contact
from crm.deals import create_deal, delete_deal, edit_deal, get_deal
from crm.models import Deal

router = APIRouter(prefix="/v1", responses=COMMON_RESPONSES)


# ---- deals ---------------------------------------------------------------------------

DEAL_SORTS = {
    "id": col(Deal.id),
    "amount_minor": col(Deal.amount_minor),
    "created_at": col(Deal.created_at),
    "updated_at": col(Deal.updated_at),
    "expected_close": col(Deal.expected_close),
}


@router.get("/deals", response_model=schemas.DealPage, tags=["deals"])
def list_deals(
    request: Request,
    caller: Caller = READ,
    stage: str | None = Query(None, max_length=32),
    status: str | None = Query(None, pattern="^(open|won|lost)$"),
    owner: str | None = Query(None, max_length=100),
    company_id: IdQuery = None,
    contact_id: IdQuery = None,
    amount_min: int | None = Query(None, ge=0, le=10**15),
    amount_max: int | None = Query(None, ge=0, le=10**15),
    currency: str | None = Query(None, min_length=3, max_length=3),
    close_after: date | None = None,
    close_before: date | None = None,
    updated_since: datetime | None = None,
    sort: str = Query("id", description=", ".join(DEAL_SORTS)),
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
) -> Any:
    deps = deps_of(request)
    with deps.store.read() as session:
        statement = select(Deal)
        if stage:
            statement = statement.where(Deal.stage == deps.pipeline.check(stage))
        for column, value in (
            (Deal.status, status),
            (Deal.company_id, company_id),
            (Deal.contact_id, contact_id),
            (Deal.currency, currency and currency.upper()),
        ):
            if value is not None:
                statement = statement.where(column == value)
        if owner is not None:
            statement = statement.where(Deal.owner_id == owner_id(session, caller, owner))
        statement = in_range(statement, col(Deal.amount_minor), amount_min, amount_max)
        statement = in_range(statement, col(Deal.expected_close), close_after, close_before)
        if updated_since is not None:
            statement = statement.where(col(Deal.updated_at) >= aware(updated_since))
        if sort.lstrip("-") == "expected_close":
            statement = statement.where(col(Deal.expected_close).is_not(None))
        rows, nxt = page(
            session,
            statement,
            id_column=col(Deal.id),
            sort=sort,
            allowed=DEAL_SORTS,
            cursor=cursor,
            limit=limit,
        )
        return {"data": [represent.deal(r) for r in rows], "next_cursor": nxt}


@router.get("/deals/{deal_id}", response_model=schemas.DealOut, tags=["deals"])
def get_one_deal(
    deal_id: IdPath, request: Request, response: Response, caller: Caller = READ
) -> Any:
    with deps_of(request).store.read() as session:
        out = represent.deal(get_deal(session, deal_id))
    response.headers["ETag"] = represent.etag(out)
    return out


@router.post("/deals", status_code=201, response_model=schemas.DealOut, tags=["deals"])
def create_one_deal(body: schemas.DealCreate, request: Request, caller: Caller = WRITE) -> Any:
    deps = deps_of(request)

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        contact = get_contact(session, body.contact_id) if body.contact_id else None
        deal = create_deal(
            session,
            actor=caller.actor,
            pipeline=deps.pipeline,
            title=body.title,
            now=deps.clock.now(),
            contact=contact,
            amount_minor=body.amount_minor,
            currency=(body.currency or deps.currency).upper(),
            stage=body.stage,
            expected_close=body.expected_close,
        )
        out = represent.deal(deal)
        return 201, out.model_dump(mode="json"), {"ETag": represent.etag(out)}

    return writes.run(deps, request, caller, body.model_dump(mode="json"), work)


@router.patch(
    "/deals/{deal_id}",
    response_model=schemas.DealOut,
    tags=["deals"],
    description="Edit any of title, amount and currency, stage (`won`, or `lost` with a "
    "`reason`), close date, owner, contact and company, in one call and one audit "
    "entry, through the same service as chat's `edit deal`. Send `If-Match` with the "
    "ETag you read: a stale one is a 412.",
)
def update_deal(
    deal_id: IdPath, body: schemas.DealPatch, request: Request, caller: Caller = WRITE
) -> Any:
    deps = deps_of(request)
    given = body.model_fields_set
    with deps.store.transaction() as session:
        row = session.exec(select(Deal).where(Deal.id == deal_id).with_for_update()).first()
        deal = row or get_deal(session, deal_id)
        writes.check_if_match(request, represent.etag(represent.deal(deal)))
        amount = None
        if body.amount_minor is not None or body.currency is not None:
            amount = (
                deal.amount_minor if body.amount_minor is None else body.amount_minor,
                (body.currency or deal.currency).upper(),
            )
        nullable = {"expected_close", "owner_id", "contact_id", "company_id"}
        deal = edit_deal(
            session,
            actor=caller.actor,
            deal_id=deal_id,
            now=deps.clock.now(),
            title=body.title,
            amount=amount,
            expected_close=body.expected_close,
            owner_id=body.owner_id,
            contact_id=body.contact_id,
            company_id=body.company_id,
            clear=[name for name in sorted(nullable & given) if getattr(body, name) is None],
            pipeline=deps.pipeline,
            stage=body.stage,
            reason=body.reason,
        )
        session.flush()
        out = represent.deal(deal)
    return JSONResponse(out.model_dump(mode="json"), headers={"ETag": represent.etag(out)})


@router.delete(
    "/deals/{deal_id}",
    status_code=204,
    response_class=Response,
    tags=["deals"],
    summary="Delete a deal",
    description="Chat's `delete deal` (crm.deals.delete_deal): a rep's token deletes its "
    "own deals, an admin any. Audited `deal.delete` whole, so `undo` brings it back under "
    "the same id. Send `If-Match`: a stale ETag is a 412.",
)
def delete_one_deal(deal_id: IdPath, request: Request, caller: Caller = WRITE) -> Response:
    deps = deps_of(request)
    with deps.store.transaction() as session:
        deal = writes.locked(session, Deal, deal_id) or get_deal(session, deal_id)
        writes.check_if_match(request, represent.etag(represent.deal(deal)))
        delete_deal(session, actor=caller.actor, deal_id=deal_id, now=deps.clock.now())
    return Response(status_code=204)
