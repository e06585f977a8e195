"""/api/v1/tokens (admin): create (the secret shown once), list and get (never the
secret), revoke (a token cannot revoke itself), through crm.api_tokens like
`rapport api token create|list|revoke`, audited with the calling token as actor."""

from typing import Any

from fastapi import APIRouter, Query, Request
from sqlmodel import Session, col, select

from bot.api import schemas, writes
from bot.api.auth import ADMIN, deps_of
from bot.api.context import Caller
from bot.api.errors import COMMON_RESPONSES
from bot.api.pagination import MAX_LIMIT, page
from bot.api.schemas import IdPath
from crm import api_tokens
from crm.api_models import ApiToken

router = APIRouter(prefix="/v1/tokens", tags=["tokens"], responses=COMMON_RESPONSES)

SORTS = {"id": col(ApiToken.id), "created_at": col(ApiToken.created_at)}


def _out(row: ApiToken) -> schemas.TokenOut:
    return schemas.TokenOut.model_validate(row, from_attributes=True)


@router.get("", response_model=schemas.TokenPage, summary="List API tokens (admin)")
def list_tokens(
    request: Request,
    caller: Caller = ADMIN,
    revoked: bool | None = Query(None, description="true: only revoked; false: only live"),
    sort: str = Query("id", description="id or created_at; prefix - for descending"),
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
) -> Any:
    with deps_of(request).store.read() as session:
        statement = select(ApiToken)
        if revoked is True:
            statement = statement.where(col(ApiToken.revoked_at).is_not(None))
        elif revoked is False:
            statement = statement.where(col(ApiToken.revoked_at).is_(None))
        rows, nxt = page(
            session,
            statement,
            id_column=col(ApiToken.id),
            sort=sort,
            allowed=SORTS,
            cursor=cursor,
            limit=limit,
        )
        return {"data": [_out(r) for r in rows], "next_cursor": nxt}


@router.get("/{token_id}", response_model=schemas.TokenOut, summary="Get an API token (admin)")
def get_token(token_id: IdPath, request: Request, caller: Caller = ADMIN) -> Any:
    with deps_of(request).store.read() as session:
        return _out(api_tokens.get_token(session, token_id))


def _without_secret(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "secret": None}


@router.post(
    "",
    status_code=201,
    response_model=schemas.TokenCreated,
    summary="Create an API token (admin)",
    description="The answer holds the secret, once: it is stored only as a hash. A token "
    "tied to a rep with `admin` needs that rep to be an admin.",
)
def create_token(body: schemas.TokenCreate, request: Request, caller: Caller = ADMIN) -> Any:
    deps = deps_of(request)

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        issued = api_tokens.create_token(
            session,
            actor=caller.actor,
            name=body.name,
            scopes=list(body.scopes),
            now=deps.clock.now(),
            rep_id=body.rep_id,
            rate_per_minute=body.rate_per_minute,
        )
        out = schemas.TokenCreated(**_out(issued.row).model_dump(), secret=issued.secret)
        return 201, out.model_dump(mode="json"), {"Location": f"/api/v1/tokens/{issued.row.id}"}

    return writes.run(
        deps, request, caller, body.model_dump(mode="json"), work, stored=_without_secret
    )


@router.post(
    "/{token_id}/revoke",
    response_model=schemas.TokenOut,
    summary="Revoke an API token (admin)",
    description="It stops working at once; revoking twice is harmless. A token cannot "
    "revoke itself (409).",
)
def revoke(token_id: IdPath, request: Request, caller: Caller = ADMIN) -> Any:
    deps = deps_of(request)
    with deps.store.transaction() as session:
        api_tokens.get_token(session, token_id)
        row = api_tokens.revoke(
            session,
            actor=caller.actor,
            ref=str(token_id),
            now=deps.clock.now(),
            by_token_id=caller.token.id,
        )
        return _out(row)
