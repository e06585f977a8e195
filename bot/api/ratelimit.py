"""Per-token request rate limit, shared by every `rapport run` process.

A fixed one-minute window per token, counted in the database (the `apiratelimit`
table, crm.api_tokens.count_request): each request adds one with an atomic upsert, so
two workers behind a load balancer give a token its `rate_per_minute` in total, not
each. The count is taken in the same short transaction that checks the token.
"""

from datetime import datetime

from sqlmodel import Session

from crm import api_tokens


def take(session: Session, *, token_id: int, per_minute: int, now: datetime) -> float:
    """0 when the request may go ahead, else the seconds until the window ends."""
    count, start = api_tokens.count_request(session, token_id=token_id, now=now)
    if count <= per_minute:
        return 0.0
    return max(0.0, (start + api_tokens.RATE_WINDOW - now).total_seconds())
