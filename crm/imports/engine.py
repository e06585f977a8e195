"""The import run: sniff, map, then stream the rows through the type's importer in batches.

Each batch is one transaction (its records, external ids and audit rows commit
together), so a failure midway leaves every earlier batch saved and the report says up
to which line; running the same import again resumes, because saved rows are matched by
their external id, email or phone and updated rather than duplicated. A dry run uses
one transaction for the whole file and rolls it back, so its counts (duplicates within
the file included) are exactly what the real run would do. The session is emptied after
every batch, so memory stays flat however long the file is.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from crm.actors import Actor, require_admin
from crm.db import Store
from crm.errors import CRMError
from crm.imports.mapping import build_mapping
from crm.imports.report import ImportReport
from crm.imports.rows import Context, ImportRow, to_row
from crm.imports.sniff import FileRefused, open_table

logger = logging.getLogger(__name__)

Importer = Callable[[Context, list[ImportRow]], None]
Progress = Callable[[int], None]  # bytes read so far


@dataclass
class ImportOptions:
    record_type: str | None = None
    overrides: list[str] = field(default_factory=list)
    dry_run: bool = False
    source: str | None = None
    encoding: str | None = None
    region: str = "US"
    default_currency: str = "USD"
    timezone: str = "UTC"
    dateorder: str = "MDY"  # how numeric dates such as 04/03/2025 are read
    stages: list[str] = field(default_factory=lambda: ["lead"])
    batch_size: int = 1000


def importer_for(record_type: str) -> Importer:
    """The type's importer; imported here so a missing optional module fails clearly."""
    if record_type == "contacts":
        from crm.imports.contacts import import_contacts

        return import_contacts
    if record_type == "companies":
        from crm.imports.companies import import_companies

        return import_companies
    if record_type == "deals":
        from crm.imports.deals import import_deals

        return import_deals
    if record_type == "activities":
        from crm.imports.activities import import_activities

        return import_activities
    from crm.imports.purchases import import_purchases

    return import_purchases


def run_import(
    store: Store,
    raw: BinaryIO,
    *,
    actor: Actor,
    now: datetime,
    options: ImportOptions,
    progress: Progress | None = None,
) -> ImportReport:
    """Imports one file; raises CRMError only when nothing could be read or mapped."""
    require_admin(actor, "import records")
    shape, table = open_table(raw, encoding=options.encoding)
    rows = table.rows()
    header = next(rows, None)
    if header is None:
        raise FileRefused("The file has no header row.")
    mapping = build_mapping(
        header[1], record_type=options.record_type, overrides=options.overrides,
        source=options.source,
    )  # fmt: skip
    importer = importer_for(mapping.record_type)
    report = ImportReport(
        record_type=mapping.record_type,
        source=mapping.source,
        dry_run=options.dry_run,
        file_shape=shape.label,
        mapping=mapping.describe(),
        custom_columns=mapping.custom_columns,
        dateorder=options.dateorder,
    )
    with Session(store.engine, expire_on_commit=False) as session:
        ctx = Context(
            session=session, actor=actor, now=now, mapping=mapping, report=report,
            region=options.region, default_currency=options.default_currency,
            timezone=options.timezone, dateorder=options.dateorder, stages=list(options.stages),
        )  # fmt: skip
        batch: list[ImportRow] = []
        try:
            for line, cells in rows:
                row = to_row(mapping, line, cells)
                if row is None:
                    continue
                report.rows += 1
                batch.append(row)
                if len(batch) >= options.batch_size:
                    _run_batch(ctx, importer, batch, options.dry_run, progress, table.bytes_read)
                    batch = []
            if batch:
                _run_batch(ctx, importer, batch, options.dry_run, progress, table.bytes_read)
        except FileRefused as exc:
            session.rollback()
            report.failure = str(exc)
        except SQLAlchemyError as exc:
            session.rollback()
            logger.exception(
                "import batch failed source=%s type=%s", mapping.source, mapping.record_type
            )
            first = batch[0].line if batch else report.committed_through + 1
            report.failure = (
                f"the database refused the batch starting at line {first} "
                f"({type(exc).__name__}); that batch was not saved."
            )
        finally:
            if options.dry_run:
                session.rollback()
    return report


def _run_batch(
    ctx: Context,
    importer: Importer,
    batch: list[ImportRow],
    dry_run: bool,
    progress: Progress | None,
    bytes_read: int,
) -> None:
    importer(ctx, batch)
    ctx.flush()
    if not dry_run:
        ctx.session.commit()
        ctx.report.committed_through = batch[-1].line
    ctx.session.expunge_all()
    if progress is not None:
        progress(bytes_read)


__all__ = ["CRMError", "ImportOptions", "run_import"]
