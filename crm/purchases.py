"""Purchases: what a customer bought, when, for how much.

A purchase is the signal customer value rests on (repeat buying, spend per purchase),
so it is a row of its own rather than a won deal: one deal may be one purchase, but an
imported order history or a shop's sales are purchases with no deal behind them.

- created by a won deal (`source="deal"`, one per deal: winning it again after a reopen
  does not count it twice), by a rep (`sold jane $120`, `source="rep"`), by an import
  (`source="import"`) and later the API.
- money is integer minor units plus a currency code, as everywhere.
- erasing a customer keeps the purchase's date, amount, currency and quantity but drops
  the link to the person and the free-text reference (`anonymise_for_contact`): revenue
  totals stay right, nobody can be recognised from them.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from crm import audit
from crm.actors import Actor, require_rep
from crm.errors import Conflict, Forbidden, Invalid, NotFound
from crm.models import Company, Contact, Deal, Purchase, snapshot
from crm.money import format_money
from crm.repeats import REPEAT_WINDOW

PURCHASE_SOURCES = ("deal", "rep", "import", "api")
CURRENCY_LENGTH = 3
MAX_REFERENCE = 200  # both also in the Purchase table (crm/models.py)


def _check_amount(amount_minor: int) -> None:
    if amount_minor < 0:
        raise Invalid("amount", "A purchase amount cannot be negative; record a refund apart.")


def _check_currency(currency: str) -> None:
    if len(currency) != CURRENCY_LENGTH or not currency.isalpha() or not currency.isupper():
        raise Invalid("currency", f"'{currency[:10]}' is not a currency code like USD or EUR.")


def _check_quantity(quantity: int) -> None:
    if quantity < 1:
        raise Invalid("quantity", "The quantity must be at least 1.")


def _check_date(when: datetime, now: datetime) -> None:
    """Past dates are fine (sales are often recorded after the fact); value models treat a
    purchase as something that happened, so a future one is refused."""
    if when > now:
        raise Invalid("date", "That date is in the future; record a purchase once it happened.")


def _clean_reference(reference: str | None) -> str | None:
    clean = " ".join((reference or "").split()) or None
    if clean and len(clean) > MAX_REFERENCE:
        raise Invalid("reference", f"A reference is at most {MAX_REFERENCE} characters.")
    return clean


def _changeable(session: Session, actor: Actor, purchase_id: int, instead: str) -> Purchase:
    """The purchase, if `actor` may change it: a rep the ones they recorded, an admin any;
    a won deal's purchase is the deal's (`instead` says what to do to the deal)."""
    require_rep(actor)
    row = get_purchase(session, purchase_id)
    if row.deal_id is not None:
        raise Conflict(
            f"Purchase #{purchase_id} is won deal #{row.deal_id}; {instead} that deal instead.",
            field="deal_id",
        )
    if not actor.is_admin and row.rep_id not in (None, actor.id):
        raise Forbidden(f"Purchase #{purchase_id} was recorded by someone else; ask an admin.")
    return row


def purchase_with_reference(session: Session, reference: str | None) -> Purchase | None:
    """The sale recorded under this reference (case aside), on any customer: an order or
    invoice number names one sale."""
    clean_ref = _clean_reference(reference)
    if clean_ref is None:
        return None
    query = select(Purchase).where(func.lower(Purchase.reference) == clean_ref.lower())
    return session.exec(query.order_by(col(Purchase.id).desc())).first()


def earlier_twin(
    session: Session,
    *,
    contact_id: int,
    amount_minor: int,
    currency: str,
    reference: str | None,
    now: datetime,
) -> Purchase | None:
    """A sale this one probably repeats: any purchase with the same reference (at any time,
    on anyone: an invoice number names one sale), or, with no reference, the contact's
    purchase of the same amount recorded within REPEAT_WINDOW. Two equal sales in an hour
    do happen, so the caller asks rather than refuses."""
    if _clean_reference(reference) is not None:
        return purchase_with_reference(session, reference)
    query = select(Purchase).where(
        Purchase.contact_id == contact_id,
        Purchase.amount_minor == amount_minor,
        Purchase.currency == currency,
        col(Purchase.created_at) >= now - REPEAT_WINDOW,
    )
    return session.exec(query.order_by(col(Purchase.id).desc())).first()


def record_purchase(
    session: Session,
    *,
    actor: Actor,
    now: datetime,
    amount_minor: int,
    currency: str,
    contact: Contact | None = None,
    company: Company | None = None,
    purchased_at: datetime | None = None,
    quantity: int = 1,
    reference: str | None = None,
    source: str = "rep",
    deal_id: int | None = None,
) -> Purchase:
    """Adds a purchase (and its audit row) in the caller's transaction.

    A date in the past is fine (a sale is often recorded after the fact); one in the
    future is refused, since value models treat a purchase as something that happened.
    """
    require_rep(actor)
    if contact is None and company is None:
        raise Invalid("customer", "A purchase needs a contact or a company.")
    _check_amount(amount_minor)
    _check_currency(currency)
    _check_quantity(quantity)
    if source not in PURCHASE_SOURCES:
        raise Invalid("source", f"'{source}' is not a purchase source.")
    when = purchased_at or now
    _check_date(when, now)
    clean_ref = _clean_reference(reference)
    purchase = Purchase(
        contact_id=contact.id if contact else None,
        company_id=company.id if company else (contact.company_id if contact else None),
        deal_id=deal_id,
        rep_id=actor.id if actor.kind == "rep" else None,
        purchased_at=when,
        amount_minor=amount_minor,
        currency=currency,
        quantity=quantity,
        reference=clean_ref,
        source=source,
        created_at=now,
    )
    session.add(purchase)
    if contact is not None:
        contact.last_activity_at = max(filter(None, [contact.last_activity_at, when]))
        session.add(contact)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="purchase.create",
        entity_type="purchase",
        entity_id=purchase.id,
        at=now,
        after=snapshot(purchase),
    )
    return purchase


def purchase_for_won_deal(
    session: Session, *, actor: Actor, deal_id: int, now: datetime
) -> Purchase | None:
    """The purchase a won deal stands for; created once, dated at the deal's close.

    Winning a deal again after reopening it updates that purchase rather than adding a
    second one (the unique deal_id index backs this up); a deal with no contact or
    company has no customer to attach it to and records none.
    """
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise NotFound(f"There is no deal #{deal_id}.")
    if deal.contact_id is None and deal.company_id is None:
        return None
    existing = session.exec(select(Purchase).where(Purchase.deal_id == deal_id)).first()
    when = deal.closed_at or now
    if existing is not None:
        existing.amount_minor, existing.currency = deal.amount_minor, deal.currency
        existing.purchased_at = when
        if not existing.anonymised:  # an edited deal's customer is the sale's customer
            existing.contact_id, existing.company_id = deal.contact_id, deal.company_id
        session.add(existing)
        return existing
    contact = session.get(Contact, deal.contact_id) if deal.contact_id else None
    company = session.get(Company, deal.company_id) if deal.company_id else None
    return record_purchase(
        session,
        actor=actor,
        now=now,
        purchased_at=min(when, now),
        amount_minor=deal.amount_minor,
        currency=deal.currency,
        contact=contact,
        company=company,
        reference=f"deal #{deal.id}",
        source="deal",
        deal_id=deal.id,
    )


def get_purchase(session: Session, purchase_id: int) -> Purchase:
    row = session.get(Purchase, purchase_id)
    if row is None:
        raise NotFound(f"There is no purchase #{purchase_id}.")
    return row


def delete_purchase(session: Session, *, actor: Actor, purchase_id: int, now: datetime) -> Purchase:
    """A purchase recorded by mistake goes (audited as `purchase.delete`, whole).

    A rep may delete the purchases they recorded; an admin any. The purchase of a won
    deal is the deal's: reopening or losing the deal removes it, so it is refused here.
    """
    row = _changeable(session, actor, purchase_id, "reopen or lose")
    before = snapshot(row)
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="purchase.delete",
        entity_type="purchase",
        entity_id=purchase_id,
        at=now,
        before=before,
    )
    return row


def edit_purchase(
    session: Session,
    *,
    actor: Actor,
    purchase_id: int,
    now: datetime,
    amount_minor: int | None = None,
    currency: str | None = None,
    purchased_at: datetime | None = None,
    quantity: int | None = None,
    reference: str | None = None,
    clear_reference: bool = False,
) -> Purchase:
    """Corrects a purchase with `record_purchase`'s checks; audited `purchase.update` so
    `undo` puts the old values back. As with delete: a rep edits the purchases they
    recorded, an admin any, and a won deal's purchase follows its deal (edit the deal)."""
    row = _changeable(session, actor, purchase_id, "edit")
    before = snapshot(row)
    if amount_minor is not None:
        _check_amount(amount_minor)
        row.amount_minor = amount_minor
    if currency is not None:
        _check_currency(currency)
        row.currency = currency
    if purchased_at is not None:
        _check_date(purchased_at, now)
        row.purchased_at = purchased_at
    if quantity is not None:
        _check_quantity(quantity)
        row.quantity = quantity
    if reference is not None and row.anonymised:
        raise Invalid("reference", "An erased customer's purchase keeps no reference.")
    if reference is not None or clear_reference:
        row.reference = _clean_reference(reference)
    after = snapshot(row)
    if after != before:
        session.add(row)
        audit.record(
            session,
            actor=actor,
            action="purchase.update",
            entity_type="purchase",
            entity_id=purchase_id,
            at=now,
            before=before,
            after=after,
        )
        session.flush()
    return row


def purchases_of_deal(session: Session, *, deal_id: int) -> list[Purchase]:
    """The sale a won deal made (none for an open or lost one)."""
    return list(session.exec(select(Purchase).where(Purchase.deal_id == deal_id)).all())


def drop_purchase_for_deal(session: Session, *, deal_id: int) -> int:
    """A won deal reopened, marked lost or deleted is no longer a sale: its purchase goes."""
    rows = purchases_of_deal(session, deal_id=deal_id)
    for row in rows:
        session.delete(row)
    return len(rows)


def list_purchases(
    session: Session,
    *,
    contact_id: int | None = None,
    company_id: int | None = None,
    limit: int | None = 50,
) -> list[Purchase]:
    """Newest first, for one contact and/or company."""
    if contact_id is None and company_id is None:
        raise Invalid("customer", "Say whose purchases to list.")
    statement = select(Purchase)
    if contact_id is not None:
        statement = statement.where(Purchase.contact_id == contact_id)
    if company_id is not None:
        statement = statement.where(Purchase.company_id == company_id)
    statement = statement.order_by(col(Purchase.purchased_at).desc(), col(Purchase.id).desc())
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.exec(statement))


def anonymise_for_contact(session: Session, *, contact_id: int) -> int:
    """Erasure: keep amount, currency, quantity and date; drop who and the free text."""
    result = session.exec(
        update(Purchase)
        .where(col(Purchase.contact_id) == contact_id)
        .values(contact_id=None, reference=None, rep_id=None, anonymised=True)
    )
    return result.rowcount or 0


@dataclass(frozen=True)
class PurchaseLine:
    """A purchase as the timeline shows it."""

    at: datetime
    text: str
    ref: str


def timeline_lines(session: Session, *, contact_id: int, limit: int) -> list[PurchaseLine]:
    """Newest purchases of a contact, as text for the timeline (amounts in major units)."""
    rows = list_purchases(session, contact_id=contact_id, limit=limit)
    return [
        PurchaseLine(
            at=p.purchased_at,
            text=f"bought {format_money(p.amount_minor, p.currency)}"
            + (f" ×{p.quantity}" if p.quantity != 1 else "")
            + (f" ({p.reference})" if p.reference else ""),
            ref=f"purchase:{p.id}",
        )
        for p in rows
    ]
