"""The neutral glue between the Slack channel and Rapport.

The Slack app (channels/slack) knows Block Kit but not the CRM; this knows the
CRM but not Slack's SDK. It turns a Slack user into an Actor (a Rep on first
use, admin from RAPPORT_SLACK_ADMINS, name and time zone from users.info),
runs text and buttons through the same dispatcher as the shell, dedupes event
retries in the store, and keeps the inbox posts in step with what reps do.
Its methods match `channels.slack.callbacks.Callbacks` structurally.
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from bot.context import changed
from bot.language import commands as cmd
from bot.rep.render import contact_line
from bot.slack.forms import CHECKS, MAIN_FIELD, check_form, field_text
from bot.slack.home import build_home
from bot.slack.imports import import_answer
from bot.slack.inbox import SlackInbox
from bot.slack.types import Answer, Person
from channels.base import AccountRefused, Address, Reply
from crm import audit
from crm.actors import SYSTEM, Actor
from crm.identities import find_identity
from crm.models import Contact, Conversation, Message, Rep
from crm.search import ID_REF, search_contacts
from crm.self_service import first_delivery
from crm.views import contact_brief

if TYPE_CHECKING:
    from bot.app import RapportApp

logger = logging.getLogger(__name__)

ProfileLookup = Callable[[str], Awaitable[tuple[str, str | None]]]
REPLACING_ACTIONS = {"followup_done", "followup_snooze"}  # the reminder's buttons go away
GONE = Reply("That button no longer does anything. Type `/crm help` for the commands.", ok=False)


INTERNAL_NOTE = re.compile(r"^\s*note\s*:\s*(.*)\Z", re.IGNORECASE | re.DOTALL)


class SlackBridge:
    def __init__(self, rapport: "RapportApp", *, profile: ProfileLookup, inbox: SlackInbox):
        self.rapport = rapport
        self.services = rapport.services
        self.dispatcher = rapport.dispatcher
        self.profile = profile
        self.inbox = inbox

    # --- who is asking ------------------------------------------------------------------

    async def actor(self, who: Person) -> Actor:
        """The rep behind a Slack user id; users.info is asked only the first time."""
        known = await asyncio.to_thread(self._known, who.user_id)
        name, tz = who.user_name or who.user_id, None
        refused = False
        if not known:
            try:
                name, tz = await self.profile(who.user_id)
            except AccountRefused as exc:
                # A guest, deactivated or bot account: kept as a revoked rep, so every
                # command is refused and an admin can `restore @them` on purpose.
                refused = True
                logger.warning("slack account refused user=%s reason=%s", who.user_id, exc)
            except Exception as exc:  # noqa: BLE001 - a rep without a profile is still a rep
                logger.warning(
                    "users.info failed user=%s error=%s", who.user_id, type(exc).__name__
                )
        admin = who.user_id in self.services.settings.admin_slack_ids and not refused
        actor = await asyncio.to_thread(
            partial(
                self.rapport.rep_actor,
                channel="slack",
                external_id=who.user_id,
                name=name,
                timezone=tz,
                admin=admin,
            )
        )
        if refused:
            await asyncio.to_thread(self._revoke_new, actor)
        return actor

    def _revoke_new(self, actor: Actor) -> None:
        with self.services.store.transaction() as session:
            rep = session.get(Rep, actor.id)
            if rep is not None and rep.active:
                rep.active = False
                session.add(rep)
                audit.record(
                    session,
                    actor=SYSTEM,
                    action="rep.revoke",
                    entity_type="rep",
                    entity_id=rep.id,
                    at=self.services.clock.now(),
                    after={"active": False, "reason": "guest or inactive Slack account"},
                )

    def _known(self, user_id: str) -> bool:
        with self.services.store.transaction() as session:
            return find_identity(session, "slack", user_id) is not None

    async def first_delivery(self, event_id: str) -> bool:
        return await asyncio.to_thread(self._claim_event, event_id)

    def _claim_event(self, event_id: str) -> bool:
        """The unique (source, event_id) row is the lock: a retry fails to insert it."""
        with self.services.store.transaction() as session:
            return first_delivery(
                session, source="slack", event_id=event_id, now=self.services.clock.now()
            )

    # --- commands and buttons --------------------------------------------------------------

    @staticmethod
    def address(who: Person) -> Address:
        return Address("slack", who.channel_id or who.user_id)

    async def command(self, who: Person, text: str) -> Answer:
        actor = await self.actor(who)
        handled = await self.dispatcher.handle_text(actor, text, self.address(who))
        await self._after(handled.command, handled.reply)
        return Answer(handled.reply, refresh_home=handled.changed)

    async def run(self, who: Person, command: cmd.Command) -> Answer:
        """An already-built command (a button, a form): same boundary as typed text."""
        actor = await self.actor(who)
        reply = await self.dispatcher.handle_command(actor, command, self.address(who))
        await self._after(command, reply)
        return Answer(reply, refresh_home=changed(command, reply))

    async def import_file(
        self, who: Person, name: str, data: bytes, file_id: str, *, confirm: bool
    ) -> Answer:
        """A CSV shared in the DM (bot/slack/imports.py): dry-run report, then import."""
        actor = await self.actor(who)
        reply = await import_answer(self.rapport, actor, name, data, file_id, confirm=confirm)
        return Answer(reply, refresh_home=confirm and reply.ok)

    async def action(self, who: Person, action_id: str, value: str) -> Answer:
        if action_id in ("pick_candidate", "confirm_pending"):
            return await self.command(who, value)
        command = command_for_action(action_id, value)
        if command is None:
            logger.info("unknown slack action action_id=%s", action_id)
            return Answer(GONE)
        answer = await self.run(who, command)
        ok = answer.reply is not None and answer.reply.ok
        return replace(answer, replace_original=ok and action_id in REPLACING_ACTIONS)

    async def _after(self, command: object, reply: Reply) -> None:
        """Inbox posts follow the conversation, whichever way the rep changed it."""
        if not reply.ok:
            return
        if isinstance(
            command, cmd.AssignConversation | cmd.CloseConversation | cmd.ReplyToConversation
        ):
            await self.inbox.refresh(command.conversation_id)
        elif isinstance(command, cmd.RetagMessage):
            conversation_id = await asyncio.to_thread(self._conversation_of, command.message_id)
            if conversation_id is not None:
                await self.inbox.refresh(conversation_id)

    def _conversation_of(self, message_id: int) -> int | None:
        with self.services.store.transaction() as session:
            message = session.get(Message, message_id)
            return message.conversation_id if message else None

    # --- contact pickers --------------------------------------------------------------------

    async def contact_label(self, ref: str) -> str | None:
        return await asyncio.to_thread(self._label, ref)

    def _label(self, ref: str) -> str | None:
        match = ID_REF.match(ref.strip())
        if match is None:
            return None
        with self.services.store.transaction() as session:
            contact = session.get(Contact, int(match.group(1)))
            return f"{contact.name} (#{contact.id})"[:75] if contact else None

    async def search_contacts(self, query: str) -> list[tuple[str, str]]:
        return await asyncio.to_thread(self._search, query)

    def _search(self, query: str) -> list[tuple[str, str]]:
        with self.services.store.transaction() as session:
            matches = search_contacts(session, query[:100], limit=20)
            return [
                (contact_line(contact_brief(session, m.contact))[:75], f"#{m.contact.id}")
                for m in matches
            ]

    # --- forms, home, inbox threads ------------------------------------------------------------

    async def submit(
        self, who: Person, form: str, values: Mapping[str, str], meta: Mapping[str, str]
    ) -> Answer:
        """A form's values are checked first (errors shown per field); a clean form runs as
        its command, and a handler's refusal lands on the form's main field."""
        if form not in CHECKS:
            return Answer(Reply("That form is out of date; please open it again.", ok=False))
        actor = await self.actor(who)
        built = await asyncio.to_thread(check_form, self.services, actor, form, values, meta)
        if isinstance(built, dict):
            return Answer(errors=built)
        if isinstance(built, Reply):
            return Answer(built, refresh_home=True)
        answer = await self.run(who, built)
        if answer.reply is not None and not answer.reply.ok:
            return Answer(errors={MAIN_FIELD[form]: field_text(answer.reply.text)})
        return answer

    async def home(self, who: Person) -> Sequence[tuple[str, Sequence[Reply]]]:
        actor = await self.actor(who)
        return await asyncio.to_thread(build_home, self.services, actor)

    async def thread_reply(
        self, who: Person, channel_id: str, thread_ts: str, text: str
    ) -> Answer | None:
        conversation_id = await self.inbox.conversation_for(channel_id, thread_ts)
        if conversation_id is None:
            return None
        actor = await self.actor(who)
        internal = INTERNAL_NOTE.match(text)
        if internal:
            return Answer(await self._internal_note(actor, conversation_id, internal.group(1)))
        note = await self.inbox.relay(actor, conversation_id, text, channel_id, thread_ts)
        return Answer(note, refresh_home=note.ok)

    async def _internal_note(self, actor: Actor, conversation_id: int, text: str) -> Reply:
        """`note: ...` in an inbox thread stays with the team: a note on the contact's
        timeline, never relayed to the customer."""
        contact_id = await asyncio.to_thread(self._contact_of_conversation, conversation_id)
        if contact_id is None:
            return Reply("⚠ That conversation no longer exists; nothing was saved.", ok=False)
        if not text.strip():
            return Reply("⚠ Write the note after `note:`; nothing was sent to the customer.")
        # confirmed: a `yes` typed in this thread would go to the customer, so a thread
        # note never waits on the "logged twice?" question (Slack's own retries are deduped).
        reply = await self.dispatcher.handle_command(
            actor, cmd.LogActivity("note", f"#{contact_id}", text.strip(), confirmed=True)
        )
        if not reply.ok:
            return Reply(f"⚠ {reply.text.splitlines()[0]}", ok=False)
        return Reply("📝 Internal note saved on the timeline; not sent to the customer.")

    def _contact_of_conversation(self, conversation_id: int) -> int | None:
        with self.services.store.transaction() as session:
            conversation = session.get(Conversation, conversation_id)
            return conversation.contact_id if conversation else None


def command_for_action(action_id: str, value: str) -> cmd.Command | None:
    """The command behind a neutral action id (see bot/rep/render.py and the handlers)."""
    head, _, rest = value.strip().partition(" ")
    number = int(head.lstrip("#")) if head.lstrip("#").isdigit() else None
    if action_id == "show_contact" and value.strip():
        return cmd.ShowContact(value.strip())
    if number is None:
        if action_id == "inbox_need" and ":" in value:
            message_id, _, need = value.partition(":")
            return cmd.RetagMessage(int(message_id), need) if message_id.isdigit() else None
        return None
    builders: dict[str, Callable[[], cmd.Command]] = {
        "followup_done": lambda: cmd.CompleteFollowUp(number),
        "followup_snooze": lambda: cmd.SnoozeFollowUp(number, rest.strip() or "1h"),
        "followup_cancel": lambda: cmd.CancelFollowUp(number),
        "inbox_assign": lambda: cmd.AssignConversation(number, "me"),
        "inbox_close": lambda: cmd.CloseConversation(number),
    }
    builder = builders.get(action_id)
    return builder() if builder else None
