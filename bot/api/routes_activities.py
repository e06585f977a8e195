"""/api/v1/activities: list, get (ETag), log, patch and delete, through crm.activities
(chat's `call`/`note`/... and their corrections), audited as the token."""

from datetime import datetime
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
from bot.api.schemas import IdPath, IdQuery
from crm import activities
from crm.enums import ActivityKind
from crm.models import Activity

router = APIRouter(prefix="/v1/activities", tags=["activities"], responses=COMMON_RESPONSES)

SORTS = {"id": col(Activity.id), "occurred_at": col(Activity.occurred_at)}


def out(row: Activity) -> schemas.ActivityOut:
    return schemas.ActivityOut.model_validate(row, from_attributes=True)


@router.get("", response_model=schemas.ActivityPage, summary="List activities")
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
    with deps_of(request).store.read() as session:
        statement = select(Activity)
        for column, value in (
            (Activity.contact_id, contact_id),
            (Activity.deal_id, deal_id),
            (Activity.kind, kind),
        ):
            if value is not None:
                statement = statement.where(column == value)
        statement = in_range(
            statement, col(Activity.occurred_at), aware(occurred_after), aware(occurred_before)
        )
        rows, nxt = page(
            session,
            statement,
            id_column=col(Activity.id),
            sort=sort,
            allowed=SORTS,
            cursor=cursor,
            limit=limit,
        )
        return {"data": [out(r) for r in rows], "next_cursor": nxt}


@router.get("/{activity_id}", response_model=schemas.ActivityOut, summary="Get an activity")
def get_one(
    activity_id: IdPath, request: Request, response: Response, caller: Caller = READ
) -> Any:
    with deps_of(request).store.read() as session:
        body = out(activities.get_activity(session, activity_id))
    response.headers["ETag"] = represent.etag(body)
    return body


@router.post("", status_code=201, response_model=schemas.ActivityOut, summary="Log an activity")
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
            occurred_at=aware(body.occurred_at),
            deal_id=body.deal_id,
        )
        body_out = out(row)
        headers = {"ETag": represent.etag(body_out), "Location": f"/api/v1/activities/{row.id}"}
        return 201, body_out.model_dump(mode="json"), headers

    return writes.run(deps, request, caller, body.model_dump(mode="json"), work)


@router.patch(
    "/{activity_id}",
    response_model=schemas.ActivityOut,
    summary="Correct an activity",
    description="Any of `kind`, `text`, `occurred_at`, with `log`'s checks "
    "(crm.activities.edit_activity): one `activity.update` audit entry, undo-able. A rep's "
    "token edits what its rep logged, an admin any. Send `If-Match`: a stale ETag is a 412.",
)
def update(
    activity_id: IdPath, body: schemas.ActivityPatch, request: Request, caller: Caller = WRITE
) -> Any:
    deps = deps_of(request)
    with deps.store.transaction() as session:
        row = writes.locked(session, Activity, activity_id)
        current = out(row or activities.get_activity(session, activity_id))
        writes.check_if_match(request, represent.etag(current))
        row = activities.edit_activity(
            session,
            actor=caller.actor,
            activity_id=activity_id,
            now=deps.clock.now(),
            kind=body.kind,
            text=body.text,
            occurred_at=aware(body.occurred_at),
        )
        body_out = out(row)
    return JSONResponse(
        body_out.model_dump(mode="json"), headers={"ETag": represent.etag(body_out)}
    )


@router.delete(
    "/{activity_id}",
    status_code=204,
    response_class=Response,
    summary="Delete an activity",
    description="Audited `activity.delete` whole, so `undo` brings it back under the same id.",
)
def delete(activity_id: IdPath, request: Request, caller: Caller = WRITE) -> Response:
    deps = deps_of(request)
    with deps.store.transaction() as session:
        row = writes.locked(session, Activity, activity_id)
        current = out(row or activities.get_activity(session, activity_id))
        writes.check_if_match(request, represent.etag(current))
        activities.delete_activity(
            session, actor=caller.actor, activity_id=activity_id, now=deps.clock.now()
        )
    return Response(status_code=204)
