"""Acknowledgements a customer gets at once, one template per need.

Defaults are below; a team overrides any of them with a JSON file named by
`RAPPORT_ACKS_FILE` (`{"pricing": "Thanks {name}! ..."}`). Placeholders:
{name}, {business}, {hours}, {next_open}.
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.settings import Settings
from channels.base import Reply
from crm.hours import Hours

logger = logging.getLogger(__name__)

DEFAULT_TEMPLATES: dict[str, str] = {
    "pricing": "Thanks {name}! A member of our team will send you prices shortly.",
    "purchase": "Great, {name}! We'll get that started and a member of our team will confirm.",
    "order_status": (
        "Thanks {name}, we'll check on your order. If you have it, please send the order number."
    ),
    "technical_support": (
        "Sorry about the trouble, {name}. Support is on it; details like error messages or "
        "screenshots help us fix it faster."
    ),
    "billing": "Thanks {name}, our billing team will look into this and get back to you.",
    "refund": "Thanks {name}, we've got your refund request and will reply with the next steps.",
    "cancellation": (
        "We've got your request, {name}. Someone will confirm the cancellation with you shortly."
    ),
    "complaint": (
        "We're sorry to hear this, {name}. Your message has gone straight to our team, "
        "and a person will get back to you."
    ),
    "feedback": "Thank you for the feedback, {name}! We've passed it on to the team.",
    "account": "Thanks {name}, we'll help with your account. Please never send us your password.",
    "human_agent": (
        "Of course, {name}: a person from {business} will reply {next_open} (our hours: {hours})."
    ),
    "greeting": "Hello {name}! How can we help you today?",
    "other": (
        "Thanks for your message, {name}. We can help with prices, orders, deliveries, "
        "billing, refunds, your account and technical problems. A person will read this too."
    ),
    "attachment": "Thanks {name}, we've received your file and a member of the team will look.",
    "unknown": "Thanks {name}, we've got your message and a member of the team will reply soon.",
}


@dataclass
class Acknowledgements:
    templates: dict[str, str]
    business: str
    hours_text: str
    timezone: str
    hours: Hours | None = field(default=None)

    @classmethod
    def default(cls, settings: Settings, overrides_file: Path | None = None) -> "Acknowledgements":
        templates = dict(DEFAULT_TEMPLATES)
        path = overrides_file or getattr(settings, "acks_file", None)
        if path:
            templates.update(load_overrides(Path(path)))
        hours = settings.business_hours  # parsed (and refused if bad) at start-up
        return cls(templates, settings.business_name, hours.text, settings.timezone, hours)

    def next_open_text(self, now: datetime) -> str:
        if self.hours is None or self.hours.is_open(now, self.timezone):
            return "shortly"
        opening = self.hours.next_open(now, self.timezone)
        return opening.strftime("%A from %H:%M") + f" ({self.timezone})"

    def render(self, need: str | None, *, name: str, now: datetime, kind: str = "text") -> Reply:
        key = need if need in self.templates else ("attachment" if kind != "text" else "unknown")
        first_name = (name or "there").split()[0]
        text = self.templates[key].format(
            name=first_name,
            business=self.business,
            hours=self.hours_text,
            next_open=self.next_open_text(now),
        )
        return Reply(text)


def load_overrides(path: Path) -> dict[str, str]:
    """Reads a team's templates; a bad file is reported and ignored, never fatal."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        logger.warning("acknowledgement templates not loaded path=%s error=%s", path, exc)
        return {}
    if not isinstance(data, dict):
        logger.warning("acknowledgement templates must be a JSON object path=%s", path)
        return {}
    return {str(k): str(v) for k, v in data.items()}
