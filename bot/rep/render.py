"""Turning domain rows into neutral replies: cards, lists, money and times for people."""

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.language.parsing import format_when
from channels.base import Action, Card
from crm.models import Contact, Deal
from crm.money import format_money
from crm.needs.language import LANGUAGE_NAMES
from crm.validation import format_phone
from crm.views import ContactBrief, ContactOverview

money = format_money  # one style for amounts everywhere: crm.money


def local_date(dt: datetime, tz: str) -> str:
    """The day alone, in the viewer's zone: `Mon 02 Nov 2026` (past dates of sales, calls)."""
    return dt.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y")


def when(dt: datetime | None, tz: str, now: datetime | None = None) -> str:
    return format_when(dt, tz, now=now) if dt is not None else "-"


def contact_line(brief: ContactBrief) -> str:
    """`#4 Jane Doe (Acme) jane@acme.com +1 415 555 0100`: values read by crm.views."""
    bits = [f"#{brief.contact.id} {brief.contact.name}"]
    if brief.company_name:
        bits.append(f"({brief.company_name})")
    if brief.email:
        bits.append(brief.email)
    if brief.phone:
        bits.append(format_phone(brief.phone))
    return " ".join(bits)


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def contact_card(view: ContactOverview, *, tz: str, now: datetime) -> Card:
    """The card a rep sees for `show`: who, how to reach them, deals, next step, history.
    Pure rendering: the values are read by crm.views.contact_overview."""
    contact, company, owner, points = view.contact, view.company, view.owner, view.points
    deals, next_followup, history = view.deals, view.next_followup, view.history
    fields: list[tuple[str, str]] = [
        ("Company", company.name if company else "-"),
        ("Emails", ", ".join(points.emails) or "-"),
        ("Phones", ", ".join(format_phone(p) for p in points.phones) or "-"),
        ("Owner", owner.name if owner else "-"),
        ("Tags", " ".join(f"#{t}" for t in contact.tags or []) or "-"),
        ("Open deals", "; ".join(deal_line(d) for d in deals) or "-"),
        (
            "Next follow-up",
            f"{next_followup.text[:60]} ({when(next_followup.due_at, tz, now)})"
            if next_followup
            else "-",
        ),
    ]
    if contact.language:
        how = "set by a rep" if contact.language_source == "rep" else "from their messages"
        fields.append(("Language", f"{language_name(contact.language)} ({how})"))
    if contact.opted_out:
        fields.append(("Consent", "opted out of follow-ups"))
    for key, value in (contact.custom_fields or {}).items():
        fields.append((field_label(str(key)), str(value)))
    lines = []
    for entry in history:
        need = (
            f" [{entry.need} {entry.need_confidence:.0%}]"
            if entry.need and entry.need_confidence is not None
            else (f" [{entry.need}]" if entry.need else "")
        )
        lines.append(f"{when(entry.at, tz, now)} {entry.kind}{need}: {entry.text[:80]}")
    fields.append(("Recent", "\n".join(lines) or "nothing yet"))
    return Card(title=f"{contact.name} (#{contact.id})", fields=tuple(fields))


def contact_actions(contact: Contact) -> tuple[Action, ...]:
    ref = f"#{contact.id}"
    return (
        Action("Log call", "contact_log_call", ref),
        Action("Add note", "contact_add_note", ref),
        Action("Remind me", "contact_remind", ref),
        Action("Open deal", "contact_open_deal", ref),
    )


def deal_line(deal: Deal) -> str:
    return f"#{deal.id} {deal.title} {money(deal.amount_minor, deal.currency)} ({deal.stage})"


def candidates_text(candidates: Sequence[object]) -> str:
    """A numbered "which one?" list: contacts as their briefs (crm.views.briefs_of), deals
    as their line, anything else as text."""
    lines = []
    for number, item in enumerate(candidates, start=1):
        if isinstance(item, ContactBrief):
            lines.append(f"{number}. {contact_line(item)}")
        elif isinstance(item, Deal):
            lines.append(f"{number}. {deal_line(item)}")
        else:
            lines.append(f"{number}. {item}")
    return "\n".join(lines)


def field_label(key: str) -> str:
    """A custom field's name as a label: `lifecycle_stage` -> "Lifecycle stage", while
    "VAT id" and "NPS" keep the capitals they were given (str.title made "Vat Id")."""
    label = " ".join(key.replace("_", " ").split())
    return label[:1].upper() + label[1:]
