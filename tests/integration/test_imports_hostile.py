"""Hypothesis on cell contents: whatever a cell holds, an import answers with a report or a
CRMError (never another exception), a dry run writes nothing, and a custom field survives
export and re-import exactly (formula guard included)."""

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel, func, select

from crm.actors import SYSTEM
from crm.db import Store, make_engine
from crm.errors import CRMError
from crm.imports import ImportOptions, run_import
from crm.imports.export import export_records
from crm.imports.rows import unneutralise
from crm.models import Contact

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
HEADERS = ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Company Name",
           "Contact owner", "Create Date", "Tags", "Time Zone", "Custom", ""]  # fmt: skip
CELL = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["a@b.co", "x@@y", "+1 415 555 0100", "=1+1", "@SUM(A1)", "-3", "\t", '"',
                     "2024-13-45", "Europe/Paris", "Mars/Base", "#vip, #vip", "\r\n", "\x00",
                     "x" * 300, "Root", "0"]),
)  # fmt: skip


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    engine = make_engine(f"sqlite:///{tmp_path / 'hostile.db'}")
    SQLModel.metadata.create_all(engine)
    yield Store(engine)
    engine.dispose()


def _csv(rows: list[list[str]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _count(store: Store) -> int:
    with store.transaction() as session:
        return session.exec(select(func.count()).select_from(Contact)).one()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.lists(CELL, min_size=0, max_size=len(HEADERS) + 2), max_size=6),
    st.sampled_from([",", ";", "\t"]),
)
def test_any_cells_give_a_report_or_a_friendly_error_and_a_dry_run_writes_nothing(
    sqlite_store: Store, rows: list[list[str]], delimiter: str
) -> None:
    before = _count(sqlite_store)
    try:
        report = run_import(
            sqlite_store, io.BytesIO(_csv(rows, delimiter)), actor=SYSTEM, now=NOW,
            options=ImportOptions(record_type="contacts", dry_run=True),
        )  # fmt: skip
    except CRMError as exc:
        assert str(exc)
    else:
        assert report.rows <= len(rows) and report.summary()
        assert report.created + report.updated + report.skipped <= report.rows
    assert _count(sqlite_store) == before


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=40).map(lambda s: s.replace("\x00", "").strip()).filter(bool))
def test_a_custom_field_survives_export_and_reimport(sqlite_store: Store, value: str) -> None:
    name = f"Person {_count(sqlite_store)}"
    data = _csv([["", name, "", "", "", "", "", "", "", "", value, ""]])
    run_import(sqlite_store, io.BytesIO(data), actor=SYSTEM, now=NOW, options=ImportOptions())
    out = io.StringIO()
    export_records(sqlite_store, "contacts", out, actor=SYSTEM)
    exported = [r for r in csv.DictReader(io.StringIO(out.getvalue())) if r["name"] == name]
    assert len(exported) == 1
    again = run_import(
        sqlite_store, io.BytesIO(out.getvalue().encode()), actor=SYSTEM, now=NOW,
        options=ImportOptions(dry_run=True),
    )  # fmt: skip
    assert again.failure is None
    with sqlite_store.transaction() as session:
        contact = session.exec(select(Contact).where(Contact.name == name)).one()
    assert contact.custom_fields == {"Custom": value}
    assert unneutralise(exported[0]["custom: Custom"]) == value
