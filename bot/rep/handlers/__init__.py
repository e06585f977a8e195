"""Handler modules, registered explicitly (no import-time discovery)."""

from bot.rep.dispatcher import Router
from bot.rep.handlers import activities, contacts, deals, followups, inbox, misc, reports, team


def register_all(router: Router) -> Router:
    for module in (contacts, activities, deals, followups, inbox, misc, reports, team):
        module.register(router)
    return router


def build_router() -> Router:
    return register_all(Router())
