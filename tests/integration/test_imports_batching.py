"""The contact importer asks the database a fixed number of questions per batch, however
many rows the batch holds: lookups by external id, email, phone, company id and the
"source:id" pairs of an export are one query each for the batch (SQLite and PostgreSQL)."""

import io

from sqlalchemy import event, func
from sqlmodel import select

from crm.actors import SYSTEM
from crm.clock import ManualClock
from crm.db import Store
from crm.externalids import ExternalId
from crm.imports import ImportOptions, ImportReport, run_import
from crm.models import Contact

ACCOUNTS = "Id,Name\n" + "".join(f"001A{i},Account {i}\n" for i in range(3))


def _contacts(rows: int, start: int) -> str:
    lines = ["Id,FirstName,LastName,Email,Phone,AccountId,external_ids"]
    for i in range(start, start + rows):
        lines.append(
            f"003B{i},First{i},Last{i},p{i}@batch.example,+1 415 555 {i:04d},001A{i % 3},"
            f"hubspot:{9000 + i}; billing:cus_{i}"
        )
    return "\n".join(lines) + "\n"


def _run(store: Store, clock: ManualClock, text: str) -> tuple[ImportReport, int]:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        report = run_import(
            store, io.BytesIO(text.encode()), actor=SYSTEM, now=clock.now(),
            options=ImportOptions(source="salesforce", batch_size=1000),
        )  # fmt: skip
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    return report, len(statements)


def test_statements_per_batch_do_not_grow_with_the_rows(store: Store, clock: ManualClock) -> None:
    assert run_import(
        store, io.BytesIO(ACCOUNTS.encode()), actor=SYSTEM, now=clock.now(),
        options=ImportOptions(source="salesforce", record_type="companies"),
    ).created == 3  # fmt: skip
    small, small_count = _run(store, clock, _contacts(20, 0))
    large, large_count = _run(store, clock, _contacts(400, 1000))
    assert (small.created, large.created) == (20, 400), large.summary()
    assert small.problem_count == 0 and large.problem_count == 0
    assert large_count == small_count, (small_count, large_count)
    with store.transaction() as session:
        contact = session.exec(select(Contact).where(Contact.name == "First1005 Last1005")).one()
        assert contact.company_id is not None
        ids = session.exec(
            select(ExternalId.source, ExternalId.external_id)
            .where(ExternalId.entity_type == "contact", ExternalId.entity_id == contact.id)
            .order_by(ExternalId.id)  # type: ignore[arg-type]
        ).all()
        assert [tuple(i) for i in ids] == [
            ("salesforce", "003B1005"), ("hubspot", "10005"), ("billing", "cus_1005")
        ]  # fmt: skip
    # a re-run updates: the same number of statements again, nothing duplicated
    again, again_count = _run(store, clock, _contacts(400, 1000))
    assert (again.created, again.updated) == (0, 400)
    with store.transaction() as session:
        assert session.exec(select(func.count()).select_from(Contact)).one() == 420
