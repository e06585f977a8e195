"""The test data built again and again, in one place.

Everything here writes through Rapport's own services (`resolve_rep`, `create_contact`,
`record_inbound`, `followups.schedule`, ...) on a real store, so a factory's row is what the
running app would have made. Each factory opens its own transaction unless it takes a
`session` (then it only flushes, and the caller's transaction decides).

The app itself comes from the `rapport` / `make_rapport` fixtures in `tests/conftest.py`
(both call `build_rapport`); the store-level `rep`, `admin`, `store` and `clock` fixtures
live there too.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bot.app import RapportApp
from bot.settings import Settings
from channels.base import Address, IncomingMessage
from crm import conversations, followups, migrate, purchases
from crm.actors import SYSTEM, Actor
from crm.clock import Clock
from crm.contacts import ContactInput, create_contact
from crm.db import Store
from crm.enums import PointKind
from crm.identities import resolve_customer, resolve_rep
from crm.models import Contact, ContactPoint, Deal, FollowUp

# --- the app -------------------------------------------------------------------------------


def build_rapport(
    data_dir: Path, clock: Clock, database_url: str | None = None, **env: str
) -> RapportApp:
    """A RapportApp on a migrated database, configured by environment-variable names
    (`RAPPORT_QUIET_HOURS="off"`). Without `database_url` it uses the default file in
    `data_dir`. The caller closes it (the `make_rapport` fixture does)."""
    values: dict[str, Any] = {"RAPPORT_DATA_DIR": str(data_dir), **env}
    if database_url is not None:
        values["RAPPORT_DATABASE_URL"] = database_url
    app = RapportApp.build(Settings(**values), clock=clock)
    migrate.upgrade(app.store.engine)
    return app


# --- reps ------------------------------------------------------------------------------------


def make_rep(store: Store, clock: Clock, name: str = "Alice", admin: bool = False) -> Actor:
    """A rep on the shell channel (external id: the name in lower case), as an Actor."""
    with store.transaction() as session:
        rep = resolve_rep(
            session,
            channel="shell",
            external_id=name.lower(),
            name=name,
            now=clock.now(),
            admin=admin,
        )
        return Actor(kind="rep", id=rep.id, channel="shell", role=rep.role, name=rep.name)


class RepChat:
    """One rep talking to the dispatcher, in one chat: each line and its reply's text.

    Without `chat` the dispatcher picks the rep's default chat (as `dispatcher.handle(actor,
    text)` does); with it every line is said in `Address("shell", chat)`."""

    def __init__(self, app: RapportApp, actor: Actor, chat: str | None = None) -> None:
        self.app, self.actor = app, actor
        self.address = Address("shell", chat) if chat is not None else None

    async def say(self, text: str) -> str:
        reply = await self.app.dispatcher.handle(self.actor, text, self.address)
        assert "Traceback" not in reply.text
        return reply.text

    async def run(self, lines: Iterable[tuple[str, str]]) -> None:
        """A transcript: each input line with a piece of its reply."""
        for line, expected in lines:
            reply = await self.say(line)
            assert expected in reply, (line, reply)

    def in_chat(self, chat: str) -> "RepChat":
        """The same rep, in another chat."""
        return RepChat(self.app, self.actor, chat)


def rep_chat(
    app: RapportApp,
    name: str = "Alice",
    *,
    external_id: str | None = None,
    admin: bool = False,
    timezone: str | None = None,
    chat: str | None = None,
) -> RepChat:
    """A rep on the shell channel (created on first use) and their chat with the dispatcher."""
    actor = app.rep_actor(
        channel="shell",
        external_id=external_id or name.lower(),
        name=name,
        timezone=timezone,
        admin=admin,
    )
    return RepChat(app, actor, chat)


# --- customers and what they write -------------------------------------------------------------


def customer_message(
    text: str,
    n: int,
    *,
    chat: str = "42",
    name: str = "Carol King",
    sender: str | None = None,
    channel: str = "telegram",
    **extra: Any,
) -> IncomingMessage:
    """A customer's message as a customer channel hands it over: message `n` of `chat`
    (id `"<chat>:<n>"`, so repeating `n` is a re-delivery or an edit). The sender is the
    chat unless `sender` says otherwise; `extra` sets the other fields (`language_hint`,
    `phone`, `edited`, `attachment`, ...)."""
    return IncomingMessage(
        address=Address(channel, chat),
        sender_id=sender or chat,
        sender_name=name,
        text=text,
        message_id=f"{chat}:{n}",
        **extra,
    )


def telegram_customer(
    session: Session,
    name: str,
    chat_id: str,
    now: datetime,
    *,
    wrote: str | None = "hello",
) -> Contact:
    """A customer known by their Telegram identity; with `wrote` they also sent that first
    message (an open conversation, message id `m-<chat>-0`)."""
    contact = resolve_customer(
        session, channel="telegram", external_id=chat_id, display_name=name, now=now
    ).contact
    if wrote is not None:
        conversations.record_inbound(
            session,
            contact=contact,
            channel="telegram",
            chat_id=chat_id,
            text=wrote,
            sent_at=now,
            now=now,
            external_id=f"m-{chat_id}-0",
        )
    return contact


def inbound(
    session: Session,
    contact: Contact,
    now: datetime,
    external_id: str,
    *,
    chat_id: str = "778",
    text: str = "where is it?",
) -> conversations.InboundResult:
    """A customer's Telegram message recorded on their conversation (opened if need be)."""
    return conversations.record_inbound(
        session, contact=contact, channel="telegram", chat_id=chat_id, text=text,
        sent_at=now, now=now, external_id=external_id,
    )  # fmt: skip


# --- contacts, deals, purchases, follow-ups -------------------------------------------------


def make_contact(
    store: Store,
    actor: Actor,
    clock: Clock,
    name: str,
    emails: Sequence[str] = (),
    phones: Sequence[str] = (),
    company: str | None = None,
    tags: Sequence[str] = (),
) -> Contact:
    """A contact created by `actor` through the contacts service (points normalised, audited)."""
    with store.transaction() as session:
        return create_contact(
            session,
            actor=actor,
            data=ContactInput(name, emails, phones, company, tags),
            now=clock.now(),
        )


def make_plain_contact(
    session: Session, name: str, now: datetime, *, email: str | None = None
) -> Contact:
    """A contact row with no channel identity (and an email point if given)."""
    row = Contact(name=name, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    if email:
        assert row.id is not None
        session.add(
            ContactPoint(contact_id=row.id, kind=PointKind.EMAIL, value=email, created_at=now)
        )
    return row


def make_deal(
    store: Store,
    owner: Actor,
    title: str,
    touched: datetime,
    *,
    stage: str = "proposal",
    amount_minor: int = 1_200_000,
    **extra: Any,
) -> Deal:
    """An open deal last touched at `touched` (created, updated and moved then), written as a
    row so the test picks its age."""
    with store.transaction() as session:
        row = Deal(
            title=title,
            owner_id=owner.id,
            stage=stage,
            amount_minor=amount_minor,
            created_at=touched,
            updated_at=touched,
            stage_changed_at=touched,
            **extra,
        )
        session.add(row)
        session.flush()
        return row


def make_purchase(
    store: Store,
    actor: Actor,
    clock: Clock,
    contact_id: int | None,
    amount_minor: int,
    *,
    currency: str = "USD",
    **extra: Any,
) -> purchases.Purchase:
    """A purchase recorded by `actor` through the purchases service."""
    with store.transaction() as session:
        return purchases.record_purchase(
            session,
            actor=actor,
            now=clock.now(),
            amount_minor=amount_minor,
            currency=currency,
            contact=session.get(Contact, contact_id) if contact_id is not None else None,
            **extra,
        )


def make_reminder(
    store: Store, clock: Clock, rep: Actor, due: datetime, text: str = "call Jane"
) -> FollowUp:
    """A rep's own reminder, due at `due`."""
    with store.transaction() as session:
        return followups.schedule(
            session,
            actor=rep,
            kind="reminder",
            due_at=due,
            text=text,
            now=clock.now(),
            rep_id=rep.id,
        )


def make_follow_up(
    store: Store,
    clock: Clock,
    rep: Actor | None,
    customer: Contact | int | None,
    due: datetime,
    text: str = "Any news?",
    *,
    stop_on_reply: bool = True,
    kind: str = "customer",
) -> FollowUp:
    """A follow-up to a customer (a Contact or its id), due at `due`; without a rep the
    system schedules it."""
    contact_id = customer.id if isinstance(customer, Contact) else customer
    with store.transaction() as session:
        return followups.schedule(
            session,
            actor=rep or SYSTEM,
            kind=kind,
            due_at=due,
            text=text,
            now=clock.now(),
            rep_id=rep.id if rep else None,
            contact_id=contact_id,
            stop_on_reply=stop_on_reply,
        )
