"""A small world for outbox and scheduler tests: services on a real store, a manual clock,
recording channels on the hub, and helpers to add reps, customers and follow-ups.

The rate limiter runs on a VirtualTime, so no test sleeps for real.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from bot.context import Services
from bot.outbound.outbox import Outbox
from bot.outbound.ratelimit import HubLimits, RateLimiter, VirtualTime
from bot.settings import Settings
from channels.hub import ChannelHub
from crm.actors import Actor
from crm.clock import ManualClock
from crm.db import Store, db_now
from crm.deals import Pipeline
from crm.enums import PointKind
from crm.identities import resolve_rep
from crm.models import ChannelIdentity, Contact, ContactPoint, FollowUp, Rep
from tests.factories import make_follow_up, make_plain_contact, make_reminder, telegram_customer
from tests.standins.outbox_channels import RecordingChannel, standard_traits

DEFAULTS: dict[str, Any] = {
    "timezone": "UTC",
    "business_hours": "Mon-Fri 09:00-17:00",
    "quiet_hours": "21:00-08:00",
    "digest_time": "09:00",
    "stale_deal_days": 14,
    "unanswered_hours": 4,
}


def make_settings(url: str = "sqlite://", **overrides: Any) -> Settings:
    values = {**DEFAULTS, **overrides}
    return Settings(_env_file=None, database_url=url, **values)  # type: ignore[call-arg]


def expire_leases(store: Store) -> int:
    """Every claimed row's lease ends now on the database's clock (the only clock leases
    are compared on): what waiting out a lease does, without the wait."""
    with store.transaction() as session:
        past = db_now(session) - timedelta(seconds=1)
        result = session.execute(
            update(FollowUp).where(col(FollowUp.status) == "claimed").values(lease_until=past)
        )
        return int(getattr(result, "rowcount", 0) or 0)


@dataclass
class World:
    services: Services
    clock: ManualClock
    vt: VirtualTime
    channels: dict[str, RecordingChannel] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        store: Store,
        clock: ManualClock,
        *,
        channels: tuple[str, ...] = ("slack", "shell", "telegram", "email"),
        **settings: Any,
    ) -> "World":
        config = make_settings(str(store.engine.url), **settings)
        hub = ChannelHub()
        services = Services(
            settings=config, store=store, clock=clock, hub=hub, pipeline=Pipeline(config.stages)
        )
        world = cls(services, clock, VirtualTime())
        for name in channels:
            traits = standard_traits(name, config.telegram_rate_per_second)
            world.add_channel(RecordingChannel(name, at=world.vt.monotonic, traits=traits))
        return world

    @property
    def store(self) -> Store:
        return self.services.store

    def add_channel(self, channel: Any) -> None:
        self.services.hub.register(channel)
        self.channels[channel.name] = channel

    def outbox(self, worker: str = "w1", **kwargs: Any) -> Outbox:
        limiter = kwargs.pop("limiter", None) or RateLimiter(
            HubLimits(self.services.hub),
            monotonic=self.vt.monotonic,
            sleep=self.vt.sleep,
        )
        return Outbox(self.services, worker=worker, limiter=limiter, **kwargs)

    # --- people ---------------------------------------------------------------------------------

    def rep(
        self,
        name: str = "Alice",
        *,
        tz: str = "UTC",
        slack: str | None = None,
        shell: bool = True,
        email: str | None = None,
        admin: bool = False,
    ) -> Actor:
        now = self.clock.now()
        with self.store.transaction() as session:
            first = ("slack", slack) if slack else ("shell", name.lower())
            rep = resolve_rep(
                session,
                channel=first[0],
                external_id=first[1],
                name=name,
                now=now,
                timezone=tz,
                admin=admin,
            )
            if slack and shell:
                session.add(
                    ChannelIdentity(
                        channel="shell", external_id=name.lower(), rep_id=rep.id, created_at=now
                    )
                )
            if not shell and not slack:
                for identity in session.exec(
                    select(ChannelIdentity).where(ChannelIdentity.rep_id == rep.id)
                ):
                    session.delete(identity)
            rep.email = email
            session.add(rep)
            return Actor(
                kind="rep", id=rep.id, channel=first[0], role=rep.role, name=name, timezone=tz
            )

    def customer(
        self,
        name: str,
        *,
        telegram: str | None = None,
        email: str | None = None,
        tz: str | None = None,
        owner: Actor | None = None,
        conversation: bool = True,
    ) -> Contact:
        """A customer who wrote in on Telegram (an open conversation) or only has an email."""
        now = self.clock.now()
        with self.store.transaction() as session:
            if telegram:
                contact = telegram_customer(
                    session, name, telegram, now, wrote="hello" if conversation else None
                )
                if email:
                    assert contact.id is not None
                    point = ContactPoint(
                        contact_id=contact.id, kind=PointKind.EMAIL, value=email, created_at=now
                    )
                    session.add(point)
            else:
                contact = make_plain_contact(session, name, now, email=email)
            contact.timezone = tz
            contact.owner_id = owner.id if owner else None
            session.add(contact)
            session.flush()
            return contact

    # --- follow-ups -------------------------------------------------------------------------------

    def remind(self, rep: Actor, due: datetime, text: str = "call Jane") -> FollowUp:
        return make_reminder(self.store, self.clock, rep, due, text)

    def follow_up(
        self,
        rep: Actor | None,
        contact: Contact,
        due: datetime,
        text: str = "Any news?",
        *,
        stop_on_reply: bool = True,
        kind: str = "customer",
    ) -> FollowUp:
        return make_follow_up(
            self.store, self.clock, rep, contact, due, text, stop_on_reply=stop_on_reply, kind=kind
        )

    def row(self, followup_id: int | None) -> FollowUp:
        with self.store.transaction() as session:
            row = session.get(FollowUp, followup_id)
            assert row is not None
            return row

    def rows(self, **where: Any) -> list[FollowUp]:
        with self.store.transaction() as session:
            statement = select(FollowUp).order_by(FollowUp.id)
            for key, value in where.items():
                statement = statement.where(getattr(FollowUp, key) == value)
            return list(session.exec(statement).all())

    def update(self, model: type, row_id: int | None, **values: Any) -> None:
        with self.store.transaction() as session:
            row = session.get(model, row_id)
            for key, value in values.items():
                setattr(row, key, value)
            session.add(row)

    def get(self, model: type, row_id: int | None) -> Any:
        with self.store.transaction() as session:
            return session.get(model, row_id)

    def reps(self) -> list[Rep]:
        with self.store.transaction() as session:
            return list(session.exec(select(Rep)).all())
