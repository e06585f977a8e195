"""Bearer-token authentication, scopes and the per-token rate limit (in the database).

Every route depends on `require(scope)`; the token is looked up (hash compared),
its rep loaded, the rate limit taken, and the Actor built so services audit the
change as `rep:3/api:token7` or `system/api:token7`.
"""

from collections.abc import Callable
from datetime import timedelta

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.api import ratelimit
from bot.api.context import ApiDeps, Caller
from bot.api.errors import ApiError
from crm import api_tokens
from crm.ids import id_of
from crm.models import Rep

bearer = HTTPBearer(auto_error=False, description="An API token: `rapport api token create`.")
LAST_USED_EVERY = timedelta(minutes=1)  # at most one write per token per minute for it


def deps_of(request: Request) -> ApiDeps:
    return request.app.state.deps


def _authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "unauthorized", "Send `Authorization: Bearer <token>`.")
    deps = deps_of(request)
    now = deps.clock.now()
    with deps.store.transaction() as session:
        token = api_tokens.verify(session, credentials.credentials)
        if token is None:
            raise ApiError(401, "unauthorized", "That API token is unknown or revoked.")
        rep = session.get(Rep, token.rep_id) if token.rep_id else None
        if rep is not None and not rep.active:
            raise ApiError(403, "forbidden", "The rep this token belongs to is deactivated.")
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
            token.last_used_at = now
            session.add(token)
        caller = Caller(token=token, actor=api_tokens.actor_for(token, rep))
        wait = ratelimit.take(
            session, token_id=id_of(token), per_minute=token.rate_per_minute, now=now
        )
    request.state.token_id = token.id
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            f"Over {token.rate_per_minute} requests a minute for this token.",
            headers={"Retry-After": str(max(1, int(wait + 0.999)))},
        )
    return caller


def require(scope: str) -> Callable[[Request, HTTPAuthorizationCredentials | None], Caller]:
    """A dependency: the caller, if their token has `scope` (admin implies all)."""

    def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> Caller:
        caller = _authenticate(request, credentials)
        if not caller.has(scope):
            raise ApiError(403, "forbidden", f"This token lacks the `{scope}` scope.")
        return caller

    return dependency


READ = Depends(require("read"))
WRITE = Depends(require("write"))
ADMIN = Depends(require("admin"))
