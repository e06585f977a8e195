"""Open questions to a rep: "Which one?" picks and "Are you sure?" confirmations.

A question answers only the very next message in the chat it was asked in: the next
message takes it off the table whatever it says (any other command drops it), it
expires after TTL, and it lives only in this process's memory, so a restart never
finishes a command the rep typed before it. A bare number that no longer answers a
question is told so instead of being run as something else.
"""

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.language.commands import Command

TTL = timedelta(minutes=5)
SHOWN = 5  # candidates listed (and numbered) in a pick
YES = frozenset({"yes", "y", "yes please", "confirm", "ok", "sure", "do it"})
NO = frozenset({"no", "n", "cancel", "stop", "nope", "abort"})
VERBS = frozenset({"cancel"})  # a no-word that is also a rep verb runs as the verb
BARE_NUMBER = re.compile(r"^\s*(\d{1,3})\s*\.?\s*$")
ID_ANSWER = re.compile(r"^\s*#(\d{1,12})\s*$")

Key = tuple[str, str, str]  # (actor label, channel, chat id)


@dataclass(frozen=True)
class Pick:
    """A command that stopped at an ambiguous reference, waiting for `1`..`n` or `#id`."""

    text: str
    ref: str
    ids: tuple[int, ...]
    asked_at: datetime


@dataclass(frozen=True)
class Confirm:
    """A destructive command, resolved to ids, waiting for `yes`."""

    command: Command
    asked_at: datetime
    what: str = "that"


Question = Pick | Confirm


@dataclass
class Answer:
    """What the next message turned out to be, with regard to an open question."""

    text: str | None = None  # the text to run instead (a pick resolved to a command)
    command: Command | None = None  # a confirmed command to run
    reply: str | None = None  # something to say instead of running anything
    keep: Question | None = None  # the question stays open (an out-of-range pick)


@dataclass
class Picks:
    """The open questions, one per (actor, chat)."""

    ttl: timedelta = TTL
    _open: dict[Key, Question] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def key(actor: Any, address: Any) -> Key:
        channel = getattr(address, "channel", None) or actor.channel or "none"
        chat = getattr(address, "chat_id", None) or ""
        return (f"{actor.kind}:{actor.id}", channel, chat)

    def ask(self, key: Key, question: Question) -> None:
        with self._lock:
            self._open[key] = question

    def take(self, key: Key) -> Question | None:
        with self._lock:
            return self._open.pop(key, None)

    def answer(self, key: Key, text: str, now: datetime) -> Answer:
        """Takes the open question off the table and says what `text` is to it."""
        question = self.take(key)
        stripped = text.strip()
        number = BARE_NUMBER.match(stripped)
        chosen_id = ID_ANSWER.match(stripped)
        if question is not None and now - question.asked_at > self.ttl:
            if number or stripped.lower() in YES | NO:
                minutes = int(self.ttl.total_seconds() // 60)
                return Answer(
                    reply=f"That question expired (I wait {minutes} minutes), so nothing was "
                    "done. Type the command again."
                )
            return Answer(text=text)
        if isinstance(question, Pick):
            if chosen_id:
                return Answer(text=_replace_ref(question, f"#{chosen_id[1]}"))
            if number:
                index = int(number[1]) - 1
                shown = min(len(question.ids), SHOWN)
                if 0 <= index < shown:
                    return Answer(text=_replace_ref(question, f"#{question.ids[index]}"))
                return Answer(
                    reply=f"Pick a number from 1 to {shown}, or use the #id. Nothing was done yet.",
                    keep=question,
                )
            if _word(stripped) in NO:
                return Answer(reply="Cancelled: nothing was done.")
            return Answer(text=text)
        if isinstance(question, Confirm):
            word = _word(stripped)
            if word in YES:
                return Answer(command=question.command)
            if word in NO:
                return Answer(reply=f"Cancelled: {question.what} was not done.")
            return Answer(text=text)
        if number or _word(stripped) in YES | (NO - VERBS):
            return Answer(
                reply=f"'{stripped[:10]}' doesn't answer anything: there is no open question "
                "(a question lasts for the next message only). Nothing was done."
            )
        return Answer(text=text)


def _word(text: str) -> str:
    return text.lower().rstrip(".!")


def _replace_ref(pick: Pick, ref: str) -> str:
    if pick.ref and pick.ref in pick.text:
        return pick.text.replace(pick.ref, ref, 1)
    return pick.text
