"""Rapport with its real Telegram channel against the Bot API stand-in.

Each test gets a fresh SQLite file (RapportApp.build + prepare_database), a
ManualClock, a recording inbox subscriber, and the PTB Application polling the
stand-in over HTTP on 127.0.0.1, with short poll and back-off times.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from bot.app import RapportApp
from bot.customer.desk import InboxEvent
from bot.runtime import Component
from bot.runtime.service import Service
from bot.runtime.telegram import attach_telegram
from bot.settings import Settings
from channels.telegram.channel import TelegramChannel
from crm.clock import ManualClock
from crm.identities import find_identity
from crm.models import ChannelIdentity, Contact, Message
from tests.standins.telegram_api import TelegramStandIn

TOKEN = "123:TEST"


@dataclass(frozen=True)
class _Untagged:
    need: str | None = None
    confidence: float = 0.0


class NoClassifier:
    """Tags nothing. Service.start() trains the real classifier when none is loaded, which
    takes tens of seconds; the runner tests do not need it."""

    labels: tuple[str, ...] = ()

    def predict(self, _text: str) -> _Untagged:
        return _Untagged()


def tiny_classifier() -> Any:
    """A real NeedClassifier trained on a dozen examples (a fraction of a second)."""
    from crm.needs.classifier import NeedClassifier

    examples = {
        "pricing": [
            "how much is it",
            "what does it cost",
            "price of the red bike",
            "how much does the bike cost",
        ],
        "order_status": [
            "where is my order",
            "my parcel has not arrived",
            "when will my order ship",
            "tracking number please",
        ],
        "greeting": ["hello", "hi there", "good morning", "hey"],
    }
    texts = [text for items in examples.values() for text in items]
    labels = [label for label, items in examples.items() for _ in items]
    return NeedClassifier.train(texts, labels, threshold=0.2)


def make_settings(tmp_path: Path, api_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "RAPPORT_DATA_DIR": str(tmp_path),
        "RAPPORT_DATABASE_URL": f"sqlite:///{tmp_path / 'rapport.db'}",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "RAPPORT_TELEGRAM_API_URL": api_url,
        "RAPPORT_TELEGRAM_WEBHOOK_URL": None,
        "RAPPORT_TELEGRAM_WEBHOOK_SECRET": None,
        "RAPPORT_TELEGRAM_ALLOW_GROUPS": False,
        "RAPPORT_BUSINESS_NAME": "Acme Bikes",
        "RAPPORT_BUSINESS_HOURS": "Mon-Fri 09:00-17:00",
        "RAPPORT_PRIVACY_URL": "https://acme.example/privacy",
        "RAPPORT_TIMEZONE": "UTC",
        "RAPPORT_HTTP_HOST": "127.0.0.1",
        "RAPPORT_HTTP_PORT": 0,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class TelegramWorld:
    rapport: RapportApp
    api: TelegramStandIn
    component: Component
    clock: ManualClock
    events: list[InboxEvent] = field(default_factory=list)
    started: bool = False

    @property
    def channel(self) -> TelegramChannel:
        channel = self.component.extra["channel"]
        assert isinstance(channel, TelegramChannel)
        return channel

    async def start(self) -> "TelegramWorld":
        await self.component.start()
        self.started = True
        return self

    async def stop(self) -> None:
        if self.started:
            await self.component.stop()
            self.started = False
        self.rapport.close()

    # --- reading the store ------------------------------------------------------------

    def messages(self, direction: str | None = None) -> list[Message]:
        with self.rapport.store.transaction() as session:
            statement = select(Message).order_by(col(Message.id))
            if direction:
                statement = statement.where(Message.direction == direction)
            return list(session.exec(statement))

    def contact_of(self, user_id: int) -> Contact | None:
        with self.rapport.store.transaction() as session:
            identity = find_identity(session, "telegram", str(user_id))
            if identity is None or identity.contact_id is None:
                return None
            return session.get(Contact, identity.contact_id)

    def identity(self, user_id: int) -> ChannelIdentity | None:
        with self.rapport.store.transaction() as session:
            return find_identity(session, "telegram", str(user_id))

    async def stored(self, count: int, timeout: float = 15.0) -> list[Message]:
        """Waits until `count` inbound messages are stored (generous: a wait, not a speed check;
        a loaded CI machine once took over 5 s to poll the stand-in again)."""
        await self.api.wait_for(lambda: len(self.messages("inbound")) >= count, timeout)
        return self.messages("inbound")


def build_world(tmp_path: Path, api: TelegramStandIn, **settings: Any) -> TelegramWorld:
    clock = ManualClock()
    rapport = RapportApp.build(make_settings(tmp_path, api.url, **settings), clock=clock)
    rapport.prepare_database()
    component = attach_telegram(rapport, poll_timeout=1, backoff_initial=0.05, backoff_max=0.3)
    world = TelegramWorld(rapport, api, component, clock)

    async def record(event: InboxEvent) -> None:
        world.events.append(event)

    rapport.desk.subscribe(record)
    return world


def webhook_service(
    tmp_path: Path, api: TelegramStandIn, secret: str
) -> tuple[TelegramWorld, Service]:
    """Rapport in webhook mode (the Telegram channel behind Rapport's own HTTP server),
    with no classifier; start the service, then POST to /telegram/webhook on
    `service.http.port`."""
    world = build_world(
        tmp_path,
        api,
        RAPPORT_TELEGRAM_WEBHOOK_URL="https://rapport.example/telegram/webhook",
        RAPPORT_TELEGRAM_WEBHOOK_SECRET=secret,
    )
    world.rapport.services.classifier = NoClassifier()
    return world, Service(world.rapport, components=[world.component])
