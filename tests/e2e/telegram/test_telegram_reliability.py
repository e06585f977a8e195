"""Telegram when things go wrong: blocked customers, rate limits, re-deliveries, an API
that disappears, a store that fails. Nothing is lost, nothing crashes, nobody sees a
stack trace, and the token never reaches the logs."""

import asyncio
import logging
import time

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.language.commands import ReplyToConversation
from channels.base import Address, OutgoingMessage, Reply
from tests.e2e.telegram_harness import TOKEN, TelegramWorld, build_world
from tests.standins.telegram_api import TelegramStandIn

JANE = 1001

# PTB itself reads RetryAfter.retry_after while building the exception (PTB_TIMEDELTA notice).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def confirmed(api: TelegramStandIn, update: dict) -> None:
    await api.wait_for(lambda: api.last_confirmed() >= update["update_id"])


async def test_a_blocked_customer_is_marked_unreachable_and_the_rep_is_told(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    api.message(JANE, text="hello")
    [message] = await world.stored(1)
    await api.wait_for_texts(JANE, 1)
    api.block(JANE)
    rep = world.rapport.rep_actor(channel="shell", external_id="alice", name="Alice")
    reply = await world.rapport.dispatcher.handle_command(
        rep, ReplyToConversation(message.conversation_id, "Are you still there?")
    )
    assert "Not delivered" in reply.text and "blocked" in reply.text
    identity = world.identity(JANE)
    assert identity is not None and not identity.reachable
    assert identity.unreachable_reason == "the customer blocked the bot"
    [outbound] = world.messages("outbound")
    assert outbound.delivery == "failed"
    api.blocked.clear()  # they unblock us and write again
    api.message(JANE, text="sorry, I'm back")
    await world.stored(2)
    await api.wait_for(lambda: (i := world.identity(JANE)) is not None and i.reachable)


async def test_a_429_storm_is_waited_out_and_the_message_delivered(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    api.fail("sendMessage", 429, retry_after=1, times=2)
    started = time.monotonic()
    async with asyncio.timeout(15):
        result = await world.rapport.services.hub.send(
            OutgoingMessage(Address("telegram", str(JANE)), Reply("Your order shipped"))
        )
    assert result.delivered
    assert len(api.calls_to("sendMessage")) == 3
    assert time.monotonic() - started >= 2.0  # retry_after was honoured each time
    assert api.texts(JANE) == ["Your order shipped"]


async def test_a_429_that_outlasts_the_retries_is_a_temporary_failure(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    api.fail("sendMessage", 429, retry_after=1, times=4)
    async with asyncio.timeout(15):
        result = await world.rapport.services.hub.send(
            OutgoingMessage(Address("telegram", str(JANE)), Reply("hi"))
        )
    assert not result.delivered and not result.permanent and result.retry_after == 1


async def test_the_same_update_delivered_twice_is_stored_and_answered_once(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    update = api.message(JANE, text="hello twice")
    start = api.message(JANE, text="/start")
    await confirmed(api, start)
    api.push(update)
    api.push(start)
    again = api.message(JANE, text="third message")
    await confirmed(api, again)
    assert [m.text for m in world.messages()] == ["hello twice", "third message"]
    welcomes = [t for t in api.texts(JANE) if "Acme Bikes" in t]
    assert len(welcomes) == 1


async def test_the_api_going_away_mid_conversation_loses_no_message(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    api.message(JANE, text="one")
    await world.stored(1)
    await api.wait_for_texts(JANE, 1)
    await api.go_away()
    api.message(JANE, text="two")  # Telegram keeps them while we cannot reach it
    api.message(JANE, text="three")
    await asyncio.sleep(0.4)  # the poller fails and backs off meanwhile
    await api.come_back()
    stored = await world.stored(3)
    assert [m.text for m in stored] == ["one", "two", "three"]
    world.clock.advance(minutes=10)
    api.message(JANE, text="four")
    await world.stored(4)
    await api.wait_for_texts(JANE, 2)  # still answering after the outage


async def test_errors_from_get_updates_are_backed_off_and_recovered(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    api.fail("getUpdates", 500, times=3)
    api.fail("getUpdates", drop=True)
    api.message(JANE, text="still there?")
    [message] = await world.stored(1)
    assert message.text == "still there?"


async def test_a_dropped_connection_while_acknowledging_keeps_the_message(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    api.fail("sendMessage", drop=True)
    first = api.message(JANE, text="first")
    await confirmed(api, first)
    assert [m.text for m in world.messages()] == ["first"]
    world.clock.advance(minutes=10)
    api.message(JANE, text="second")
    await world.stored(2)
    [ack] = await api.wait_for_texts(JANE, 1)
    assert ack.startswith("Thanks Jane")


async def test_an_update_is_confirmed_only_after_its_message_is_stored(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    desk = world.rapport.desk
    original = desk.receive
    entered, gate = asyncio.Event(), asyncio.Event()

    async def slow_receive(message):  # type: ignore[no-untyped-def]
        entered.set()
        await gate.wait()
        return await original(message)

    desk.receive = slow_receive  # type: ignore[method-assign]
    update = api.message(JANE, text="hold on")
    async with asyncio.timeout(5):
        await entered.wait()
    await asyncio.sleep(0.3)
    assert all((o or 0) <= update["update_id"] for o in api.offsets)  # not confirmed yet
    gate.set()
    await world.stored(1)
    await confirmed(api, update)


async def test_a_failing_store_is_retried_before_the_update_is_confirmed(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    desk = world.rapport.desk
    original = desk.receive
    failures = [OperationalError("INSERT", {}, Exception("database is locked"))]

    async def flaky_receive(message):  # type: ignore[no-untyped-def]
        if failures:
            raise failures.pop()
        return await original(message)

    desk.receive = flaky_receive  # type: ignore[method-assign]
    api.message(JANE, text="please keep this")
    [message] = await world.stored(1)
    assert message.text == "please keep this"
    [ack] = await api.wait_for_texts(JANE, 1)
    assert ack.startswith("Thanks Jane")


async def test_a_broken_store_gets_an_apology_and_one_log_line_without_secrets(
    world: TelegramWorld, api: TelegramStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """A store that keeps failing (not "unavailable"): the update is left unconfirmed and
    fetched again, and only after `redeliveries` deliveries confirmed with an apology."""
    caplog.set_level(logging.DEBUG)
    deliveries = []

    async def broken_receive(message):  # type: ignore[no-untyped-def]
        deliveries.append(message.message_id)
        raise RuntimeError("boom")

    world.rapport.desk.receive = broken_receive  # type: ignore[method-assign]
    update = api.message(JANE, text="my secret order details")
    [apology] = await api.wait_for_texts(JANE, 1)
    assert apology.startswith("Sorry, something went wrong") and "Traceback" not in apology
    config = world.component.extra["channel"].config
    assert len(deliveries) == config.redeliveries * config.store_attempts  # fetched again
    await confirmed(api, update)  # confirmed once it was given up
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "update_id=" in errors[0].getMessage()
    assert errors[0].exc_info is not None
    for record in caplog.records:
        text = record.getMessage()
        assert TOKEN not in text, record.name
        if record.levelno > logging.DEBUG:
            assert "my secret order details" not in text, record.name


async def test_any_store_error_leaves_the_update_unconfirmed_until_it_is_stored(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    """Not only "database unreachable": an IntegrityError, a bug, a corrupt page. The
    update is not confirmed, Telegram delivers it again, and it is stored once."""
    desk = world.rapport.desk
    original = desk.receive
    config = world.component.extra["channel"].config
    failures = [IntegrityError("INSERT", {}, Exception("constraint failed"))] * (
        config.store_attempts + 1  # the whole first delivery, and one try of the second
    )

    confirmed_then: list[bool] = []

    async def failing_receive(message):  # type: ignore[no-untyped-def]
        confirmed_then.append(api.last_confirmed() >= update["update_id"])
        if failures:
            raise failures.pop()
        return await original(message)

    desk.receive = failing_receive  # type: ignore[method-assign]
    update = api.message(JANE, text="keep me")
    [message] = await world.stored(1)
    assert message.text == "keep me"
    assert len(confirmed_then) == config.store_attempts + 2  # a second delivery was needed
    assert not any(confirmed_then)  # and it was never confirmed before it was stored
    await confirmed(api, update)
    [ack] = await api.wait_for_texts(JANE, 1)
    assert ack.startswith("Thanks Jane")  # no apology: nothing was lost


@pytest.mark.parametrize(
    ("status", "description", "permanent", "unreachable"),
    [
        (400, "Bad Request: chat not found", True, True),
        (403, "Forbidden: user is deactivated", True, True),
        (400, "Bad Request: can't parse entities", True, False),
        (500, "Internal Server Error", False, False),
    ],
)
async def test_send_failures_map_to_permanent_or_temporary(
    world: TelegramWorld,
    api: TelegramStandIn,
    status: int,
    description: str,
    permanent: bool,
    unreachable: bool,
) -> None:
    api.message(JANE, text="hello")
    await world.stored(1)
    await api.wait_for_texts(JANE, 1)
    api.fail("sendMessage", status, description=description)
    result = await world.rapport.services.hub.send(
        OutgoingMessage(Address("telegram", str(JANE)), Reply("news"))
    )
    assert not result.delivered and result.permanent is permanent
    identity = world.identity(JANE)
    assert identity is not None and identity.reachable is not unreachable


async def test_a_reply_with_a_chart_sends_the_image_then_the_text(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    result = await world.rapport.services.hub.send(
        OutgoingMessage(
            Address("telegram", str(JANE)), Reply("Your usage", image=png, image_title="Usage")
        )
    )
    assert result.delivered
    [photo] = api.calls_to("sendPhoto")
    assert photo.files["photo"] == png and photo.params["caption"] == "Usage"
    assert api.texts(JANE) == ["Your usage"]


async def test_start_up_waits_for_an_unreachable_api(tmp_path, api: TelegramStandIn) -> None:  # type: ignore[no-untyped-def]
    api.fail("getMe", 500, times=2)
    world = build_world(tmp_path, api)
    try:
        async with asyncio.timeout(10):
            await world.start()
        assert len(api.calls_to("getMe")) == 3
        api.message(JANE, text="hello after a slow start")
        await world.stored(1)
    finally:
        await world.stop()


async def test_a_command_whose_store_fails_is_delivered_again_and_answered_once(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    """`/status` hitting a store error: no apology, the update is not confirmed, and the
    re-delivery runs it (a command's re-delivery key is stored with what it did)."""
    api.message(JANE, text="hello")
    await world.stored(1)
    await api.wait_for_texts(JANE, 1)
    commands = world.component.extra["commands"]
    original = commands.run
    runs: list[bool] = []

    async def flaky_run(name, message):  # type: ignore[no-untyped-def]
        runs.append(api.last_confirmed() >= update["update_id"])
        if len(runs) == 1:
            raise IntegrityError("INSERT", {}, Exception("constraint failed"))
        return await original(name, message)

    commands.run = flaky_run
    update = api.message(JANE, text="/status")
    await api.wait_for(lambda: len(api.texts(JANE)) >= 2)
    await confirmed(api, update)
    assert runs == [False, False]  # run twice, never confirmed before it went through
    answers = api.texts(JANE)[1:]
    assert len(answers) == 1 and not answers[0].startswith("Sorry")
