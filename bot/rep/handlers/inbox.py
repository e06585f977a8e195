"""The customer inbox from the rep's side: list, reply, assign, retag, close."""

from dataclasses import replace

from sqlmodel import Session

from bot.context import Delivery, HandlerContext, Outcome
from bot.language.commands import (
    AssignConversation,
    CloseConversation,
    ReplyToConversation,
    RetagMessage,
    ShowInbox,
)
from bot.rep.render import when
from bot.rep.router import Router
from channels.base import Address, OutgoingMessage, Reply
from crm import conversations
from crm.contacts import find_rep
from crm.errors import NotFound
from crm.ids import id_of
from crm.models import Contact, Message, Rep


def inbox(ctx: HandlerContext, session: Session, cmd: ShowInbox) -> Reply:
    rows = conversations.list_conversations(session, scope=cmd.scope, rep_id=ctx.actor.id)
    if not rows:
        return Reply("The inbox is empty: no open customer conversations.")
    lines = []
    for conversation, contact, last in rows:
        need = conversation.need or "untagged"
        if conversation.need_confidence is not None and conversation.need:
            need += f" {conversation.need_confidence:.0%}"
        owner = session.get(Rep, conversation.assignee_id) if conversation.assignee_id else None
        text = (last.text or f"[{last.kind}]")[:80] if last else ""
        number = f" (msg {last.id})" if last else ""
        lines.append(
            f"{conversation.id}. [{need}] {contact.name} via {conversation.channel}, "
            f"{when(conversation.last_message_at, ctx.tz, ctx.now)}"
            f"{' · ' + owner.name if owner else ' · unassigned'}{number}: {text}"
        )
    return Reply(
        "Open conversations, newest first:\n"
        + "\n".join(lines)
        + "\n`reply <id> <text>`, `assign <id>`, `close <id>`; "
        "`retag <msg> <need>` or `retag conversation <id> <need>`.",
    )


def reply(ctx: HandlerContext, session: Session, cmd: ReplyToConversation) -> Outcome:
    conversation = conversations.get_conversation(session, cmd.conversation_id)
    contact = session.get(Contact, conversation.contact_id)
    name = contact.name if contact else "the customer"
    twin = (
        None
        if cmd.confirmed
        else conversations.repeated_reply(
            session, conversation_id=id_of(conversation), text=cmd.text, now=ctx.now
        )
    )
    if twin is not None:  # a double Enter would reach the customer twice
        return Outcome(
            Reply(
                f"You already sent {name} that (msg {twin.id}, "
                f"{when(twin.sent_at, ctx.tz, ctx.now)}), and they have not written since. "
                "Send it again?"
            ),
            confirm=replace(cmd, confirmed=True),
            confirm_what="sending the same reply again",
        )
    message = conversations.record_outbound(
        session, actor=ctx.actor, conversation=conversation, text=cmd.text, now=ctx.now
    )
    outgoing = OutgoingMessage(
        Address(conversation.channel, conversation.chat_id),
        Reply(cmd.text),
        kind="reply",
        meta={"conversation_id": conversation.id, "rep": ctx.actor.name},
    )
    return Outcome(
        Reply(f"Reply to {name} on {conversation.channel} (conversation {conversation.id}) saved."),
        deliveries=[Delivery(id_of(message), outgoing)],
    )


def assign(ctx: HandlerContext, session: Session, cmd: AssignConversation) -> Reply:
    if cmd.assignee in ("me", ""):
        rep = session.get(Rep, ctx.actor.id) if ctx.actor.id else None
    elif cmd.assignee in ("nobody", "none"):
        rep = None
    else:
        rep = find_rep(session, cmd.assignee)
    before = conversations.get_conversation(session, cmd.conversation_id).assignee_id
    conversation = conversations.assign(
        session, actor=ctx.actor, conversation_id=cmd.conversation_id, rep=rep, now=ctx.now
    )
    if conversation.assignee_id == before:
        who = (
            "you" if rep is not None and rep.id == ctx.actor.id else (rep.name if rep else "nobody")
        )
        return Reply(
            f"Conversation {cmd.conversation_id} is assigned to {who} already; nothing changed."
        )
    who = rep.name if rep else "nobody"
    return Reply(
        f"Conversation {cmd.conversation_id} is assigned to {who}. "
        f"`assign {cmd.conversation_id} nobody` unassigns it."
    )


def retag(ctx: HandlerContext, session: Session, cmd: RetagMessage) -> Reply:
    message_id = cmd.message_id
    if cmd.conversation:
        latest = conversations.latest_inbound(session, cmd.message_id)
        if latest is None:
            raise NotFound(f"Conversation {cmd.message_id} has no customer message to retag.")
        message_id = id_of(latest)
    before = session.get(Message, message_id)
    old = before.need if before is not None else None
    message = conversations.retag(
        session,
        actor=ctx.actor,
        message_id=message_id,
        need=cmd.need,
        known_needs=ctx.services.known_needs,
        now=ctx.now,
    )
    contact = session.get(Contact, message.contact_id)
    quoted = " ".join((message.text or f"[{message.kind}]").split())[:160]
    return Reply(
        f"Retagged message {message.id} from {contact.name if contact else 'a customer'} "
        f'(conversation {message.conversation_id}): "{quoted}" is now {message.need} '
        f"(was {old or 'untagged'}). The classifier learns from this at its next training; "
        "`undo` takes it back."
    )


def close(ctx: HandlerContext, session: Session, cmd: CloseConversation) -> Reply:
    conversation = conversations.close(
        session, actor=ctx.actor, conversation_id=cmd.conversation_id, now=ctx.now
    )
    return Reply(
        f"Closed conversation {conversation.id}. If the customer writes again, a new one opens."
    )


def register(router: Router) -> None:
    router.add(ShowInbox, inbox)
    router.add(ReplyToConversation, reply)
    router.add(AssignConversation, assign)
    router.add(RetagMessage, retag)
    router.add(CloseConversation, close)
