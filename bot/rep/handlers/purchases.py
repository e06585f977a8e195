"""`sold jane $120 on 2 Nov ref INV-7`: a rep records a purchase, backdated if need be."""

from dataclasses import replace
from datetime import datetime

from sqlmodel import Session

from bot.context import HandlerContext, Outcome
from bot.language.commands import RecordSale
from bot.language.parsing import parse_when
from bot.rep.handlers.checks import amount_in
from bot.rep.render import local_date, money
from bot.rep.router import Router
from channels.base import Reply
from crm.errors import Invalid
from crm.ids import id_of
from crm.models import Contact, Purchase
from crm.purchases import earlier_twin, record_purchase
from crm.search import resolve_contact


def past_when(text: str, ctx: HandlerContext) -> datetime:
    """A date for something that already happened. The date parser looks forward (a
    reminder is for the future), so a yearless day it put ahead ("2 Nov" in December)
    is taken as last year's."""
    try:
        when = parse_when(
            text, tz=ctx.tz, now=ctx.now, dateorder=ctx.dateorder, after_lunch=ctx.after_lunch
        )
    except ValueError as exc:
        raise Invalid("date", str(exc)) from None
    if when > ctx.now and not any(ch.isdigit() and len(w) == 4 for w in text.split() for ch in w):
        try:
            when = when.replace(year=when.year - 1)
        except ValueError:  # 29 February
            when = when.replace(year=when.year - 1, day=28)
    if when > ctx.now:
        raise Invalid("date", "That date is in the future; give today or a day that has passed.")
    return when


def sold(ctx: HandlerContext, session: Session, cmd: RecordSale) -> Reply | Outcome:
    contact = resolve_contact(session, cmd.ref)
    when = past_when(cmd.when, ctx) if cmd.when else ctx.now
    amount_minor, currency = amount_in(cmd.amount, ctx)
    twin = (
        None
        if cmd.confirmed
        else earlier_twin(
            session,
            contact_id=id_of(contact),
            amount_minor=amount_minor,
            currency=currency,
            reference=cmd.reference,
            now=ctx.now,
        )
    )
    if twin is not None:
        return Outcome(
            Reply(
                f"{_twin_owner(session, twin, contact)} a sale {_twin_why(twin, cmd)}: "
                f"{money(twin.amount_minor, twin.currency)} on "
                f"{local_date(twin.purchased_at, ctx.tz)} (purchase {twin.id}). "
                "Record this one as well?"
            ),
            confirm=replace(cmd, confirmed=True),
            confirm_what="recording a second sale",
        )
    purchase = record_purchase(
        session,
        actor=ctx.actor,
        now=ctx.now,
        amount_minor=amount_minor,
        currency=currency,
        contact=contact,
        purchased_at=when,
        reference=cmd.reference,
    )
    ref = f" ({purchase.reference})" if purchase.reference else ""
    return Reply(
        f"Recorded: {contact.name} bought {money(purchase.amount_minor, purchase.currency)}"
        f"{ref} on {local_date(when, ctx.tz)}. `undo` removes it."
    )


def register(router: Router) -> None:
    router.add(RecordSale, sold)


def _twin_owner(session: Session, twin: Purchase, contact: Contact) -> str:
    """Who already has the sale: this contact, or (same reference) somebody else."""
    if twin.contact_id == contact.id:
        return f"{contact.name} already has"
    other = session.get(Contact, twin.contact_id) if twin.contact_id else None
    who = f"{other.name} (#{other.id})" if other is not None else "another customer"
    return f"{who} already has"


def _twin_why(twin: Purchase, cmd: RecordSale) -> str:
    return f"with the reference {twin.reference}" if cmd.reference else "of that amount"
