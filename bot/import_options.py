"""The import options a team's settings imply, shared by `rapport import` and Slack's
file import so both read a file the same way: phone region, currency, pipeline stages,
the team's time zone for naive dates, and its date order for numeric ones."""

from typing import Any

from bot.language.parsing import default_dateorder
from bot.settings import Settings
from crm.imports import ImportOptions


def team_dateorder(settings: Settings) -> str:
    """RAPPORT_DATE_ORDER, else the order the team's time zone writes dates in."""
    return settings.date_order or default_dateorder(settings.timezone)


def import_options(settings: Settings, **chosen: Any) -> ImportOptions:
    """ImportOptions from the team's settings; `chosen` (the command's flags) wins,
    except that a flag left unset (None) keeps the team's value."""
    team: dict[str, Any] = {
        "region": settings.default_phone_region,
        "default_currency": settings.default_currency,
        "stages": [s for s, _ in settings.stages],
        "timezone": settings.timezone,
        "dateorder": team_dateorder(settings),
    }
    team.update({k: val for k, val in chosen.items() if val is not None})
    return ImportOptions(**team)
