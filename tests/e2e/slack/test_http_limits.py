"""The HTTP server under hostile requests: oversized bodies refused before they are read,
malformed unsigned requests answered 400/401 with one short warning, never a traceback."""

import asyncio
import logging
import time

import httpx
import pytest

from tests.standins.slack_harness import SlackWorld


async def raw_request(port: int, head: bytes, body: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + body)
        await writer.drain()
        async with asyncio.timeout(5):
            return await reader.read(4096)
    finally:
        writer.close()


async def test_a_declared_256_mb_body_is_refused_unread(
    world: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    port = world.service.http.port
    head = (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 268435456\r\n\r\n")  # fmt: skip
    with caplog.at_level(logging.WARNING):
        answer = await raw_request(port, head, b'{"type": "url_verification"')
    assert answer.startswith(b"HTTP/1.1 413")
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "body over" in warnings[0].getMessage()
    assert "Traceback" not in caplog.text


async def test_a_streamed_body_is_cut_off_at_the_limit(world: SlackWorld) -> None:
    sent = 0

    async def chunks():  # type: ignore[no-untyped-def]
        nonlocal sent
        for _ in range(64):  # 64 MiB if nobody stops it
            sent += 1
            yield b"x" * (1 << 20)

    try:
        response = await world.http.post(f"{world.url}/slack/events", content=chunks(),
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        assert response.status_code == 413
    except httpx.HTTPError:
        pass  # the server may close the connection while the client is still writing
    assert sent < 64
    assert (await world.http.get(f"{world.url}/healthz")).status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe not json at all", "application/json"),
        (b"payload=%7Bbroken", "application/x-www-form-urlencoded"),
        (b"", "application/json"),
    ],
)
@pytest.mark.parametrize("signed", [False, True])
async def test_malformed_requests_get_401_or_400_and_one_short_warning(
    world: SlackWorld,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
    signed: bool,
) -> None:
    bogus = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=00"}
    with caplog.at_level(logging.INFO):
        response = await world.post(body, content_type, signature=None if signed else bogus)
    expected = {400} if signed or body.startswith(b"\xff") else {401}  # not UTF-8: never Slack
    assert response.status_code in expected
    assert "Traceback" not in caplog.text and "Traceback" not in response.text
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) <= 1 and all(len(r.getMessage()) < 200 for r in warnings)
    assert (await world.http.get(f"{world.url}/healthz")).status_code == 200
