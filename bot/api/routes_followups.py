"""/api/v1/followups: list, get (ETag), schedule, patch (pending only) and delete, which
cancels (the row stays as history, status `cancelled`, so it is never sent), through
crm.followups (chat's `remind`/`follow up`, `snooze`, `cancel`), audited as the token.

Only reminders to reps and follow-ups to customers are shown; digests, nudges, surveys and
notices are the scheduler's own and answer 404 here."""

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
from crm import followups
from crm.enums import FollowUpKind, FollowUpStatus
from crm.errors import NotFound
from crm.models import FollowUp

router = APIRouter(prefix="/v1/followups", tags=["follow-ups"], responses=COMMON_RESPONSES)

SORTS = {"id": col(FollowUp.id), "due_at": col(FollowUp.due_at)}
SHOWN = (FollowUpKind.REMINDER, FollowUpKind.CUSTOMER)


def out(row: FollowUp) -> schemas.FollowUpOut:
    return schemas.FollowUpOut.model_validate(row, from_attributes=True)


def visible(row: FollowUp | None, followup_id: int) -> FollowUp:
    if row is None or row.kind not in SHOWN:
        raise NotFound(f"There is no follow-up {followup_id}.")
    return row


@router.get("", response_model=schemas.FollowUpPage, summary="List follow-ups")
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
    with deps_of(request).store.read() as session:
        statement = select(FollowUp).where(col(FollowUp.kind).in_(SHOWN))
        for column, value in (
            (FollowUp.status, status),
            (FollowUp.contact_id, contact_id),
            (FollowUp.rep_id, rep_id),
        ):
            if value is not None:
                statement = statement.where(column == value)
        statement = in_range(statement, col(FollowUp.due_at), aware(due_after), aware(due_before))
        rows, nxt = page(
            session,
            statement,
            id_column=col(FollowUp.id),
            sort=sort,
            allowed=SORTS,
            cursor=cursor,
            limit=limit,
        )
        return {"data": [out(r) for r in rows], "next_cursor": nxt}


@router.get("/{followup_id}", response_model=schemas.FollowUpOut, summary="Get a follow-up")
def get_one(
    followup_id: IdPath, request: Request, response: Response, caller: Caller = READ
) -> Any:
    with deps_of(request).store.read() as session:
        body = out(visible(session.get(FollowUp, followup_id), followup_id))
    response.headers["ETag"] = represent.etag(body)
    return body


@router.post("", status_code=201, response_model=schemas.FollowUpOut, summary="Schedule one")
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
            due_at=aware(body.due_at),
            text=body.text,
            now=deps.clock.now(),
            rep_id=rep_id,
            contact_id=body.contact_id,
        )
        body_out = out(row)
        headers = {"ETag": represent.etag(body_out), "Location": f"/api/v1/followups/{row.id}"}
        return 201, body_out.model_dump(mode="json"), headers

    return writes.run(deps, request, caller, body.model_dump(mode="json"), work)


def _check_current(session: Session, request: Request, followup_id: int) -> None:
    """Locks the row (404 for one the API does not show) and checks If-Match on it."""
    row = visible(writes.locked(session, FollowUp, followup_id), followup_id)
    writes.check_if_match(request, represent.etag(out(row)))


@router.patch(
    "/{followup_id}",
    response_model=schemas.FollowUpOut,
    summary="Move or reword a pending follow-up",
    description="`due_at` and/or `text` (crm.followups.edit_followup): audited "
    "`followup.update`, undo-able. Only while `pending`: one being sent, sent, failed, done "
    "or cancelled is a 409 saying so. Send `If-Match`: a stale ETag is a 412.",
)
def update(
    followup_id: IdPath, body: schemas.FollowUpPatch, request: Request, caller: Caller = WRITE
) -> Any:
    deps = deps_of(request)
    with deps.store.transaction() as session:
        _check_current(session, request, followup_id)
        row = followups.edit_followup(
            session,
            actor=caller.actor,
            followup_id=followup_id,
            now=deps.clock.now(),
            due_at=aware(body.due_at),
            text=body.text,
        )
        session.flush()
        body_out = out(row)
    return JSONResponse(
        body_out.model_dump(mode="json"), headers={"ETag": represent.etag(body_out)}
    )


@router.delete(
    "/{followup_id}",
    status_code=204,
    response_class=Response,
    summary="Cancel a follow-up",
    description="Chat's `cancel`: the follow-up stays, status `cancelled`, and is never sent "
    "(audited `followup.cancel`; `undo` re-opens it). One already sent, failed, done or "
    "cancelled is a 409. Send `If-Match`: a stale ETag is a 412.",
)
def cancel(followup_id: IdPath, request: Request, caller: Caller = WRITE) -> Response:
    deps = deps_of(request)
    with deps.store.transaction() as session:
        _check_current(session, request, followup_id)
        followups.cancel_pending(
            session, actor=caller.actor, followup_id=followup_id, now=deps.clock.now()
        )
    return Response(status_code=204)
