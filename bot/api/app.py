"""The FastAPI app of the open API, mounted by bot/runtime/api.py at `/api`.

An adapter like the chat channels: it turns HTTP into calls of the crm services
and their answers (or typed errors) into JSON. It builds nothing itself; the
composition root hands it an `ApiDeps`.
"""

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from bot.api import errors
from bot.api.context import ApiDeps
from bot.api.routes_activities import router as activities
from bot.api.routes_companies import router as companies
from bot.api.routes_contacts import router as contacts
from bot.api.routes_followups import router as followups
from bot.api.routes_inbox import router as inbox
from bot.api.routes_purchases import router as purchases
from bot.api.routes_query import router as query
from bot.api.routes_sales import router as sales
from bot.api.routes_tokens import router as tokens
from bot.api.routes_trash import router as trash
from bot.api.routes_webhooks import router as webhooks

access = logging.getLogger("rapport.api.access")

ROUTERS = (
    contacts,
    trash,
    companies,
    sales,
    purchases,
    activities,
    followups,
    inbox,
    query,
    webhooks,
    tokens,
)


def build_api(deps: ApiDeps) -> FastAPI:
    app = FastAPI(
        title="Rapport API",
        version="1.0.0",
        description="Create, read, update, delete and query Rapport's CRM data. "
        "Authenticate with `Authorization: Bearer <token>` (`rapport api token create`).",
        openapi_url="/v1/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.deps = deps
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)

    @app.middleware("http")
    async def log_request(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Every request is logged with its token (never the secret), status and time;
        writes are also in the audit log, with the token as the actor."""
        started = time.perf_counter()
        response = await call_next(request)
        access.info(
            "api request method=%s path=%s status=%s token=%s ms=%.1f",
            request.method,
            request.url.path,
            response.status_code,
            getattr(request.state, "token_id", None),
            (time.perf_counter() - started) * 1000,
        )
        return response

    return app
