"""What the Slack app is handed: who is acting, and the callbacks into Rapport.

The channel may not import the bot or the CRM, so the contract is structural:
`bot/slack/bridge.py` implements `Callbacks` and returns objects shaped like
`Answer` without importing this module (the wiring passes it in).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from channels.base import Reply


@dataclass(frozen=True)
class Who:
    """The Slack user behind a request, and where they were when they asked."""

    user_id: str
    user_name: str = ""
    team_id: str | None = None
    channel_id: str | None = None


class Answer(Protocol):
    """What Rapport says back: a reply, field errors for a form, and what to refresh."""

    @property
    def reply(self) -> Reply | None: ...

    @property
    def errors(self) -> Mapping[str, str]: ...

    @property
    def refresh_home(self) -> bool: ...

    @property
    def replace_original(self) -> bool: ...


HomeSection = tuple[str, Sequence[Reply]]


class Callbacks(Protocol):
    async def first_delivery(self, event_id: str) -> bool:
        """False when this Events API event id was already processed (a Slack retry)."""
        ...

    async def command(self, who: Who, text: str) -> Answer: ...

    async def action(self, who: Who, action_id: str, value: str) -> Answer: ...

    async def contact_label(self, ref: str) -> str | None:
        """`#12` -> "Jane Doe (#12)" for prefilling a contact select; None if gone."""
        ...

    async def search_contacts(self, query: str) -> list[tuple[str, str]]:
        """(label, value) options for the contact external select."""
        ...

    async def submit(
        self, who: Who, form: str, values: Mapping[str, str], meta: Mapping[str, str]
    ) -> Answer: ...

    async def home(self, who: Who) -> Sequence[HomeSection]: ...

    async def import_file(
        self, who: Who, name: str, data: bytes, file_id: str, *, confirm: bool
    ) -> Answer:
        """A file shared in the DM: the dry-run report (confirm=False) or the import."""
        ...

    async def thread_reply(
        self, who: Who, channel_id: str, thread_ts: str, text: str
    ) -> Answer | None:
        """A rep wrote in a thread; an Answer if it was an inbox thread, else None."""
        ...
