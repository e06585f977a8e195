"""/api/v1/trash/contacts: the deleted contacts an admin can still bring back, and
`POST .../restore`, through crm.trash.restore, the same service as chat's `restore #id`."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from sqlmodel import Session, col, select

from bot.api import represent, schemas, writes
from bot.api.auth import ADMIN, deps_of
from bot.api.context import Caller
from bot.api.errors import COMMON_RESPONSES
from bot.api.pagination import MAX_LIMIT, page
from bot.api.schemas import IdPath
from crm import trash
from crm.models import TrashedContact

router = APIRouter(prefix="/v1/trash/contacts", tags=["trash"], responses=COMMON_RESPONSES)

SORTS = {"id": col(TrashedContact.id), "deleted_at": col(TrashedContact.deleted_at)}


def _points(entry: TrashedContact, kind: str) -> list[str]:
    rows = entry.payload.get("contactpoint", [])
    ordered = sorted(rows, key=lambda r: (r.get("position") or 0, r.get("id") or 0))
    return [str(r["value"]) for r in ordered if r.get("kind") == kind]


def _counts(entry: TrashedContact) -> dict[str, int]:
    counts = {
        str(model.__tablename__): len(entry.payload.get(str(model.__tablename__), []))
        for model in trash.OWNED
    }
    counts["deal"] = len([i for i in entry.payload.get("deal_ids", []) if i is not None])
    return counts


def _out(entry: TrashedContact) -> dict[str, Any]:
    return {
        "contact_id": entry.contact_id,
        "name": entry.name,
        "emails": _points(entry, "email"),
        "phones": _points(entry, "phone"),
        "deleted_by": entry.deleted_by,
        "deleted_at": entry.deleted_at,
        "purge_at": entry.deleted_at + trash.RETENTION,
        "counts": _counts(entry),
    }


@router.get("", response_model=schemas.TrashPage, summary="List deleted contacts (admin)")
def list_trashed(
    request: Request,
    caller: Caller = ADMIN,
    deleted_since: datetime | None = None,
    sort: str = Query("-id", description="id or deleted_at; prefix - for descending"),
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
) -> Any:
    deps = deps_of(request)
    now = deps.clock.now()
    with deps.store.read() as session:
        statement = select(TrashedContact).where(
            col(TrashedContact.deleted_at) >= now - trash.RETENTION
        )
        if deleted_since is not None:
            since = (
                deleted_since if deleted_since.tzinfo else deleted_since.replace(tzinfo=now.tzinfo)
            )
            statement = statement.where(col(TrashedContact.deleted_at) >= since)
        rows, nxt = page(
            session,
            statement,
            id_column=col(TrashedContact.id),
            sort=sort,
            allowed=SORTS,
            cursor=cursor,
            limit=limit,
        )
        return {"data": [_out(r) for r in rows], "next_cursor": nxt}


@router.get(
    "/{contact_id}",
    response_model=schemas.TrashedContactDetail,
    summary="Get a deleted contact (admin)",
)
def get_trashed(contact_id: IdPath, request: Request, caller: Caller = ADMIN) -> Any:
    deps = deps_of(request)
    with deps.store.read() as session:
        entry = trash.find_entry(session, contact_id, now=deps.clock.now())
        return {**_out(entry), "contact": dict(entry.payload.get("contact", {}))}


@router.post(
    "/{contact_id}/restore",
    response_model=schemas.RestoreOut,
    summary="Restore a deleted contact (admin)",
    description="Puts the contact back whole, under its old id, with its emails, phones, "
    "timeline, conversations, follow-ups and deals: the same as chat's `restore #id`. "
    "A 409 names the field (`email`, `phone`, `channel_identity`) and the contact that "
    "holds it now; then nothing is restored.",
)
def restore(contact_id: IdPath, request: Request, caller: Caller = ADMIN) -> Any:
    deps = deps_of(request)

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        contact, counts = trash.restore(
            session, actor=caller.actor, contact_id=contact_id, now=deps.clock.now()
        )
        out = represent.contact(session, contact)
        body = {"contact": out.model_dump(mode="json"), "restored": counts}
        return 200, body, {"ETag": represent.etag(out)}

    return writes.run(deps, request, caller, {"contact_id": contact_id}, work)
