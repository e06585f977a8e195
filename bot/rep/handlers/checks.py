"""Checks shared by the handlers and the Slack forms: a due date that must lie ahead,
an amount in the business's currency, and the key that makes scheduling the same thing
twice a no-op.

They sit apart from any one handler module so that bot/slack/forms.py (which checks a
form's values with the handlers' own rules) imports no handler.
"""

import hashlib
from datetime import datetime, timedelta

from bot.context import HandlerContext
from bot.language.parsing import Amount, far_note, parse_when, typed_without_year
from bot.rep.render import when
from crm.errors import Invalid

JUST_PASSED = timedelta(days=31)  # a yearless day this recent is a slip, not next year


def dedupe_key(*parts: object) -> str:
    """A stable key so scheduling the same thing twice is a no-op."""
    raw = "|".join(str(p) for p in parts)
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def amount_in(amount: Amount | None, ctx: HandlerContext) -> tuple[int, str]:
    """(minor units, currency) of what the rep typed: the currency they named, else the
    business's (RAPPORT_CURRENCY), so `12k` in a euro business is €12,000. No amount: 0."""
    if amount is None:
        return 0, ctx.settings.default_currency
    try:
        return amount.minor(ctx.settings.default_currency)
    except ValueError as exc:
        raise Invalid("amount", str(exc)) from None


def when_or_invalid(text: str, ctx: HandlerContext) -> datetime:
    """The rep's date phrase read whole in their zone and date order; a past moment is
    refused with the reason (never rolled to another date)."""
    try:
        due = parse_when(
            text, tz=ctx.tz, now=ctx.now, dateorder=ctx.dateorder, after_lunch=ctx.after_lunch
        )
    except ValueError as exc:
        raise Invalid("when", str(exc)) from None
    if due <= ctx.now:
        raise Invalid(
            "when",
            f"{when(due, ctx.tz, ctx.now)} is in the past ('{text[:40]}'); pick a later time.",
        )
    passed = _just_passed(due, text, ctx.now)
    if passed is not None:
        raise Invalid(
            "when",
            f"{when(passed, ctx.tz, ctx.now)} has just passed. I won't guess that you mean "
            f"next year's: add the year ({due.year}) for that, or pick a later date.",
        )
    return due


def _just_passed(due: datetime, text: str, now: datetime) -> datetime | None:
    """This year's day, when `text` gave a day without a year that fell in the last
    JUST_PASSED and so was rolled to next year ("3 Dec" on 4 Dec is a slip, not a plan)."""
    if not typed_without_year(text):
        return None
    try:
        earlier = due.replace(year=due.year - 1)
    except ValueError:  # 29 February
        return None
    return earlier if now - JUST_PASSED <= earlier < now else None


def shown_when(due: datetime, ctx: HandlerContext) -> str:
    """A confirmation's date, with how far ahead it is when that is over a year."""
    return when(due, ctx.tz, ctx.now) + far_note(due, ctx.now)
