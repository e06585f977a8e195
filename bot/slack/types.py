"""The values the Slack glue passes around: who is asking, and what to answer.

Apart from bot/slack/bridge.py so that the form checks (bot/slack/forms.py) and the
bridge can both use them without importing each other.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from channels.base import Reply


class Person(Protocol):
    """A Slack user as the channel describes them (channels.slack.callbacks.Who)."""

    @property
    def user_id(self) -> str: ...

    @property
    def user_name(self) -> str: ...

    @property
    def channel_id(self) -> str | None: ...


@dataclass(frozen=True)
class Answer:
    reply: Reply | None = None
    errors: Mapping[str, str] = field(default_factory=dict)
    refresh_home: bool = False
    replace_original: bool = False
