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
from bot.customer.texts import CustomerTexts
from channels.base import Action, Address, IncomingMessage, Reply
from crm import audit
from crm.actors import Actor
from crm.contacts import set_consent
from crm.conversations import last_outbound_at
from crm.enums import ActorKind, FollowUpKind
from crm.errors import Invalid
from crm.identities import find_identity, resolve_customer
from crm.ids import id_of
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
# Typed answers to the /forget question, in the languages the customer texts come in.
# Only plain yes words: "ok" or "好" answer a rep as often as a question, and erasure
# cannot be undone.
TYPED_YES = frozenset({
    "yes", "yes please", "sí", "si", "oui", "ja", "sim", "да", "是", "是的", "确定",
    "yes, erase my data",
})  # fmt: skip
TYPED_NO = frozenset({
    "no", "n", "non", "nein", "não", "nao", "нет", "不", "不要", "否", "no, keep it",
})  # fmt: skip
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
    def __init__(self, services: Services, texts: CustomerTexts | None = None) -> None:
        self.services = services
        self.retraining: asyncio.Task | None = None  # the need model's, after an erasure
        settings = services.settings
        self.texts = texts or CustomerTexts.load(
            getattr(settings, "acks_file", None), getattr(settings, "default_language", "en")
        )

    def _lang(self, message: IncomingMessage, contact: Contact | None = None) -> str:
        """The customer's language: theirs if known, else their app's, else the business's."""
        if contact is None:
            with self.services.store.transaction() as session:
                return self._lang_of(message, self._known(session, message))
        return self._lang_of(message, contact)

    def _lang_of(self, message: IncomingMessage, contact: Contact | None) -> str:
        """`_lang` without a query, for use inside a transaction (SQLite cannot nest one)."""
        known = contact.language if contact is not None else None
        return self.texts.language_for(known, message.language_hint)

    def _t(self, lang: str, key: str, **values: object) -> str:
        return self.texts.get(lang, key, **values)

    @property
    def _now(self) -> datetime:
        return self.services.clock.now()

    def _actor(self, contact: Contact, message: IncomingMessage) -> Actor:
        return Actor(
            kind=FollowUpKind.CUSTOMER,
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
        lang = await asyncio.to_thread(self._lang, message)
        if name in PRIVATE_ONLY and message.address.chat_id != message.sender_id:
            refusal = self._t(lang, "private_only", command=name)
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
            unknown = Reply(
                self._t(lang, "unknown_command", command=name[:30]) + "\n\n" + self._listing(lang)
            )
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
                    contact_id=id_of(contact),
                    opted_out=False,
                    now=self._now,
                    source=message.address.channel,
                )
            name = contact.name
            lang = self._lang_of(message, contact)
        lines = [
            self._t(
                lang,
                "start_hello",
                name=_first_name(name),
                business=settings.business_name,
                hours=settings.business_hours.text,
            )
        ]
        if back:
            lines.append(self._t(lang, "start_back"))
        lines.append(self._t(lang, "start_privacy", privacy_url=settings.privacy_url))
        lines.append(self._t(lang, "start_share"))
        share = Action(self._t(lang, "share_button"), SHARE_PHONE)
        return Reply("\n\n".join(lines), actions=(share,))

    def _help(self, message: IncomingMessage) -> Reply:
        return self._once(Reply(self._listing(self._lang(message))), message)

    def _listing(self, lang: str) -> str:
        listing = "\n".join(f"/{name} - {self._t(lang, f'menu_{name}')}" for name, _ in COMMANDS)
        return self._t(lang, "help_intro") + f"\n\n{listing}"

    def _status(self, message: IncomingMessage) -> Reply:
        tz = self.services.settings.timezone
        with self._unit(message) as session:
            contact = self._known(session, message)
            requests = open_requests(session, id_of(contact)) if contact else []
            tz = (contact.timezone if contact else None) or tz
            lang = self._lang_of(message, contact)
        if not requests:
            return Reply(self._t(lang, "status_none"))
        lines = [self._t(lang, "status_header")]
        for item in requests:
            conversation = item.conversation
            topic = (
                self._t(lang, "status_topic", need=conversation.need.replace("_", " "))
                if conversation.need
                else ""
            )
            if item.last_reply_at is not None:
                state = self._t(lang, "status_replied", when=_local(item.last_reply_at, tz))
            else:
                state = self._t(lang, "status_waiting")
            if item.assignee:
                state += self._t(lang, "status_assignee", assignee=item.assignee)
            lines.append(
                self._t(
                    lang,
                    "status_line",
                    id=conversation.id,
                    topic=topic,
                    opened=_local(conversation.opened_at, tz),
                    state=state,
                )
            )
        return Reply("\n".join(lines))

    def _stop(self, message: IncomingMessage) -> Reply:
        with self._unit(message) as session:
            contact = self._resolve(session, message)
            set_consent(
                session,
                actor=self._actor(contact, message),
                contact_id=id_of(contact),
                opted_out=True,
                now=self._now,
                source=message.address.channel,
            )
            lang = self._lang_of(message, contact)
        logger.info("customer opted out contact=%s channel=%s", contact.id, message.address.channel)
        return Reply(self._t(lang, "stop_done"))

    def _mydata(self, message: IncomingMessage) -> Reply | DataExport:
        now = self._now
        with self._unit(message) as session:
            contact = self._known(session, message)
            if contact is None:
                return Reply(self._t(self._lang_of(message, None), "no_data"))
            lang = self._lang_of(message, contact)
            data = export_contact(session, contact_id=id_of(contact), now=now)
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
            Reply(self._t(lang, "mydata_here")),
        )

    def _forget(self, message: IncomingMessage) -> Reply:
        token = secrets.token_urlsafe(8)
        with self._unit(message) as session:
            contact = self._known(session, message)
            if contact is None:
                return Reply(self._t(self._lang_of(message, None), "no_data"))
            lang = self._lang_of(message, contact)
            update_chat_state(
                session,
                channel=message.address.channel,
                chat_id=message.address.chat_id,
                now=self._now,
                forget_token=token,
                forget_at=self._now.isoformat(),
            )
        return Reply(
            self._t(lang, "forget_confirm"),
            actions=(
                Action(self._t(lang, "forget_yes"), FORGET, token, style="danger"),
                Action(self._t(lang, "forget_no"), KEEP, token),
            ),
        )

    async def typed_answer(self, message: IncomingMessage) -> Reply | None:
        """A typed "yes" or "no" (in any of the customer languages) while the /forget
        question is open answers it like its buttons, rather than going to the team as a
        message: a customer who types "yes" to "Are you sure?" means it, and in a
        terminal there are no buttons to press. None: not an answer, handle it as usual."""
        word = message.text.strip().lower().rstrip(".!。！") if message.text else ""
        if word not in TYPED_YES and word not in TYPED_NO:
            return None
        state = await asyncio.to_thread(self._chat_data, message)
        token, asked = state.get("forget_token"), state.get("forget_at")
        if not token or not isinstance(asked, str):
            return None
        asked_at = datetime.fromisoformat(asked)
        if self._now - asked_at >= FORGET_VALID_FOR:
            return None  # long after the question: a "yes" to something else
        if await asyncio.to_thread(self._team_wrote_since, message, asked_at):
            return None  # a rep wrote after the question: the "yes" may be theirs
        return await self.action(FORGET if word in TYPED_YES else KEEP, str(token), message)

    def _team_wrote_since(self, message: IncomingMessage, since: datetime) -> bool:
        with self.services.store.transaction() as session:
            contact = self._known(session, message)
            last = last_outbound_at(session, id_of(contact)) if contact is not None else None
            return last is not None and last >= since  # the same instant: not erasing is safer

    def _chat_data(self, message: IncomingMessage) -> dict[str, object]:
        with self.services.store.transaction() as session:
            state = chat_state(session, message.address.channel, message.address.chat_id)
            return dict(state.data or {}) if state else {}

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
        gone = Reply(self._t(await asyncio.to_thread(self._lang, message), "button_gone"))
        return await self._answer(partial(self._once, gone), message)

    def _confirm_forget(
        self, erase: bool, token: str, done: list[Erasure], message: IncomingMessage
    ) -> Reply:
        now = self._now
        lang = self._lang(message)  # read before the erasure forgets it
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
                return Reply(self._t(lang, "forget_expired"))
            if not erase:
                return Reply(self._t(lang, "forget_kept"))
            contact = self._known(session, message)
            if contact is None:
                return Reply(self._t(lang, "forget_nothing"))
            contact_id = id_of(contact)
            actor = Actor(kind=ActorKind.CUSTOMER, id=contact_id, channel=message.address.channel)
            counts = erase_contact(session, actor=actor, contact_id=contact_id, now=now)
        done.append(counts)
        logger.info(
            "customer data erased contact=%s channel=%s messages=%s",
            contact_id,
            message.address.channel,
            counts.get("messages", 0),
        )
        return Reply(self._t(lang, "forget_done"))

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
                lang = self._lang_of(message, link.contact)
        except Invalid:
            return Reply(self._t(self._lang(message), "phone_unreadable"))
        logger.info(
            "customer shared phone contact=%s outcome=%s merged_from=%s channel=%s",
            link.contact.id,
            link.outcome,
            link.merged_from,
            message.address.channel,
        )
        linked = link.outcome in ("linked", "merged", "relinked")
        return Reply(
            self._t(lang, "phone_linked" if linked else "phone_saved", name=_first_name(name))
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
        business = self.services.settings.business_name
        return Reply(self._t(self.texts.default_language, "group_notice", business=business))
