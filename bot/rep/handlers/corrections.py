"""Corrections: a contact's emails and phones, a deal's fields, deleting a deal, and the
trash (restore a deleted contact, list what can still be restored)."""

from dataclasses import replace
from datetime import date
from typing import TypedDict

from sqlmodel import Session

from bot.context import HandlerContext, Outcome
from bot.language.commands import ChangePoint, DeleteDeal, EditDeal, RestoreContact, ShowTrash
from bot.language.parsing import parse_money, parse_when
from bot.rep.render import contact_card, contact_line, deal_line, money, when
from bot.rep.router import Router
from channels.base import Reply
from crm import deals
from crm import trash as trash_service
from crm.actors import require_admin
from crm.contact_points import change_point as change_point_service
from crm.contacts import find_rep
from crm.errors import Invalid
from crm.ids import id_of
from crm.purchases import purchases_of_deal
from crm.search import resolve_contact
from crm.trash import RETENTION, list_trash
from crm.views import contact_brief, contact_overview

_DONE = {"replace": "Replaced the primary {kind}", "add": "Added {kind}",
         "remove": "Removed {kind}", "primary": "Made primary the {kind}"}  # fmt: skip


def change_point(ctx: HandlerContext, session: Session, cmd: ChangePoint) -> Reply:
    contact = resolve_contact(session, cmd.ref)
    _, previous = change_point_service(
        session,
        actor=ctx.actor,
        contact_id=id_of(contact),
        kind=cmd.kind,
        op=cmd.op,
        value=cmd.value,
        now=ctx.now,
        region=ctx.settings.default_phone_region,
    )
    done = _DONE[cmd.op].format(kind=cmd.kind)
    was = ""
    if cmd.op == "replace":
        was = f" (was {previous})" if previous else " (there was none)"
    elif cmd.op == "primary" and previous:
        was = f" ({previous} stays as a second {cmd.kind})"
    return Reply(
        f"{done} of {contact_line(contact_brief(session, contact))}{was}. `undo` puts it back.",
        cards=(contact_card(contact_overview(session, contact), tz=ctx.tz, now=ctx.now),),
    )


class _DealChanges(TypedDict, total=False):
    """The keyword arguments of crm.deals.edit_deal that a correction sets."""

    title: str
    amount: tuple[int, str]
    expected_close: date
    owner_id: int | None


def edit_deal(ctx: HandlerContext, session: Session, cmd: EditDeal) -> Reply | Outcome:
    deal = deals.resolve_deal(session, cmd.deal_ref)
    changes: _DealChanges = {}
    warning = ""
    if cmd.field_name == "amount":
        try:
            changes["amount"] = parse_money(cmd.value, deal.currency)
        except ValueError as exc:
            raise Invalid("amount", str(exc)) from None
    elif cmd.field_name == "title":
        changes["title"] = cmd.value
    elif cmd.field_name == "owner":
        changes["owner_id"] = find_rep(session, cmd.value).id
    elif cmd.field_name == "close":
        try:
            day = parse_when(cmd.value, tz=ctx.tz, now=ctx.now, after_lunch=ctx.after_lunch).date()
        except ValueError as exc:
            raise Invalid("close", str(exc)) from None
        if day < ctx.now.date() and not cmd.confirmed and deal.status == "open":
            return Outcome(
                Reply(f"{day:%a %d %b %Y} is in the past. Set it as the close date of "
                      f"{deal_line(deal)} anyway?"),
                confirm=replace(cmd, deal_ref=f"#{deal.id}", confirmed=True),
                confirm_what="changing the close date",
            )  # fmt: skip
        changes["expected_close"] = day
    else:
        raise Invalid("field", "A deal's fields are amount, title, close and owner.")
    before = deal_line(deal)
    deals.edit_deal(session, actor=ctx.actor, deal_id=id_of(deal), now=ctx.now, **changes)
    if cmd.field_name == "close" and deal.expected_close:
        warning = f", closing {deal.expected_close:%a %d %b %Y}"
    return Reply(f"Updated {cmd.field_name} of deal {before}: now {deal_line(deal)}{warning}. "
                 "`undo` puts it back.")  # fmt: skip


def delete_deal(ctx: HandlerContext, session: Session, cmd: DeleteDeal) -> Reply | Outcome:
    deal = deals.resolve_deal(session, cmd.deal_ref)
    line = deal_line(deal)
    sales = purchases_of_deal(session, deal_id=id_of(deal))
    sale = ", ".join(money(p.amount_minor, p.currency) for p in sales)
    if not cmd.confirmed:
        goes = f" Its sale of {sale} goes with it." if sales else ""
        return Outcome(
            Reply(f"Delete deal {line}?{goes} `undo` brings it back."),
            confirm=DeleteDeal(f"#{deal.id}", confirmed=True),
            confirm_what=f"deleting deal #{deal.id}",
        )
    deals.delete_deal(session, actor=ctx.actor, deal_id=id_of(deal), now=ctx.now)
    went = f", and its sale of {sale}" if sales else ""
    return Reply(f"Deleted deal {line}{went}. `undo` brings it back.")


def restore(ctx: HandlerContext, session: Session, cmd: RestoreContact) -> Reply:
    contact, counts = trash_service.restore(
        session, actor=ctx.actor, contact_id=cmd.contact_id, now=ctx.now
    )
    return Reply(
        f"Restored {contact_line(contact_brief(session, contact))} with "
        f"{trash_service.counts_text(counts)}.",
        cards=(contact_card(contact_overview(session, contact), tz=ctx.tz, now=ctx.now),),
    )


def trash(ctx: HandlerContext, session: Session, cmd: ShowTrash) -> Reply:
    require_admin(ctx.actor, "see the trash")
    rows = list_trash(session, now=ctx.now)
    if not rows:
        return Reply(f"The trash is empty (deleted contacts are kept {RETENTION.days} days).")
    lines = [
        f"#{row.contact_id} {row.name}, deleted {when(row.deleted_at, ctx.tz, ctx.now)}; "
        f"gone for good after {when(row.deleted_at + RETENTION, ctx.tz, ctx.now)}"
        for row in rows
    ]
    return Reply("In the trash:\n" + "\n".join(lines) + "\n`restore #id` brings one back.")


def register(router: Router) -> None:
    router.add(ChangePoint, change_point)
    router.add(EditDeal, edit_deal)
    router.add(DeleteDeal, delete_deal)
    router.add(RestoreContact, restore)
    router.add(ShowTrash, trash)


__all__ = ["change_point", "delete_deal", "edit_deal", "money", "register"]
