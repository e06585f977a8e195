"""Companies: matched by external id, then by case-folded name; created or updated."""

import re
from typing import Any

from sqlmodel import col, select

from crm.companies import company_key
from crm.imports.rows import Context, ImportRow
from crm.models import Company

_DOMAIN = re.compile(r"^(?:[a-z]+://)?(?:www\.)?([^/\s:?#]+)", re.IGNORECASE)


def domain_of(text: str) -> str | None:
    """ "https://www.acme.com/about" -> "acme.com"."""
    match = _DOMAIN.match(text.strip())
    return match.group(1).lower()[:253] if match and "." in match.group(1) else None


def import_companies(ctx: Context, rows: list[ImportRow]) -> None:
    session = ctx.session
    by_ext = ctx.external("company", [r.get("external_id") for r in rows if r.get("external_id")])
    keys = {company_key(r.get("name")[:200]) for r in rows if r.get("name").strip()}
    existing = {
        c.id: c
        for c in session.exec(
            select(Company).where(
                col(Company.id).in_(set(by_ext.values())) | col(Company.name_key).in_(keys)
            )
        )
    }
    by_key = {c.name_key: c for c in existing.values()}
    pending: dict[str, Company] = {}  # external id -> company first named in this batch
    done: list[tuple[ImportRow, Company, bool, bool, dict[str, Any] | None]] = []
    for row in rows:
        name = " ".join(row.get("name").split())[:200]
        ext = row.get("external_id")
        company = existing.get(by_ext[ext]) if ext in by_ext else pending.get(ext)
        own_known = company is not None
        if company is None and not name:
            ctx.report.problem(row.line, "a company needs a name.", skipped=True)
            continue
        company = company or by_key.get(company_key(name))
        custom: dict[str, Any] = dict(row.custom)
        fields: dict[str, Any] = {}
        if row.get("domain"):
            domain = domain_of(row.get("domain"))
            if domain is None:
                custom["website"] = row.get("domain")
            fields["domain"] = domain
        if row.get("created_at"):
            try:
                fields["created_at"] = ctx.when(row.get("created_at"), row.line)
            except ValueError as exc:
                custom["created"] = row.get("created_at")
                ctx.report.problem(row.line, f"{exc} Kept as custom field 'created'.")
        is_new = company is None
        if company is None:
            company = Company(name=name, name_key=company_key(name), created_at=ctx.now,
                              updated_at=ctx.now)  # fmt: skip
            session.add(company)
            ctx.report.created += 1
        else:
            ctx.report.updated += 1
        before = None if is_new else _brief(company)
        if name and company_key(name) == company.name_key:
            company.name = name
        for key, value in fields.items():
            if value is not None:
                setattr(company, key, value)
        company.custom_fields = {**(company.custom_fields or {}), **custom}
        by_key[company.name_key] = company
        if ext and not own_known:
            pending[ext] = company
        done.append((row, company, is_new, own_known, before))
    session.flush()  # once for the batch: the new companies get their ids here
    for row, company, is_new, own_known, before in done:
        assert company.id is not None
        ctx.remember_company(company)
        ctx.add_external_ids("company", company.id, row, own_known=own_known)
        if is_new:
            ctx.audit("company.create", "company", company)
        elif before != _brief(company):
            company.updated_at = ctx.now
            ctx.audit("company.import_update", "company", company, before=before)


def _brief(company: Company) -> dict[str, Any]:
    return {
        "name": company.name,
        "domain": company.domain,
        "custom_fields": dict(company.custom_fields or {}),
    }
