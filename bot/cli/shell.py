"""`rapport shell`: the terminal as a channel, for a rep or a customer.

A rep's lines go through the same dispatcher as Slack's `/crm`; a customer's
lines go through the same CustomerDesk as Telegram. Between lines a tick sends
due follow-ups (printed here when they are for this terminal) and shows what
arrived from elsewhere: new customer messages for a rep, replies for a customer.
"""

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import TextIO

from bot.app import RapportApp, run_periodically
from bot.customer.commands import COMMANDS, CustomerCommands, DataExport
from channels.base import Action, Address, IncomingMessage, OutgoingMessage, Reply
from channels.console import ConsoleChannel, OnLine
from crm import views
from crm.identities import find_identity
from crm.models import Message
from crm.self_service import chat_state, update_chat_state

_CUSTOMER_COMMANDS = frozenset(name for name, _ in COMMANDS)


def identity_key(name: str) -> str:
    """The same name is the same person across runs."""
    return " ".join(name.split()).casefold()


class _Feed:
    """Remembers the last message id shown, to print only what is new."""

    def __init__(self, app: RapportApp, *, since: int | None = None) -> None:
        self.app = app
        with app.store.transaction() as session:
            newest = views.newest_message_id(session)
        self.last_id = since if since is not None else newest

    def new_messages(
        self, *, direction: str, contact_id: int | None = None
    ) -> list[tuple[Message, str]]:
        with self.app.store.transaction() as session:
            rows = views.messages_after(
                session, self.last_id, direction=direction, contact_id=contact_id
            )
            newest = views.newest_message_id(session)
        self.last_id = max(self.last_id, newest)
        return rows


async def run_shell(
    app: RapportApp,
    *,
    as_: str = "rep",
    name: str = "me",
    admin: bool = True,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    interactive: bool | None = None,
) -> None:
    key = identity_key(name)
    taken = await asyncio.to_thread(_taken_by_other_side, app, key, as_)
    if taken:
        raise ShellNameTaken(taken)
    if as_ == "customer":
        # a customer who comes back sees the replies sent while they were away
        feed = _Feed(app, since=await asyncio.to_thread(_seen, app, key))
        on_line = _customer_lines(app, key, name)
        prompt = "you> "
        mine = frozenset({key})
    else:
        feed = _Feed(app)
        actor = await asyncio.to_thread(
            app.rep_actor, channel="shell", external_id=key, name=name, admin=admin
        )

        async def on_line(text: str) -> Reply | None:
            return await app.dispatcher.handle(actor, text, Address("shell", key))

        prompt = f"{name}> "
        mine = frozenset({key, str(actor.id)})  # routing falls back to the rep id
    console = ConsoleChannel(
        on_line,
        prompt=prompt,
        stdin=stdin,
        stdout=stdout,
        interactive=interactive,
        chat_ids=mine,
        is_connected=lambda chat_id: _connected(app, chat_id),
    )
    app.services.hub.register(console)

    ticking = asyncio.Lock()  # the periodic tick and the closing one must not both show a row

    async def tick() -> None:
        async with ticking:
            await _tick()

    async def _tick() -> None:
        await app.outbox.tick()
        if as_ == "customer":
            contact_id = await asyncio.to_thread(_contact_id, app, key)
            rows = (
                await asyncio.to_thread(
                    feed.new_messages, direction="outbound", contact_id=contact_id
                )
                if contact_id
                else []
            )
            for message, _name in rows:
                await console.send(OutgoingMessage(Address("shell", key), Reply(message.text)))
            await asyncio.to_thread(_present, app, key, feed.last_id)
        else:
            rows = await asyncio.to_thread(feed.new_messages, direction="inbound")
            for message, contact_name in rows:
                need = f" [{message.need}]" if message.need else ""
                await console.send(
                    OutgoingMessage(
                        Address("shell", key),
                        Reply(
                            f"New message{need} from {contact_name} "
                            f"(conversation {message.conversation_id}, msg {message.id}): "
                            f"{message.text[:200]}"
                        ),
                        kind="notice",
                    )
                )

    ticker = asyncio.create_task(
        run_periodically(app.settings.tick_seconds, tick, name="shell-tick")
    )
    try:
        if as_ == "customer":
            await tick()  # show what was missed before the first prompt
        await console.run()
        await tick()  # anything that fell due while the last line was handled
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        app.services.hub.unregister(console.name)
        if as_ == "customer":
            await asyncio.to_thread(_present, app, key, feed.last_id, leaving=True)


class ShellNameTaken(Exception):
    """The --name is already someone on the other side (a rep's name asked for as a
    customer, or the other way round): one terminal identity cannot be both."""


def _taken_by_other_side(app: RapportApp, key: str, as_: str) -> str | None:
    with app.store.transaction() as session:
        identity = find_identity(session, "shell", key)
    if identity is None:
        return None
    if as_ == "customer" and identity.rep_id is not None:
        side, flag = "a rep", "rapport shell"
    elif as_ != "customer" and identity.contact_id is not None:
        side, flag = "a customer", "rapport shell --as customer"
    else:
        return None
    return (
        f"'{key}' is already {side} in this database (from `{flag}`). One terminal name "
        "cannot be both: pick another with --name."
    )


def _customer_lines(app: RapportApp, key: str, name: str) -> OnLine:
    """A customer's line: `/start`, `/stop`, `/help`, `/status`, `/mydata`, `/forget` run
    the same commands as on Telegram (never stored as a message); a number answers the
    last buttons shown; anything else is a message to the team."""
    commands = CustomerCommands(app.services)
    address = Address("shell", key)
    buttons: list[Action] = []

    def shown(answer: Reply | None) -> Reply | None:
        buttons[:] = list(answer.actions) if answer is not None else []
        if answer is None or not answer.actions:
            return answer
        choices = "  ".join(f"{i}) {a.label}" for i, a in enumerate(answer.actions, 1))
        return Reply(f"{answer.text}\n{choices}  (type the number)", ok=answer.ok)

    async def on_line(text: str) -> Reply | None:
        message = IncomingMessage(address=address, sender_id=key, sender_name=name, text=text)
        word = text.strip()
        if buttons and word.isdigit() and 1 <= int(word) <= len(buttons):
            pressed = buttons[int(word) - 1]
            return shown(await commands.action(pressed.action_id, pressed.value, message))
        buttons.clear()
        command = word[1:].split(maxsplit=1)[0].lower() if word.startswith("/") else ""
        if command.split("@")[0] in _CUSTOMER_COMMANDS or (word.startswith("/") and command):
            answer = await commands.run(command.split("@")[0], message)
            if isinstance(answer, DataExport):
                return await asyncio.to_thread(_save_export, app, answer)
            return shown(answer)
        typed = await commands.typed_answer(message)
        if typed is not None:
            return shown(typed)
        received = await app.desk.receive(message)
        return received.ack

    return on_line


def _save_export(app: RapportApp, export: DataExport) -> Reply:
    """/mydata in a terminal: the file Telegram would send, written to the data dir."""
    folder = app.settings.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / export.filename
    path.write_bytes(export.content)
    return Reply(f"{export.reply.text}\nSaved to {path}")


_PRESENCE = "shell_present_at"


def _seen(app: RapportApp, key: str) -> int:
    with app.store.transaction() as session:
        state = chat_state(session, "shell", key)
        return int((state.data or {}).get("shell_seen", 0)) if state else 0


def _present(app: RapportApp, key: str, seen: int, *, leaving: bool = False) -> None:
    """Records that this customer's shell is open (refreshed every tick) and what it showed."""
    now = app.services.clock.now()
    with app.store.transaction() as session:
        update_chat_state(
            session,
            channel="shell",
            chat_id=key,
            now=now,
            shell_seen=seen,
            **{_PRESENCE: None if leaving else now.isoformat()},
        )


def _connected(app: RapportApp, chat_id: str) -> bool:
    """Is a customer shell for this chat open (in any process)? Its tick refreshes the mark."""
    with app.store.transaction() as session:
        state = chat_state(session, "shell", chat_id)
        mark = (state.data or {}).get(_PRESENCE) if state else None
    if not mark:
        return False
    grace = timedelta(seconds=3 * app.settings.tick_seconds + 5)
    return app.services.clock.now() - datetime.fromisoformat(mark) <= grace


def _contact_id(app: RapportApp, key: str) -> int | None:
    with app.store.transaction() as session:
        identity = find_identity(session, "shell", key)
        return identity.contact_id if identity else None
