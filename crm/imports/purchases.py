"""Purchases, written through the customer-value module's `record_purchase`.

The Purchase table belongs to another change (crm/purchases.py). This importer needs
only one function of it, with this signature:

    record_purchase(session, *, contact_id, company_id, occurred_at, amount_minor,
                    currency, reference, quantity, source) -> object with an `id`

Until that module is present the purchases type is known (so the type detection and the
`--type purchases` option work) but refuses with a clear sentence, writing nothing.
A re-run does not duplicate: a purchase's reference (order or invoice number) is stored
as its external id and a row whose reference is already known counts as updated.
"""

import importlib
from collections.abc import Callable
from typing import Any

from crm.errors import CRMError
from crm.imports import values as v
from crm.imports.refs import resolve_refs
from crm.imports.rows import Context, ImportRow

MISSING = (
    "purchases import needs the purchases module (crm/purchases.py with record_purchase), "
    "which this installation does not have yet. Contacts, companies, deals and activities "
    "import already."
)


def _recorder() -> Callable[..., Any] | None:
    try:
        module = importlib.import_module("crm.purchases")
    except ImportError:
        return None
    return getattr(module, "record_purchase", None)


def require_purchases_module() -> None:
    if _recorder() is None:
        raise CRMError(MISSING)


def import_purchases(ctx: Context, rows: list[ImportRow]) -> None:
    record = _recorder()
    if record is None:
        raise CRMError(MISSING)
    refs = resolve_refs(ctx, rows)
    known = ctx.external("purchase", [r.get("external_id") for r in rows if r.get("external_id")])
    for row in rows:
        contact_id, company_id = refs[row.line]
        ext = row.get("external_id")
        if ext in known:
            ctx.report.updated += 1
            continue
        if contact_id is None and company_id is None:
            ctx.report.problem(row.line, "no contact or company for this purchase.", skipped=True)
            continue
        try:
            amount, currency = v.parse_amount(
                row.get("amount") or "0",
                currency=row.get("currency").strip().upper() or None,
                default_currency=ctx.default_currency,
            )
            when = v.parse_datetime(row.get("occurred_at"), tz=ctx.timezone)
            quantity = int(row.get("quantity") or 1)
        except ValueError as exc:
            ctx.report.problem(row.line, str(exc), skipped=True)
            continue
        purchase = record(
            ctx.session, contact_id=contact_id, company_id=company_id, occurred_at=when,
            amount_minor=amount, currency=currency, reference=ext or None, quantity=quantity,
            source=ctx.source,
        )  # fmt: skip
        ctx.report.created += 1
        if row.custom:
            ctx.report.problem(
                row.line,
                "purchases keep no custom fields; not stored: " + ", ".join(row.custom),
            )
        if ext:
            ctx.session.flush()
            ctx.add_external_ids("purchase", purchase.id, row, own_known=False)
            known[ext] = purchase.id
