"""/api/v1/purchases: list (filters, sort, cursor), get, create, patch, delete, through
crm.purchases (the same service as chat's `sold`), audited with the token as actor."""

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
from crm import purchases
from crm.contacts import get_contact
from crm.errors import Conflict, NotFound
from crm.models import Company, Purchase

router = APIRouter(prefix="/v1/purchases", tags=["purchases"], responses=COMMON_RESPONSES)

SORTS = {
    "id": col(Purchase.id),
    "purchased_at": col(Purchase.purchased_at),
    "amount_minor": col(Purchase.amount_minor),
    "created_at": col(Purchase.created_at),
}


def out(row: Purchase) -> schemas.PurchaseOut:
    return schemas.PurchaseOut.model_validate(row, from_attributes=True)


@router.get("", response_model=schemas.PurchasePage, summary="List and filter purchases")
def list_purchases(
    request: Request,
    caller: Caller = READ,
    contact_id: IdQuery = None,
    company_id: IdQuery = None,
    deal_id: IdQuery = None,
    source: str | None = Query(None, pattern="^(deal|rep|import|api)$"),
    currency: str | None = Query(None, min_length=3, max_length=3),
    amount_min: int | None = Query(None, ge=0, le=10**15),
    amount_max: int | None = Query(None, ge=0, le=10**15),
    purchased_after: datetime | None = None,
    purchased_before: datetime | None = None,
    updated_since: datetime | None = Query(
        None, description="The ones recorded since then (an edit does not move a purchase here)"
    ),
    sort: str = Query("id", description=", ".join(SORTS) + "; prefix - for descending"),
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
) -> Any:
    with deps_of(request).store.read() as session:
        statement = select(Purchase)
        equal: tuple[tuple[Any, Any], ...] = (
            (Purchase.contact_id, contact_id),
            (Purchase.company_id, company_id),
            (Purchase.deal_id, deal_id),
            (Purchase.source, source),
            (Purchase.currency, currency and currency.upper()),
        )
        for column, value in equal:
            if value is not None:
                statement = statement.where(column == value)
        statement = in_range(statement, col(Purchase.amount_minor), amount_min, amount_max)
        statement = in_range(
            statement,
            col(Purchase.purchased_at),
            aware(purchased_after),
            aware(purchased_before),
        )
        if updated_since is not None:
            statement = statement.where(col(Purchase.created_at) >= aware(updated_since))
        rows, nxt = page(
            session,
            statement,
            id_column=col(Purchase.id),
            sort=sort,
            allowed=SORTS,
            cursor=cursor,
            limit=limit,
        )
        return {"data": [out(r) for r in rows], "next_cursor": nxt}


@router.get("/{purchase_id}", response_model=schemas.PurchaseOut, summary="Get a purchase")
def get_one(
    purchase_id: IdPath, request: Request, response: Response, caller: Caller = READ
) -> Any:
    with deps_of(request).store.read() as session:
        body = out(purchases.get_purchase(session, purchase_id))
    response.headers["ETag"] = represent.etag(body)
    return body


@router.post(
    "",
    status_code=201,
    response_model=schemas.PurchaseOut,
    summary="Record a purchase",
    description="Same checks as chat's `sold`: a contact or a company, no negative amount, "
    "no future date. A `reference` (order or invoice number) names one sale: one already "
    "recorded is a 409 with its `existing_id`. Send `Idempotency-Key` so a retry records it "
    "once.",
)
def create(body: schemas.PurchaseCreate, request: Request, caller: Caller = WRITE) -> Any:
    deps = deps_of(request)

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        contact = get_contact(session, body.contact_id) if body.contact_id else None
        company = None
        if body.company_id is not None:
            company = session.get(Company, body.company_id)
            if company is None:
                raise NotFound(f"There is no company #{body.company_id}.")
        _refuse_a_known_reference(session, body.reference)
        row = purchases.record_purchase(
            session,
            actor=caller.actor,
            now=deps.clock.now(),
            amount_minor=body.amount_minor,
            currency=(body.currency or deps.currency).upper(),
            contact=contact,
            company=company,
            purchased_at=aware(body.purchased_at),
            quantity=body.quantity,
            reference=body.reference,
            source="api",
        )
        body_out = out(row)
        headers = {
            "ETag": represent.etag(body_out),
            "Location": f"/api/v1/purchases/{row.id}",
        }
        return 201, body_out.model_dump(mode="json"), headers

    return writes.run(deps, request, caller, body.model_dump(mode="json"), work)


@router.patch(
    "/{purchase_id}",
    response_model=schemas.PurchaseOut,
    summary="Correct a purchase",
    description="Any of `amount_minor`, `currency`, `purchased_at`, `quantity`, `reference` "
    "with `sold`'s checks (crm.purchases.edit_purchase): audited `purchase.update`, "
    "undo-able. A won deal's purchase follows its deal: a 409. Send `If-Match`: a stale "
    "ETag is a 412.",
)
def update(
    purchase_id: IdPath, body: schemas.PurchasePatch, request: Request, caller: Caller = WRITE
) -> Any:
    deps = deps_of(request)
    with deps.store.transaction() as session:
        row = writes.locked(session, Purchase, purchase_id)
        current = out(row or purchases.get_purchase(session, purchase_id))
        writes.check_if_match(request, represent.etag(current))
        row = purchases.edit_purchase(
            session,
            actor=caller.actor,
            purchase_id=purchase_id,
            now=deps.clock.now(),
            amount_minor=body.amount_minor,
            currency=body.currency.upper() if body.currency else None,
            purchased_at=aware(body.purchased_at),
            quantity=body.quantity,
            reference=body.reference,
            clear_reference="reference" in body.model_fields_set and body.reference is None,
        )
        body_out = out(row)
    return JSONResponse(
        body_out.model_dump(mode="json"), headers={"ETag": represent.etag(body_out)}
    )


@router.delete(
    "/{purchase_id}", status_code=204, response_class=Response, summary="Delete a purchase"
)
def delete(purchase_id: IdPath, request: Request, caller: Caller = WRITE) -> Response:
    deps = deps_of(request)
    with deps.store.transaction() as session:
        row = session.exec(
            select(Purchase).where(Purchase.id == purchase_id).with_for_update()
        ).first()
        current = out(row or purchases.get_purchase(session, purchase_id))
        writes.check_if_match(request, represent.etag(current))
        purchases.delete_purchase(
            session, actor=caller.actor, purchase_id=purchase_id, now=deps.clock.now()
        )
    return Response(status_code=204)


def _refuse_a_known_reference(session: Session, reference: str | None) -> None:
    """Chat asks "record this one as well?" about a reference it has seen; an integration
    cannot answer a question, so the same invoice posted twice (under two idempotency
    keys: a replayed webhook, a re-run export) is a conflict naming the sale it repeats."""
    twin = purchases.purchase_with_reference(session, reference)
    if twin is not None:
        raise Conflict(
            f"Purchase {twin.id} already has the reference {twin.reference}.",
            existing=twin,
            field="reference",
        )
