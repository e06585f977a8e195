"""Excel workbooks: `export_xlsx` and xlsx files to `rapport import` (SQLite and PostgreSQL).

Every type goes out as .xlsx and back into an empty Rapport with nothing lost (compared
through the CSV export of both stores); every cell of an export is a string and none is
a formula; a vendor's workbook with numbers, dates and formulas imports like its CSV.
"""

import io
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import SQLModel

from crm.actors import SYSTEM, Actor
from crm.clock import ManualClock
from crm.db import Store, make_engine
from crm.enums import Role
from crm.imports import ImportOptions, ImportReport, run_import
from crm.imports.export import export_records, export_xlsx
from crm.models import Rep
from tests.integration.test_imports import STAGES, _comparable, contact_named, run, run_fixture

TYPES_IN_ORDER = ["companies", "contacts", "deals", "activities", "purchases"]
HOSTILE = (
    "Name,Email,Phone,Motto\n"
    '"=HYPERLINK(""http://evil.example"",""x"")",eve@evil.example,,"@SUM(A1:A2)"\n'
    'Minus Man,minus@example.com,,"-2+3"\n'
    'Tab Lady,tab@example.com,,"\tlead"\n'
)
ORDERS = (
    "Order ID,Email,Order Date,Total,Currency,Quantity\n"
    "A-1,ada.quill@brassworks.example.org,2024-01-05,120.50,EUR,2\n"
    "A-2,bram@otterly.example.net,2024-02-01,9.99,USD,1\n"
)


def _xlsx(store: Store, record_type: str) -> bytes:
    stream = io.BytesIO()
    export_xlsx(store, record_type, stream, actor=SYSTEM)
    return stream.getvalue()


def _csv(store: Store, record_type: str) -> str:
    stream = io.StringIO()
    export_records(store, record_type, stream, actor=SYSTEM)
    return stream.getvalue()


def _import(store: Store, clock: ManualClock, data: bytes) -> ImportReport:
    return run_import(
        store, io.BytesIO(data), actor=SYSTEM, now=clock.now(),
        options=ImportOptions(stages=STAGES),
    )  # fmt: skip


@pytest.fixture
def root(store: Store, clock: ManualClock, admin: Actor) -> Actor:
    with store.transaction() as session:
        rep = session.get(Rep, admin.id)
        assert rep is not None
        rep.email = "root@rapport.test"
        session.add(rep)
    return admin


def test_every_type_goes_out_as_xlsx_and_back_into_an_empty_rapport_with_nothing_lost(
    store: Store, clock: ManualClock, root: Actor, tmp_path: Path
) -> None:
    for name in ("hubspot_companies.csv", "hubspot_contacts.csv", "hubspot_deals.csv",
                 "pipedrive_persons.csv", "pipedrive_deals.csv", "pipedrive_activities.tsv",
                 "salesforce_accounts_api.csv", "salesforce_contacts_api.csv"):  # fmt: skip
        assert run_fixture(store, clock, name).failure is None
    assert run(store, clock, HOSTILE).failure is None
    assert run(store, clock, ORDERS).created == 2
    books = {t: _xlsx(store, t) for t in TYPES_IN_ORDER}
    before = {t: _csv(store, t) for t in TYPES_IN_ORDER}
    assert all(len(_comparable(before[t])) > 0 for t in TYPES_IN_ORDER)

    # every cell is typed as text, and nothing a spreadsheet would run
    for record_type, data in books.items():
        sheet = load_workbook(io.BytesIO(data)).worksheets[0]
        assert sheet.title == record_type
        cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
        assert cells and {c.data_type for c in cells} == {"s"}, record_type
        assert not [c.value for c in cells if str(c.value)[:1] in "=+-@\t\r"], record_type
    contacts = load_workbook(io.BytesIO(books["contacts"])).worksheets[0]
    texts = {c.value for row in contacts.iter_rows() for c in row}
    assert any(str(t).startswith("'+14155550101") for t in texts)  # a phone's + guarded
    assert '\'=HYPERLINK("http://evil.example","x")' in texts

    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    SQLModel.metadata.create_all(engine)
    fresh = Store(engine)
    try:
        with fresh.transaction() as session:
            session.add(Rep(name="Root", email="root@rapport.test", role=Role.ADMIN,
                            created_at=clock.now()))  # fmt: skip
        for record_type in TYPES_IN_ORDER:
            report = _import(fresh, clock, books[record_type])
            assert report.file_shape == f"Excel workbook, sheet '{record_type}'"
            assert report.record_type == record_type and report.source == "rapport"
            assert report.problem_count == 0, report.summary()
            # a won deal's sale is made by the deals import: its purchase row is that sale
            made = report.created + (report.updated if record_type == "purchases" else 0)
            assert made == len(_comparable(before[record_type]))
        for record_type in TYPES_IN_ORDER:
            after = _comparable(_csv(fresh, record_type))
            assert after == _comparable(before[record_type]), record_type
        evil, _, _ = contact_named(fresh, '=HYPERLINK("http://evil.example","x")')
        assert evil.custom_fields == {"Motto": "@SUM(A1:A2)"}
        # and a second pass of the same workbooks updates, never duplicates
        again = _import(fresh, clock, books["contacts"])
        assert (again.created, again.updated) == (0, len(_comparable(before["contacts"])))
    finally:
        engine.dispose()


def _vendor_book() -> bytes:
    """A HubSpot-style export saved from Excel: numbers, real dates, a formula, a gap."""
    book = Workbook()
    sheet = book.active
    sheet.title = "All contacts"
    sheet.append(["Record ID", "First Name", "Last Name", "Email", "Phone Number",
                  "Create Date", "Deals", "Score"])  # fmt: skip
    sheet.append([5101, "Ada", "Quill", "ada@brass.example", 14155550101,
                  datetime(2024, 3, 4, 9, 15), 3, 4.5])  # fmt: skip
    sheet.append([])  # a blank row is skipped, as in CSV
    sheet.append([5102.0, "Bram", "Otter", "bram@otter.example", "+1 415 555 0102",
                  datetime(2024, 3, 5), "=1+2", None])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_vendor_workbook_with_numbers_dates_and_formulas_imports_like_its_csv(
    store: Store, clock: ManualClock
) -> None:
    data = _vendor_book()
    report = _import(store, clock, data)
    assert report.failure is None and report.source == "hubspot", report.summary()
    assert (report.created, report.skipped) == (2, 0)
    ada, points, _ = contact_named(store, "Ada Quill")
    assert points == ["ada@brass.example", "+14155550101"]
    assert ada.created_at.isoformat().startswith("2024-03-04T09:15")
    assert ada.custom_fields == {"Deals": "3", "Score": "4.5"}
    bram, _, _ = contact_named(store, "Bram Otter")
    # a formula cell gives the value Excel calculated (none here: never the formula)
    assert "Deals" not in bram.custom_fields
    again = _import(store, clock, data)  # 5102.0 and 5102 are one Record ID
    assert (again.created, again.updated) == (0, 2)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "save it as .xlsx"),
        (b"PK\x03\x04" + b"not really a zip" * 40, "cannot be read"),
    ],
)
def test_unreadable_workbooks_raise_a_friendly_error(
    store: Store, clock: ManualClock, data: bytes, words: str
) -> None:
    from crm.imports.sniff import FileRefused

    with pytest.raises(FileRefused, match=words):
        _import(store, clock, data)
