"""The customer inbox in the reps' Slack: bookkeeping, kept neutral.

Each new customer conversation becomes one post in RAPPORT_SLACK_INBOX_CHANNEL
(sent through the hub like any message); its "channel:ts" is kept on
`Conversation.inbox_ref`, so later customer messages go to its thread and a
rep's answer in that thread is relayed to the customer as a `reply` command.
Assign / Change need / Close re-render the post in place (`update_ts`).
"""

import asyncio
import logging
import weakref
from dataclasses import dataclass
from typing import Any

from bot.context import Services
from bot.customer.desk import InboxEvent
from bot.language.commands import ReplyToConversation
from bot.rep.dispatcher import Dispatcher
from channels.base import Action, Address, Card, OutgoingMessage, Reply
from crm import views
from crm.actors import Actor
from crm.models import Contact, Conversation, Message, Rep

logger = logging.getLogger(__name__)

BURST_THREAD_POSTS = 3  # messages of one burst threaded before the rest is only summarised


@dataclass(frozen=True)
class InboxPost:
    reply: Reply
    meta: dict[str, Any]


def split_ref(ref: str) -> tuple[str, str] | None:
    channel, _, ts = ref.partition(":")
    return (channel, ts) if channel and ts else None


def need_label(need: str | None, confidence: float | None) -> str:
    if not need:
        return "untagged"
    label = need.replace("_", " ")
    return f"{label} ({confidence:.0%})" if confidence is not None else label


class SlackInbox:
    def __init__(self, services: Services, dispatcher: Dispatcher, channel: str | None) -> None:
        self.services = services
        self.dispatcher = dispatcher
        self.channel = channel
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._burst: dict[int, int] = {}  # conversation -> messages threaded in this burst

    def _lock(self, conversation_id: int) -> asyncio.Lock:
        """Two quick messages of a new customer must not make two posts (a lock lives
        only while someone holds or awaits it)."""
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock

    async def on_event(self, event: InboxEvent) -> None:
        """The customer desk's subscriber: post a new conversation, thread a later message."""
        if not self.channel:
            return
        async with self._lock(event.conversation_id):
            ref = await asyncio.to_thread(self._ref_of, event.conversation_id)
            where = split_ref(ref) if ref else None
            if where is None:
                await self._post(event.conversation_id)
            else:
                threaded = self._threaded_in_burst(event)
                if threaded <= BURST_THREAD_POSTS:
                    await self._thread(where, event)
                elif threaded == BURST_THREAD_POSTS + 1:
                    await self._burst_note(where, event)

    def _threaded_in_burst(self, event: InboxEvent) -> int:
        """A customer flooding the bot must not flood the reps: of one burst (the messages
        the desk did not acknowledge) the first few are threaded, then one note says the
        rest is on the timeline; the next acknowledged message starts afresh."""
        if not event.in_burst:
            self._burst.pop(event.conversation_id, None)
            return 0
        count = self._burst.get(event.conversation_id, 0) + 1
        self._burst[event.conversation_id] = count
        return count

    async def _burst_note(self, where: tuple[str, str], event: InboxEvent) -> None:
        channel, ts = where
        note = Reply(
            f"{event.contact_name} keeps writing; further messages of this burst are stored "
            f"on the timeline (/crm show #{event.contact_id}) and not posted here."
        )
        await self.services.hub.send(
            OutgoingMessage(Address("slack", channel, thread_id=ts), note, kind="inbox_thread")
        )

    async def _post(self, conversation_id: int) -> None:
        post = await asyncio.to_thread(self._render, conversation_id)
        if post is None or not self.channel:
            return
        result = await self.services.hub.send(
            OutgoingMessage(
                Address("slack", self.channel), post.reply, kind="inbox", meta=post.meta
            )
        )
        if result.delivered and result.external_id:
            await asyncio.to_thread(self._save_ref, conversation_id, result.external_id)
        else:
            logger.warning(
                "inbox post failed conversation=%s error=%s", conversation_id, result.error
            )

    async def _thread(self, where: tuple[str, str], event: InboxEvent) -> None:
        channel, ts = where
        need = f" [{need_label(event.need, event.need_confidence)}]" if event.need else ""
        if event.language and event.language != "en":
            need += f" [{event.language}]"
        reply = Reply(f"{event.contact_name} wrote{need} (msg {event.message_id}):")
        text = event.text or f"[{event.kind}]"
        result = await self.services.hub.send(
            OutgoingMessage(
                Address("slack", channel, thread_id=ts),
                reply,
                kind="inbox_thread",
                meta={"quote": text},
            )
        )
        if not result.delivered:
            logger.warning(
                "inbox thread post failed conversation=%s error=%s",
                event.conversation_id,
                result.error,
            )

    async def refresh(self, conversation_id: int) -> None:
        """Re-render the conversation's post in place (after assign, retag, close, reply)."""
        ref = await asyncio.to_thread(self._ref_of, conversation_id)
        where = split_ref(ref) if ref else None
        post = await asyncio.to_thread(self._render, conversation_id) if where else None
        if where is None or post is None:
            return
        channel, ts = where
        result = await self.services.hub.send(
            OutgoingMessage(
                Address("slack", channel),
                post.reply,
                kind="inbox",
                meta=post.meta | {"update_ts": ts},
            )
        )
        if not result.delivered:
            logger.warning(
                "inbox update failed conversation=%s error=%s", conversation_id, result.error
            )

    # --- a rep's answer in the thread ---------------------------------------------------------

    async def conversation_for(self, channel_id: str, thread_ts: str) -> int | None:
        return await asyncio.to_thread(self._by_ref, f"{channel_id}:{thread_ts}")

    async def relay(
        self, actor: Actor, conversation_id: int, text: str, channel_id: str, thread_ts: str
    ) -> Reply:
        """Sends the rep's words to the customer; the note says ✓ or ⚠ with the reason."""
        reply = await self.dispatcher.handle_command(
            actor,
            # never asks "send it again?": a `yes` typed in the thread would go to the customer
            ReplyToConversation(conversation_id, text, confirmed=True),
            Address("slack", channel_id, thread_id=thread_ts),
        )
        if not reply.ok:
            return Reply(f"⚠ {reply.text.splitlines()[0]}", ok=False)
        note = await asyncio.to_thread(self._delivery_note, conversation_id, actor)
        await self.refresh(conversation_id)
        return note

    def _delivery_note(self, conversation_id: int, actor: Actor) -> Reply:
        with self.services.store.transaction() as session:
            conversation = session.get(Conversation, conversation_id)
            contact = session.get(Contact, conversation.contact_id) if conversation else None
            message = views.last_reply_by(session, conversation_id, actor.id)
            name = contact.name if contact else "the customer"
            where = conversation.channel if conversation else "their channel"
            if message is not None and message.delivery == "delivered":
                return Reply(f"✓ Delivered to {name} on {where}.")
            reason = (message.failure_reason if message else None) or "unknown reason"
            return Reply(
                f"⚠ Not delivered to {name} on {where}: {reason}. It is kept on the timeline.",
                ok=False,
            )

    # --- the store ---------------------------------------------------------------------------

    def _ref_of(self, conversation_id: int) -> str | None:
        with self.services.store.transaction() as session:
            conversation = session.get(Conversation, conversation_id)
            return conversation.inbox_ref if conversation else None

    def _save_ref(self, conversation_id: int, ref: str) -> None:
        with self.services.store.transaction() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is not None:
                conversation.inbox_ref = ref[:200]
                session.add(conversation)

    def _by_ref(self, ref: str) -> int | None:
        with self.services.store.transaction() as session:
            return views.conversation_by_inbox_ref(session, ref)

    def _render(self, conversation_id: int) -> InboxPost | None:
        """The post: who, which channel, the need (with the classifier's confidence), status."""
        with self.services.store.transaction() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                return None
            contact = session.get(Contact, conversation.contact_id)
            first = views.first_inbound(session, conversation_id)
            assignee = (
                session.get(Rep, conversation.assignee_id) if conversation.assignee_id else None
            )
            name = contact.name if contact else "A customer"
            closed = conversation.status == "closed"
            need = need_label(conversation.need, conversation.need_confidence)
            headline = (
                f"Closed: conversation with {name} via {conversation.channel}"
                if closed
                else f"Customer message from {name} via {conversation.channel} [{need}]"
            )
            card = Card(
                title=f"{name} (#{conversation.contact_id})",
                fields=(
                    ("Channel", conversation.channel),
                    ("Need", need),
                    ("Language", (first.language if first else None) or "unknown"),
                    ("Assigned to", assignee.name if assignee else "nobody"),
                    ("Status", conversation.status),
                    ("Conversation", str(conversation.id)),
                    *((("Message", f"msg {first.id}"),) if first else ()),
                ),
                footer=None if closed else f"Reply in this thread to answer {name}.",
            )
            meta: dict[str, Any] = {"quote": (first.text or f"[{first.kind}]") if first else ""}
            actions: tuple[Action, ...] = ()
            if not closed:
                actions = self._actions(conversation, first)
                if first is not None and first.need:
                    meta["selected"] = {"inbox_need": f"{first.id}:{first.need}"}
                meta["confirm"] = {"inbox_close": f"Close the conversation with {name}?"}
        return InboxPost(Reply(headline, cards=(card,), actions=actions), meta)

    def _actions(self, conversation: Conversation, first: Message | None) -> tuple[Action, ...]:
        actions = [Action("Assign to me", "inbox_assign", str(conversation.id), style="primary")]
        if first is not None:
            needs = sorted(self.services.known_needs)
            options = tuple((n.replace("_", " "), f"{first.id}:{n}") for n in needs)
            actions.append(Action("Change need", "inbox_need", "", options=options))
        actions.append(Action("Close", "inbox_close", str(conversation.id), style="danger"))
        return tuple(actions)


REDACTED_POST = "[This conversation was erased at the customer's request.]"


async def redact_inbox(services: Services, refs: list[str]) -> int:
    """Overwrite each erased conversation's post and thread; returns posts redacted."""
    redacted = 0
    for ref in refs:
        channel, _, ts = ref.partition(":")
        if not (channel and ts):
            continue
        result = await services.hub.send(
            OutgoingMessage(
                Address("slack", channel, thread_id=ts), Reply(REDACTED_POST), kind="inbox_redact"
            )
        )
        if result.delivered:
            redacted += 1
        else:
            logger.warning("inbox post not redacted ref=%s error=%s", ref, result.error)
    return redacted
