"""The terminal channel behind `rapport shell`.

Interactive when stdin is a TTY: prompt_toolkit's async prompt with line history, so
messages that arrive while the person types are printed above the prompt (which is
redrawn with what they typed), and Ctrl-C clears the line (twice in a row exits).
Plain line-in/line-out when piped, so scripts and tests can drive it. It knows
nothing of the CRM: it is handed `on_line`, which turns a line into a Reply.
Messages sent to it (reminders, customer replies, notices) are printed.
"""

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TextIO

from channels.base import ChannelTraits, OutgoingMessage, Reply, SendResult
from channels.render import reply_as_text

if TYPE_CHECKING:  # imported when interactive only
    from prompt_toolkit import PromptSession
    from rich.console import Console

OnLine = Callable[[str], Awaitable[Reply | None]]
NOT_CONNECTED = "they are not connected; it will be shown when they come back"


class ConsoleChannel:
    name = "shell"
    # A terminal on the machine: every rep and a customer trial reach it, it has no
    # limits, and a chart is better saved to a file than printed as bytes.
    traits = ChannelTraits(rep_rank=1, customer_rank=2, rep_by_id=True, confirms_delivery=True)
    _console: "Console | None"  # rich and prompt_toolkit when interactive
    _session: "PromptSession[str] | None"

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
        self._session = None
        if self.interactive:
            from prompt_toolkit import PromptSession
            from rich.console import Console

            self._console = Console(file=self.stdout, highlight=False)
            self._session = PromptSession()
        self._lock = asyncio.Lock()
        self._reading = False  # an interactive prompt is waiting for input

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def _print(self, text: str, *, style: str | None = None, above_prompt: bool = False) -> None:
        console = self._console
        if console is not None:
            if above_prompt:  # printed above the prompt, which is redrawn with the typing
                from prompt_toolkit.application import run_in_terminal

                run_in_terminal(lambda: console.print(text, style=style, markup=False))
                return
            console.print(text, style=style, markup=False)
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
            # `queued`: that shell shows what is in the store, so the sender must store it
            if there:
                return SendResult(delivered=True, queued=True)
            return SendResult(delivered=False, error=NOT_CONNECTED, permanent=True, queued=True)
        async with self._lock:
            label = {"reminder": "⏰ Reminder", "followup": "→ Follow-up"}.get(message.kind, "•")
            number = _item_number(message.reply)
            label += f" {number}" if number and message.kind == "reminder" else ""
            text = f"{label}: {reply_as_text(message.reply)}"
            self._print(text, style="cyan", above_prompt=self._reading)
        return SendResult(delivered=True, external_id=None)

    async def _readline(self) -> str | None:
        if self._session is not None:
            return await self._prompt(self._session)
        line = await asyncio.to_thread(self.stdin.readline)
        return line if line else None

    async def _prompt(self, session: "PromptSession[str]") -> str | None:
        """One line from the person; Ctrl-C drops what was typed (a second Ctrl-C on the
        empty line exits), Ctrl-D exits."""
        interrupted = False
        while True:
            self._reading = True
            try:
                return await session.prompt_async(self.prompt)
            except KeyboardInterrupt:
                if interrupted:
                    return None
                interrupted = True
                self._print("(Ctrl-C again to leave, or type exit)", style="dim")
            except EOFError:
                return None
            finally:
                self._reading = False

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


def _item_number(reply: Reply) -> str | None:
    """The number of what a message is about, read off its buttons (their value starts
    with it), so a reminder shows the number to type `done 7` with."""
    for action in reply.actions:
        head = action.value.split(" ", 1)[0]
        if head.isdigit():
            return head
    return None
