"""External ids: the id a record has in another system, one table for import and the API.

A row `(source, entity_type, external_id) -> entity_id` lets a re-run of the same import
update the record it created instead of duplicating it, lets a deal or activity file
point at a contact by the id the other CRM gave it (`AccountId`, `Person - ID`), and is
what the REST API's bulk upsert matches on (its `system` is this table's `source`). So a
contact imported from a HubSpot file (`source="hubspot"`) is found by
`POST /contacts/bulk {"system": "hubspot"}` by the same Record ID, and the other way
round. A table rather than a column because one record can carry ids from several
sources (a contact moved from HubSpot, later matched by a Pipedrive file).

Sources are stored lower-cased ("HubSpot" and "hubspot" are one system). The entity is a
(type, id) pair rather than a foreign key because five tables are pointed at; the rows of
a contact follow it through the services instead of a cascade: `merge_contacts` moves
them, the trash keeps them in its payload and a restore puts them back, an erasure and a
hard delete remove them (`forget`). Ids are never reused (crm.ids, AUTOINCREMENT on
SQLite), so a row left behind by a deleted deal can never name a stranger; the importer
replaces such a row when it meets its id again.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Index, UniqueConstraint, delete, update
from sqlmodel import Field, Session, SQLModel, col, select

from crm.db import UTCDateTime

ENTITY_TYPES = ("contact", "company", "deal", "activity", "purchase")
SOURCE_MAX = 64
EXTERNAL_ID_MAX = 200
_CHUNK = 500  # keep IN lists well under driver limits


class ExternalId(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("source", "entity_type", "external_id", name="uq_externalid_key"),
        Index("ix_externalid_entity", "entity_type", "entity_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=SOURCE_MAX)  # "hubspot", "salesforce", "billing"...
    entity_type: str = Field(max_length=16)
    external_id: str = Field(max_length=EXTERNAL_ID_MAX)
    entity_id: int
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


def clean_source(source: str) -> str:
    return source.strip().lower()[:SOURCE_MAX]


def lookup(
    session: Session, *, source: str, entity_type: str, external_ids: Iterable[str]
) -> dict[str, int]:
    """external id -> entity id, for the ids of one batch (one query per 500)."""
    wanted = sorted(set(external_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = session.exec(
            select(ExternalId.external_id, ExternalId.entity_id).where(
                ExternalId.source == clean_source(source),
                ExternalId.entity_type == entity_type,
                col(ExternalId.external_id).in_(wanted[start : start + _CHUNK]),
            )
        )
        found.update({ext: entity for ext, entity in rows})
    return found


def find(session: Session, *, source: str, entity_type: str, external_id: str) -> ExternalId | None:
    return session.exec(
        select(ExternalId).where(
            ExternalId.source == clean_source(source),
            ExternalId.entity_type == entity_type,
            ExternalId.external_id == external_id,
        )
    ).first()


def rows_of(
    session: Session, *, entity_type: str, entity_ids: Iterable[int | None]
) -> dict[int, list[ExternalId]]:
    """entity id -> its rows, oldest first."""
    wanted = sorted({i for i in entity_ids if i is not None})
    out: dict[int, list[ExternalId]] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = session.exec(
            select(ExternalId)
            .where(
                ExternalId.entity_type == entity_type,
                col(ExternalId.entity_id).in_(wanted[start : start + _CHUNK]),
            )
            .order_by(col(ExternalId.id))
        )
        for row in rows:
            out.setdefault(row.entity_id, []).append(row)
    return out


def ids_of(
    session: Session, *, entity_type: str, entity_ids: Iterable[int | None]
) -> dict[int, list[str]]:
    """entity id -> ["source:external id", ...], for export."""
    return {
        entity_id: [f"{r.source}:{r.external_id}" for r in rows]
        for entity_id, rows in rows_of(
            session, entity_type=entity_type, entity_ids=entity_ids
        ).items()
    }


def move(session: Session, *, entity_type: str, source_id: int, target_id: int) -> int:
    """A merge: the source record's ids now name the target. Returns how many moved."""
    result = _run(
        session,
        update(ExternalId)
        .where(col(ExternalId.entity_type) == entity_type, col(ExternalId.entity_id) == source_id)
        .values(entity_id=target_id),
    )
    return result.rowcount or 0


def forget(session: Session, *, entity_type: str, entity_ids: Iterable[int | None]) -> int:
    """Deletes the ids of records that are gone (erased, deleted for good)."""
    wanted = sorted({i for i in entity_ids if i is not None})
    count = 0
    for start in range(0, len(wanted), _CHUNK):
        result = _run(
            session,
            delete(ExternalId).where(
                col(ExternalId.entity_type) == entity_type,
                col(ExternalId.entity_id).in_(wanted[start : start + _CHUNK]),
            ),
        )
        count += result.rowcount or 0
    return count


def _run(session: Session, statement: Any) -> CursorResult[Any]:
    return cast(CursorResult[Any], session.execute(statement))


def take_out(session: Session, *, entity_type: str, entity_id: int) -> list[dict[str, Any]]:
    """For the trash: the record's ids as JSON-safe dicts, deleted from the table (so an
    upsert does not find a contact that is in the trash). `put_back` restores them."""
    rows = rows_of(session, entity_type=entity_type, entity_ids=[entity_id]).get(entity_id, [])
    out = [
        {"id": r.id, "source": r.source, "external_id": r.external_id,
         "created_at": r.created_at.isoformat()}
        for r in rows
    ]  # fmt: skip
    forget(session, entity_type=entity_type, entity_ids=[entity_id])
    return out


def put_back(
    session: Session, *, entity_type: str, entity_id: int, saved: list[dict[str, Any]]
) -> int:
    """Restores what `take_out` saved under the same ids (an IntegrityError if one of
    them was taken by another record meanwhile: the caller refuses the restore)."""
    for item in saved:
        session.add(
            ExternalId(
                id=item["id"],
                source=item["source"],
                entity_type=entity_type,
                external_id=item["external_id"],
                entity_id=entity_id,
                created_at=datetime.fromisoformat(item["created_at"]),
            )
        )
    session.flush()
    return len(saved)
