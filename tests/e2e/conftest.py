"""Fixtures shared by the end-to-end tests."""

from collections.abc import AsyncIterator

import pytest

from tests.standins.telegram_api import TelegramStandIn


@pytest.fixture
async def api() -> AsyncIterator[TelegramStandIn]:
    """The local Bot API stand-in, over HTTP on 127.0.0.1, for the test's duration."""
    stand_in = await TelegramStandIn().start()
    try:
        yield stand_in
    finally:
        await stand_in.stop()
