"""What every API route is given: the services, the caller, and the request's actor.

Built once by the composition root (bot/runtime/api.py) and handed to the app; the
API package never builds engines or settings itself.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from crm.actors import Actor
from crm.api_models import ApiToken
from crm.clock import Clock
from crm.db import Store
from crm.deals import Pipeline

# hub.send-like callable: takes an OutgoingMessage, returns a SendResult.
Sender = Callable[[Any], Awaitable[Any]]


@dataclass
class ApiDeps:
    store: Store
    clock: Clock
    pipeline: Pipeline
    region: str = "US"
    currency: str = "USD"  # the business's RAPPORT_CURRENCY: an amount sent without one
    send: Sender | None = None  # how a reply reaches the customer's channel (the hub)
    rate_limit_default: int = 600
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Caller:
    """The authenticated token and the Actor it acts as."""

    token: ApiToken
    actor: Actor

    def has(self, scope: str) -> bool:
        scopes = set(self.token.scopes)
        if "admin" in scopes:
            return True
        if scope == "read":
            return bool(scopes & {"read", "write"})
        return scope in scopes
