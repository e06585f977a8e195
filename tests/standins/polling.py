"""Waiting for something another process, thread or task makes true, with a deadline."""

import asyncio
import time
from collections.abc import Callable
from typing import Any


def wait_until(check: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Blocking poll, for code outside an event loop: check()'s first truthy result."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(interval)
    raise TimeoutError(f"not within {timeout} s")


async def wait(check: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """The same inside an event loop (the stand-ins and Rapport run on it meanwhile)."""
    async with asyncio.timeout(timeout):
        while not (result := check()):
            await asyncio.sleep(interval)
        return result
