"""Which contact and company a deal, activity or purchase row points at.

By the other CRM's id first (`contact_ref`, `company_ref`, looked up in the external ids
the contacts and companies import stored), then the contact's email, then an exact
name when only one contact has it. What cannot be resolved is reported and kept in the
record's custom fields, so importing the contacts first and this file again links it.
"""

from crm.imports import values as v
from crm.imports.rows import Context, ImportRow, contacts_by_name, contacts_by_point
from crm.validation import normalise_email


def _email(text: str) -> str | None:
    for raw in v.split_emails(text):
        try:
            return normalise_email(raw)
        except ValueError:
            continue
    return None


def resolve_refs(ctx: Context, rows: list[ImportRow]) -> dict[int, tuple[int | None, int | None]]:
    """line -> (contact id, company id); unresolved references go to row.custom."""
    session = ctx.session
    contact_ext = ctx.external(
        "contact", [r.get("contact_ref") for r in rows if r.get("contact_ref")]
    )
    company_ext = ctx.external(
        "company", [r.get("company_ref") for r in rows if r.get("company_ref")]
    )
    emails = {r.line: _email(r.get("contact_email")) for r in rows if r.get("contact_email")}
    by_email = contacts_by_point(session, "email", [e for e in emails.values() if e])
    by_name = contacts_by_name(session, [r.get("contact") for r in rows if r.get("contact")])
    out: dict[int, tuple[int | None, int | None]] = {}
    for row in rows:
        contact_id = contact_ext.get(row.get("contact_ref"))
        if contact_id is None and emails.get(row.line):
            contact_id = by_email.get(emails[row.line] or "")
        if contact_id is None and row.get("contact"):
            contact_id = by_name.get(" ".join(row.get("contact").split()).casefold())
        wanted = row.get("contact_ref") or row.get("contact_email") or row.get("contact")
        if contact_id is None and wanted:
            for name in ("contact_ref", "contact_email", "contact"):
                if row.get(name):
                    row.custom[name.replace("_", " ")] = row.get(name)
            ctx.report.problem(
                row.line,
                f"contact '{wanted[:60]}' is not in Rapport (import contacts first); not linked, "
                "kept as a custom field.",
            )
        company_id = company_ext.get(row.get("company_ref"))
        if company_id is None and row.get("company"):
            company_id = ctx.company_id(row.get("company"))
        if company_id is None and row.get("company_ref"):
            row.custom["company ref"] = row.get("company_ref")
            ctx.report.problem(
                row.line,
                f"company id '{row.get('company_ref')[:40]}' is not in Rapport; not linked.",
            )
        out[row.line] = (contact_id, company_id)
    return out
