"""What every handler is given: the shared services and the acting person.

`Services` is built once by the composition root; `HandlerContext` pairs it
with the Actor of one message. Handlers run in a worker thread (the store is
synchronous), so they never send on a channel themselves: they return the
deliveries to make, and the dispatcher sends them after the transaction commits.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.settings import Settings
from channels.base import Address, OutgoingMessage, Reply
from channels.hub import ChannelHub
from crm.actors import Actor
from crm.clock import Clock
from crm.db import Store
from crm.deals import Pipeline
from crm.needs.labels import DEFAULT_NEEDS


@dataclass
class Services:
    settings: Settings
    store: Store
    clock: Clock
    hub: ChannelHub
    pipeline: Pipeline
    classifier: Any = None  # crm.needs NeedClassifier, loaded lazily by the app
    chart_dir: Any = None  # where the shell saves report charts
    on_change: list[Callable[[str, int | None], None]] = field(default_factory=list)

    @property
    def known_needs(self) -> set[str]:
        labels = getattr(self.classifier, "labels", None)
        return set(labels) if labels else set(DEFAULT_NEEDS)


@dataclass(frozen=True)
class Delivery:
    """An outbound customer message stored as pending, to send after commit."""

    message_id: int
    outgoing: OutgoingMessage


@dataclass
class Outcome:
    """A handler's answer: the reply, plus deliveries and team notices to send."""

    reply: Reply
    deliveries: list[Delivery] = field(default_factory=list)
    notices: list[OutgoingMessage] = field(default_factory=list)
    # A destructive command answers with a preview and the same command, resolved to
    # ids and marked confirmed: the dispatcher asks "yes?" and runs it on yes.
    confirm: Any = None
    confirm_what: str = "that"


@dataclass
class HandlerContext:
    services: Services
    actor: Actor
    address: Address | None = None

    @property
    def now(self) -> datetime:
        return self.services.clock.now()

    @property
    def tz(self) -> str:
        return self.actor.timezone or self.services.settings.timezone

    @property
    def settings(self) -> Settings:
        return self.services.settings
