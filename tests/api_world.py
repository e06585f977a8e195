"""Shared set-up of the API tests: an app on a real store, tokens of each scope,
and an httpx client talking to it (ASGI transport, or a real server's URL)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from bot.api.app import build_api
from bot.api.context import ApiDeps
from bot.settings import Settings
from crm import api_tokens
from crm.actors import SYSTEM
from crm.clock import Clock
from crm.db import Store
from crm.deals import Pipeline


@dataclass
class World:
    store: Store
    clock: Clock
    tokens: dict[str, str] = field(default_factory=dict)  # scope -> secret
    token_ids: dict[str, int] = field(default_factory=dict)

    def headers(self, scope: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[scope]}"}


def make_world(
    store: Store, clock: Clock, *, rate: int = 100_000, rep_id: int | None = None
) -> World:
    world = World(store, clock)
    with store.transaction() as session:
        for scope in ("read", "write", "admin"):
            issued = api_tokens.create_token(
                session,
                actor=SYSTEM,
                name=f"{scope} token",
                scopes=[scope],
                now=clock.now(),
                rate_per_minute=rate,
                rep_id=rep_id if scope == "write" else None,
            )
            world.tokens[scope] = issued.secret
            world.token_ids[scope] = issued.row.id
    return world


def deps_for(store: Store, clock: Clock, send=None) -> ApiDeps:  # type: ignore[no-untyped-def]
    settings = Settings(_env_file=None)
    return ApiDeps(store=store, clock=clock, pipeline=Pipeline(settings.stages), send=send)


@asynccontextmanager
async def client(
    deps: ApiDeps, world: World, scope: str = "admin"
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_api(deps)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://rapport/", headers=world.headers(scope), timeout=10
    ) as http:
        yield http
