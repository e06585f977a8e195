"""The one error boundary between people and the CRM.

Text -> Command (pure grammar) -> exactly one handler, run in a worker thread
inside one transaction -> a neutral Reply. Typed domain errors become friendly
replies with the usage line; anything unexpected is logged once with context
and answered with an apology, so one bad message never stops a channel.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlmodel import Session

from bot.context import HandlerContext, Outcome, Services
from bot.language.commands import CloseDeal, Command, ParseError
from bot.language.grammar import USAGE, parse
from bot.rep.render import candidates_text
from channels.base import Action, Address, Reply
from crm.actors import Actor
from crm.conversations import mark_delivery
from crm.errors import Ambiguous, CRMError, Forbidden, Invalid
from crm.models import Rep
from crm.reps import is_locked_out
from crm.self_service import chat_state, update_chat_state

logger = logging.getLogger(__name__)

Handler = Callable[[HandlerContext, Session, Any], Outcome | Reply]
PICK_ACTION = "pick_candidate"


class Router:
    """Maps each command type to exactly one handler (explicit registration)."""

    def __init__(self) -> None:
        self._handlers: dict[type, Handler] = {}

    def add(self, command_type: type, handler: Handler) -> None:
        if command_type in self._handlers:
            raise ValueError(f"{command_type.__name__} already has a handler")
        self._handlers[command_type] = handler

    def get(self, command_type: type) -> Handler | None:
        return self._handlers.get(command_type)

    @property
    def command_types(self) -> set[type]:
        return set(self._handlers)


def usage_for(name: str | None) -> str:
    return USAGE.get(name or "", "") if name else ""


class Dispatcher:
    def __init__(self, services: Services, router: Router) -> None:
        self.services = services
        self.router = router

    async def handle(self, actor: Actor, text: str, address: Address | None = None) -> Reply:
        """Answers one line of rep text. Never raises."""
        text = text.replace("\x00", "")  # PostgreSQL text refuses NUL: a note would be lost
        try:
            return await self._handle(actor, text, address)
        except Exception:  # noqa: BLE001 - the boundary: log once, apologise
            return self._apology(actor, "Please try again, or type `help`.")

    async def _handle(self, actor: Actor, text: str, address: Address | None) -> Reply:
        text = await asyncio.to_thread(self._resolve_pick, actor, text)
        command = parse(text)
        if isinstance(command, ParseError):
            return self._parse_error_reply(command)
        return await self._run_command(actor, command, address, text)

    async def handle_command(
        self, actor: Actor, command: Command, address: Address | None = None
    ) -> Reply:
        """Runs an already-built command (buttons, forms); same boundary as `handle`."""
        try:
            return await self._run_command(actor, command, address, None)
        except Exception:  # noqa: BLE001 - the boundary: log once, apologise
            return self._apology(actor)

    @staticmethod
    def _apology(actor: Actor, hint: str = "") -> Reply:
        """Called from inside an `except`: logs the traceback once, never shows it."""
        logger.exception("command failed actor=%s channel=%s", actor.label, actor.channel)
        text = "Sorry, something went wrong on our side; nothing was changed."
        return Reply(f"{text} {hint}" if hint else text, ok=False)

    async def _run_command(
        self, actor: Actor, command: Command, address: Address | None, text: str | None
    ) -> Reply:
        handler = self.router.get(type(command))
        if handler is None:
            return Reply(f"`{command.name}` is not available here yet. Type `help`.", ok=False)
        ctx = HandlerContext(self.services, actor, address)
        try:
            outcome = await asyncio.to_thread(self._run, handler, ctx, command)
        except Ambiguous as exc:
            if text is None:
                return Reply(f"{exc} Use the #id.", ok=False)
            return await asyncio.to_thread(self._ambiguous_reply, actor, text, exc)
        except CRMError as exc:
            return self._error_reply(command, exc)
        return await self._finish(outcome)

    def _run(self, handler: Handler, ctx: HandlerContext, command: Command) -> Outcome:
        with self.services.store.transaction() as session:
            if is_locked_out(session, ctx.actor):
                raise Forbidden(
                    "You have no access to Rapport (access revoked, or a guest account). "
                    "Ask an admin."
                )
            ctx.actor = self._fresh_actor(session, ctx.actor)
            try:
                result = handler(ctx, session, command)
            except Ambiguous as exc:
                # Describe the candidates while the session is alive; the rollback
                # that follows detaches them.
                exc.listing = candidates_text(session, exc.candidates)  # type: ignore[attr-defined]
                exc.ids = [getattr(c, "id", None) for c in exc.candidates]  # type: ignore[attr-defined]
                raise
        return result if isinstance(result, Outcome) else Outcome(result)

    @staticmethod
    def _fresh_actor(session: Session, actor: Actor) -> Actor:
        """A rep's time zone may have changed since the channel built the Actor."""
        if actor.kind != "rep" or actor.id is None:
            return actor
        rep = session.get(Rep, actor.id)
        if rep is None or rep.timezone == actor.timezone:
            return actor
        return replace(actor, timezone=rep.timezone)

    async def _finish(self, outcome: Outcome) -> Reply:
        reply = outcome.reply
        notes = []
        for delivery in outcome.deliveries:
            result = await self.services.hub.send(delivery.outgoing)
            await asyncio.to_thread(self._record_delivery, delivery.message_id, result)
            if result.delivered:
                notes.append("✓ Delivered.")
            else:
                notes.append(f"⚠ Not delivered: {result.error}. It is kept on the timeline.")
        for notice in outcome.notices:
            result = await self.services.hub.send(notice)
            if not result.delivered:
                logger.warning(
                    "team notice not sent channel=%s error=%s", notice.address.channel, result.error
                )
        if notes:
            reply = replace(reply, text=reply.text + "\n" + "\n".join(notes))
        return reply

    def _record_delivery(self, message_id: int, result: Any) -> None:
        with self.services.store.transaction() as session:
            mark_delivery(
                session,
                message_id=message_id,
                delivered=result.delivered,
                reason=result.error,
                external_id=result.external_id,
            )

    # --- errors ----------------------------------------------------------------------

    def _parse_error_reply(self, error: ParseError) -> Reply:
        lines = [error.message]
        if usage := usage_for(error.command):
            lines.append(f"Usage: {usage}")
        lines.extend(error.hints)
        return Reply("\n".join(lines), ok=False)

    def _error_reply(self, command: Command, exc: CRMError) -> Reply:
        text = str(exc)
        verb = "lost" if isinstance(command, CloseDeal) and not command.won else command.name
        if isinstance(exc, Invalid) and (usage := usage_for(verb)):
            text += f"\nUsage: {usage}"
        return Reply(text, ok=False)

    # --- "which one?" --------------------------------------------------------------------

    def _state_key(self, actor: Actor) -> tuple[str, str]:
        return (actor.channel or "shell", f"{actor.kind}:{actor.id}")

    def _ambiguous_reply(self, actor: Actor, text: str, exc: Ambiguous) -> Reply:
        """Lists the candidates and remembers the command, so `1`/`2`... finishes it."""
        ids: list[int | None] = getattr(exc, "ids", [])
        listing: str = getattr(exc, "listing", "")
        channel, chat_id = self._state_key(actor)
        with self.services.store.transaction() as session:
            update_chat_state(
                session,
                channel=channel,
                chat_id=chat_id,
                now=self.services.clock.now(),
                pending=text,
                ref=exc.ref,
                ids=ids,
            )
        actions = tuple(Action(f"{n}", PICK_ACTION, str(n)) for n in range(1, min(len(ids), 5) + 1))
        return Reply(
            f"{exc} Nothing was done. Which one?\n{listing}\n"
            "Reply with the number (e.g. `1`), or use the #id.",
            actions=actions,
            ok=False,
        )

    def _resolve_pick(self, actor: Actor, text: str) -> str:
        """A bare number after an ambiguous command re-runs it with that candidate."""
        stripped = text.strip()
        if not stripped.isdigit() or len(stripped) > 2:
            return text
        channel, chat_id = self._state_key(actor)
        with self.services.store.transaction() as session:
            state = chat_state(session, channel, chat_id)
            if state is None or not (state.data or {}).get("pending"):
                return text
            data = update_chat_state(
                session,
                channel=channel,
                chat_id=chat_id,
                now=self.services.clock.now(),
                pending=None,
                ref=None,
                ids=None,
            )
        ids, ref, pending = data.get("ids") or [], data.get("ref"), data["pending"]
        index = int(stripped) - 1
        if not 0 <= index < len(ids) or not ref or ids[index] is None:
            return text
        return pending.replace(ref, f"#{ids[index]}", 1)
