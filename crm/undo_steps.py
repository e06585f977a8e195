"""How each kind of audited change is put back, for `undo` (crm.undo decides which).

One function per action: it restores the state the audit row's `before` describes and
returns, in words, exactly what was undone. A step that finds the thing gone, or in a
state it cannot take back, raises a typed error and nothing is changed.
"""

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import update
from sqlmodel import Session, col, select

from crm.actors import Actor
from crm.contact_points import set_points
from crm.contacts import refresh_search_text
from crm.enums import FollowUpStatus
from crm.errors import Conflict, Invalid
from crm.externalids import ExternalId, forget
from crm.ids import id_of
from crm.models import (
    Activity,
    AuditLog,
    Company,
    Contact,
    Conversation,
    Deal,
    FollowUp,
    Message,
    NeedCorrection,
    Purchase,
    Rep,
    table_name,
)
from crm.money import format_money
from crm.purchases import (
    delete_purchase,
    drop_purchase_for_deal,
    purchase_for_won_deal,
)
from crm.trash import TrashedContact, counts_text, restore_contact, revive

if TYPE_CHECKING:  # crm.merge is imported where it is used
    from crm.merge import MovedRow

_Moved = TypeVar("_Moved", bound="MovedRow")


def _rows_by_id(session: Session, model: type[_Moved], ids: list[int]) -> list[_Moved]:
    return list(session.exec(select(model).where(col(model.id).in_(ids))))


def _dt(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _gone(what: str) -> Conflict:
    return Conflict(f"That {what} no longer exists, so there is nothing to undo. Nothing was done.")


def _contact(session: Session, row: AuditLog) -> Contact:
    contact = session.get(Contact, row.entity_id)
    if contact is None:
        raise _gone("contact")
    return contact


def _who(contact: Contact) -> str:
    return f"{contact.name} (#{contact.id})"


# --- contacts ------------------------------------------------------------------------


def _contact_create(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    contact = _contact(session, row)
    shown = _who(contact)
    forget(session, entity_type="contact", entity_ids=[contact.id])
    session.delete(contact)
    session.flush()
    return f"adding {shown}; the contact is removed"


def _contact_update(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    contact = _contact(session, row)
    before, after = row.before or {}, row.after or {}
    changed = [k for k in ("name", "company_id", "owner_id", "timezone", "custom_fields")
               if before.get(k) != after.get(k)]  # fmt: skip
    for key in changed:
        setattr(contact, key, before.get(key))
    points = [k for k in ("emails", "phones") if before.get(k) != after.get(k)]
    if points:
        set_points(
            session,
            contact,
            emails=list(before.get("emails", [])),
            phones=list(before.get("phones", [])),
            now=now,
        )
    contact.updated_at = now
    session.flush()
    refresh_search_text(session, contact)
    session.add(contact)
    names = {"company_id": "company", "owner_id": "owner", "custom_fields": "custom field",
             "emails": "emails", "phones": "phones"}  # fmt: skip
    parts = [names.get(k, k) for k in changed + points]
    detail = []
    for key in points:
        detail.append(f"{key} back to {', '.join(before.get(key, [])) or 'none'}")
    if "name" in changed:
        detail.append(f"name back to {before.get('name')}")
    tail = f" ({'; '.join(detail)})" if detail else ""
    return f"the edit of {_who(contact)}'s {' and '.join(parts) or 'details'}{tail}"


def _contact_tag(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    contact = _contact(session, row)
    contact.tags = list((row.before or {}).get("tags", []))
    contact.updated_at = now
    refresh_search_text(session, contact)
    session.add(contact)
    shown = " ".join(f"#{t}" for t in contact.tags) or "no tags"
    return f"the tag change on {_who(contact)}; tags are {shown} again"


def _contact_delete(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    entry = session.get(TrashedContact, (row.after or {}).get("trash_id"))
    if entry is None:
        raise Conflict("That contact is no longer in the trash (restored or purged).")
    contact, counts = restore_contact(session, entry=entry)
    return f"deleting {_who(contact)}; restored with {counts_text(counts)}"


def _contact_merge(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    before, after = row.before or {}, row.after or {}
    source_data = dict(before["source"])
    target = _contact(session, row)
    if session.get(Contact, source_data["id"]) is not None:
        raise Conflict(f"Contact #{source_data['id']} exists again; nothing was undone.")
    emails, phones = source_data.pop("emails", []), source_data.pop("phones", [])
    source = revive(Contact, source_data)
    session.add(source)
    session.flush()
    from crm.merge import MOVED_TABLES

    tables = {table_name(model): model for model in MOVED_TABLES}
    for name, ids in (after.get("moved_ids") or {}).items():
        model = tables.get(name)
        for item in _rows_by_id(session, model, ids) if model else ():
            if item.contact_id == target.id:
                item.contact_id = id_of(source)
                session.add(item)
    ext_ids = (after.get("moved_ids") or {}).get("externalid") or []
    if ext_ids:
        session.execute(
            update(ExternalId)
            .where(col(ExternalId.id).in_(ext_ids), col(ExternalId.entity_id) == target.id)
            .values(entity_id=source.id)
        )
    session.flush()
    set_points(session, source, emails=emails, phones=phones, now=now)
    target_before = before["target"]
    for key in ("tags", "custom_fields", "company_id", "owner_id", "timezone", "opted_out"):
        setattr(target, key, target_before.get(key))
    target.last_activity_at = _dt(target_before.get("last_activity_at"))
    target.updated_at = now
    set_points(
        session,
        target,
        emails=list(target_before.get("emails", [])),
        phones=list(target_before.get("phones", [])),
        now=now,
    )
    moved = after.get("moved") or {}
    return (
        f"merging {source.name} (#{source.id}) into {_who(target)}; #{source.id} is back "
        f"with {counts_text(moved)}"
    )


# --- activities, deals, follow-ups, companies, inbox, settings ----------------------------


def _activity_create(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    activity = session.get(Activity, row.entity_id)
    if activity is None:
        raise _gone("activity")
    contact = session.get(Contact, activity.contact_id)
    session.delete(activity)
    who = f" with {contact.name}" if contact else ""
    return f"the {activity.kind}{who}: {activity.text[:60]}"


def _activity_update(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    activity = session.get(Activity, row.entity_id)
    if activity is None:
        raise _gone("activity")
    before = row.before or {}
    activity.kind, activity.text = before["kind"], before["text"]
    activity.occurred_at = _dt(before["occurred_at"])
    session.add(activity)
    return f"the edit of the {activity.kind}: {activity.text[:60]}"


def _activity_delete(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    data = dict(row.before or {})
    if session.get(Activity, data.get("id")) is not None:
        raise Conflict("That activity exists again; nothing was undone.")
    if session.get(Contact, data.get("contact_id")) is None:
        raise _gone("activity's contact")
    if data.get("deal_id") and session.get(Deal, data["deal_id"]) is None:
        data["deal_id"] = None
    activity = revive(Activity, data)
    session.add(activity)
    session.flush()
    return f"deleting the {activity.kind}: {activity.text[:60]}; it is back"


def _deal_line(deal: Deal | dict[str, Any]) -> str:
    title = deal.title if isinstance(deal, Deal) else deal.get("title")
    number = deal.id if isinstance(deal, Deal) else deal.get("id")
    return f"deal #{number} {title}"


def _deal(session: Session, row: AuditLog) -> Deal:
    deal = session.get(Deal, row.entity_id)
    if deal is None:
        raise _gone("deal")
    return deal


def _deal_create(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    deal = _deal(session, row)
    shown = _deal_line(deal)
    session.delete(deal)
    return f"the new {shown}; it is removed"


def _purchase_create(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    """A sale typed by mistake (or twice) goes the way the API deletes one: the rep's own,
    audited as purchase.delete; a won deal's purchase is the deal's and is refused."""
    if row.entity_id is None or session.get(Purchase, row.entity_id) is None:
        raise _gone("purchase")
    gone = delete_purchase(session, actor=actor, purchase_id=row.entity_id, now=now)
    return f"the sale of {format_money(gone.amount_minor, gone.currency)}; it is removed"


def _sale_follows(session: Session, deal: Deal, actor: Actor, now: datetime) -> str:
    """A deal's sale is there exactly while the deal is won, undo or not: undoing a win
    takes the sale away, undoing a loss of a won deal brings it back. Returns what
    happened to the sale, in words ("" when nothing did)."""
    session.flush()
    if deal.status == "won":
        sale = purchase_for_won_deal(session, actor=actor, deal_id=id_of(deal), now=now)
        return (
            f"; its sale of {format_money(sale.amount_minor, sale.currency)} counts again"
            if sale
            else ""
        )
    if drop_purchase_for_deal(session, deal_id=id_of(deal)):
        return f"; its sale of {format_money(deal.amount_minor, deal.currency)} is removed"
    return ""


def _deal_stage(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    deal = _deal(session, row)
    before = row.before or {}
    moved_to = deal.stage
    deal.stage, deal.status = before["stage"], before["status"]
    deal.close_reason = before.get("close_reason")
    deal.closed_at = _dt(before.get("closed_at"))
    if moved_to == deal.stage:  # a closed deal's new close date or reason
        session.add(deal)
        if deal.status == "won":
            session.flush()
            purchase_for_won_deal(session, actor=actor, deal_id=id_of(deal), now=now)
        return f"the new close date or reason of {_deal_line(deal)}; it has its earlier ones back"
    deal.stage_changed_at, deal.updated_at = now, now
    session.add(deal)
    sale = _sale_follows(session, deal, actor, now) if "won" in (moved_to, deal.status) else ""
    verb = (
        f"marking {_deal_line(deal)} {moved_to}"
        if moved_to in ("won", "lost")
        else (f"moving {_deal_line(deal)} to {moved_to}")
    )
    return f"{verb}; it is back in {deal.stage}{sale}"


def _deal_update(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    deal = _deal(session, row)
    before, after = row.before or {}, row.after or {}
    fields = ("title", "amount_minor", "currency", "expected_close", "owner_id",
              "contact_id", "company_id")  # fmt: skip
    changed = [k for k in fields if before.get(k) != after.get(k)]
    gone: dict[str, Any] = {"contact_id": Contact, "company_id": Company}
    for key in changed:
        value = before.get(key)
        if key == "expected_close" and isinstance(value, str):
            value = date.fromisoformat(value)
        if key in gone and value is not None and session.get(gone[key], value) is None:
            value = None  # the old contact or company was deleted since
        setattr(deal, key, value)
    deal.updated_at = now
    session.add(deal)
    if deal.status == "won":
        _sale_follows(session, deal, actor, now)
    names = {"amount_minor": "amount", "expected_close": "close date", "owner_id": "owner",
             "contact_id": "contact", "company_id": "company"}  # fmt: skip
    shown = " and ".join(dict.fromkeys(names.get(k, k) for k in changed if k != "currency"))
    return f"the {shown or 'edit'} change of {_deal_line(deal)}"


def _deal_delete(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    data = dict(row.before or {})
    if session.get(Deal, data.get("id")) is not None:
        raise Conflict("That deal exists again; nothing was undone.")
    if data.get("contact_id") and session.get(Contact, data["contact_id"]) is None:
        data["contact_id"] = None
    if data.get("company_id") and session.get(Company, data["company_id"]) is None:
        data["company_id"] = None
    deal = revive(Deal, data)
    session.add(deal)
    session.flush()
    sold = _revive_sales(session, (row.after or {}).get("sales") or [])
    back = f", with its sale of {sold}" if sold else ""
    return f"deleting {_deal_line(deal)}; it is back{back}"


def _revive_sales(session: Session, sales: list[dict[str, Any]]) -> str:
    """Puts a deleted won deal's sale back under its id; "" when there was none."""
    amounts = []
    for data in sales:
        if session.get(Purchase, data.get("id")) is not None:
            continue
        values = dict(data)
        for key, model in (("contact_id", Contact), ("company_id", Company)):
            if values.get(key) and session.get(model, values[key]) is None:
                values[key] = None
        if values.get("contact_id") is None and values.get("company_id") is None:
            continue  # its customer is gone too: nobody to have bought it
        sale = revive(Purchase, values)
        session.add(sale)
        amounts.append(format_money(sale.amount_minor, sale.currency))
    session.flush()
    return ", ".join(amounts)


def _followup_line(session: Session, followup: FollowUp) -> str:
    if followup.kind == "customer" and followup.contact_id:
        contact = session.get(Contact, followup.contact_id)
        who = f" to {contact.name}" if contact else ""
        return f"follow-up {followup.id}{who}, {followup.text[:60]}"
    return f"reminder {followup.id}, {followup.text[:60]}"


def _followup(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    followup = session.get(FollowUp, row.entity_id)
    if followup is None:
        raise _gone("follow-up")
    if row.action == "followup.create":
        if followup.status not in ("pending", "claimed"):
            raise Invalid(
                "undo",
                f"{_followup_line(session, followup).capitalize()} is already {followup.status}; "
                "I can't take it back. Nothing was undone.",
            )
        followup.status = FollowUpStatus.CANCELLED
        what = f"{_followup_line(session, followup)} (cancelled)"
    else:
        before = row.before or {}
        if row.action == "followup.update" and followup.status != FollowUpStatus.PENDING:
            raise Invalid(
                "undo",
                f"{_followup_line(session, followup).capitalize()} is {followup.status} now; "
                "I can't take the edit back. Nothing was undone.",
            )
        followup.status = before["status"]
        followup.due_at = _dt(before["due_at"])
        followup.text = before.get("text", followup.text)
        verbs = {"followup.done": "marking done", "followup.cancel": "cancelling",
                 "followup.snooze": "snoozing", "followup.update": "the edit of"}  # fmt: skip
        what = f"{verbs[row.action]} {_followup_line(session, followup)}"
    followup.updated_at = now
    session.add(followup)
    return what


def _company_create(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    company = session.get(Company, row.entity_id)
    if company is None:
        raise _gone("company")
    used = session.exec(select(Contact.id).where(Contact.company_id == company.id)).first()
    used = used or session.exec(select(Deal.id).where(Deal.company_id == company.id)).first()
    if used is not None:
        raise Invalid(
            "undo",
            f"Company {company.name} is in use by contacts or deals now, so I can't remove it. "
            "Nothing was undone.",
        )
    session.delete(company)
    return f"creating company {company.name}; it is removed"


def _company_update(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    company = session.get(Company, row.entity_id)
    if company is None:
        raise _gone("company")
    before = row.before or {}
    company.name, company.name_key = before["name"], before["name_key"]
    company.domain = before.get("domain")
    company.updated_at = now
    session.add(company)
    return f"the edit of company {company.name}"


def _company_delete(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    data = dict(row.before or {})
    if session.get(Company, data.get("id")) is not None:
        raise Conflict("That company exists again; nothing was undone.")
    taken = session.exec(select(Company).where(Company.name_key == data.get("name_key"))).first()
    if taken is not None:
        raise Invalid(
            "undo",
            f"There is a company called {taken.name} again, so I can't bring the deleted one "
            "back. Nothing was undone.",
        )
    company = revive(Company, data)
    session.add(company)
    session.flush()
    return f"deleting company {company.name}; it is back"


def _purchase_update(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    purchase = session.get(Purchase, row.entity_id)
    if purchase is None:
        raise _gone("purchase")
    before = row.before or {}
    for key in ("amount_minor", "currency", "quantity", "reference"):
        setattr(purchase, key, before.get(key))
    purchase.purchased_at = _dt(before["purchased_at"])
    session.add(purchase)
    return f"the edit of purchase #{purchase.id}"


def _retag(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    message = session.get(Message, row.entity_id)
    if message is None:
        raise _gone("message")
    old = (row.before or {}).get("need")
    new = message.need
    message.need, message.need_corrected = old, False
    session.add(message)
    correction = session.exec(
        select(NeedCorrection)
        .where(NeedCorrection.message_id == message.id)
        .order_by(col(NeedCorrection.id).desc())
    ).first()
    if correction is not None:
        session.delete(correction)  # a wrong label must not reach the training data
    return f"retagging message {message.id} as {new}; it is {old or 'untagged'} again"


def _conversation_assign(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    conversation = session.get(Conversation, row.entity_id)
    if conversation is None:
        raise _gone("conversation")
    conversation.assignee_id = (row.before or {}).get("assignee_id")
    session.add(conversation)
    rep = session.get(Rep, conversation.assignee_id) if conversation.assignee_id else None
    who = rep.name if rep else "unassigned"
    return f"the assignment of conversation {conversation.id}; it is {who} again"


def _timezone(session: Session, row: AuditLog, actor: Actor, now: datetime) -> str:
    rep = session.get(Rep, row.entity_id)
    if rep is None:
        raise _gone("rep")
    rep.timezone = (row.before or {}).get("timezone", rep.timezone)
    session.add(rep)
    return f"the time zone change; it is {rep.timezone} again"


REVERTERS = {
    "contact.create": _contact_create,
    "contact.update": _contact_update,
    "contact.tag": _contact_tag,
    "contact.delete": _contact_delete,
    "contact.merge": _contact_merge,
    "activity.create": _activity_create,
    "activity.update": _activity_update,
    "activity.delete": _activity_delete,
    "deal.create": _deal_create,
    "purchase.create": _purchase_create,
    "deal.stage": _deal_stage,
    "deal.won": _deal_stage,
    "deal.lost": _deal_stage,
    "deal.update": _deal_update,
    "deal.delete": _deal_delete,
    "followup.create": _followup,
    "followup.done": _followup,
    "followup.cancel": _followup,
    "followup.snooze": _followup,
    "followup.update": _followup,
    "company.create": _company_create,
    "company.update": _company_update,
    "company.delete": _company_delete,
    "purchase.update": _purchase_update,
    "message.retag": _retag,
    "conversation.assign": _conversation_assign,
    "rep.timezone": _timezone,
}
