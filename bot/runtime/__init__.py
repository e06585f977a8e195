"""The composition root's parts: one module per concrete channel or service.

Together with `bot/app.py` and `bot/runtime/service.py` these are the only modules in
`bot/` allowed to import concrete channels (tests/unit/test_architecture.py pins
this). Each `attach_*` function builds its adapter from the RapportApp, hooks it
into the hub, the dispatcher and the customer desk, and returns a Component the
runner starts and stops (in reverse order).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from channels.http import HttpRoutes

Hook = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


@dataclass
class Component:
    name: str
    start: Hook = _nothing
    stop: Hook = _nothing
    http: HttpRoutes | None = None
    needs_http: bool = False
    extra: dict[str, object] = field(default_factory=dict)
