"""Deal commands: create, move through the pipeline, win, lose, and the pipeline view."""

from dataclasses import replace
from datetime import date, datetime

from sqlmodel import Session

from bot.context import HandlerContext, Outcome
from bot.language.commands import CloseDeal, Command, CreateDeal, SetDealStage, ShowPipeline
from bot.language.parsing import parse_when
from bot.rep.handlers.checks import amount_in
from bot.rep.handlers.purchases import past_when
from bot.rep.render import deal_line, local_date, money
from bot.rep.router import Router
from channels.base import Address, OutgoingMessage, Reply
from crm import deals
from crm.companies import get_or_create_company
from crm.errors import Invalid, NotFound
from crm.ids import id_of
from crm.models import Company, Contact, Deal, Rep
from crm.search import resolve_party


def _close_date(text: str, ctx: HandlerContext) -> date:
    try:
        due: datetime = parse_when(
            text, tz=ctx.tz, now=ctx.now, dateorder=ctx.dateorder, after_lunch=ctx.after_lunch
        )
    except ValueError as exc:
        raise Invalid("close", str(exc)) from None
    return due.date()


def _party(
    session: Session, ctx: HandlerContext, ref: str
) -> tuple[Contact | None, Company | None, bool]:
    """A deal's ref is a contact or a company (the most exact match wins, see
    crm.references); an unknown name becomes a new company, unless it is close to a
    known name (then the rep is asked to check). The flag says a company was created."""
    try:
        party = resolve_party(session, ref)
    except NotFound as exc:
        if "Did you mean" in str(exc):
            raise NotFound(
                f"{exc} If '{ref[:60]}' is a new company, add a contact there first "
                f"(`add <name> at {ref[:40]}`) and try again."
            ) from None
        company = get_or_create_company(session, actor=ctx.actor, name=ref, now=ctx.now)
        return None, company, True
    if isinstance(party, Company):
        return None, party, False
    return party, None, False


def create(ctx: HandlerContext, session: Session, cmd: CreateDeal) -> Reply | Outcome:
    contact, company, created = _party(session, ctx, cmd.ref)
    close_on = _close_date(cmd.close_when, ctx) if cmd.close_when else None
    amount_minor, currency = amount_in(cmd.amount, ctx)
    twin = (
        None
        if cmd.confirmed
        else deals.open_twin(
            session, title=cmd.title, contact=contact, company=None if contact else company
        )
    )
    if twin is not None:
        who = contact.name if contact else (company.name if company else cmd.ref)
        return Outcome(
            Reply(
                f"{who} already has the open deal {deal_line(twin)}. Add a second one "
                f"anyway? (To change that one: `edit deal #{twin.id} amount ...`.)"
            ),
            confirm=replace(cmd, confirmed=True),
            confirm_what=f"adding a second deal '{cmd.title}'",
        )
    deal = deals.create_deal(
        session,
        actor=ctx.actor,
        pipeline=ctx.services.pipeline,
        title=cmd.title,
        now=ctx.now,
        contact=contact,
        company=company,
        amount_minor=amount_minor,
        currency=currency,
        stage=cmd.stage,
        expected_close=close_on,
    )
    who = contact.name if contact else (company.name if company else cmd.ref)
    close = f", closing {deal.expected_close:%a %d %b %Y}" if deal.expected_close else ""
    new = f"\nNew company {who} created for it." if created and company else ""
    past = ""
    if close_on and close_on < ctx.now.date():
        past = (
            f"\n⚠ The close date {close_on:%a %d %b %Y} is in the past; "
            f"`edit deal #{deal.id} close <when>` fixes it."
        )
    return Reply(
        f"New deal {deal_line(deal)} with {who}{close}.{new}{past}\n"
        f"Move it with `stage #{deal.id} <stage>`, close it with `won #{deal.id}` or "
        f"`lost #{deal.id} <reason>`; `undo` removes it."
    )


def _deals_channel_notice(
    ctx: HandlerContext, session: Session, deal: Deal
) -> list[OutgoingMessage]:
    channel, team = ctx.settings.slack_deals_channel, ctx.services.hub.team_channel()
    if not channel or team is None:
        return []
    owner = session.get(Rep, deal.owner_id) if deal.owner_id else None
    text = f"🎉 Deal won: {deal_line(deal)}" + (f" by {owner.name}" if owner else "")
    if deal.close_reason:
        text += f" ({deal.close_reason})"
    return [OutgoingMessage(Address(team, channel), Reply(text, public=True), kind="notice")]


def stage(
    ctx: HandlerContext,
    session: Session,
    cmd: SetDealStage,
    closed_at: datetime | None = None,
    confirm: Command | None = None,
) -> Outcome:
    """Moves a deal. `confirm` is the command a "yes" runs when the move asks first
    (`close` passes its own, so `won #3 on 2 Nov` keeps its date through the question)."""
    deal = deals.resolve_deal(session, cmd.deal_ref)
    previous = deal.stage
    target = ctx.services.pipeline.check(cmd.stage)
    if deal.status == "lost" and target == "won" and not cmd.confirmed:
        return Outcome(
            Reply(
                f"{deal_line(deal)} was lost ({deal.close_reason or 'no reason given'}). "
                "Reopen it and mark it won?"
            ),
            confirm=confirm or SetDealStage(f"#{deal.id}", cmd.stage, cmd.reason, confirmed=True),
            confirm_what=f"marking deal #{deal.id} won",
        )
    if deals.stage_unchanged(deal, target, cmd.reason, closed_at):
        return Outcome(Reply(_already_there(deal, ctx)))
    was_closed, was_won = deal.status != "open", deal.status == "won"
    deals.set_stage(
        session,
        actor=ctx.actor,
        pipeline=ctx.services.pipeline,
        deal_id=id_of(deal),
        stage=cmd.stage,
        now=ctx.now,
        reason=cmd.reason,
        closed_at=closed_at,
    )
    if previous == deal.stage:  # a closed deal given a new close date or reason
        what = ", ".join(
            (
                [f"closed on {local_date(deal.closed_at, ctx.tz)}"]
                if closed_at and deal.closed_at
                else []
            )
            + ([f"reason: {deal.close_reason}"] if cmd.reason and cmd.reason.strip() else [])
        )
        return Outcome(Reply(f"Updated {deal_line(deal)}: {what}. `undo` reverts it."))
    closed_on = (
        f" on {local_date(deal.closed_at, ctx.tz)}"
        if deal.status != "open" and deal.closed_at
        else ""
    )
    reply = Reply(
        f"Moved {deal_line(deal)} from {previous} to {deal.stage}{closed_on}. "
        f"`stage #{deal.id} {previous}` moves it back."
        + (
            f" Its sale of {money(deal.amount_minor, deal.currency)} no longer counts."
            if was_won and deal.status != "won" and deal.amount_minor
            else ""
        ),
        public=deal.status == "won",
    )
    won_now = deal.status == "won" and not was_closed
    notices = _deals_channel_notice(ctx, session, deal) if won_now else []
    return Outcome(reply, notices=notices)


def _already_there(deal: Deal, ctx: HandlerContext) -> str:
    """The reply to a move that changes nothing, saying where the deal is and since when."""
    if deal.status == "open":
        return f"{deal_line(deal)} is already in {deal.stage}; nothing changed."
    since = f" on {local_date(deal.closed_at, ctx.tz)}" if deal.closed_at else ""
    why = f" ({deal.close_reason})" if deal.close_reason else ""
    return (
        f"{deal_line(deal)} is already {deal.status}{since}{why}; nothing changed. "
        f"`stage #{deal.id} <stage>` reopens it."
    )


def close(ctx: HandlerContext, session: Session, cmd: CloseDeal) -> Outcome:
    target = "won" if cmd.won else "lost"
    closed_at = past_when(cmd.when, ctx) if cmd.when else None
    return stage(
        ctx,
        session,
        SetDealStage(cmd.deal_ref, target, cmd.reason, cmd.confirmed),
        closed_at,
        confirm=replace(cmd, confirmed=True),
    )


def pipeline(ctx: HandlerContext, session: Session, cmd: ShowPipeline) -> Reply:
    owner_id = ctx.actor.id if cmd.scope == "mine" and ctx.actor.kind == "rep" else None
    rows = deals.pipeline_summary(session, pipeline=ctx.services.pipeline, owner_id=owner_id)
    scope = "Your" if owner_id is not None else "The team's"
    if not rows:
        team = (
            deals.pipeline_summary(session, pipeline=ctx.services.pipeline, owner_id=None)
            if owner_id is not None
            else []
        )
        if team:  # imported or unowned deals: "empty" would send the rep looking elsewhere
            count = sum(row.count for row in team)
            return Reply(
                f"You own no open deals; the team's pipeline has {count}: `pipeline all` shows it."
            )
        return Reply(
            f'{scope} pipeline is empty. Add a deal with `deal <company> "title" $amount`.'
        )
    lines = [f"{scope} open pipeline:"]
    for row in rows:
        amounts = ", ".join(money(v, c) for c, v in sorted(row.amounts.items()))
        weighted = ", ".join(
            money(v * row.probability // 100, c) for c, v in sorted(row.amounts.items())
        )
        lines.append(
            f"- {row.stage}: {row.count} deal(s), {amounts} "
            f"(weighted {weighted} at {row.probability}%)"
        )
    if owner_id is not None:
        lines.append("`pipeline all` shows the whole team's.")
    return Reply("\n".join(lines))


def register(router: Router) -> None:
    router.add(CreateDeal, create)
    router.add(SetDealStage, stage)
    router.add(CloseDeal, close)
    router.add(ShowPipeline, pipeline)
