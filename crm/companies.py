"""Companies: found by case-folded name so "ACME" and "Acme" are one company."""

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from crm import audit
from crm.actors import Actor, require_rep
from crm.errors import Conflict, Invalid, NotFound
from crm.models import Company, Contact, Deal, Purchase, snapshot


def company_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def get_or_create_company(
    session: Session, *, actor: Actor, name: str | None, now: datetime
) -> Company | None:
    """The company called `name`, created (and audited) on first mention."""
    if name is None or not name.strip():
        return None
    clean = " ".join(name.split())
    if len(clean) > 200:
        raise Invalid("company", "That company name is longer than 200 characters.")
    key = company_key(clean)
    found = session.exec(select(Company).where(Company.name_key == key)).first()
    if found is not None:
        return found
    company = Company(name=clean, name_key=key, created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(company)
            session.flush()
    except IntegrityError:
        # Another worker created it between our look-up and insert: use theirs.
        return session.exec(select(Company).where(Company.name_key == key)).one()
    audit.record(
        session,
        actor=actor,
        action="company.create",
        entity_type="company",
        entity_id=company.id,
        at=now,
        after=snapshot(company),
    )
    return company


COMPANY_FIELDS = ("name", "domain")


def edit_company(
    session: Session, *, actor: Actor, company_id: int, field_name: str, value: str, now: datetime
) -> Company:
    """Renames a company or sets its domain; audited `company.update` so `undo` reverts it."""
    company = session.get(Company, company_id)
    if company is None:
        raise Invalid("company", f"There is no company {company_id}.")
    field_name = field_name.lower()
    if field_name not in COMPANY_FIELDS:
        raise Invalid("field", f"A company has a name and a domain, not '{field_name[:30]}'.")
    before = snapshot(company)
    clean = " ".join(value.split())
    if not clean or len(clean) > 200:
        raise Invalid(field_name, f"A company {field_name} is 1 to 200 characters.")
    if field_name == "name":
        key = company_key(clean)
        other = session.exec(select(Company).where(Company.name_key == key)).first()
        if other is not None and other.id != company.id:
            raise Invalid("name", f"There is already a company called {other.name}.")
        company.name, company.name_key = clean, key
    else:
        company.domain = clean.lower()
    company.updated_at = now
    session.add(company)
    audit.record(
        session,
        actor=actor,
        action="company.update",
        entity_type="company",
        entity_id=company.id,
        at=now,
        before=before,
        after=snapshot(company),
    )
    return company


def get_company(session: Session, company_id: int) -> Company:
    company = session.get(Company, company_id)
    if company is None:
        raise NotFound(f"There is no company #{company_id}.")
    return company


def company_uses(session: Session, company_id: int) -> dict[str, int]:
    """How many contacts, deals and purchases name the company (the rows a delete would
    silently unlink, since their foreign keys are ON DELETE SET NULL)."""
    counts: dict[str, int] = {}
    for label, model in (("contacts", Contact), ("deals", Deal), ("purchases", Purchase)):
        counts[label] = int(
            session.exec(
                select(func.count()).select_from(model).where(model.company_id == company_id)
            ).one()
        )
    return counts


def delete_company(session: Session, *, actor: Actor, company_id: int, now: datetime) -> Company:
    """Deletes a company nothing points at; audited whole (`company.delete`) so `undo`
    brings it back under the same id.

    There is no chat `delete company`; a company still named by contacts, deals or
    purchases is refused (Conflict, naming how many) rather than unlinking them, so a
    delete never quietly strips the company from a customer's history."""
    require_rep(actor)
    company = get_company(session, company_id)
    uses = {label: n for label, n in company_uses(session, company_id).items() if n}
    if uses:
        listed = ", ".join(f"{n} {label if n != 1 else label[:-1]}" for label, n in uses.items())
        raise Conflict(
            f"Company {company.name} still has {listed}; move or delete them first.",
            field="company_id",
        )
    before = snapshot(company)
    session.delete(company)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="company.delete",
        entity_type="company",
        entity_id=company_id,
        at=now,
        before=before,
    )
    return company
