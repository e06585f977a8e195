"""/api/v1/companies: list, get (ETag), create, patch and delete, through crm.companies
(the same services as chat's company mentions and `edit company`), audited as the token."""

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from bot.api import represent, schemas, writes
from bot.api.auth import ADMIN, READ, WRITE, deps_of
from bot.api.context import Caller
from bot.api.errors import COMMON_RESPONSES
from bot.api.pagination import MAX_LIMIT, page
from bot.api.schemas import IdPath
from crm.companies import delete_company, edit_company, get_company, get_or_create_company
from crm.errors import Invalid
from crm.models import Company

router = APIRouter(prefix="/v1/companies", tags=["companies"], responses=COMMON_RESPONSES)

SORTS = {"id": col(Company.id), "name": col(Company.name)}


def out(row: Company) -> schemas.CompanyOut:
    return schemas.CompanyOut.model_validate(row, from_attributes=True)


@router.get("", response_model=schemas.CompanyPage, summary="List companies")
def list_companies(
    request: Request,
    caller: Caller = READ,
    name: str | None = Query(None, max_length=200, description="case-insensitive, exact"),
    sort: str = "id",
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
) -> Any:
    with deps_of(request).store.read() as session:
        statement = select(Company)
        if name:
            statement = statement.where(Company.name_key == " ".join(name.split()).casefold())
        rows, nxt = page(
            session,
            statement,
            id_column=col(Company.id),
            sort=sort,
            allowed=SORTS,
            cursor=cursor,
            limit=limit,
        )
        return {"data": [out(r) for r in rows], "next_cursor": nxt}


@router.get("/{company_id}", response_model=schemas.CompanyOut, summary="Get a company")
def get_one(company_id: IdPath, request: Request, response: Response, caller: Caller = READ) -> Any:
    with deps_of(request).store.read() as session:
        body = out(get_company(session, company_id))
    response.headers["ETag"] = represent.etag(body)
    return body


@router.post(
    "",
    status_code=201,
    response_model=schemas.CompanyOut,
    summary="Create a company",
    description="Returns the existing company when one has that name (any case).",
)
def create(body: schemas.CompanyCreate, request: Request, caller: Caller = WRITE) -> Any:
    deps = deps_of(request)

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        row = get_or_create_company(
            session, actor=caller.actor, name=body.name, now=deps.clock.now()
        )
        if row is None:
            raise Invalid("name", "A company needs a name.")
        body_out = out(row)
        headers = {"ETag": represent.etag(body_out), "Location": f"/api/v1/companies/{row.id}"}
        return 201, body_out.model_dump(mode="json"), headers

    return writes.run(deps, request, caller, body.model_dump(mode="json"), work)


@router.patch(
    "/{company_id}",
    response_model=schemas.CompanyOut,
    summary="Rename a company or set its domain",
    description="Chat's `edit company` (crm.companies.edit_company): one `company.update` "
    "audit entry per field, undo-able. Send `If-Match`: a stale ETag is a 412.",
)
def update(
    company_id: IdPath, body: schemas.CompanyPatch, request: Request, caller: Caller = WRITE
) -> Any:
    deps = deps_of(request)
    with deps.store.transaction() as session:
        row = writes.locked(session, Company, company_id) or get_company(session, company_id)
        writes.check_if_match(request, represent.etag(out(row)))
        for field_name in ("name", "domain"):
            value = getattr(body, field_name)
            if value is not None:
                edit_company(
                    session,
                    actor=caller.actor,
                    company_id=company_id,
                    field_name=field_name,
                    value=value,
                    now=deps.clock.now(),
                )
        session.flush()
        body_out = out(get_company(session, company_id))
    return JSONResponse(
        body_out.model_dump(mode="json"), headers={"ETag": represent.etag(body_out)}
    )


@router.delete(
    "/{company_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a company (admin)",
    description="Only a company no contact, deal or purchase names: otherwise a 409 saying "
    "how many do (move or delete them first). Audited `company.delete`; `undo` restores it.",
)
def delete(company_id: IdPath, request: Request, caller: Caller = ADMIN) -> Response:
    deps = deps_of(request)
    with deps.store.transaction() as session:
        row = writes.locked(session, Company, company_id) or get_company(session, company_id)
        writes.check_if_match(request, represent.etag(out(row)))
        delete_company(session, actor=caller.actor, company_id=company_id, now=deps.clock.now())
    return Response(status_code=204)
