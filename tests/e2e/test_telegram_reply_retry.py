"""An answer to a customer that Telegram fails transiently is sent again, in the
background, exactly once; one that may have been delivered, or failed for good, is not.

The real channel polls the Bot API stand-in; faults are injected on sendMessage, the
call that carries the acknowledgement ("Thanks Jane, we got your message...").
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.telegram_harness import TOKEN, TelegramWorld, build_world
from tests.standins.telegram_api import TelegramStandIn

JANE = 1001
SECRET_TEXT = "my order 7781 for the red bike"
RETRY_LOGGER = "channels.telegram.retry"

# PTB itself reads RetryAfter.retry_after while building the exception (PTB_TIMEDELTA notice).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def started(tmp_path: Path, api: TelegramStandIn, **timing: Any) -> TelegramWorld:
    """The real channel, with reply retries after 0.1 s, 0.2 s, 0.4 s unless told."""
    world = build_world(tmp_path, api)
    timing = {"reply_retry_initial": 0.1, "reply_retry_max": 0.4, **timing}
    world.channel.config = replace(world.channel.config, **timing)
    return await world.start()


@pytest.fixture
async def world(tmp_path: Path, api: TelegramStandIn) -> AsyncIterator[TelegramWorld]:
    world = await started(tmp_path, api)
    yield world
    await world.stop()


async def confirmed(api: TelegramStandIn, update: dict, timeout: float = 5.0) -> None:
    await api.wait_for(lambda: api.last_confirmed() >= update["update_id"], timeout)


async def past_the_retries(world: TelegramWorld) -> None:
    """Sleeps longer than every retry delay together, so a wrong retry would have happened."""
    config = world.channel.config
    await asyncio.sleep(config.reply_retry_max * config.reply_retries + 0.3)


async def test_an_ack_answered_with_server_errors_is_retried_and_reaches_the_chat_once(
    world: TelegramWorld, api: TelegramStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    api.fail("sendMessage", 500)
    api.fail("sendMessage", 502, description="Bad Gateway")
    update = api.message(JANE, text=SECRET_TEXT)
    [ack] = await api.wait_for_texts(JANE, 1)
    await confirmed(api, update)
    await past_the_retries(world)
    assert ack.startswith("Thanks Jane")
    assert api.texts(JANE) == [ack]
    assert len(api.calls_to("sendMessage")) == 3
    assert [m.text for m in world.messages("inbound")] == [SECRET_TEXT]
    failed = [r.getMessage() for r in caplog.records
              if r.name == RETRY_LOGGER and r.levelno == logging.WARNING]  # fmt: skip
    assert len(failed) == 2
    assert all("chat_id=1001" in m and "error=NetworkError" in m for m in failed)
    for record in caplog.records:
        text = record.getMessage()
        assert TOKEN not in text and SECRET_TEXT not in text and ack not in text, record.name


async def test_the_update_is_confirmed_without_waiting_for_the_ack_retry(
    tmp_path: Path, api: TelegramStandIn
) -> None:
    world = await started(tmp_path, api, reply_retry_initial=0.5, reply_retry_max=0.5)
    try:
        api.fail("sendMessage", 500)
        update = api.message(JANE, text="hello")
        await api.wait_for_texts(JANE, 1)
        await confirmed(api, update)
        confirming = next(c for c in api.calls_to("getUpdates")
                          if (c.params.get("offset") or 0) > update["update_id"])  # fmt: skip
        failed, delivered = api.calls_to("sendMessage")
        assert failed.at < confirming.at < delivered.at
    finally:
        await world.stop()


async def test_an_ack_refused_a_connection_is_sent_once_the_api_is_back(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    desk = world.rapport.desk
    original = desk.receive

    async def come_back_later() -> None:
        await asyncio.sleep(0.2)
        await api.come_back()

    async def receive_then_lose_the_api(message):  # type: ignore[no-untyped-def]
        received = await original(message)
        await api.go_away()  # the ack that follows finds the port closed
        returning.append(asyncio.create_task(come_back_later()))
        return received

    returning: list[asyncio.Task[None]] = []
    desk.receive = receive_then_lose_the_api  # type: ignore[method-assign]
    api.message(JANE, text="hello")
    [ack] = await api.wait_for_texts(JANE, 1)
    await past_the_retries(world)
    assert ack.startswith("Thanks Jane") and api.texts(JANE) == [ack]
    assert len(api.calls_to("sendMessage")) == 1  # the refused attempts never arrived
    assert len(world.messages("inbound")) == 1
    await asyncio.gather(*returning)


async def test_an_ack_that_timed_out_is_not_sent_again(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    api.slow("sendMessage", 6.0)  # delivered, but answered after PTB's 5 s read timeout
    update = api.message(JANE, text="hello")
    await world.stored(1)
    await confirmed(api, update, timeout=10)
    await past_the_retries(world)
    [ack] = api.texts(JANE)
    assert ack.startswith("Thanks Jane")
    assert len(api.calls_to("sendMessage")) == 1


async def test_an_ack_to_a_customer_who_blocked_the_bot_is_not_retried(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    api.fail("sendMessage", 403)  # once: a wrong retry would get through
    update = api.message(JANE, text="hello")
    await confirmed(api, update)
    await api.wait_for(lambda: (i := world.identity(JANE)) is not None and not i.reachable)
    await past_the_retries(world)
    assert len(api.calls_to("sendMessage")) == 1
    assert api.texts(JANE) == []
    identity = world.identity(JANE)
    assert identity is not None and identity.unreachable_reason == "the customer blocked the bot"


async def test_an_ack_failing_past_its_retries_is_given_up_with_one_warning(
    world: TelegramWorld, api: TelegramStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    api.fail("sendMessage", 500, times=5)
    api.message(JANE, text="hello")
    await api.wait_for(lambda: len(api.calls_to("sendMessage")) >= 4)
    await past_the_retries(world)
    assert len(api.calls_to("sendMessage")) == 4  # the first attempt and three retries
    assert api.texts(JANE) == []
    given_up = [r for r in caplog.records if "telegram reply given up" in r.getMessage()]
    assert len(given_up) == 1 and given_up[0].levelno == logging.WARNING
    assert "chat_id=1001" in given_up[0].getMessage()
    identity = world.identity(JANE)
    assert identity is not None and identity.reachable


async def test_stopping_the_channel_cancels_a_pending_ack_retry(
    tmp_path: Path, api: TelegramStandIn
) -> None:
    world = await started(tmp_path, api, reply_retry_initial=30.0, reply_retry_max=30.0)
    try:
        api.fail("sendMessage", 500)
        update = api.message(JANE, text="hello")
        await confirmed(api, update)
        assert world.channel._tasks  # the retry waits its 30 s
        async with asyncio.timeout(5):
            await world.stop()
        assert not world.channel._tasks
        assert len(api.calls_to("sendMessage")) == 1
    finally:
        if world.started:
            await world.stop()
