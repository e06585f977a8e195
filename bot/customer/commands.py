"""The customer's own commands, for any chat channel: /start, /help, /status, /stop,
/mydata and /forget (with a confirmation button), plus sharing a phone number,
editing a message and the one-time notice to a group.

Logic over the crm services only, answering neutral Replies: the channel
decides how a button or a file looks. Privacy-sensitive commands answer only in
a one-to-one chat, so nobody's data lands in a group.

Re-deliveries: a command or button press is answered once. Its re-delivery key is
taken inside the command's own transaction (`_unit`), so the key and the command's
effects commit together: a process that dies mid-command leaves neither, and the
channel's re-delivery (Telegram sends an unconfirmed update again) runs it afresh,
where a key taken beforehand would have dropped it. `run` and `action` answer None
for a command that was already answered.
"""

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.context import Services
from bot.customer.erasure import finish_erasure
from channels.base import Action, Address, IncomingMessage, Reply
from crm import audit
from crm.actors import Actor
from crm.contacts import set_consent
from crm.errors import Invalid
from crm.identities import find_identity, resolve_customer
from crm.models import Contact
from crm.privacy import Erasure, erase_contact, export_contact
from crm.self_service import (
    chat_state,
    first_delivery,
    link_shared_phone,
    open_requests,
    record_edit,
    update_chat_state,
)

logger = logging.getLogger(__name__)

SHARE_PHONE = "share_phone"
FORGET = "forget"
KEEP = "keep"
FORGET_VALID_FOR = timedelta(minutes=15)
PRIVATE_ONLY = {"status", "mydata", "forget"}

COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Welcome, and turn follow-up messages back on"),
    ("help", "What I can do for you"),
    ("status", "Your open requests"),
    ("stop", "No more follow-up messages"),
    ("mydata", "A copy of everything we hold about you"),
    ("forget", "Erase your data"),
)


class AlreadyAnswered(Exception):
    """Another delivery of this command or button press took its re-delivery key."""


@dataclass(frozen=True)
class DataExport:
    """/mydata's answer: a JSON file to send, with `reply` as its caption."""

    filename: str
    content: bytes
    reply: Reply


Answer = TypeVar("Answer", Reply, Reply | DataExport)  # what a command handler returns


def _first_name(name: str | None) -> str:
    return (name or "").split()[0] if (name or "").strip() else "there"


def _local(dt: datetime, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%a %d %b, %H:%M") + f" ({tz})"


class CustomerCommands:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.retraining: asyncio.Task | None = None  # the need model's, after an erasure

    @property
    def _now(self) -> datetime:
        return self.services.clock.now()

    def _actor(self, contact: Contact, message: IncomingMessage) -> Actor:
        return Actor(
            kind="customer",
            id=contact.id,
            channel=message.address.channel,
            name=contact.name,
            external_id=message.sender_id,
        )

    def _known(self, session: Session, message: IncomingMessage) -> Contact | None:
        identity = find_identity(session, message.address.channel, message.sender_id)
        if identity is None or identity.contact_id is None:
            return None
        return session.get(Contact, identity.contact_id)

    def _resolve(self, session: Session, message: IncomingMessage) -> Contact:
        return resolve_customer(
            session,
            channel=message.address.channel,
            external_id=message.sender_id,
            display_name=message.sender_name,
            now=self._now,
            region=self.services.settings.default_phone_region,
        ).contact

    @contextmanager
    def _unit(self, message: IncomingMessage) -> Iterator[Session]:
        """The command's transaction, holding its re-delivery key (see the module doc).

        Raises `AlreadyAnswered` when another delivery of the message took the key; on
        PostgreSQL a concurrent one waits for the first to commit or roll back."""
        with self.services.store.transaction() as session:
            if message.message_id is not None and not first_delivery(
                session,
                source=message.address.channel,
                event_id=message.message_id,
                now=self._now,
            ):
                raise AlreadyAnswered(message.message_id)
            yield session

    def _once(self, answer: Reply, message: IncomingMessage) -> Reply:
        """A reply that touches no data still goes out once per delivery of the message."""
        with self._unit(message):
            return answer

    # --- commands -------------------------------------------------------------------

    async def run(self, name: str, message: IncomingMessage) -> Reply | DataExport | None:
        """Answers one command (None: it was already answered); an unknown one gets the
        list of what exists."""
        if name in PRIVATE_ONLY and message.address.chat_id != message.sender_id:
            refusal = f"Please send /{name} to me in a private chat, to keep your data private."
            return await self._answer(partial(self._once, Reply(refusal)), message)
        handler = {
            "start": self._start,
            "help": self._help,
            "status": self._status,
            "stop": self._stop,
            "mydata": self._mydata,
            "forget": self._forget,
        }.get(name)
        if handler is None:
            unknown = Reply(f"I don't know /{name[:30]}.\n\n{self._listing()}")
            return await self._answer(partial(self._once, unknown), message)
        return await self._answer(handler, message)

    @staticmethod
    async def _answer(
        handler: Callable[[IncomingMessage], Answer], message: IncomingMessage
    ) -> Answer | None:
        try:
            return await asyncio.to_thread(handler, message)
        except AlreadyAnswered:
            logger.info("customer command already answered event_id=%s", message.message_id)
            return None

    def _start(self, message: IncomingMessage) -> Reply:
        settings = self.services.settings
        with self._unit(message) as session:
            contact = self._resolve(session, message)
            back = contact.opted_out
            if back:
                set_consent(
                    session,
                    actor=self._actor(contact, message),
                    contact_id=contact.id,
                    opted_out=False,
                    now=self._now,
                    source=message.address.channel,
                )
            name = contact.name
        lines = [
            f"Hi {_first_name(name)}! This is {settings.business_name}. Write your question "
            f"here and a person from our team will answer (our hours: {settings.business_hours}).",
        ]
        if back:
            lines.append("You'll get follow-up messages from us again; /stop turns them off.")
        lines.append(
            f"Privacy: we keep your messages so we can help you ({settings.privacy_url}). "
            "/mydata sends you a copy of everything, our team's notes about you included; "
            "/forget erases it, /stop turns off follow-ups."
        )
        lines.append("If you like, share your phone number so we can find your account.")
        return Reply("\n\n".join(lines), actions=(Action("Share my phone number", SHARE_PHONE),))

    def _help(self, message: IncomingMessage) -> Reply:
        return self._once(Reply(self._listing()), message)

    @staticmethod
    def _listing() -> str:
        listing = "\n".join(f"/{name} - {text}" for name, text in COMMANDS)
        return (
            "Write to us here anytime: a person from our team reads every message, "
            f"and photos, documents and voice notes are welcome.\n\n{listing}"
        )

    def _status(self, message: IncomingMessage) -> Reply:
        tz = self.services.settings.timezone
        with self._unit(message) as session:
            contact = self._known(session, message)
            requests = open_requests(session, contact.id) if contact else []
            tz = (contact.timezone if contact else None) or tz
        if not requests:
            return Reply("You have no open requests. Write here and we'll get back to you.")
        lines = ["Your open requests:"]
        for item in requests:
            conversation = item.conversation
            topic = f" about {conversation.need.replace('_', ' ')}" if conversation.need else ""
            if item.last_reply_at is not None:
                state = f"we replied {_local(item.last_reply_at, tz)}"
            else:
                state = "waiting for our team"
            if item.assignee:
                state += f"; {item.assignee} is looking after it"
            lines.append(
                f"• Request {conversation.id}{topic}, opened "
                f"{_local(conversation.opened_at, tz)}: {state}."
            )
        return Reply("\n".join(lines))

    def _stop(self, message: IncomingMessage) -> Reply:
        with self._unit(message) as session:
            contact = self._resolve(session, message)
            set_consent(
                session,
                actor=self._actor(contact, message),
                contact_id=contact.id,
                opted_out=True,
                now=self._now,
                source=message.address.channel,
            )
        logger.info("customer opted out contact=%s channel=%s", contact.id, message.address.channel)
        return Reply(
            "Done: we won't send you follow-up messages any more. We'll still answer whenever "
            "you write to us. Send /start to turn them back on."
        )

    def _mydata(self, message: IncomingMessage) -> Reply | DataExport:
        now = self._now
        with self._unit(message) as session:
            contact = self._known(session, message)
            if contact is None:
                return Reply("We don't hold any data about you.")
            data = export_contact(session, contact_id=contact.id, now=now)
            audit.record(
                session,
                actor=self._actor(contact, message),
                action="contact.export",
                entity_type="contact",
                entity_id=contact.id,
                at=now,
            )
        business = re.sub(r"[^a-z0-9]+", "-", self.services.settings.business_name.lower())
        filename = f"{business.strip('-') or 'my'}-data-{now:%Y-%m-%d}.json"
        content = json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
        return DataExport(
            filename,
            content,
            Reply("Here is everything we hold about you. /forget erases it."),
        )

    def _forget(self, message: IncomingMessage) -> Reply:
        token = secrets.token_urlsafe(8)
        with self._unit(message) as session:
            if self._known(session, message) is None:
                return Reply("We don't hold any data about you.")
            update_chat_state(
                session,
                channel=message.address.channel,
                chat_id=message.address.chat_id,
                now=self._now,
                forget_token=token,
                forget_at=self._now.isoformat(),
            )
        return Reply(
            "This erases everything we hold about you: your details, your messages and our "
            "notes. It cannot be undone. Are you sure?",
            actions=(
                Action("Yes, erase my data", FORGET, token, style="danger"),
                Action("No, keep it", KEEP, token),
            ),
        )

    # --- buttons and other events ---------------------------------------------------------

    async def action(self, action_id: str, value: str, message: IncomingMessage) -> Reply | None:
        """Answers a button press (None: this press was already answered)."""
        if action_id in (FORGET, KEEP):
            if message.address.chat_id != message.sender_id:  # a group, or a forwarded button
                refusal = Reply("Please send /forget to me in a private chat.")
                return await self._answer(partial(self._once, refusal), message)
            erase = action_id == FORGET
            done: list[Erasure] = []
            reply = await self._answer(partial(self._confirm_forget, erase, value, done), message)
            if done:
                self.retraining = await finish_erasure(self.services, done[0])
            return reply
        gone = Reply("That button no longer works. Send /help to see what I can do.")
        return await self._answer(partial(self._once, gone), message)

    def _confirm_forget(
        self, erase: bool, token: str, done: list[Erasure], message: IncomingMessage
    ) -> Reply:
        now = self._now
        with self._unit(message) as session:
            before = update_chat_state(
                session,
                channel=message.address.channel,
                chat_id=message.address.chat_id,
                now=now,
                forget_token=None,
                forget_at=None,
            )
            asked = before.get("forget_at")
            fresh = asked is not None and now - datetime.fromisoformat(asked) < FORGET_VALID_FOR
            if not (token and before.get("forget_token") == token and fresh):
                return Reply("That button has expired. Send /forget again to erase your data.")
            if not erase:
                return Reply("OK, nothing was erased.")
            contact = self._known(session, message)
            if contact is None:
                return Reply("There is nothing left to erase.")
            contact_id = contact.id
            actor = Actor(kind="customer", id=contact_id, channel=message.address.channel)
            counts = erase_contact(session, actor=actor, contact_id=contact_id, now=now)
        done.append(counts)
        logger.info(
            "customer data erased contact=%s channel=%s messages=%s",
            contact_id,
            message.address.channel,
            counts.get("messages", 0),
        )
        return Reply(
            "Done: your details and messages have been erased from our records. If you write "
            "again we'll start afresh. (This chat stays in your app; you can delete it there.)"
        )

    async def share_phone(self, message: IncomingMessage) -> Reply:
        """The customer pressed "Share my phone number": link them to their account."""
        return await asyncio.to_thread(self._share_phone, message)

    def _share_phone(self, message: IncomingMessage) -> Reply:
        assert message.phone is not None
        try:
            with self.services.store.transaction() as session:
                link = link_shared_phone(
                    session,
                    channel=message.address.channel,
                    external_id=message.sender_id,
                    display_name=message.sender_name,
                    phone=message.phone,
                    now=self._now,
                    region=self.services.settings.default_phone_region,
                )
                name = link.contact.name
        except Invalid:
            return Reply("Thanks, but we couldn't read that phone number.")
        logger.info(
            "customer shared phone contact=%s outcome=%s merged_from=%s channel=%s",
            link.contact.id,
            link.outcome,
            link.merged_from,
            message.address.channel,
        )
        linked = link.outcome in ("linked", "merged", "relinked")
        return Reply(
            f"Thanks, {_first_name(name)}! We've saved your number"
            + (" and linked this chat to your account with us." if linked else ".")
        )

    async def edit(self, message: IncomingMessage) -> None:
        """The customer edited a message: the stored text follows, the old one is kept."""
        await asyncio.to_thread(self._edit, message)

    def _edit(self, message: IncomingMessage) -> None:
        if message.message_id is None:
            return
        text = message.text or (message.attachment.caption if message.attachment else "") or ""
        with self.services.store.transaction() as session:
            stored = record_edit(
                session,
                channel=message.address.channel,
                external_id=message.message_id,
                text=text,
                at=message.sent_at or self._now,
            )
        if stored is None:
            logger.debug("edit of an unstored message ignored id=%s", message.message_id)

    async def group_notice(self, address: Address) -> Reply | None:
        """A group wrote while groups are off: say so once per group (kept in ChatState)."""
        return await asyncio.to_thread(self._group_notice, address)

    def _group_notice(self, address: Address) -> Reply | None:
        with self.services.store.transaction() as session:
            state = chat_state(session, address.channel, address.chat_id)
            if state is not None and state.data.get("group_notice_at"):
                return None
            update_chat_state(
                session,
                channel=address.channel,
                chat_id=address.chat_id,
                now=self._now,
                group_notice_at=self._now.isoformat(),
            )
        logger.info("group ignored channel=%s chat=%s", address.channel, address.chat_id)
        return Reply(
            f"Hello! I'm {self.services.settings.business_name}'s assistant and I only answer "
            "in private chats, so I won't read this group. Message me directly to reach us."
        )
