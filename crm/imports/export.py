"""Export every record of a type as CSV (or .xlsx) that `rapport import` reads back whole.

Headers are the importer's own field names (so no alias guessing on the way back);
custom fields become "custom: <name>" columns; the record's Rapport id and the ids it
had elsewhere travel in `rapport_id` and `external_ids`, which is how deals and
activities find their contacts again in another Rapport. A cell a spreadsheet would run
as a formula (starting = + - @, tab or CR) gets a leading apostrophe, which the importer
removes again (OWASP's CSV injection advice). An .xlsx export holds the same strings, every
cell typed as text (crm.imports.xlsx).
"""

import csv
import re
from collections.abc import Callable, Iterator
from typing import IO, Any, TextIO

from sqlmodel import Session, col, select

from crm.actors import Actor, require_admin
from crm.db import Store
from crm.errors import CRMError
from crm.externalids import ids_of
from crm.imports.aliases import CUSTOM_PREFIX
from crm.imports.values import format_amount
from crm.models import Activity, Company, Contact, ContactPoint, Deal, Rep
from crm.purchases import Purchase

EXPORT_TYPES = ("contacts", "companies", "deals", "activities", "purchases")
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")
BATCH = 2000


def neutralise(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if _FORMULA.match(text) else text


COLUMNS = {
    "contacts": ["rapport_id", "name", "email", "phone", "company", "company_rapport_id",
                 "owner", "tags", "timezone", "created_at", "external_ids"],
    "companies": ["rapport_id", "name", "domain", "created_at", "external_ids"],
    "deals": ["rapport_id", "title", "amount", "currency", "stage", "status", "expected_close",
              "closed_at", "close_reason", "contact_rapport_id", "contact", "contact_email",
              "company_rapport_id", "company", "owner", "created_at", "external_ids"],
    "activities": ["rapport_id", "kind", "text", "occurred_at", "contact_rapport_id", "contact",
                   "contact_email", "deal_rapport_id", "owner", "external_ids"],
    "purchases": ["rapport_id", "order_reference", "occurred_at", "amount", "currency", "quantity",
                  "contact_rapport_id", "contact", "contact_email", "company_rapport_id",
                  "company", "deal_rapport_id", "external_ids"],
}  # fmt: skip
MODELS: dict[str, Any] = {"contacts": Contact, "companies": Company, "deals": Deal,
                          "activities": Activity, "purchases": Purchase}  # fmt: skip
ENTITY = {"contacts": "contact", "companies": "company", "deals": "deal",
          "activities": "activity", "purchases": "purchase"}  # fmt: skip


def _batches(session: Session, model: Any) -> Iterator[list[Any]]:
    last = 0
    while True:
        rows = session.exec(
            select(model).where(col(model.id) > last).order_by(col(model.id)).limit(BATCH)
        ).all()
        if not rows:
            return
        yield list(rows)
        last = rows[-1].id
        session.expunge_all()


def _custom_keys(session: Session, model: Any) -> list[str]:
    if not hasattr(model, "custom_fields"):  # purchases keep none
        return []
    keys: dict[str, None] = {}
    last = 0
    while True:
        rows = session.exec(
            select(model.id, model.custom_fields)
            .where(col(model.id) > last)
            .order_by(col(model.id))
            .limit(BATCH)
        ).all()
        if not rows:
            return list(keys)
        for _, custom in rows:
            keys.update(dict.fromkeys(custom or {}))
        last = rows[-1][0]


def export_records(store: Store, record_type: str, stream: TextIO, *, actor: Actor) -> int:
    """Writes every record of `record_type` to `stream` as CSV; returns how many."""
    writer = csv.writer(stream)
    return _export(store, record_type, actor, lambda rows: writer.writerows(map(_guarded, rows)))


def export_xlsx(store: Store, record_type: str, stream: IO[bytes], *, actor: Actor) -> int:
    """The same rows as `export_records`, as a one-sheet Excel workbook of string cells."""
    from crm.imports.xlsx import write_xlsx, xml_text

    def cells(rows: Iterator[list[str]]) -> Iterator[list[str]]:
        for row in rows:  # line breaks first, so a leading CR is guarded as CSV's is
            yield [neutralise(xml_text(value)) for value in row]

    return _export(
        store, record_type, actor, lambda rows: write_xlsx(cells(rows), stream, sheet=record_type)
    )


def _guarded(row: list[str]) -> list[str]:
    return [neutralise(value) for value in row]


def _export(
    store: Store,
    record_type: str,
    actor: Actor,
    sink: Callable[[Iterator[list[str]]], object],
) -> int:
    require_admin(actor, "export records")
    if record_type not in COLUMNS:
        raise CRMError(f"Export one of: {', '.join(EXPORT_TYPES)}.")
    counted = [0]
    with store.transaction() as session:
        sink(_rows(session, record_type, counted))
    return counted[0] - 1  # the header row is not a record


def _rows(session: Session, record_type: str, counted: list[int]) -> Iterator[list[str]]:
    """The header, then one row of strings per record, batch by batch (the sinks guard
    formulas)."""
    model = MODELS[record_type]
    reps = {r.id: (r.email or r.name) for r in session.exec(select(Rep))}
    keys = _custom_keys(session, model)
    counted[0] += 1
    yield COLUMNS[record_type] + [CUSTOM_PREFIX + k for k in keys]
    cells = ROW_WRITERS[record_type]
    for batch in _batches(session, model):
        ids = ids_of(session, entity_type=ENTITY[record_type], entity_ids=[r.id for r in batch])
        extra = _batch_extra(session, record_type, batch)
        for row in batch:
            base = cells(row, reps, extra)
            base["external_ids"] = "; ".join(ids.get(row.id, []))
            custom = getattr(row, "custom_fields", None) or {}
            values = [base.get(c, "") for c in COLUMNS[record_type]]
            values += [custom.get(k, "") for k in keys]
            counted[0] += 1
            yield ["" if v is None else str(v) for v in values]


def _batch_extra(session: Session, record_type: str, batch: list[Any]) -> dict[str, Any]:
    """Names, emails and phones the batch's rows refer to, in a few queries."""
    contact_ids: set[int] = set()
    company_ids: set[int] = set()
    for row in batch:
        if record_type == "contacts":
            contact_ids.add(row.id)
        if getattr(row, "contact_id", None):
            contact_ids.add(row.contact_id)
        if getattr(row, "company_id", None):
            company_ids.add(row.company_id)
    points: dict[int, dict[str, list[str]]] = {}
    for p in session.exec(
        select(ContactPoint)
        .where(col(ContactPoint.contact_id).in_(contact_ids))
        .order_by(col(ContactPoint.position), col(ContactPoint.id))
    ):
        points.setdefault(p.contact_id, {"email": [], "phone": []})[p.kind].append(p.value)
    names = dict(
        session.exec(select(Contact.id, Contact.name).where(col(Contact.id).in_(contact_ids))).all()
    )
    companies = dict(
        session.exec(select(Company.id, Company.name).where(col(Company.id).in_(company_ids))).all()
    )
    return {"points": points, "names": names, "companies": companies}


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


# rep id -> how the export names them; looked up with a row's optional rep id
RepNames = dict[int | None, str]


def _contact(row: Contact, reps: RepNames, extra: dict[str, Any]) -> dict[str, Any]:
    pts = extra["points"].get(row.id, {"email": [], "phone": []})
    return {
        "rapport_id": row.id, "name": row.name, "email": "; ".join(pts["email"]),
        "phone": "; ".join(pts["phone"]), "company": extra["companies"].get(row.company_id, ""),
        "company_rapport_id": row.company_id or "", "owner": reps.get(row.owner_id, ""),
        "tags": " ".join(f"#{t}" for t in row.tags or []), "timezone": row.timezone or "",
        "created_at": _iso(row.created_at),
    }  # fmt: skip


def _company(row: Company, reps: RepNames, extra: dict[str, Any]) -> dict[str, Any]:
    return {"rapport_id": row.id, "name": row.name, "domain": row.domain or "",
            "created_at": _iso(row.created_at)}  # fmt: skip


def _contact_refs(row: Any, extra: dict[str, Any]) -> dict[str, Any]:
    emails = extra["points"].get(row.contact_id, {"email": []})["email"]
    return {"contact_rapport_id": row.contact_id or "",
            "contact": extra["names"].get(row.contact_id, ""),
            "contact_email": emails[0] if emails else ""}  # fmt: skip


def _deal(row: Deal, reps: RepNames, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "rapport_id": row.id, "title": row.title,
        "amount": format_amount(row.amount_minor, row.currency), "currency": row.currency,
        "stage": row.stage, "status": row.status, "expected_close": _iso(row.expected_close),
        "closed_at": _iso(row.closed_at), "close_reason": row.close_reason or "",
        "company_rapport_id": row.company_id or "",
        "company": extra["companies"].get(row.company_id, ""),
        "owner": reps.get(row.owner_id, ""), "created_at": _iso(row.created_at),
    } | _contact_refs(row, extra)  # fmt: skip


def _activity(row: Activity, reps: RepNames, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "rapport_id": row.id, "kind": row.kind, "text": row.text,
        "occurred_at": _iso(row.occurred_at), "deal_rapport_id": row.deal_id or "",
        "owner": reps.get(row.rep_id, ""),
    } | _contact_refs(row, extra)  # fmt: skip


def _purchase(row: Purchase, reps: RepNames, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "rapport_id": row.id, "order_reference": row.reference or "",
        "occurred_at": _iso(row.purchased_at),
        "amount": format_amount(row.amount_minor, row.currency), "currency": row.currency,
        "quantity": row.quantity, "company_rapport_id": row.company_id or "",
        "company": extra["companies"].get(row.company_id, ""), "deal_rapport_id": row.deal_id or "",
    } | _contact_refs(row, extra)  # fmt: skip


ROW_WRITERS: dict[str, Callable[[Any, RepNames, dict[str, Any]], dict[str, Any]]] = {
    "purchases": _purchase,
    "contacts": _contact,
    "companies": _company,
    "deals": _deal,
    "activities": _activity,
}
