"""Command type -> the one handler that runs it.

Handlers register themselves explicitly (`register(router)` in each handler module, no
import-time discovery). It lives apart from the dispatcher so a handler module imports
this small table, not the error boundary; `missing` lets a test prove that every command
the grammar can build has a handler (tests/unit/test_verbs_complete.py).
"""

from collections.abc import Callable, Iterable
from typing import Any

from sqlmodel import Session

from bot.context import HandlerContext, Outcome
from channels.base import Reply

Handler = Callable[[HandlerContext, Session, Any], Outcome | Reply]


class Router:
    """Maps each command type to exactly one handler (explicit registration)."""

    def __init__(self) -> None:
        self._handlers: dict[type, Handler] = {}
        self._reports: set[type] = set()

    def add(self, command_type: type, handler: Handler, *, report: bool = False) -> None:
        """`report=True`: the handler only reads, and its transaction is a report's
        (`Store.report`: no write lock on SQLite, more sort memory on PostgreSQL)."""
        if command_type in self._handlers:
            raise ValueError(f"{command_type.__name__} already has a handler")
        self._handlers[command_type] = handler
        if report:
            self._reports.add(command_type)

    def is_report(self, command_type: type) -> bool:
        return command_type in self._reports

    def get(self, command_type: type) -> Handler | None:
        return self._handlers.get(command_type)

    def missing(self, command_types: Iterable[type]) -> list[type]:
        """The given command types that have no handler, in the order given."""
        return [t for t in command_types if t not in self._handlers]
