"""/api/v1 conversations and messages (read; reply like a rep), and reps (read)."""

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from bot.api import schemas, writes
from bot.api.auth import READ, WRITE, deps_of
from bot.api.context import Caller
from bot.api.errors import COMMON_RESPONSES, ApiError
from bot.api.pagination import MAX_LIMIT, page
from bot.api.schemas import IdPath, IdQuery
from channels.base import Address, OutgoingMessage, Reply
from crm import conversations
from crm.conversations import mark_delivery
from crm.errors import NotFound
from crm.models import Conversation, Message, Rep

router = APIRouter(prefix="/v1", responses=COMMON_RESPONSES)
ID_SORT = {"id": col(Conversation.id), "last_message_at": col(Conversation.last_message_at)}


@router.get("/conversations", response_model=schemas.ConversationPage, tags=["inbox"])
def list_conversations(
    request: Request,
    caller: Caller = READ,
    status: str | None = Query(None, pattern="^(open|closed)$"),
    channel: str | None = Query(None, max_length=16),
    contact_id: IdQuery = None,
    assignee_id: IdQuery = None,
    sort: str = "id",
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
) -> Any:
    with deps_of(request).store.read() as session:
        statement = select(Conversation)
        for column, value in (
            (Conversation.status, status),
            (Conversation.channel, channel),
            (Conversation.contact_id, contact_id),
            (Conversation.assignee_id, assignee_id),
        ):
            if value is not None:
                statement = statement.where(column == value)
        rows, nxt = page(
            session,
            statement,
            id_column=col(Conversation.id),
            sort=sort,
            allowed=ID_SORT,
            cursor=cursor,
            limit=limit,
        )
        data = [schemas.ConversationOut.model_validate(r, from_attributes=True) for r in rows]
        return {"data": data, "next_cursor": nxt}


@router.get(
    "/conversations/{conversation_id}", response_model=schemas.ConversationOut, tags=["inbox"]
)
def get_conversation(conversation_id: IdPath, request: Request, caller: Caller = READ) -> Any:
    with deps_of(request).store.read() as session:
        row = conversations.get_conversation(session, conversation_id)
        return schemas.ConversationOut.model_validate(row, from_attributes=True)


@router.get(
    "/conversations/{conversation_id}/messages",
    response_model=schemas.MessagePage,
    tags=["inbox"],
)
def list_messages(
    conversation_id: IdPath,
    request: Request,
    caller: Caller = READ,
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
) -> Any:
    with deps_of(request).store.read() as session:
        conversations.get_conversation(session, conversation_id)
        statement = select(Message).where(Message.conversation_id == conversation_id)
        rows, nxt = page(
            session,
            statement,
            id_column=col(Message.id),
            sort="id",
            allowed={"id": col(Message.id)},
            cursor=cursor,
            limit=limit,
        )
        data = [schemas.MessageOut.model_validate(r, from_attributes=True) for r in rows]
        return {"data": data, "next_cursor": nxt}


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=201,
    response_model=schemas.MessageOut,
    tags=["inbox"],
    description="Replies to the customer on their channel, as a rep's `reply` does: stored "
    "as pending, sent through the channel hub, then marked delivered or failed.",
)
async def reply(
    conversation_id: IdPath, body: schemas.ReplyIn, request: Request, caller: Caller = WRITE
) -> Any:
    deps = deps_of(request)
    if deps.send is None:
        raise ApiError(503, "unavailable", "No channel is running to send replies.")

    sent: list[OutgoingMessage] = []

    def work(session: Session) -> tuple[int, Any, dict[str, str]]:
        conversation = conversations.get_conversation(session, conversation_id)
        message = conversations.record_outbound(
            session,
            actor=caller.actor,
            conversation=conversation,
            text=body.text,
            now=deps.clock.now(),
        )
        sent.append(
            OutgoingMessage(
                Address(conversation.channel, conversation.chat_id),
                Reply(message.text),
                kind="reply",
                meta={"conversation_id": conversation.id, "rep": caller.actor.name},
            )
        )
        out = schemas.MessageOut.model_validate(message, from_attributes=True)
        return 201, out.model_dump(mode="json"), {}

    # Stored (and its Idempotency-Key with it) before sending: a retry with the key is
    # answered with the message's current state and sends nothing a second time.
    stored = await asyncio.to_thread(
        writes.run, deps, request, caller, body.model_dump(mode="json"), work
    )
    message_id = json.loads(bytes(stored.body))["id"]
    if not sent:  # a replay

        def current() -> Message:
            with deps.store.transaction() as session:
                row = session.get(Message, message_id)
                if row is None:
                    raise NotFound(f"There is no message {message_id}.")
                return row

        row = await asyncio.to_thread(current)
        out = schemas.MessageOut.model_validate(row, from_attributes=True)
        return JSONResponse(
            out.model_dump(mode="json"), status_code=201, headers={"Idempotent-Replayed": "true"}
        )
    result = await deps.send(sent[0])

    def record() -> Message:
        with deps.store.transaction() as session:
            return mark_delivery(
                session,
                message_id=message_id,
                delivered=result.delivered,
                reason=getattr(result, "error", None),
                external_id=getattr(result, "external_id", None),
            )

    message = await asyncio.to_thread(record)
    return schemas.MessageOut.model_validate(message, from_attributes=True)


@router.get("/reps", response_model=schemas.RepPage, tags=["reps"])
def list_reps(
    request: Request,
    caller: Caller = READ,
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
) -> Any:
    with deps_of(request).store.read() as session:
        rows, nxt = page(
            session,
            select(Rep),
            id_column=col(Rep.id),
            sort="id",
            allowed={"id": col(Rep.id)},
            cursor=cursor,
            limit=limit,
        )
        return {
            "data": [schemas.RepOut.model_validate(r, from_attributes=True) for r in rows],
            "next_cursor": nxt,
        }


@router.get("/reps/{rep_id}", response_model=schemas.RepOut, tags=["reps"])
def get_rep(rep_id: IdPath, request: Request, caller: Caller = READ) -> Any:
    with deps_of(request).store.read() as session:
        row = session.get(Rep, rep_id)
        if row is None:
            raise NotFound(f"There is no rep #{rep_id}.")
        return schemas.RepOut.model_validate(row, from_attributes=True)
