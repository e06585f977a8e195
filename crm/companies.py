"""Companies: found by case-folded name so "ACME" and "Acme" are one company."""

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from crm import audit
from crm.actors import Actor
from crm.errors import Invalid
from crm.models import Company, snapshot


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
