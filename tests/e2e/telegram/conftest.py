"""The Telegram end-to-end tests' `world`: Rapport behind python-telegram-bot, polling the
local Bot API stand-in (`api`, from tests/e2e/conftest.py), on a fresh SQLite store."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.telegram_harness import TelegramWorld, build_world
from tests.standins.telegram_api import TelegramStandIn


@pytest.fixture
async def world(tmp_path: Path, api: TelegramStandIn) -> AsyncIterator[TelegramWorld]:
    world = await build_world(tmp_path, api).start()
    yield world
    await world.stop()
