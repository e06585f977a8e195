"""What every handler is given: the shared services and the acting person.

`Services` is built once by the composition root; `HandlerContext` pairs it
with the Actor of one message. Handlers run in a worker thread (the store is
synchronous), so they never send on a channel themselves: they return the
deliveries to make, and the dispatcher sends them after the transaction commits.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from bot.language.commands import Command
from bot.language.parsing import default_dateorder
from bot.language.verbs import is_read_only
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
    # While `rapport run` loads (or, the first time, trains) the classifier in the
    # background: customer messages wait for it, everything else is served meanwhile.
    classifier_loading: "asyncio.Future[Any] | None" = None

    async def classifier_ready(self) -> None:
        """Waits for a classifier still loading (never raises: a failed load leaves the
        messages untagged, as no classifier does)."""
        loading = self.classifier_loading
        if loading is not None and not loading.done():
            await asyncio.shield(loading)

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


@dataclass(frozen=True)
class Handled:
    """What the dispatcher did with a line of text: the reply, and the command that ran
    (None when the text did not parse), so a channel need not parse the text again."""

    reply: Reply
    command: Command | None = None

    @property
    def changed(self) -> bool:
        """Whether the CRM may have changed (Slack then refreshes the rep's App Home)."""
        return changed(self.command, self.reply)


def changed(command: object, reply: Reply) -> bool:
    """A command that worked and is not read-only may have changed what a rep sees."""
    return command is not None and reply.ok and not is_read_only(command)


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

    @property
    def dateorder(self) -> str:
        """The rep's own date order, else the team's, else what the time zone suggests."""
        return self.actor.dateorder or self.settings.date_order or default_dateorder(self.tz)

    @property
    def after_lunch(self) -> time:
        return self.settings.lunch_ends
