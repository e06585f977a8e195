"""Safe writes: Idempotency-Key replay and If-Match preconditions.

A POST with an `Idempotency-Key` runs its change and stores its response in ONE
transaction. A retry with the same key and body gets the stored response (and
`Idempotent-Replayed: true`) and changes nothing; the same key with another body
is refused (409). Two concurrent first tries race on the unique (token, key): the
loser's transaction rolls back whole and it answers with the winner's response.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.api.context import ApiDeps, Caller
from bot.api.errors import ApiError
from crm.api_models import IdempotencyRecord
from crm.ids import id_of

MAX_KEY = 200
CLASH = "That clashes with existing data or names a record that does not exist."
Work = Callable[[Session], tuple[int, Any, dict[str, str]]]  # -> status, JSON body, headers


def _request_hash(request: Request, body: Any) -> str:
    raw = json.dumps(body, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.url.path} {raw}".encode()).hexdigest()


def _replay(record: IdempotencyRecord, request_hash: str) -> JSONResponse:
    if record.request_hash != request_hash:
        raise ApiError(
            409, "idempotency_key_reused", "That Idempotency-Key was used for another request."
        )
    return JSONResponse(
        json.loads(record.response),
        status_code=record.status_code,
        headers={"Idempotent-Replayed": "true"},
    )


def _find(session: Session, token_id: int, key: str) -> IdempotencyRecord | None:
    return session.exec(
        select(IdempotencyRecord).where(
            IdempotencyRecord.token_id == token_id, IdempotencyRecord.key == key
        )
    ).first()


def run(
    deps: ApiDeps,
    request: Request,
    caller: Caller,
    body: Any,
    work: Work,
    *,
    stored: Callable[[Any], Any] | None = None,
) -> JSONResponse:
    """Runs `work` in a transaction, idempotently when the request carries a key.

    `stored` turns the answer into what is kept for replays, for an answer holding a
    secret that must be shown once and never written down (a new API token's)."""
    key = request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= MAX_KEY):
        raise ApiError(400, "invalid", f"An Idempotency-Key is 1 to {MAX_KEY} characters.")
    token_id = id_of(caller.token)
    request_hash = _request_hash(request, body)
    try:
        with deps.store.transaction() as session:
            if key is not None and (found := _find(session, token_id, key)) is not None:
                return _replay(found, request_hash)
            status, payload, headers = work(session)
            if key is not None:
                session.add(
                    IdempotencyRecord(
                        token_id=token_id,
                        key=key,
                        method=request.method,
                        path=request.url.path[:300],
                        request_hash=request_hash,
                        status_code=status,
                        response=json.dumps(stored(payload) if stored else payload, default=str),
                        created_at=deps.clock.now(),
                    )
                )
                session.flush()
    except IntegrityError:
        found = None
        if key is not None:
            with deps.store.transaction() as session:
                found = _find(session, token_id, key)
        if found is None:
            raise ApiError(409, "conflict", CLASH) from None
        return _replay(found, request_hash)
    return JSONResponse(payload, status_code=status, headers=headers)


def locked(session: Session, model: Any, row_id: int) -> Any:
    """The row, locked FOR UPDATE on PostgreSQL so If-Match and the write see one version
    (SQLite serialises writers anyway); None when there is no such row."""
    return session.exec(select(model).where(model.id == row_id).with_for_update()).first()


def check_if_match(request: Request, current: str) -> None:
    """412 when the client's If-Match names another version; no header means no check."""
    wanted = request.headers.get("if-match")
    if wanted is None:
        return
    tags = [t.strip() for t in wanted.split(",")]
    if "*" in tags or current in tags or f"W/{current}" in tags:
        return
    raise ApiError(
        412, "precondition_failed", "The record changed since you read it; GET it again."
    )
