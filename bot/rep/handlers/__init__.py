"""Handler modules, registered explicitly (no import-time discovery)."""

from bot.rep.dispatcher import Router
from bot.rep.handlers import (
    activities,
    companies,
    contacts,
    corrections,
    deals,
    followups,
    inbox,
    misc,
    reports,
)


def register_all(router: Router) -> Router:
    for module in (contacts, activities, deals, followups, inbox, misc, reports, companies,
                   corrections):  # fmt: skip
        module.register(router)
    return router


def build_router() -> Router:
    return register_all(Router())
