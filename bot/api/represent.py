"""Rows -> API bodies, loading related rows in one query per kind (no N+1), and ETags."""

import hashlib
from collections import defaultdict
from collections.abc import Sequence

from pydantic import BaseModel
from sqlmodel import Session, col, select

from bot.api import schemas
from crm.externalids import rows_of
from crm.ids import id_of
from crm.models import Company, Contact, ContactPoint, Deal


def etag(body: BaseModel) -> str:
    """A strong ETag: the hash of the exact representation a client last saw."""
    return '"' + hashlib.sha256(body.model_dump_json().encode()).hexdigest()[:32] + '"'


def contacts(session: Session, rows: Sequence[Contact]) -> list[schemas.ContactOut]:
    ids = [r.id for r in rows]
    if not ids:
        return []
    points: dict[int, list[ContactPoint]] = defaultdict(list)
    for point in session.exec(
        select(ContactPoint)
        .where(col(ContactPoint.contact_id).in_(ids))
        .order_by(col(ContactPoint.position), col(ContactPoint.id))
    ):
        points[point.contact_id].append(point)
    company_ids = {r.company_id for r in rows if r.company_id}
    companies = (
        {
            c.id: c.name
            for c in session.exec(select(Company).where(col(Company.id).in_(company_ids)))
        }
        if company_ids
        else {}
    )
    refs: dict[int, list[schemas.ExternalId]] = defaultdict(list)
    for contact_id, found in rows_of(session, entity_type="contact", entity_ids=ids).items():
        refs[contact_id] = [
            schemas.ExternalId(system=ref.source, external_id=ref.external_id) for ref in found
        ]
    return [
        schemas.ContactOut(
            id=r.id,
            name=r.name,
            company_id=r.company_id,
            company=companies.get(r.company_id) if r.company_id else None,
            owner_id=r.owner_id,
            emails=[p.value for p in points[id_of(r)] if p.kind == "email"],
            phones=[p.value for p in points[id_of(r)] if p.kind == "phone"],
            tags=list(r.tags or []),
            timezone=r.timezone,
            opted_out=r.opted_out,
            custom_fields=dict(r.custom_fields or {}),
            external_ids=refs[id_of(r)],
            created_via=r.created_via,
            created_at=r.created_at,
            updated_at=r.updated_at,
            last_activity_at=r.last_activity_at,
        )
        for r in rows
    ]


def contact(session: Session, row: Contact) -> schemas.ContactOut:
    return contacts(session, [row])[0]


def deal(row: Deal) -> schemas.DealOut:
    return schemas.DealOut.model_validate(row, from_attributes=True)
