"""API tokens: created once (the secret is shown then, stored as a SHA-256 hash),
listed, revoked, and checked on every request.

A token is `rp_<prefix>_<secret>`: the prefix finds the row without scanning,
the hash is compared in constant time. SHA-256 (not a slow password hash) is right
here because the secret is 32 random bytes, not something a person chose.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from crm import audit
from crm.actors import Actor, require_admin
from crm.api_models import API_SCOPES, ApiRateLimit, ApiToken
from crm.errors import Conflict, Forbidden, Invalid, NotFound
from crm.models import Rep, table_of


@dataclass(frozen=True)
class IssuedToken:
    row: ApiToken
    secret: str  # the full token, shown once


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_scopes(scopes: list[str]) -> list[str]:
    clean = list(dict.fromkeys(s.strip().lower() for s in scopes if s.strip()))
    unknown = [s for s in clean if s not in API_SCOPES]
    if unknown or not clean:
        raise Invalid("scopes", f"Scopes are {', '.join(API_SCOPES)}; got {', '.join(unknown)}.")
    return clean


def create_token(
    session: Session,
    *,
    actor: Actor,
    name: str,
    scopes: list[str],
    now: datetime,
    rep_id: int | None = None,
    rate_per_minute: int = 600,
) -> IssuedToken:
    """Admins only. An `admin` token tied to a rep needs that rep to be an admin."""
    require_admin(actor, "create API tokens")
    clean_name = " ".join(name.split())
    if not clean_name or len(clean_name) > 100:
        raise Invalid("name", "Give the token a name of 1 to 100 characters.")
    clean = check_scopes(scopes)
    if rate_per_minute < 1:
        raise Invalid("rate_per_minute", "The rate limit must be at least 1 request a minute.")
    if rep_id is not None:
        rep = session.get(Rep, rep_id)
        if rep is None:
            raise NotFound(f"There is no rep #{rep_id}.")
        if "admin" in clean and rep.role != "admin":
            raise Forbidden(f"{rep.name} is not an admin, so their token cannot have `admin`.")
    prefix = secrets.token_hex(4)
    secret = f"rp_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken(
        name=clean_name,
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=clean,
        rep_id=rep_id,
        rate_per_minute=rate_per_minute,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="apitoken.create",
        entity_type="apitoken",
        entity_id=row.id,
        at=now,
        after={"name": clean_name, "scopes": clean, "rep_id": rep_id, "prefix": prefix},
    )
    return IssuedToken(row, secret)


def verify(session: Session, secret: str) -> ApiToken | None:
    """The live token for this secret, or None (unknown, wrong or revoked)."""
    parts = secret.split("_")
    if len(parts) < 3 or parts[0] != "rp":
        return None
    row = session.exec(select(ApiToken).where(ApiToken.prefix == parts[1])).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, _hash(secret)):
        return None
    return row


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))


def get_token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"There is no API token #{token_id}.")
    return row


def revoke(
    session: Session, *, actor: Actor, ref: str, now: datetime, by_token_id: int | None = None
) -> ApiToken:
    """By id or prefix. Revoking twice is harmless. `by_token_id` is the token the request
    came with (over the API): a token cannot revoke itself, so an integration cannot lock
    out the last admin credential by mistake."""
    require_admin(actor, "revoke API tokens")
    text = ref.strip()
    row = session.get(ApiToken, int(text)) if text.isdigit() and len(text) < 10 else None
    if row is None:
        row = session.exec(select(ApiToken).where(ApiToken.prefix == text)).first()
    if row is None:
        raise NotFound(f"There is no API token '{text[:40]}'. `rapport api token list` shows them.")
    if by_token_id is not None and row.id == by_token_id:
        raise Conflict(
            "A token cannot revoke itself; revoke it with another admin token or "
            "`rapport api token revoke`.",
            field="token_id",
        )
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        audit.record(
            session,
            actor=actor,
            action="apitoken.revoke",
            entity_type="apitoken",
            entity_id=row.id,
            at=now,
        )
    return row


def actor_for(token: ApiToken, rep: Rep | None) -> Actor:
    """The Actor an API call acts as: the token's rep, or the system, labelled by token.

    The audit log then reads `rep:3/api:token7` or `system/api:token7`."""
    role = "admin" if "admin" in token.scopes else "rep"
    if rep is not None:
        return Actor(
            kind="rep",
            id=rep.id,
            channel="api",
            role=role if rep.role == "admin" else "rep",
            name=rep.name,
            timezone=rep.timezone,
            external_id=f"token{token.id}",
        )
    return Actor(
        kind="system",
        id=None,
        channel="api",
        role=role,
        name=token.name,
        external_id=f"token{token.id}",
    )


RATE_WINDOW = timedelta(minutes=1)


def window_start(now: datetime) -> datetime:
    """The start of the fixed one-minute window `now` falls in."""
    return now.replace(second=0, microsecond=0)


def count_request(session: Session, *, token_id: int, now: datetime) -> tuple[int, datetime]:
    """Adds one request to the token's current window and returns (requests in it so far,
    the window's start). One INSERT ... ON CONFLICT DO UPDATE ... RETURNING, atomic on
    SQLite and PostgreSQL, so workers sharing the database share the count."""
    start = window_start(now)
    table = table_of(ApiRateLimit)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(token_id=token_id, window_start=start, requests=1)
        .on_conflict_do_update(
            index_elements=[table.c.token_id, table.c.window_start],
            set_={"requests": table.c.requests + 1},
        )
        .returning(table.c.requests)
    )
    return int(session.execute(statement).scalar_one()), start


def prune_rate_windows(session: Session, *, now: datetime) -> int:
    """Windows that ended are only history: everything older than the current one goes."""
    result = session.execute(
        delete(ApiRateLimit).where(col(ApiRateLimit.window_start) < window_start(now))
    )
    return int(getattr(result, "rowcount", 0) or 0)
