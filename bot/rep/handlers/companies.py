"""Companies as first-class things: the card, the list, edits, and being found."""

from sqlmodel import Session, col, func, select

from bot.context import HandlerContext
from bot.language.commands import ListCompanies
from bot.rep.render import deal_line, when
from bot.rep.router import Router
from channels.base import Card, Reply
from crm.activities import timeline
from crm.companies import edit_company as edit_company_service
from crm.contacts import refresh_search_text
from crm.models import Company, Contact, Deal
from crm.references import fold


def _counts(session: Session, company: Company) -> tuple[int, int]:
    people = session.exec(select(func.count()).where(Contact.company_id == company.id)).one()
    deals = session.exec(
        select(func.count()).where(Deal.company_id == company.id, Deal.status == "open")
    ).one()
    return int(people), int(deals)


def company_line(session: Session, company: Company) -> str:
    people, deals = _counts(session, company)
    domain = f" {company.domain}" if company.domain else ""
    return f"{company.name}{domain}: {people} contact(s), {deals} open deal(s)"


def company_card(session: Session, company: Company, *, tz: str, now) -> Card:  # type: ignore[no-untyped-def]
    people = session.exec(
        select(Contact).where(Contact.company_id == company.id).order_by(col(Contact.id)).limit(10)
    ).all()
    deals = session.exec(
        select(Deal)
        .where(Deal.company_id == company.id, Deal.status == "open")
        .order_by(col(Deal.id))
    ).all()
    recent = []
    for person in people:
        recent += [
            (entry.at, person.name, entry)
            for entry in timeline(session, contact_id=person.id, limit=5)
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
    words = fold(query).split()
    if not words:
        return []
    rows = session.exec(
        select(Company).where(*[col(Company.name_key).contains(w) for w in words]).limit(limit)
    ).all()
    return list(rows)


def edit_company(
    ctx: HandlerContext, session: Session, company: Company, field: str, value: str
) -> Reply:
    before = company.name
    edit_company_service(
        session, actor=ctx.actor, company_id=company.id, field_name=field, value=value, now=ctx.now
    )
    if field == "name":
        for person in session.exec(select(Contact).where(Contact.company_id == company.id)):
            refresh_search_text(session, person)
            session.add(person)
    return Reply(
        f"Updated {field} of company {before}: now {company_line(session, company)}. "
        "`undo` puts it back.",
        cards=(company_card(session, company, tz=ctx.tz, now=ctx.now),),
    )


def companies(ctx: HandlerContext, session: Session, cmd: ListCompanies) -> Reply:
    statement = select(Company).order_by(col(Company.name_key)).limit(30)
    if cmd.query:
        statement = statement.where(col(Company.name_key).contains(fold(cmd.query)))
    rows = session.exec(statement).all()
    if not rows:
        return Reply("No companies yet. `add Jane Doe at Acme` creates one.")
    return Reply(
        "Companies:\n"
        + "\n".join(f"- {company_line(session, c)}" for c in rows)
        + "\n`show <company>` opens one."
    )


def register(router: Router) -> None:
    router.add(ListCompanies, companies)
