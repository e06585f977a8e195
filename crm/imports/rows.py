"""One CSV record -> an `ImportRow`: the Rapport fields it gives and its custom fields.

Also the shared look-ups every importer needs for a batch (reps by email or name,
companies by name or external id, contacts by external id, email or name), cached for
the whole import because an export names the same few owners and companies over and
over.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from crm.actors import Actor
from crm.companies import company_key
from crm.externalids import EXTERNAL_ID_MAX, ExternalId, clean_source, lookup
from crm.imports import values as v
from crm.imports.aliases import COLUMN_FIELDS, MULTI_FIELDS
from crm.imports.mapping import Mapping
from crm.imports.report import ImportReport
from crm.models import AuditLog, Company, Contact, ContactPoint, Rep, snapshot, table_of

_NEUTRALISED = re.compile(r"^'+[=+\-@\t\r]")


@dataclass
class ImportRow:
    line: int
    values: dict[str, str]  # field -> cell (several columns of a multi field joined by "\n")
    custom: dict[str, str]

    def get(self, name: str) -> str:
        return self.values.get(name, "")


def unneutralise(cell: str) -> str:
    """Undo an export's formula guard ("'=x" -> "=x"), see crm.imports.export."""
    return cell[1:] if _NEUTRALISED.match(cell) else cell


def to_row(mapping: Mapping, line: int, cells: list[str]) -> ImportRow | None:
    """None for a blank row; cells beyond the header become "column N" custom fields."""
    values: dict[str, str] = {}
    custom: dict[str, str] = {}
    stored = COLUMN_FIELDS[mapping.record_type]
    columns = mapping.columns
    for index, raw in enumerate(cells):
        cell = unneutralise(raw.strip())
        if not cell:
            continue
        column = columns[index] if index < len(columns) else None
        if column is None:
            custom[f"column {index + 1}"] = cell
        elif column.field is None:
            if column.custom is not None:
                custom[column.custom] = cell
        elif column.field not in stored:
            custom[column.field] = cell
        elif column.field in MULTI_FIELDS and column.field in values:
            values[column.field] += "\n" + cell
        else:
            values[column.field] = cell
    if not values and not custom:
        return None
    return ImportRow(line, values, custom)


@dataclass
class Context:
    """Everything an importer needs for one import run."""

    session: Session
    actor: Actor
    now: datetime
    mapping: Mapping
    report: ImportReport
    region: str = "US"
    default_currency: str = "USD"
    timezone: str = "UTC"
    dateorder: str = "MDY"
    stages: list[str] = field(default_factory=list)
    _reps: dict[str, int | None] = field(default_factory=dict)
    _companies: dict[str, int] = field(default_factory=dict)
    company_names: dict[int, str] = field(default_factory=dict)
    company_refs: dict[str, int] = field(default_factory=dict)  # this batch's, see contacts
    _audits: list[dict[str, Any]] = field(default_factory=list)
    _externals: list[dict[str, Any]] = field(default_factory=list)

    @property
    def source(self) -> str:
        return self.mapping.source

    def audit(
        self, action: str, entity_type: str, row: Any, before: dict[str, Any] | None = None
    ) -> None:
        """Queues an audit row for an ORM record (written with the batch, see flush)."""
        self.audit_raw(action, entity_type, row.id, snapshot(row), before)

    def audit_raw(
        self,
        action: str,
        entity_type: str,
        entity_id: int | None,
        after: dict[str, Any] | None,
        before: dict[str, Any] | None = None,
    ) -> None:
        self._audits.append(
            {"actor": self.actor.label, "action": action, "entity_type": entity_type,
             "entity_id": entity_id, "before": _json(before), "after": _json(after),
             "channel": self.actor.channel, "at": self.now}
        )  # fmt: skip

    def flush(self) -> None:
        """Writes the batch's queued audit rows and external ids in multi-row inserts
        (building one ORM object per row costs more than the whole insert)."""
        self.session.flush()
        if self._audits:
            self.session.execute(insert(table_of(AuditLog)), self._audits)
            self._audits = []
        if self._externals:
            fresh = self._unseen_externals()
            self._drop_dangling(fresh)
            if fresh:
                self.session.execute(insert(table_of(ExternalId)), fresh)
            self._externals = []

    def _drop_dangling(self, fresh: list[dict[str, Any]]) -> None:
        """An own-source id queued here was looked up and not matched to a live record, so
        any row it still has points at a deleted one: replace it (the unique key would
        otherwise fail the batch)."""
        table = table_of(ExternalId)
        by_type: dict[str, list[str]] = {}
        for e in fresh:
            if e["source"] == self.source:
                by_type.setdefault(e["entity_type"], []).append(e["external_id"])
        for entity_type, ids in by_type.items():
            for start in range(0, len(ids), 500):
                self.session.execute(
                    delete(table).where(
                        table.c.source == self.source,
                        table.c.entity_type == entity_type,
                        table.c.external_id.in_(ids[start : start + 500]),
                    )
                )

    def _unseen_externals(self) -> list[dict[str, Any]]:
        """The queued ids not stored yet. Own-source ids were looked up with the batch;
        the "source:id" pairs an export carries are looked up here, one query per
        (source, type) for the whole batch."""
        unique = {(e["source"], e["entity_type"], e["external_id"]): e for e in self._externals}
        foreign: dict[tuple[str, str], list[str]] = {}
        for source, entity_type, ext in unique:
            if source != self.source:
                foreign.setdefault((source, entity_type), []).append(ext)
        for (source, entity_type), exts in foreign.items():
            known = lookup(self.session, source=source, entity_type=entity_type, external_ids=exts)
            for ext in known:
                unique.pop((source, entity_type, ext), None)
        return list(unique.values())

    def when(self, text: str, line: int) -> datetime:
        """A date cell read in the run's zone and date order; a numeric date that only
        the order decided, or that only the other order can read, is counted on the
        report, so a file written the other way round is noticed, not silently misread."""
        reading = v.read_datetime(text, tz=self.timezone, dateorder=self.dateorder)
        if reading.ambiguous:
            self.report.date_order_decided(text.strip())
        if reading.against_order:
            self.report.date_against_order(line, text.strip())
        return reading.value

    def owner_id(self, text: str, line: int) -> int | None:
        """A rep matched by email or (case-insensitive) name; unknown: None, reported."""
        key = text.strip().casefold()
        if not key:
            return None
        if key not in self._reps:
            self._reps[key] = self._find_rep(key)
        found = self._reps[key]
        if found is None:
            self.report.unknown_owners[text.strip()[:80]] += 1
        return found

    def _find_rep(self, key: str) -> int | None:
        reps = self.session.exec(select(Rep)).all()
        for rep in reps:
            if (rep.email or "").casefold() == key:
                return rep.id
        named = [r for r in reps if r.name.casefold() == key]
        return named[0].id if len(named) == 1 else None

    def company_id(self, name: str) -> int | None:
        """The company called `name`, created (and audited) the first time it is named."""
        clean = " ".join(name.split())[:200]
        if not clean:
            return None
        key = company_key(clean)
        if key in self._companies:
            return self._companies[key]
        found = self.session.exec(select(Company).where(Company.name_key == key)).first()
        if found is None:
            found = Company(name=clean, name_key=key, created_at=self.now, updated_at=self.now)
            self.session.add(found)
            self.session.flush()
            self.audit("company.create", "company", found)
        self.remember_company(found)
        return found.id

    def prefetch_companies(self, names: list[str]) -> None:
        """Finds or creates every company a batch names in two statements, so a file
        naming thousands of companies costs no query per row."""
        wanted: dict[str, str] = {}
        for name in names:
            clean = " ".join(name.split())[:200]
            if clean and company_key(clean) not in self._companies:
                wanted.setdefault(company_key(clean), clean)
        if not wanted:
            return
        table = table_of(Company)
        found = self.session.execute(
            select(table.c.id, table.c.name, table.c.name_key).where(
                table.c.name_key.in_(list(wanted))
            )
        )
        for company_id, name, key in found:
            self._companies[key] = company_id
            self.company_names[company_id] = name
            wanted.pop(key, None)
        if not wanted:
            return
        rows: list[dict[str, Any]]
        rows = [{"name": n, "name_key": k, "custom_fields": {}, "created_at": self.now,
                 "updated_at": self.now} for k, n in wanted.items()]  # fmt: skip
        for row, company_id in zip(
            rows, insert_returning_ids(self.session, table, rows), strict=True
        ):
            self._companies[row["name_key"]] = company_id
            self.company_names[company_id] = row["name"]
            self.audit_raw("company.create", "company", company_id, {"id": company_id, **row})

    def remember_company(self, company: Company) -> None:
        assert company.id is not None
        self._companies[company.name_key] = company.id
        self.company_names[company.id] = company.name

    def company_name(self, company_id: int | None) -> str:
        if company_id is None:
            return ""
        if company_id not in self.company_names:
            company = self.session.get(Company, company_id)
            self.company_names[company_id] = company.name if company else ""
        return self.company_names[company_id]

    def external(self, entity_type: str, refs: list[str]) -> dict[str, int]:
        return lookup(self.session, source=self.source, entity_type=entity_type, external_ids=refs)

    def add_external_ids(
        self, entity_type: str, entity_id: int, row: ImportRow, *, own_known: bool
    ) -> None:
        """Queues the row's own id (this source) and any "source:id" pairs it carries."""
        own = row.get("external_id")[:EXTERNAL_ID_MAX]
        if own and not own_known:
            self._queue_external(entity_type, entity_id, self.source, own)
        for item in re.split(r"[;\n]+", row.get("external_ids")):
            src, sep, ext = item.strip().partition(":")
            src, ext = clean_source(src), ext.strip()[:EXTERNAL_ID_MAX]
            if sep and src and ext and not (src == self.source and ext == own):
                self._queue_external(entity_type, entity_id, src, ext)

    def _queue_external(self, entity_type: str, entity_id: int, source: str, ext: str) -> None:
        self._externals.append(
            {"source": source, "entity_type": entity_type, "external_id": ext,
             "entity_id": entity_id, "created_at": self.now}
        )  # fmt: skip


def _json(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    return {k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in data.items()}


def insert_returning_ids(session: Session, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """A multi-row INSERT that gives each row's new id, in the rows' order.

    PostgreSQL does it in one statement (insertmanyvalues). SQLite cannot say which
    RETURNING row belongs to which parameter set, so SQLAlchemy sends one INSERT per row
    there (the import's hot spot at 100,000 rows). Instead the first row's INSERT takes
    the database's write lock and gives its id N; every id above N is free (SQLite
    hands out the highest id ever used + 1, and no other connection can write while
    this transaction holds the lock), so the other rows go in one executemany as N+1,
    N+2, ..."""
    if not rows:
        return []
    if session.get_bind().dialect.name != "sqlite":
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(statement, rows).scalars())
    first = int(session.execute(insert(table).returning(table.c.id), rows[0]).scalar_one())
    rest = [{**row, "id": first + i} for i, row in enumerate(rows[1:], start=1)]
    if rest:
        session.execute(insert(table), rest)
    return [first + i for i in range(len(rows))]


def contacts_by_point(session: Session, kind: str, values: list[str]) -> dict[str, int]:
    """value -> contact id for the emails (or phones) of one batch."""
    found: dict[str, int] = {}
    wanted = sorted(set(values))
    for start in range(0, len(wanted), 500):
        rows = session.exec(
            select(ContactPoint.value, ContactPoint.contact_id).where(
                ContactPoint.kind == kind, col(ContactPoint.value).in_(wanted[start : start + 500])
            )
        )
        found.update(dict(rows.all()))
    return found


def contacts_by_name(session: Session, names: list[str]) -> dict[str, int | None]:
    """name (case-folded) -> contact id, or None when several contacts share it."""
    found: dict[str, int | None] = {}
    wanted = sorted({" ".join(n.split()) for n in names if n.strip()})
    for start in range(0, len(wanted), 500):
        rows = session.exec(
            select(Contact.name, Contact.id).where(
                col(Contact.name).in_(wanted[start : start + 500])
            )
        )
        for name, contact_id in rows:
            key = name.casefold()
            found[key] = None if key in found else contact_id
    return found
