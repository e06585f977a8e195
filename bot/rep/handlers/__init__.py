"""Handler modules, registered explicitly (no import-time discovery)."""

from bot.rep.handlers import (
    activities,
    companies,
    contacts,
    corrections,
    deals,
    followups,
    inbox,
    misc,
    purchases,
    reports,
    team,
)
from bot.rep.router import Router


def register_all(router: Router) -> Router:
    for module in (contacts, activities, deals, followups, inbox, misc, reports, purchases,
                   companies, corrections, team):  # fmt: skip
        module.register(router)
    return router


def build_router() -> Router:
    return register_all(Router())
