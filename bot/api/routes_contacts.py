"""/api/v1/contacts: list (filters, q=, sort, cursor), get, create, patch, delete,
merge, and bulk upsert by external id."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from bot.api import contact_writes, represent, schemas, writes
from bot.api.auth import ADMIN, READ, WRITE, deps_of
from bot.api.context import Caller
from bot.api.errors import COMMON_RESPONSES, domain_response
from bot.api.pagination import MAX_LIMIT, page
from bot.api.schemas import IdPath, IdQuery
from crm import merge, search
from crm.contacts import find_rep, get_contact, normalise_points
from crm.errors import CRMError, Invalid
from crm.models import Contact, ContactPoint
from crm.trash import delete_contact
from crm.validation import normalise_tag

router = APIRouter(prefix="/v1/contacts", tags=["contacts"], responses=COMMON_RESPONSES)

SORTS = {
    "id": col(Contact.id),
    "name": col(Contact.name),
    "created_at": col(Contact.created_at),
    "updated_at": col(Contact.updated_at),
}
SORT_HELP = "id, name, created_at or updated_at; prefix - for descending"


def owner_id(session: Session, caller: Caller, owner: str) -> int | None:
    if owner == "me":
        if caller.actor.kind != "rep":
            raise Invalid("owner", "`owner=me` needs a token tied to a rep.")
        return caller.actor.id
    return find_rep(session, owner).id


def has_point(kind: str, value: str) -> Any:
    return col(Contact.id).in_(
        select(ContactPoint.contact_id).where(
            ContactPoint.kind == kind, ContactPoint.value == value
        )
    )


def has_tag(tag: str) -> Any:
    # search_text holds "#tag" words; padding with spaces makes it a whole-word match.
    return (" " + col(Contact.search_text) + " ").like(f"% #{tag} %")


@router.get("", response_model=schemas.ContactPage, summary="List and filter contacts")
def list_contacts(
    request: Request,
    caller: Caller = READ,
    email: str | None = Query(None, max_length=320),
    phone: str | None = Query(None, max_length=64),
    tag: str | None = Query(None, max_length=64),
    company_id: IdQuery = None,
    owner: str | None = Query(None, max_length=100, description="rep id, name, or `me`"),
    updated_since: datetime | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    q: str | None = Query(None, max_length=200, description="the same search as `find`"),
    sort: str = Query("id", description=SORT_HELP),
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
) -> Any:
    deps = deps_of(request)
    with deps.store.read() as session:
        statement = select(Contact)
        if email is not None or phone is not None:
            points = normalise_points(
                [email] if email else [], [phone] if phone else [], region=deps.region
            )
            for value in points.emails:
                statement = statement.where(has_point("email", value))
            for value in points.phones:
                statement = statement.where(has_point("phone", value))
        if tag is not None:
            statement = statement.where(has_tag(normalise_tag(tag)))
        if company_id is not None:
            statement = statement.where(Contact.company_id == company_id)
        if owner is not None:
            statement = statement.where(Contact.owner_id == owner_id(session, caller, owner))
        if updated_since is not None:
            statement = statement.where(col(Contact.updated_at) >= _aware(updated_since))
        if created_after is not None:
            statement = statement.where(col(Contact.created_at) >= _aware(created_after))
        if created_before is not None:
            statement = statement.where(col(Contact.created_at) < _aware(created_before))
        if q is not None and q.strip():
            # Ranked by relevance, best first: one page of at most `limit`, no cursor.
            matches = search.search_contacts(session, q, limit=limit)
            order = {m.contact.id: i for i, m in enumerate(matches)}
            rows = session.exec(statement.where(col(Contact.id).in_(list(order)))).all()
            rows = sorted(rows, key=lambda r: order[r.id])
            return {"data": represent.contacts(session, rows), "next_cursor": None}
        rows, next_cursor = page(
            session,
            statement,
            id_column=col(Contact.id),
            sort=sort,
            allowed=SORTS,
            cursor=cursor,
            limit=limit,
        )
        return {"data": represent.contacts(session, rows), "next_cursor": next_cursor}


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@router.get("/{contact_id}", response_model=schemas.ContactOut, summary="Get a contact")
def get_one(contact_id: IdPath, request: Request, response: Response, caller: Caller = READ) -> Any:
    with deps_of(request).store.read() as session:
        body = represent.contact(session, get_contact(session, contact_id))
    response.headers["ETag"] = represent.etag(body)
    return body


def _created(session: Session, contact: Contact) -> tuple[int, Any, dict[str, str]]:
    body = represent.contact(session, contact)
    headers = {"ETag": represent.etag(body), "Location": f"/api/v1/contacts/{contact.id}"}
    return 201, body.model_dump(mode="json"), headers


@router.post(
    "",
    status_code=201,
    response_model=schemas.ContactOut,
    summary="Create a contact",
    description="Same dedupe as chat: an email or phone already on a contact is a 409 "
    "naming it. Send `Idempotency-Key` to make retries safe.",
)
def create(body: schemas.ContactCreate, request: Request, caller: Caller = WRITE) -> Any:
    deps = deps_of(request)

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        contact = contact_writes.create(
            session, actor=caller.actor, body=body, now=deps.clock.now(), region=deps.region
        )
        return _created(session, contact)

    return writes.run(deps, request, caller, body.model_dump(mode="json"), work)


@router.patch("/{contact_id}", response_model=schemas.ContactOut, summary="Update a contact")
def update(
    contact_id: IdPath, body: schemas.ContactPatch, request: Request, caller: Caller = WRITE
) -> Any:
    deps = deps_of(request)
    with deps.store.transaction() as session:
        current = represent.contact(session, contact_writes.lock(session, contact_id))
        writes.check_if_match(request, represent.etag(current))
        contact = contact_writes.patch(
            session,
            actor=caller.actor,
            contact_id=contact_id,
            body=body,
            now=deps.clock.now(),
            region=deps.region,
        )
        session.flush()
        out = represent.contact(session, contact)
    return JSONResponse(out.model_dump(mode="json"), headers={"ETag": represent.etag(out)})


@router.delete(
    "/{contact_id}",
    status_code=204,
    summary="Delete a contact (admin)",
    response_class=Response,
)
def delete(contact_id: IdPath, request: Request, caller: Caller = ADMIN) -> Response:
    deps = deps_of(request)
    with deps.store.transaction() as session:
        current = represent.contact(session, contact_writes.lock(session, contact_id))
        writes.check_if_match(request, represent.etag(current))
        delete_contact(session, actor=caller.actor, contact_id=contact_id, now=deps.clock.now())
    return Response(status_code=204)  # its external ids go to the trash with it


@router.post(
    "/{contact_id}/merge", response_model=schemas.MergeOut, summary="Merge a duplicate in (admin)"
)
def merge_into(
    contact_id: IdPath, body: schemas.MergeIn, request: Request, caller: Caller = ADMIN
) -> Any:
    deps = deps_of(request)

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        get_contact(session, contact_id)
        get_contact(session, body.source_id)
        moved = merge.merge_contacts(  # moves the source's external ids too
            session,
            actor=caller.actor,
            source_id=body.source_id,
            target_id=contact_id,
            now=deps.clock.now(),
        )
        moved["external_ids"] = moved.pop("externalid", 0)
        out = represent.contact(session, get_contact(session, contact_id))
        return 200, {"contact": out.model_dump(mode="json"), "moved": moved}, {}

    return writes.run(deps, request, caller, body.model_dump(mode="json"), work)


@router.post(
    "/bulk",
    response_model=schemas.BulkOut,
    summary="Upsert up to 1,000 contacts by external id",
    description="Each record is matched on (`system`, `external_id`): updated if known, "
    "else created. One record's error does not stop the others; see `results`.",
)
def bulk_upsert(body: schemas.BulkIn, request: Request, caller: Caller = WRITE) -> Any:
    deps = deps_of(request)

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        now = deps.clock.now()
        results: list[dict[str, Any]] = []
        for index, record in enumerate(body.records):
            results.append(
                _upsert_one(session, caller, body.system, index, record, now, deps.region)
            )
        counts = {s: sum(1 for r in results if r["status"] == s) for s in ("created", "updated")}
        errors = sum(1 for r in results if r["status"] == "error")
        return 200, {**counts, "errors": errors, "results": results}, {}

    return writes.run(deps, request, caller, body.model_dump(mode="json"), work)


def _upsert_one(
    session: Session,
    caller: Caller,
    system: str,
    index: int,
    record: schemas.BulkRecord,
    now: datetime,
    region: str,
) -> dict[str, Any]:
    result: dict[str, Any] = {"index": index, "external_id": record.external_id}
    try:
        with session.begin_nested():
            ref = contact_writes.find_ref(session, system, record.external_id)
            if ref is not None:
                patch = schemas.ContactPatch.model_validate(
                    record.model_dump(exclude={"external_id"}, exclude_unset=True)
                )
                contact = contact_writes.patch(
                    session,
                    actor=caller.actor,
                    contact_id=ref.entity_id,
                    body=patch,
                    now=now,
                    region=region,
                )
                result |= {"status": "updated", "id": contact.id}
            else:
                if not record.name:
                    raise Invalid("name", "A new contact needs a name.")
                fields = record.model_dump(exclude={"external_id"}, exclude_none=True)
                fields["external_ids"] = [{"system": system, "external_id": record.external_id}]
                contact = contact_writes.create(
                    session,
                    actor=caller.actor,
                    body=schemas.ContactCreate.model_validate(fields),
                    now=now,
                    region=region,
                )
                result |= {"status": "created", "id": contact.id}
    except CRMError as exc:
        _status, error = domain_response(exc)
        result |= {"status": "error", "error": error["error"]}
    return result
