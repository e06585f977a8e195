"""Acknowledgements a customer gets at once, one per need, in the customer's language.

The texts live in `bot/customer/locales/<code>.json` (see bot/customer/texts.py for the
fallbacks and how `RAPPORT_ACKS_FILE` overrides them). Placeholders: {name}, {business},
{hours}, {next_open}.

A specific acknowledgement promises an action ("we'll get that started"); when the need
is not confident enough the desk asks for NEUTRAL ("thanks, a person will answer
shortly") instead, so a guess is never presented to the customer as a decision.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.customer.texts import CustomerTexts
from bot.settings import Settings
from channels.base import Reply
from crm.hours import Hours
from crm.needs.labels import DEFAULT_NEEDS

logger = logging.getLogger(__name__)

NEUTRAL = "neutral"
ACK_KEYS = frozenset({*DEFAULT_NEEDS, "attachment", "unknown", NEUTRAL})


@dataclass
class Acknowledgements:
    texts: CustomerTexts
    business: str
    hours_text: str
    timezone: str
    hours: Hours | None = field(default=None)

    @property
    def default_language(self) -> str:
        return self.texts.default_language

    @classmethod
    def default(cls, settings: Settings, overrides_file: Path | None = None) -> "Acknowledgements":
        path = overrides_file or getattr(settings, "acks_file", None)
        texts = CustomerTexts.load(
            Path(path) if path else None, getattr(settings, "default_language", "en")
        )
        hours = settings.business_hours  # parsed (and refused if bad) at start-up
        return cls(texts, settings.business_name, hours.text, settings.timezone, hours)

    def next_open_text(self, now: datetime, language: str | None = None) -> str:
        if self.hours is None or self.hours.is_open(now, self.timezone):
            return self.texts.get(language, "next_open_shortly")
        opening = self.hours.next_open(now, self.timezone)
        return self.texts.get(
            language,
            "next_open_at",
            day=self.texts.weekday(language, opening.weekday()),
            time=opening.strftime("%H:%M"),
            timezone=self.timezone,
        )

    def render(
        self,
        need: str | None,
        *,
        name: str,
        now: datetime,
        kind: str = "text",
        language: str | None = None,
    ) -> Reply:
        known = need in ACK_KEYS or (need is not None and self.texts.has(need))
        key = need if known and need else ("attachment" if kind != "text" else "unknown")
        first_name = (name or "there").split()[0]
        text = self.texts.get(
            language,
            key,
            name=first_name,
            business=self.business,
            hours=self.hours_text,
            next_open=self.next_open_text(now, language),
        )
        return Reply(text)
