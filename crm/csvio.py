"""CSV import (with a dry run that writes nothing) and export of contacts.

Import is row by row inside one transaction, each row in a savepoint, so a bad
row is reported with its line number and reason while the good rows go in; a
dry run rolls the whole transaction back, so it reports exactly what a real
import would do, duplicates within the file included.
"""

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlmodel import Session, col, select

from crm.actors import Actor, require_admin
from crm.contacts import ContactInput, create_contact, points_of
from crm.db import Store
from crm.errors import CRMError
from crm.ids import id_of
from crm.models import Company, Contact, Rep

EXPORT_COLUMNS = ["id", "name", "emails", "phones", "company", "owner", "tags", "created"]
MULTI_SPLIT = re.compile(r"[;,\s]+")
MAX_ROWS = 200_000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d[\d .;()+-]*")  # phones and amounts: data, never a formula


def safe_cell(value: object) -> object:
    """Neutralise CSV formula injection (OWASP): a text cell that a spreadsheet would run as
    a formula (``=HYPERLINK(...)``, ``@SUM``, ``+cmd|...``) gets a leading apostrophe.
    Names come from customers, so any text can arrive here; plain numbers and phone
    numbers ("+1 415 555 0100") are left as they are, and import strips the apostrophe."""
    formula = isinstance(value, str) and value.startswith(FORMULA_START)
    if formula and not _NUMBER.fullmatch(str(value)):
        return "'" + str(value)
    return value


def unsafe_cell(value: str) -> str:
    """The inverse of :func:`safe_cell` for values read back on import."""
    if value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


@dataclass
class ImportReport:
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        verb = "would create" if self.dry_run else "created"
        lines = [f"{verb} {self.created} contact(s); {len(self.errors)} row(s) with problems"]
        lines += [f"  line {line}: {reason}" for line, reason in self.errors[:50]]
        if len(self.errors) > 50:
            lines.append(f"  ... and {len(self.errors) - 50} more")
        return "\n".join(lines)


def _split(value: str | None, *, by_semicolon: bool = False) -> list[str]:
    if not value:
        return []
    parts = value.split(";") if by_semicolon else MULTI_SPLIT.split(value)
    return [p.strip() for p in parts if p.strip()]


def _column(row: dict[str, str], *names: str) -> str | None:
    for name in names:
        if row.get(name):
            return row[name]
    return None


def read_rows(stream: TextIO) -> tuple[list[str], Iterable[dict[str, str]]]:
    reader = csv.DictReader(stream)
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "name" not in headers:
        raise CRMError("The CSV needs a header row with at least a `name` column.")
    reader.fieldnames = headers
    return headers, reader


def import_contacts(
    store: Store,
    stream: TextIO,
    *,
    actor: Actor,
    now: datetime,
    dry_run: bool = False,
    region: str = "US",
) -> ImportReport:
    require_admin(actor, "import contacts")
    report = ImportReport(dry_run=dry_run)
    try:
        _headers, rows = read_rows(stream)
        with store.transaction() as session:
            for line, row in enumerate(rows, start=2):
                if line - 1 > MAX_ROWS:
                    report.errors.append((line, f"more than {MAX_ROWS:,} rows; split the file"))
                    break
                _import_row(session, row, line, report, actor=actor, now=now, region=region)
            if dry_run:
                session.rollback()
    except csv.Error as exc:  # broken quoting or line endings: nothing is imported
        raise CRMError(f"The file is not valid CSV ({exc}); nothing was imported.") from None
    return report


def _import_row(
    session: Session,
    row: Mapping[str, str | None],
    line: int,
    report: ImportReport,
    *,
    actor: Actor,
    now: datetime,
    region: str,
) -> None:
    # NUL is refused by PostgreSQL text columns; a spreadsheet export can carry one
    clean = {k: unsafe_cell((v or "").replace("\x00", "").strip()) for k, v in row.items() if k}
    if not any(clean.values()):
        return
    data = ContactInput(
        name=clean.get("name", ""),
        emails=_split(_column(clean, "emails", "email")),
        phones=_split(_column(clean, "phones", "phone"), by_semicolon=True),
        company=_column(clean, "company") or None,
        tags=[t.lstrip("#") for t in _split(_column(clean, "tags", "tag"))],
        timezone=_column(clean, "timezone") or None,
    )
    owner = _column(clean, "owner")
    try:
        with session.begin_nested():
            if owner:
                rep = session.exec(select(Rep).where(Rep.name == owner)).first()
                if rep is None:
                    raise CRMError(f"no rep called '{owner[:40]}'")
                data.owner_id = rep.id
            create_contact(
                session, actor=actor, data=data, now=now, region=region, created_via="import"
            )
    except CRMError as exc:
        report.errors.append((line, str(exc)))
        return
    report.created += 1


def export_contacts(store: Store, stream: TextIO, *, actor: Actor, batch: int = 2000) -> int:
    """Writes every contact as one CSV row; returns how many."""
    require_admin(actor, "export contacts")
    writer = csv.writer(stream)
    writer.writerow(EXPORT_COLUMNS)
    count, last_id = 0, 0
    with store.transaction() as session:
        companies = {c.id: c.name for c in session.exec(select(Company))}
        reps = {r.id: r.name for r in session.exec(select(Rep))}
        while True:
            rows = session.exec(
                select(Contact)
                .where(col(Contact.id) > last_id)
                .order_by(col(Contact.id))
                .limit(batch)
            ).all()
            if not rows:
                break
            for contact in rows:
                points = points_of(session, id_of(contact))
                writer.writerow(
                    safe_cell(cell)
                    for cell in [
                        contact.id,
                        contact.name,
                        "; ".join(points.emails),
                        "; ".join(points.phones),
                        companies.get(contact.company_id, ""),
                        reps.get(contact.owner_id, ""),
                        " ".join(f"#{t}" for t in contact.tags or []),
                        contact.created_at.isoformat(),
                    ]
                )
                count += 1
            last_id = id_of(rows[-1])
    return count


def import_file(
    store: Store,
    path: Path,
    *,
    actor: Actor,
    now: datetime,
    dry_run: bool = False,
    region: str = "US",
) -> ImportReport:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CRMError(f"{path.name} is not UTF-8 text; save it as CSV UTF-8.") from None
    except OSError as exc:
        raise CRMError(f"Cannot read {path}: {exc.strerror}.") from None
    return import_contacts(
        store, io.StringIO(text), actor=actor, now=now, dry_run=dry_run, region=region
    )
