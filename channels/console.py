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

from channels.base import ChannelTraits, OutgoingMessage, Reply, SendResult
from channels.render import reply_as_text

OnLine = Callable[[str], Awaitable[Reply | None]]


class ConsoleChannel:
    name = "shell"
    # A terminal on the machine: every rep and a customer trial reach it, it has no
    # limits, and a chart is better saved to a file than printed as bytes.
    traits = ChannelTraits(rep_rank=1, customer_rank=2, rep_by_id=True, confirms_delivery=True)

    def __init__(
        self,
        on_line: OnLine,
        *,
        prompt: str = "rapport> ",
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.on_line = on_line
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

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def _print(self, text: str, *, style: str | None = None) -> None:
        if self._console is not None:
            self._console.print(text, style=style, markup=False)
        else:
            self.stdout.write(text + "\n")
            self.stdout.flush()

    def show(self, reply: Reply) -> None:
        self._print(reply_as_text(reply), style=None if reply.ok else "yellow")

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Prints what the scheduler or another channel addressed to this terminal."""
        async with self._lock:
            label = {"reminder": "⏰ Reminder", "followup": "→ Follow-up"}.get(message.kind, "•")
            self._print(f"{label}: {reply_as_text(message.reply)}", style="cyan")
        return SendResult(delivered=True, external_id=None)

    async def _readline(self) -> str | None:
        if self.interactive:
            try:
                return await asyncio.to_thread(input, self.prompt)
            except EOFError:
                return None
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
