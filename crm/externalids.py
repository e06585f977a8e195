"""External ids: the id a record had in the system it was imported from.

A row `(source, entity_type, external_id) -> entity_id` lets a re-run of the same import
update the record it created instead of duplicating it, and lets a deal or activity
file point at a contact by the id the other CRM gave it (`AccountId`, `Person - ID`).
A table rather than a column because one record can carry ids from several sources
(a contact moved from HubSpot, later matched by a Pipedrive file).
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from crm.db import UTCDateTime

ENTITY_TYPES = ("contact", "company", "deal", "activity", "purchase")


class ExternalId(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("source", "entity_type", "external_id", name="uq_externalid_key"),
        Index("ix_externalid_entity", "entity_type", "entity_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)  # "hubspot", "salesforce", "rapport", "file"...
    entity_type: str = Field(max_length=16)
    external_id: str = Field(max_length=128)
    entity_id: int
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


def lookup(
    session: Session, *, source: str, entity_type: str, external_ids: Iterable[str]
) -> dict[str, int]:
    """external id -> entity id, for the ids of one batch (one query)."""
    wanted = sorted(set(external_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):  # keep IN lists well under driver limits
        chunk = wanted[start : start + 500]
        rows = session.exec(
            select(ExternalId.external_id, ExternalId.entity_id).where(
                ExternalId.source == source,
                ExternalId.entity_type == entity_type,
                col(ExternalId.external_id).in_(chunk),
            )
        )
        found.update({ext: entity for ext, entity in rows})
    return found


def ids_of(
    session: Session, *, entity_type: str, entity_ids: Iterable[int]
) -> dict[int, list[str]]:
    """entity id -> ["source:external id", ...], for export."""
    wanted = sorted(set(entity_ids))
    out: dict[int, list[str]] = {}
    for start in range(0, len(wanted), 500):
        rows = session.exec(
            select(ExternalId)
            .where(
                ExternalId.entity_type == entity_type,
                col(ExternalId.entity_id).in_(wanted[start : start + 500]),
            )
            .order_by(col(ExternalId.id))
        )
        for row in rows:
            out.setdefault(row.entity_id, []).append(f"{row.source}:{row.external_id}")
    return out
