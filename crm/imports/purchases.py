"""Purchases, written through crm.purchases.record_purchase (the customer-value model's
table), each dated with its own past date and attached to its contact and/or company.

A re-run does not duplicate: a purchase's reference (order or invoice number) is stored
as its external id and a row whose reference is already known counts as updated. A row
that names a deal imported as won is that deal's sale (made by the deals import, as a
win in chat makes one) and counts as updated too.
"""

from crm import purchases
from crm.ids import id_of
from crm.imports import values as v
from crm.imports.refs import resolve_refs
from crm.imports.rows import Context, ImportRow
from crm.models import Company, Contact, Deal


def import_purchases(ctx: Context, rows: list[ImportRow]) -> None:
    refs = resolve_refs(ctx, rows)
    known = ctx.external("purchase", [r.get("external_id") for r in rows if r.get("external_id")])
    deals = ctx.external("deal", [r.get("deal_ref") for r in rows if r.get("deal_ref")])
    for row in rows:
        contact_id, company_id = refs[row.line]
        ext = row.get("external_id")
        if ext in known:
            ctx.report.updated += 1
            continue
        deal_id = deals.get(row.get("deal_ref"))
        if deal_id is not None and _won_deals_sale(ctx, deal_id):
            ctx.report.updated += 1  # a won deal's sale: it came with the deal's import
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
            when = ctx.when(row.get("occurred_at"), row.line)
            quantity = int(row.get("quantity") or 1)
        except ValueError as exc:
            ctx.report.problem(row.line, str(exc), skipped=True)
            continue
        purchase = purchases.record_purchase(
            ctx.session, actor=ctx.actor, now=ctx.now, amount_minor=amount, currency=currency,
            contact=ctx.session.get(Contact, contact_id) if contact_id else None,
            company=ctx.session.get(Company, company_id) if company_id else None,
            purchased_at=when, quantity=quantity, reference=(row.get("reference") or ext or None),
            source="import",
        )  # fmt: skip
        ctx.report.created += 1
        if row.custom:
            ctx.report.problem(
                row.line,
                "purchases keep no custom fields; not stored: " + ", ".join(row.custom),
            )
        if ext:
            ctx.session.flush()
            ctx.add_external_ids("purchase", id_of(purchase), row, own_known=False)
            known[ext] = id_of(purchase)


def _won_deals_sale(ctx: Context, deal_id: int) -> bool:
    """Whether the row is the sale of a deal imported as won (Rapport's own export names
    the deal): that sale is the deal's, made when the deal was imported, so recording
    the row as well would count the same sale twice."""
    deal = ctx.session.get(Deal, deal_id)
    if deal is None or deal.status != "won":
        return False
    return (
        purchases.purchase_for_won_deal(ctx.session, actor=ctx.actor, deal_id=deal_id, now=ctx.now)
        is not None
    )
