"""Which Telegram failures an answer to a customer is retried after, as PTB raises them:
HTTPXRequest chains transport failures to the httpx error, BaseRequest raises a bare
NetworkError for an HTTP status it has no class for (chained to the parse failure of an
HTML error page). The e2e tests drive the same paths through the real client."""

import httpx
import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from channels.telegram.retry import retry_delays, worth_retrying
from channels.telegram.send import Delivery

# PTB reads RetryAfter.retry_after while building the exception (PTB_TIMEDELTA notice).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def chained(exc: TelegramError, cause: BaseException | None) -> TelegramError:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    "exc",
    [
        chained(NetworkError("Internal Server Error"), None),
        chained(
            NetworkError("Bad Gateway (502). Parsing the server response failed"),
            TelegramError("Invalid server response"),
        ),  # fmt: skip
        chained(NetworkError("httpx.ConnectError: refused"), httpx.ConnectError("refused")),
        chained(TimedOut(), httpx.ConnectTimeout("connect")),
        chained(TimedOut("Pool timeout"), httpx.PoolTimeout("pool")),
    ],
    ids=["5xx-json", "5xx-html", "connection-refused", "connect-timeout", "pool-timeout"],
)
def test_a_server_error_or_a_request_that_never_left_is_retried(exc: TelegramError) -> None:
    assert worth_retrying(exc)


@pytest.mark.parametrize(
    "exc",
    [
        chained(TimedOut(), httpx.ReadTimeout("read")),
        chained(TimedOut(), httpx.WriteTimeout("write")),
        TimedOut(),
        chained(
            NetworkError("httpx.RemoteProtocolError: Server disconnected"),
            httpx.RemoteProtocolError("Server disconnected"),
        ),  # fmt: skip
        chained(NetworkError("httpx.ReadError"), httpx.ReadError("reset")),
        chained(NetworkError("httpx.WriteError"), httpx.WriteError("broken pipe")),
        chained(NetworkError("Unknown error in HTTP implementation"), RuntimeError("?")),
        Forbidden("Forbidden: bot was blocked by the user"),
        BadRequest("Bad Request: chat not found"),
        ChatMigrated(-100123),
        InvalidToken("Unauthorized"),
        Conflict("Conflict"),
    ],
    ids=[
        "read-timeout",
        "write-timeout",
        "timeout",
        "dropped",
        "read-error",
        "write-error",
        "unknown",
        "forbidden",
        "bad-request",
        "migrated",
        "token",
        "conflict",
    ],  # fmt: skip
)
def test_a_failure_telegram_may_have_delivered_or_a_permanent_one_is_not_retried(
    exc: TelegramError,
) -> None:
    assert not worth_retrying(exc)


def test_a_429_the_rate_limiter_gave_up_on_is_not_retried_again() -> None:
    assert not worth_retrying(RetryAfter(3))  # built here: the warning filter applies


def test_retry_delays_double_up_to_the_maximum() -> None:
    assert retry_delays(3, 1.0, 4.0) == [1.0, 2.0, 4.0]
    assert retry_delays(5, 1.0, 4.0) == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert retry_delays(0, 1.0, 4.0) == []


async def test_a_delivery_tried_again_resumes_at_the_call_that_failed() -> None:
    made: list[str] = []
    failures = [NetworkError("Internal Server Error")]

    def call(name: str):  # type: ignore[no-untyped-def]
        async def send():  # type: ignore[no-untyped-def]
            if name == "chunk 2" and failures:
                raise failures.pop()
            made.append(name)
            return name

        return send

    delivery = Delivery("42", [call("photo"), call("chunk 1"), call("chunk 2")])
    with pytest.raises(NetworkError):
        await delivery.run()
    assert await delivery.run() == "photo"  # the first message sent identifies it
    assert made == ["photo", "chunk 1", "chunk 2"]
