"""The Slack end-to-end tests' `world`: Rapport behind slack-bolt, talking to the local
Slack Web API stand-in, on a fresh SQLite store under the test's tmp_path."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.standins.slack_harness import SlackWorld


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with SlackWorld.running(tmp_path) as running:
        yield running
