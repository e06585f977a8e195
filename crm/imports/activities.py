"""Activities (calls, meetings, emails, notes) with their own past dates.

Attached to the contact the row names; a row naming only a company goes to that
company's first contact (Rapport's timeline hangs off contacts), and is reported when
the company has none. Matched by external id, else by contact + kind + time + text, so a
re-run does not duplicate.
"""

from sqlmodel import col, select

from crm.enums import ActivityKind
from crm.imports.aliases import KIND_ALIASES
from crm.imports.refs import resolve_refs
from crm.imports.rows import Context, ImportRow
from crm.models import Activity, Contact

MAX_TEXT = 10_000


def _first_contacts(ctx: Context, company_ids: set[int]) -> dict[int, int]:
    rows = ctx.session.exec(
        select(Contact.company_id, Contact.id)
        .where(col(Contact.company_id).in_(company_ids))
        .order_by(col(Contact.id).desc())
    )
    firsts: dict[int, int] = {}
    for company, contact in rows:  # last write wins: the lowest id
        if company is not None and contact is not None:  # filtered on; ids are never NULL
            firsts[company] = contact
    return firsts


def import_activities(ctx: Context, rows: list[ImportRow]) -> None:
    session = ctx.session
    refs = resolve_refs(ctx, rows)
    firsts = _first_contacts(ctx, {c for k, c in refs.values() if k is None and c is not None})
    by_ext = ctx.external("activity", [r.get("external_id") for r in rows if r.get("external_id")])
    deals = ctx.external("deal", [r.get("deal_ref") for r in rows if r.get("deal_ref")])
    prepared = []
    for row in rows:
        contact_id, company_id = refs[row.line]
        if contact_id is None and company_id is not None:
            contact_id = firsts.get(company_id)
            if contact_id is not None:
                row.custom.setdefault("company", ctx.company_name(company_id))
        if contact_id is None:
            ctx.report.problem(row.line, "no contact to attach this activity to.", skipped=True)
            continue
        kind_text = row.get("kind").strip().lower()
        kind = ActivityKind(
            KIND_ALIASES.get(kind_text, kind_text if kind_text in set(ActivityKind) else "note")
        )
        if kind_text and kind_text != kind:
            row.custom["source type"] = row.get("kind")
        parts = [row.get("subject"), row.get("text")]
        text = "\n".join(p for p in parts if p).strip() or f"({row.get('kind') or kind})"
        if len(text) > MAX_TEXT:
            row.custom["text (rest)"] = text[MAX_TEXT:]
            text = text[:MAX_TEXT]
        when = ctx.now
        if row.get("occurred_at"):
            try:
                when = ctx.when(row.get("occurred_at"), row.line)
            except ValueError as exc:
                row.custom["date"] = row.get("occurred_at")
                ctx.report.problem(row.line, f"{exc} Dated the import day; original kept.")
        else:
            ctx.report.problem(row.line, "no date; dated the import day.")
        rep_id = ctx.owner_id(row.get("owner"), row.line) if row.get("owner") else None
        if row.get("owner") and rep_id is None:
            row.custom["owner"] = row.get("owner")
        deal_id = deals.get(row.get("deal_ref"))
        if row.get("deal_ref") and deal_id is None:
            row.custom["deal ref"] = row.get("deal_ref")
        prepared.append((row, contact_id, kind, text, when, rep_id, deal_id))
    contact_ids = {p[1] for p in prepared}
    seen = {
        (a.contact_id, a.kind, a.occurred_at, a.text): a
        for a in session.exec(
            select(Activity).where(
                col(Activity.contact_id).in_(contact_ids)
                | col(Activity.id).in_(set(by_ext.values()))
            )
        )
    }
    by_id = {a.id: a for a in seen.values()}
    contacts = {
        c.id: c for c in session.exec(select(Contact).where(col(Contact.id).in_(contact_ids)))
    }
    pending: dict[str, Activity] = {}  # external id -> activity first named in this batch
    done: list[tuple[ImportRow, Activity, bool, bool]] = []
    for row, contact_id, kind, text, when, rep_id, deal_id in prepared:
        ext = row.get("external_id")
        activity = by_id.get(by_ext[ext]) if ext in by_ext else pending.get(ext)
        own_known = activity is not None
        activity = activity or seen.get((contact_id, kind, when, text))
        is_new = activity is None
        if activity is None:
            activity = Activity(contact_id=contact_id, kind=kind, text=text, occurred_at=when,
                                created_at=ctx.now)  # fmt: skip
            session.add(activity)
            ctx.report.created += 1
        else:
            ctx.report.updated += 1
        activity.contact_id, activity.kind, activity.text = contact_id, kind, text
        activity.occurred_at = when
        activity.rep_id = rep_id if rep_id is not None else activity.rep_id
        activity.deal_id = deal_id if deal_id is not None else activity.deal_id
        activity.custom_fields = {**(activity.custom_fields or {}), **row.custom}
        contact = contacts[contact_id]
        contact.last_activity_at = max(filter(None, [contact.last_activity_at, when]))
        seen[(contact_id, kind, when, text)] = activity
        if ext and not own_known:
            pending[ext] = activity
        done.append((row, activity, is_new, own_known))
    session.flush()  # once for the batch: the new activities get their ids here
    for row, activity, is_new, own_known in done:
        assert activity.id is not None
        ctx.add_external_ids("activity", activity.id, row, own_known=own_known)
        if is_new:
            ctx.audit("activity.create", "activity", activity)
