"""Slack's Web API failing for a while: HTTP 500s and timeouts become temporary delivery
failures (the outbox tries again later; nothing is hammered), a customer's message is
still stored, and sending recovers by itself once Slack answers again."""

import asyncio

from aiohttp import web
from sqlmodel import func, select

from channels.base import Address, OutgoingMessage, Reply
from crm.models import Conversation, Message
from tests.standins.slack_api import Scripted
from tests.standins.slack_harness import INBOX, REP, SlackWorld


def server_errors(world: SlackWorld, method: str, times: int) -> None:
    world.standin._script.setdefault(method, []).extend(  # noqa: SLF001 - scripting a 500
        Scripted(500, {"ok": False, "error": "internal_error"}) for _ in range(times)
    )


def reminder(text: str = "⏰ call Bob") -> OutgoingMessage:
    return OutgoingMessage(Address("slack", REP), Reply(text), kind="reminder")


async def test_server_errors_are_temporary_failures_and_sending_recovers(
    world: SlackWorld,
) -> None:
    server_errors(world, "chat.postMessage", 3)
    hub = world.rapport.services.hub
    results = [await hub.send(reminder()) for _ in range(3)]
    assert all(not r.delivered and not r.permanent for r in results), results
    assert len(world.standin.calls_to("chat.postMessage")) == 3  # one call a send, no storm
    assert (await hub.send(reminder("⏰ again"))).delivered  # Slack is back: delivered


async def test_a_customer_message_is_stored_while_slack_fails_and_the_inbox_recovers(
    world: SlackWorld,
) -> None:
    server_errors(world, "chat.postMessage", 1)
    received = await world.customer_writes("How much is the pro plan?", name="Jane Doe")
    assert received.ack is not None  # the customer is still answered
    with world.rapport.store.transaction() as session:
        assert session.exec(select(func.count()).select_from(Message)).one() == 1
        assert session.exec(select(Conversation)).one().inbox_ref is None  # post failed
    await world.customer_writes("Hello?", name="Jane Doe")
    post = world.standin.last("chat.postMessage")
    assert post["channel"] == INBOX and "thread_ts" not in post  # the post is made now


async def test_a_slack_api_that_does_not_answer_times_out_as_a_temporary_failure(
    world: SlackWorld,
) -> None:
    hang = asyncio.Event()

    async def slow(_request: web.Request) -> web.Response:
        await hang.wait()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/api/{method}", slow)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = world.rapport.services.hub._channels["slack"].client  # type: ignore[attr-defined]  # noqa: SLF001
    base_url, timeout = client.base_url, client.timeout
    try:
        client.base_url, client.timeout = f"http://127.0.0.1:{port}/api/", 1
        async with asyncio.timeout(10):
            result = await world.rapport.services.hub.send(reminder())
        assert not result.delivered and not result.permanent
    finally:
        hang.set()
        client.base_url, client.timeout = base_url, timeout
        await runner.cleanup()
    assert (await world.rapport.services.hub.send(reminder("⏰ back"))).delivered
