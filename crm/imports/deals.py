"""Deals: stage mapped to the pipeline (unknown stages reported), amounts in minor units,
close dates, won/lost; attached to the contact and company the row names.

Matched by external id, else by the same title on the same contact and company, so a
re-run of a file without ids does not duplicate its deals either.
"""

from datetime import datetime
from typing import Any

from sqlmodel import col, select

from crm import purchases
from crm.imports import values as v
from crm.imports.aliases import STAGE_ALIASES, header_key
from crm.imports.refs import resolve_refs
from crm.imports.rows import Context, ImportRow
from crm.models import Deal

_STATUS = {"won": "won", "lost": "lost", "open": "open", "closedwon": "won",
           "closedlost": "lost", "deleted": "lost"}  # fmt: skip


def map_stage(ctx: Context, text: str) -> str | None:
    """A vendor's stage -> a pipeline stage or "won"/"lost"; None when unknown."""
    key = header_key(text)
    if key in ctx.mapping.stage_map:
        return ctx.mapping.stage_map[key]
    for stage in ctx.stages:
        if header_key(stage) == key:
            return stage
    aliased = {header_key(k): s for k, s in STAGE_ALIASES.items()}.get(key)
    if aliased in {"won", "lost"} or aliased in ctx.stages:
        return aliased
    return None


def _fields(ctx: Context, row: ImportRow, custom: dict[str, Any]) -> dict[str, Any]:
    line = row.line
    out: dict[str, Any] = {}
    stage = ctx.stages[0]
    if row.get("stage"):
        mapped = map_stage(ctx, row.get("stage"))
        if mapped is None:
            ctx.report.unknown_stages[row.get("stage")[:60]] += 1
            custom["source stage"] = row.get("stage")
        else:
            stage = mapped
    status = "open"
    if row.get("status"):
        status = _STATUS.get(header_key(row.get("status")), "")
        if not status:
            custom["status"] = row.get("status")
            ctx.report.problem(line, f"status '{row.get('status')[:30]}' is not won, lost or open.")
            status = "open"
    if stage in {"won", "lost"}:
        status = stage
    if status in {"won", "lost"}:
        stage = status
    elif stage in {"won", "lost"}:
        stage = ctx.stages[0]
    out.update(stage=stage, status=status)
    currency = row.get("currency").strip().upper() or None
    if row.get("amount"):
        try:
            out["amount_minor"], out["currency"] = v.parse_amount(
                row.get("amount"), currency=currency, default_currency=ctx.default_currency
            )
        except ValueError as exc:
            custom["amount"] = row.get("amount")
            ctx.report.problem(line, f"{exc} Kept as custom field 'amount'; amount set to 0.")
    elif currency:
        out["currency"] = currency[:3]
    for name, target in (("close_date", "close"), ("expected_close", "expected"),
                         ("closed_at", "closed"), ("created_at", "created")):  # fmt: skip
        if not row.get(name):
            continue
        try:
            out[target] = ctx.when(row.get(name), row.line)
        except ValueError as exc:
            custom[name] = row.get(name)
            ctx.report.problem(line, f"{exc} Kept as custom field '{name}'.")
    if row.get("close_reason"):
        out["close_reason"] = row.get("close_reason")[:500]
    if row.get("owner"):
        owner = ctx.owner_id(row.get("owner"), line)
        if owner is None:
            custom["owner"] = row.get("owner")
        out["owner_id"] = owner
    return out


def import_deals(ctx: Context, rows: list[ImportRow]) -> None:
    session = ctx.session
    refs = resolve_refs(ctx, rows)
    by_ext = ctx.external("deal", [r.get("external_id") for r in rows if r.get("external_id")])
    titles = {" ".join(r.get("title").split())[:200] for r in rows}
    existing = {
        d.id: d
        for d in session.exec(
            select(Deal).where(col(Deal.id).in_(set(by_ext.values())) | col(Deal.title).in_(titles))
        )
    }
    by_title = {(d.title, d.contact_id, d.company_id): d for d in existing.values()}
    pending: dict[str, Deal] = {}  # external id -> deal first named in this batch
    done: list[tuple[ImportRow, Deal, bool, bool, dict[str, Any] | None]] = []
    for row in rows:
        title = " ".join(row.get("title").split())[:200]
        ext = row.get("external_id")
        contact_id, company_id = refs[row.line]
        deal = existing.get(by_ext[ext]) if ext in by_ext else pending.get(ext)
        own_known = deal is not None
        if deal is None and not title:
            ctx.report.problem(row.line, "a deal needs a title (name).", skipped=True)
            continue
        deal = deal or by_title.get((title, contact_id, company_id))
        custom: dict[str, Any] = dict(row.custom)
        fields = _fields(ctx, row, custom)
        is_new = deal is None
        if deal is None:
            deal = Deal(title=title, stage_changed_at=ctx.now, created_at=ctx.now,
                        updated_at=ctx.now)  # fmt: skip
            session.add(deal)
            ctx.report.created += 1
        else:
            ctx.report.updated += 1
        before = None if is_new else _brief(deal)
        _set(deal, title, contact_id, company_id, fields, custom)
        by_title[(deal.title, deal.contact_id, deal.company_id)] = deal
        if ext and not own_known:
            pending[ext] = deal
        done.append((row, deal, is_new, own_known, before))
    session.flush()  # once for the batch: the new deals get their ids here
    for row, deal, is_new, own_known, before in done:
        assert deal.id is not None
        ctx.add_external_ids("deal", deal.id, row, own_known=own_known)
        if is_new:
            ctx.audit("deal.create", "deal", deal)
        elif before != _brief(deal):
            deal.updated_at = ctx.now
            ctx.audit("deal.import_update", "deal", deal, before=before)
        _sync_sale(ctx, deal, is_new, row.line)


def _sync_sale(ctx: Context, deal: Deal, is_new: bool, line: int) -> None:
    """A won deal is a sale, as when a rep wins it in chat: its purchase is recorded (dated
    at the close) so the timeline, /mydata and the reports all show it; a deal the file
    now says is open or lost stops being one. A won deal that names no contact or company
    has nobody to have bought it: reported, so the missing sale is not a surprise."""
    assert deal.id is not None
    if deal.status != "won":
        if not is_new:
            purchases.drop_purchase_for_deal(ctx.session, deal_id=deal.id)
        return
    if deal.contact_id is None and deal.company_id is None:
        ctx.report.problem(
            line, "won deal with no contact or company: no sale recorded (import the "
            "contacts first, then this file again)."
        )  # fmt: skip
        return
    purchases.purchase_for_won_deal(ctx.session, actor=ctx.actor, deal_id=deal.id, now=ctx.now)


def _set(
    deal: Deal,
    title: str,
    contact_id: int | None,
    company_id: int | None,
    fields: dict[str, Any],
    custom: dict[str, Any],
) -> None:
    deal.title = title or deal.title
    deal.contact_id = contact_id if contact_id is not None else deal.contact_id
    deal.company_id = company_id if company_id is not None else deal.company_id
    for key in ("stage", "status", "amount_minor", "currency", "close_reason", "owner_id"):
        if key in fields:
            setattr(deal, key, fields[key])
    close: datetime | None = fields.get("close")
    expected: datetime | None = fields.get("expected") or close
    if expected is not None:  # an expected date given, else the close date
        deal.expected_close = expected.date()
    if deal.status in {"won", "lost"}:
        deal.closed_at = fields.get("closed") or close or deal.closed_at or deal.created_at
    else:
        deal.closed_at = None
    if "created" in fields:
        deal.created_at = fields["created"]
        deal.stage_changed_at = fields["created"]
    deal.custom_fields = {**(deal.custom_fields or {}), **custom}


def _brief(deal: Deal) -> dict[str, Any]:
    keys = ("title", "contact_id", "company_id", "stage", "status", "amount_minor", "currency",
            "expected_close", "closed_at", "close_reason", "owner_id")  # fmt: skip
    return {k: getattr(deal, k) for k in keys} | {"custom_fields": dict(deal.custom_fields or {})}
