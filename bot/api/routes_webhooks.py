"""/api/v1/webhooks: subscribe, list, pause/resume, remove, and the delivery log (admin)."""

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session

from bot.api import schemas, writes
from bot.api.auth import ADMIN, deps_of
from bot.api.context import Caller
from bot.api.errors import COMMON_RESPONSES
from bot.api.schemas import IdPath, IdQuery
from crm import webhooks

router = APIRouter(prefix="/v1/webhooks", responses=COMMON_RESPONSES, tags=["webhooks"])


def _out(row: Any) -> schemas.WebhookOut:
    return schemas.WebhookOut.model_validate(row, from_attributes=True)


@router.get("", response_model=list[schemas.WebhookOut])
def list_webhooks(request: Request, caller: Caller = ADMIN) -> Any:
    with deps_of(request).store.read() as session:
        return [_out(r) for r in webhooks.list_subscriptions(session)]


@router.post(
    "",
    status_code=201,
    response_model=schemas.WebhookCreated,
    description=f"Events: {', '.join(webhooks.EVENT_TYPES)}, or `*`. The answer holds the "
    "signing secret, shown only once.",
)
def add_webhook(body: schemas.WebhookCreate, request: Request, caller: Caller = ADMIN) -> Any:
    deps = deps_of(request)

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        row = webhooks.subscribe(
            session, actor=caller.actor, url=body.url, events=body.events, now=deps.clock.now()
        )
        out = schemas.WebhookCreated(**_out(row).model_dump(), secret=row.secret)
        return 201, out.model_dump(mode="json"), {}

    return writes.run(deps, request, caller, body.model_dump(mode="json"), work)


@router.post("/{webhook_id}/resume", response_model=schemas.WebhookOut)
def resume(webhook_id: IdPath, request: Request, caller: Caller = ADMIN) -> Any:
    deps = deps_of(request)
    with deps.store.transaction() as session:
        row = webhooks.set_active(
            session,
            actor=caller.actor,
            subscription_id=webhook_id,
            active=True,
            now=deps.clock.now(),
        )
        return _out(row)


@router.delete("/{webhook_id}", status_code=204, response_class=Response)
def remove(webhook_id: IdPath, request: Request, caller: Caller = ADMIN) -> Response:
    deps = deps_of(request)
    with deps.store.transaction() as session:
        webhooks.remove(
            session, actor=caller.actor, subscription_id=webhook_id, now=deps.clock.now()
        )
    return Response(status_code=204)


@router.get("/deliveries", response_model=list[schemas.DeliveryOut])
def deliveries(
    request: Request,
    caller: Caller = ADMIN,
    webhook_id: IdQuery = None,
    limit: int = Query(50, ge=1, le=500),
) -> Any:
    with deps_of(request).store.read() as session:
        rows = webhooks.deliveries(session, subscription_id=webhook_id, limit=limit)
        return [
            schemas.DeliveryOut(
                id=d.id,
                subscription_id=d.subscription_id,
                event_type=e.event_type,
                status=d.status,
                attempts=d.attempts,
                last_status=d.last_status,
                last_error=d.last_error,
                next_attempt_at=d.next_attempt_at,
                delivered_at=d.delivered_at,
            )
            for d, e in rows
        ]
