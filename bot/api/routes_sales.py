"""/api/v1 companies, deals (stages, won/lost), activities and follow-ups."""

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from bot.api import represent, schemas, writes
from bot.api.auth import READ, WRITE, deps_of
from bot.api.context import Caller
from bot.api.errors import COMMON_RESPONSES
from bot.api.pagination import MAX_LIMIT, page
from bot.api.routes_contacts import owner_id
from bot.api.schemas import IdPath, IdQuery
from crm import activities, followups
from crm.companies import get_or_create_company
from crm.contacts import get_contact
from crm.deals import create_deal, get_deal, set_stage
from crm.enums import ActivityKind, FollowUpStatus
from crm.errors import NotFound
from crm.models import Activity, Company, Deal, FollowUp

router = APIRouter(prefix="/v1", responses=COMMON_RESPONSES)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _range(statement: Any, column: Any, low: Any, high: Any) -> Any:
    if low is not None:
        statement = statement.where(column >= low)
    if high is not None:
        statement = statement.where(column <= high)
    return statement


# ---- companies -----------------------------------------------------------------------

COMPANY_SORTS = {"id": col(Company.id), "name": col(Company.name)}


@router.get("/companies", response_model=schemas.CompanyPage, tags=["companies"])
def list_companies(
    request: Request,
    caller: Caller = READ,
    name: str | None = Query(None, max_length=200, description="case-insensitive, exact"),
    sort: str = "id",
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
) -> Any:
    with deps_of(request).store.transaction() as session:
        statement = select(Company)
        if name:
            statement = statement.where(Company.name_key == " ".join(name.split()).casefold())
        rows, nxt = page(
            session,
            statement,
            id_column=col(Company.id),
            sort=sort,
            allowed=COMPANY_SORTS,
            cursor=cursor,
            limit=limit,
        )
        return {
            "data": [schemas.CompanyOut.model_validate(r, from_attributes=True) for r in rows],
            "next_cursor": nxt,
        }


@router.get("/companies/{company_id}", response_model=schemas.CompanyOut, tags=["companies"])
def get_company(company_id: IdPath, request: Request, caller: Caller = READ) -> Any:
    with deps_of(request).store.transaction() as session:
        row = session.get(Company, company_id)
        if row is None:
            raise NotFound(f"There is no company #{company_id}.")
        return schemas.CompanyOut.model_validate(row, from_attributes=True)


@router.post(
    "/companies",
    status_code=201,
    response_model=schemas.CompanyOut,
    tags=["companies"],
    description="Returns the existing company when one has that name (any case).",
)
def create_company(body: schemas.CompanyCreate, request: Request, caller: Caller = WRITE) -> Any:
    deps = deps_of(request)

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        row = get_or_create_company(
            session, actor=caller.actor, name=body.name, now=deps.clock.now()
        )
        if row is None:
            raise NotFound("A company needs a name.")
        out = schemas.CompanyOut.model_validate(row, from_attributes=True)
        return 201, out.model_dump(mode="json"), {}

    return writes.run(deps, request, caller, body.model_dump(mode="json"), work)


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
    with deps.store.transaction() as session:
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
        statement = _range(statement, col(Deal.amount_minor), amount_min, amount_max)
        statement = _range(statement, col(Deal.expected_close), close_after, close_before)
        if updated_since is not None:
            statement = statement.where(col(Deal.updated_at) >= _aware(updated_since))
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
    with deps_of(request).store.transaction() as session:
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
            currency=body.currency.upper(),
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
    description='Move a deal: `{"stage": "won"}` or `{"stage": "lost", "reason": ...}`.',
)
def update_deal(
    deal_id: IdPath, body: schemas.DealPatch, request: Request, caller: Caller = WRITE
) -> Any:
    deps = deps_of(request)
    with deps.store.transaction() as session:
        row = session.exec(select(Deal).where(Deal.id == deal_id).with_for_update()).first()
        current = represent.deal(row or get_deal(session, deal_id))
        writes.check_if_match(request, represent.etag(current))
        deal = get_deal(session, deal_id)
        if body.stage is not None:
            deal = set_stage(
                session,
                actor=caller.actor,
                pipeline=deps.pipeline,
                deal_id=deal_id,
                stage=body.stage,
                now=deps.clock.now(),
                reason=body.reason,
            )
        session.flush()
        out = represent.deal(deal)
    return JSONResponse(out.model_dump(mode="json"), headers={"ETag": represent.etag(out)})


# ---- activities ----------------------------------------------------------------------

ACTIVITY_SORTS = {"id": col(Activity.id), "occurred_at": col(Activity.occurred_at)}


@router.get("/activities", response_model=schemas.ActivityPage, tags=["activities"])
def list_activities(
    request: Request,
    caller: Caller = READ,
    contact_id: IdQuery = None,
    deal_id: IdQuery = None,
    kind: ActivityKind | None = Query(None),
    occurred_after: datetime | None = None,
    occurred_before: datetime | None = None,
    sort: str = "id",
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
) -> Any:
    with deps_of(request).store.transaction() as session:
        statement = select(Activity)
        for column, value in (
            (Activity.contact_id, contact_id),
            (Activity.deal_id, deal_id),
            (Activity.kind, kind),
        ):
            if value is not None:
                statement = statement.where(column == value)
        statement = _range(
            statement, col(Activity.occurred_at), _aware(occurred_after), _aware(occurred_before)
        )
        rows, nxt = page(
            session,
            statement,
            id_column=col(Activity.id),
            sort=sort,
            allowed=ACTIVITY_SORTS,
            cursor=cursor,
            limit=limit,
        )
        return {
            "data": [schemas.ActivityOut.model_validate(r, from_attributes=True) for r in rows],
            "next_cursor": nxt,
        }


@router.post(
    "/activities", status_code=201, response_model=schemas.ActivityOut, tags=["activities"]
)
def log(body: schemas.ActivityCreate, request: Request, caller: Caller = WRITE) -> Any:
    deps = deps_of(request)

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        row = activities.log_activity(
            session,
            actor=caller.actor,
            contact_id=body.contact_id,
            kind=body.kind,
            text=body.text,
            now=deps.clock.now(),
            occurred_at=_aware(body.occurred_at),
            deal_id=body.deal_id,
        )
        out = schemas.ActivityOut.model_validate(row, from_attributes=True)
        return 201, out.model_dump(mode="json"), {}

    return writes.run(deps, request, caller, body.model_dump(mode="json"), work)


# ---- follow-ups ----------------------------------------------------------------------

FOLLOWUP_SORTS = {"id": col(FollowUp.id), "due_at": col(FollowUp.due_at)}


@router.get("/followups", response_model=schemas.FollowUpPage, tags=["follow-ups"])
def list_followups(
    request: Request,
    caller: Caller = READ,
    status: FollowUpStatus | None = Query(None),
    contact_id: IdQuery = None,
    rep_id: IdQuery = None,
    due_after: datetime | None = None,
    due_before: datetime | None = None,
    sort: str = "id",
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
) -> Any:
    with deps_of(request).store.transaction() as session:
        statement = select(FollowUp).where(col(FollowUp.kind).in_(["reminder", "customer"]))
        for column, value in (
            (FollowUp.status, status),
            (FollowUp.contact_id, contact_id),
            (FollowUp.rep_id, rep_id),
        ):
            if value is not None:
                statement = statement.where(column == value)
        statement = _range(statement, col(FollowUp.due_at), _aware(due_after), _aware(due_before))
        rows, nxt = page(
            session,
            statement,
            id_column=col(FollowUp.id),
            sort=sort,
            allowed=FOLLOWUP_SORTS,
            cursor=cursor,
            limit=limit,
        )
        return {
            "data": [schemas.FollowUpOut.model_validate(r, from_attributes=True) for r in rows],
            "next_cursor": nxt,
        }


@router.post("/followups", status_code=201, response_model=schemas.FollowUpOut, tags=["follow-ups"])
def schedule(body: schemas.FollowUpCreate, request: Request, caller: Caller = WRITE) -> Any:
    deps = deps_of(request)

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        rep_id = body.rep_id
        if rep_id is None and body.contact_id is None and caller.actor.kind == "rep":
            rep_id = caller.actor.id
        row = followups.schedule(
            session,
            actor=caller.actor,
            kind="customer" if body.contact_id and rep_id is None else "reminder",
            due_at=_aware(body.due_at),
            text=body.text,
            now=deps.clock.now(),
            rep_id=rep_id,
            contact_id=body.contact_id,
        )
        out = schemas.FollowUpOut.model_validate(row, from_attributes=True)
        return 201, out.model_dump(mode="json"), {}

    return writes.run(deps, request, caller, body.model_dump(mode="json"), work)
