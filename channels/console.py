"""The terminal channel behind `rapport shell`.

Interactive (rich colours and line history) when stdin is a TTY; plain
line-in/line-out when piped, so scripts and tests can drive it. It knows
nothing of the CRM: it is handed `on_line`, which turns a line into a Reply.
Messages sent to it (reminders, customer replies, notices) are printed.
"""

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

from channels.base import OutgoingMessage, Reply, SendResult
from channels.render import reply_as_text

OnLine = Callable[[str], Awaitable[Reply | None]]
NOT_CONNECTED = "they are not connected; it will be shown when they come back"


class ConsoleChannel:
    name = "shell"

    def __init__(
        self,
        on_line: OnLine,
        *,
        prompt: str = "rapport> ",
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        interactive: bool | None = None,
        chat_ids: frozenset[str] | None = None,
        is_connected: Callable[[str], bool] | None = None,
    ) -> None:
        """`chat_ids` are who sits at this terminal: messages for anyone else (a customer
        on another shell) are not printed here; `is_connected` says whether that other
        shell is open, so the sender hears "delivered" or "saved for later"."""
        self.on_line = on_line
        self.chat_ids = chat_ids
        self.is_connected = is_connected
        self.prompt = prompt
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.interactive = self.stdin.isatty() if interactive is None else interactive
        self._console = None
        if self.interactive:
            from rich.console import Console

            self._console = Console(file=self.stdout, highlight=False)
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401 - enables line editing and history for input()
        self._lock = asyncio.Lock()
        self._reading = False  # an interactive prompt is waiting for input

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def _print(self, text: str, *, style: str | None = None, above_prompt: bool = False) -> None:
        if self._console is not None:
            if above_prompt:  # clear the half-typed line, print, then redraw prompt + typing
                self.stdout.write("\r\x1b[K")
            self._console.print(text, style=style, markup=False)
            if above_prompt:
                self.stdout.write(self.prompt + _typed_so_far())
                self.stdout.flush()
        else:
            self.stdout.write(text + "\n")
            self.stdout.flush()

    def show(self, reply: Reply) -> None:
        self._print(reply_as_text(reply), style=None if reply.ok else "yellow")

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Prints what the scheduler or another channel addressed to this terminal; a
        message for someone else's shell is left to that shell (it reads the store)."""
        if self.chat_ids is not None and message.address.chat_id not in self.chat_ids:
            there = self.is_connected is not None and await asyncio.to_thread(
                self.is_connected, message.address.chat_id
            )
            if there:
                return SendResult(delivered=True, external_id=None)
            return SendResult(delivered=False, error=NOT_CONNECTED, permanent=True, queued=True)
        async with self._lock:
            label = {"reminder": "⏰ Reminder", "followup": "→ Follow-up"}.get(message.kind, "•")
            text = f"{label}: {reply_as_text(message.reply)}"
            self._print(text, style="cyan", above_prompt=self._reading)
        return SendResult(delivered=True, external_id=None)

    async def _readline(self) -> str | None:
        if self.interactive:
            self._reading = True
            try:
                return await asyncio.to_thread(input, self.prompt)
            except EOFError:
                return None
            finally:
                self._reading = False
        line = await asyncio.to_thread(self.stdin.readline)
        return line if line else None

    async def run(self) -> None:
        """Reads until end of input (or `exit`/`quit`), answering every line."""
        while True:
            line = await self._readline()
            if line is None:
                break
            text = line.rstrip("\n")
            if text.strip().lower() in {"exit", "quit", ":q"}:
                break
            if not text.strip():
                continue
            reply = await self.on_line(text)
            if reply is not None:
                async with self._lock:
                    self.show(reply)


def _typed_so_far() -> str:
    """What the person has typed at the prompt (readline's buffer), to redraw it."""
    try:
        import readline
    except ImportError:
        return ""
    return readline.get_line_buffer()
