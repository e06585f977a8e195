"""The one error boundary between people and the CRM.

Text -> Command (pure grammar) -> exactly one handler, run in a worker thread
inside one transaction -> a neutral Reply. Typed domain errors become friendly
replies with the usage line; anything unexpected is logged once with context
and answered with an apology, so one bad message never stops a channel.
"""

import asyncio
import logging
from dataclasses import replace
from typing import Any

from sqlmodel import Session

from bot.context import Handled, HandlerContext, Outcome, Services
from bot.language.commands import CloseDeal, Command, ParseError
from bot.language.help import usage_for
from bot.language.verbs import parse
from bot.rep.picks import SHOWN, Confirm, Pick, Picks
from bot.rep.render import candidates_text
from bot.rep.router import Handler, Router
from channels.base import Action, Address, Reply
from crm.actors import Actor
from crm.conversations import mark_delivery
from crm.errors import Ambiguous, CRMError, Forbidden, Invalid
from crm.models import Rep
from crm.reps import is_locked_out
from crm.views import briefs_of

logger = logging.getLogger(__name__)

PICK_ACTION = "pick_candidate"
CONFIRM_ACTION = "confirm_pending"


class Dispatcher:
    def __init__(self, services: Services, router: Router) -> None:
        self.services = services
        self.router = router
        self.picks = Picks()  # in memory on purpose: a restart forgets every open question

    async def handle(self, actor: Actor, text: str, address: Address | None = None) -> Reply:
        """Answers one line of rep text. Never raises."""
        return (await self.handle_text(actor, text, address)).reply

    async def handle_text(self, actor: Actor, text: str, address: Address | None = None) -> Handled:
        """`handle`, also saying which command ran (Slack refreshes what it changed)."""
        text = text.replace("\x00", "")  # PostgreSQL text refuses NUL: a note would be lost
        try:
            return await self._handle(actor, text, address)
        except Exception:  # noqa: BLE001 - the boundary: log once, apologise
            return Handled(self._apology(actor, "Please try again, or type `help`."))

    async def _handle(self, actor: Actor, text: str, address: Address | None) -> Handled:
        key = self.picks.key(actor, address)
        answer = self.picks.answer(key, text, self.services.clock.now())
        if answer.keep is not None:
            self.picks.ask(key, answer.keep)
        if answer.reply is not None:
            return Handled(Reply(answer.reply, ok=False))
        if answer.command is not None:
            reply = await self._run_command(actor, answer.command, address, None)
            return Handled(reply, answer.command)
        text = answer.text if answer.text is not None else text
        command = parse(text)
        if isinstance(command, ParseError):
            return Handled(self._parse_error_reply(command))
        return Handled(await self._run_command(actor, command, address, text), command)

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
        if text is None:
            self.picks.take(self.picks.key(actor, address))  # a button or form is a new message
        handler = self.router.get(type(command))
        if handler is None:
            return Reply(f"`{command.name}` is not available here yet. Type `help`.", ok=False)
        ctx = HandlerContext(self.services, actor, address)
        try:
            outcome = await asyncio.to_thread(
                self._run, handler, ctx, command, self.router.is_report(type(command))
            )
        except Ambiguous as exc:
            if text is None:
                return Reply(f"{exc} Use the #id.", ok=False)
            return self._ambiguous_reply(actor, address, text, exc)
        except CRMError as exc:
            return self._error_reply(command, exc)
        if outcome.confirm is not None:
            return self._ask_confirmation(actor, address, outcome)
        return await self._finish(outcome)

    def _run(
        self, handler: Handler, ctx: HandlerContext, command: Command, report: bool = False
    ) -> Outcome:
        store = self.services.store
        with store.report() if report else store.transaction() as session:
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
                exc.listing = candidates_text(briefs_of(session, exc.candidates[:SHOWN]))
                exc.ids = [getattr(c, "id", None) for c in exc.candidates]
                raise
        return result if isinstance(result, Outcome) else Outcome(result)

    @staticmethod
    def _fresh_actor(session: Session, actor: Actor) -> Actor:
        """A rep's time zone (or date order) may have changed since the channel built the
        Actor."""
        if actor.kind != "rep" or actor.id is None:
            return actor
        rep = session.get(Rep, actor.id)
        if rep is None or (rep.timezone, rep.dateorder) == (actor.timezone, actor.dateorder):
            return actor
        return replace(actor, timezone=rep.timezone, dateorder=rep.dateorder)

    async def _finish(self, outcome: Outcome) -> Reply:
        reply = outcome.reply
        notes = []
        for delivery in outcome.deliveries:
            result = await self.services.hub.send(delivery.outgoing)
            await asyncio.to_thread(self._record_delivery, delivery.message_id, result)
            if result.delivered:
                notes.append("✓ Delivered.")
            elif result.queued:
                notes.append(f"Saved; {result.error}.")
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

    # --- "which one?" and "are you sure?" (the state lives in bot.rep.picks) ---------------

    def _ambiguous_reply(
        self, actor: Actor, address: Address | None, text: str, exc: Ambiguous
    ) -> Reply:
        """Lists the first candidates and remembers the command, so `1`/`2`/`#id` finishes it."""
        ids = tuple(i for i in exc.ids if i is not None)
        listing = exc.listing
        more = len(ids) - SHOWN
        if exc.ref and ids:
            self.picks.ask(
                self.picks.key(actor, address),
                Pick(text=text, ref=exc.ref, ids=ids, asked_at=self.services.clock.now()),
            )
        actions = tuple(
            Action(f"{n}", PICK_ACTION, str(n)) for n in range(1, min(len(ids), SHOWN) + 1)
        )
        extra = (
            f"\n…and {more} more not shown: add a word to narrow it down, or use the #id."
            if more > 0
            else ""
        )
        return Reply(
            f"{exc} Nothing was done. Which one?\n{listing}{extra}\n"
            "Reply with the number (e.g. `1`) or the #id, in your next message.",
            actions=actions,
            ok=False,
        )

    def _ask_confirmation(self, actor: Actor, address: Address | None, outcome: Outcome) -> Reply:
        command = outcome.confirm
        assert command is not None
        self.picks.ask(
            self.picks.key(actor, address),
            Confirm(command=command, asked_at=self.services.clock.now(), what=outcome.confirm_what),
        )
        reply = outcome.reply
        return replace(
            reply,
            text=reply.text + "\nType `yes` to go ahead; anything else cancels.",
            actions=(
                Action("Yes, go ahead", CONFIRM_ACTION, "yes"),
                Action("Cancel", CONFIRM_ACTION, "no"),
            ),
        )
