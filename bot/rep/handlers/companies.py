"""Companies as first-class things: the card, the list, edits, and being found."""

from datetime import datetime

from sqlmodel import Session

from bot.context import HandlerContext
from bot.language.commands import ListCompanies
from bot.rep.render import deal_line, when
from bot.rep.router import Router
from channels.base import Card, Reply
from crm import views
from crm.activities import timeline
from crm.companies import edit_company as edit_company_service
from crm.contacts import refresh_search_text
from crm.ids import id_of
from crm.models import Company
from crm.search import companies_matching


def company_line(session: Session, company: Company) -> str:
    people, deals = views.company_counts(session, id_of(company))
    domain = f" {company.domain}" if company.domain else ""
    return f"{company.name}{domain}: {people} contact(s), {deals} open deal(s)"


def company_card(session: Session, company: Company, *, tz: str, now: datetime) -> Card:
    people = views.company_people(session, id_of(company))
    deals = views.company_open_deals(session, id_of(company))
    recent = []
    for person in people:
        recent += [
            (entry.at, person.name, entry)
            for entry in timeline(session, contact_id=id_of(person), limit=5)
        ]
    recent.sort(key=lambda item: item[0], reverse=True)
    lines = [f"{when(at, tz, now)} {name} {e.kind}: {e.text[:60]}" for at, name, e in recent[:5]]
    fields = (
        ("Domain", company.domain or "-"),
        ("Contacts", "; ".join(f"#{p.id} {p.name}" for p in people) or "-"),
        ("Open deals", "; ".join(deal_line(d) for d in deals) or "-"),
        ("Recent", "\n".join(lines) or "nothing yet"),
    )
    return Card(title=f"{company.name} (company)", fields=fields)


def matching_companies(session: Session, query: str, limit: int = 5) -> list[Company]:
    return companies_matching(session, query, limit=limit)


def edit_company(
    ctx: HandlerContext, session: Session, company: Company, field: str, value: str
) -> Reply:
    before = company.name
    edit_company_service(
        session,
        actor=ctx.actor,
        company_id=id_of(company),
        field_name=field,
        value=value,
        now=ctx.now,
    )
    if field == "name":
        for person in views.company_people(session, id_of(company), limit=None):
            refresh_search_text(session, person)
            session.add(person)
    return Reply(
        f"Updated {field} of company {before}: now {company_line(session, company)}. "
        "`undo` puts it back.",
        cards=(company_card(session, company, tz=ctx.tz, now=ctx.now),),
    )


def companies(ctx: HandlerContext, session: Session, cmd: ListCompanies) -> Reply:
    rows = views.company_list(session, cmd.query or None)
    if not rows:
        return Reply("No companies yet. `add Jane Doe at Acme` creates one.")
    return Reply(
        "Companies:\n"
        + "\n".join(f"- {company_line(session, c)}" for c in rows)
        + "\n`show <company>` opens one."
    )


def register(router: Router) -> None:
    router.add(ListCompanies, companies)
