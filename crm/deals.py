"""Deals through a configurable pipeline: create, move, win, lose, summarise."""

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from rapidfuzz import fuzz, process
from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from crm import audit, purchases
from crm.actors import Actor, require_rep
from crm.enums import DealStatus
from crm.errors import Ambiguous, Forbidden, Invalid, NotFound
from crm.ids import id_of
from crm.models import Company, Contact, Deal, Rep, snapshot
from crm.references import by_name, fold

ID_REF = re.compile(r"^#?(\d{1,12})$")
CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Pipeline:
    """Open stages in order with their win probability (%); `won`/`lost` are terminal."""

    stages: Sequence[tuple[str, int]]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.stages]

    def probability(self, stage: str) -> int:
        return dict(self.stages).get(stage, 100 if stage == "won" else 0)

    def check(self, stage: str) -> str:
        stage = stage.strip().lower()
        if stage in self.names or stage in {"won", "lost"}:
            return stage
        choices = [*self.names, "won", "lost"]
        near = process.extractOne(stage, choices, scorer=fuzz.ratio, score_cutoff=75)
        guess = f" Did you mean {near[0]}?" if near is not None else ""
        raise Invalid(
            "stage",
            f"'{stage[:30]}' is not a stage.{guess} Stages: {', '.join(self.names)}, won, lost.",
        )


def create_deal(
    session: Session,
    *,
    actor: Actor,
    pipeline: Pipeline,
    title: str,
    now: datetime,
    contact: Contact | None = None,
    company: Company | None = None,
    amount_minor: int = 0,
    currency: str = "USD",
    stage: str | None = None,
    expected_close: date | None = None,
) -> Deal:
    require_rep(actor)
    clean_title = " ".join(title.split())
    if not clean_title:
        raise Invalid("title", 'A deal needs a title, e.g. deal Acme "50 seats" $12,000.')
    if len(clean_title) > 200:
        raise Invalid("title", "That deal title is longer than 200 characters.")
    if amount_minor < 0:
        raise Invalid("amount", "A deal amount cannot be negative.")
    if not CURRENCY.match(currency):
        raise Invalid("currency", f"'{currency}' is not a currency code like USD or EUR.")
    stage_name = pipeline.check(stage) if stage else pipeline.names[0]
    if stage_name in {"won", "lost"}:
        raise Invalid("stage", "Create the deal first, then mark it `won` or `lost`.")
    deal = Deal(
        title=clean_title,
        contact_id=contact.id if contact else None,
        company_id=company.id if company else (contact.company_id if contact else None),
        owner_id=actor.id if actor.kind == "rep" else None,
        amount_minor=amount_minor,
        currency=currency,
        stage=stage_name,
        expected_close=expected_close,
        stage_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(deal)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="deal.create",
        entity_type="deal",
        entity_id=deal.id,
        at=now,
        after=snapshot(deal),
    )
    return deal


def get_deal(session: Session, deal_id: int) -> Deal:
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise NotFound(f"There is no deal #{deal_id}.")
    return deal


def resolve_deal(session: Session, ref: str) -> Deal:
    """`#12`, else the ladder of crm.references over open deals' titles (an exact or quoted
    title wins), then over their companies' names; a closed deal only by its exact title."""
    text = ref.strip().strip('"').strip("'")
    if (m := ID_REF.match(text)) is not None:
        return get_deal(session, int(m.group(1)))
    rows = session.exec(
        select(Deal, Company.name).join(
            Company, col(Deal.company_id) == col(Company.id), isouter=True
        )
    ).all()
    open_rows = [(deal, company) for deal, company in rows if deal.status == "open"]
    closed_exact = [
        deal for deal, _ in rows if deal.status != "open" and fold(deal.title) == fold(text)
    ]
    try:
        return by_name(text, [(d, d.title) for d, _ in open_rows], what="deal", plural="deals")
    except NotFound as by_title:
        if len(closed_exact) == 1:
            return closed_exact[0]
        if closed_exact:
            raise Ambiguous(
                f"Several closed deals are called '{text[:60]}'.", closed_exact, ref=ref
            ) from None
        with_company = [(d, c) for d, c in open_rows if c]
        try:
            return by_name(text, with_company, what="deal", plural="deals' companies")
        except NotFound:
            raise NotFound(f"{by_title} Try `pipeline` to see the open deals.") from None


DEAL_FIELDS = ("title", "amount", "close", "owner")
CLEARABLE = ("expected_close", "owner_id", "contact_id", "company_id")


def edit_deal(
    session: Session,
    *,
    actor: Actor,
    deal_id: int,
    now: datetime,
    title: str | None = None,
    amount: tuple[int, str] | None = None,
    expected_close: date | None = None,
    owner_id: int | None = None,
    contact_id: int | None = None,
    company_id: int | None = None,
    clear: Collection[str] = (),
    pipeline: Pipeline | None = None,
    stage: str | None = None,
    reason: str | None = None,
) -> Deal:
    """A correction to a deal's fields; audited as `deal.update` so `undo` puts it back.

    None leaves a field as it is; `clear` names the fields to empty (close date, owner,
    contact, company). A new contact brings its company unless one is given. A `stage`
    (needs the `pipeline`) then moves the deal as `set_stage` does, after the fields,
    so a deal won with a new amount records the purchase at that amount.
    """
    require_rep(actor)
    deal = get_deal(session, deal_id)
    unknown = [name for name in clear if name not in CLEARABLE]
    if unknown:
        raise Invalid(unknown[0], f"Only {', '.join(CLEARABLE)} can be emptied.")
    before = snapshot(deal)
    if title is not None:
        clean = " ".join(title.split())
        if not clean or len(clean) > 200:
            raise Invalid("title", "A deal title is 1 to 200 characters.")
        deal.title = clean
    if amount is not None:
        amount_minor, currency = amount
        if amount_minor < 0:
            raise Invalid("amount", "A deal amount cannot be negative.")
        if not CURRENCY.match(currency):
            raise Invalid("currency", f"'{currency[:10]}' is not a currency code like USD or EUR.")
        deal.amount_minor, deal.currency = amount_minor, currency
    if expected_close is not None:
        deal.expected_close = expected_close
    if owner_id is not None:
        owner = session.get(Rep, owner_id)
        if owner is None or not owner.active:
            raise Invalid("owner", f"There is no active rep #{owner_id} to own the deal.")
        deal.owner_id = owner_id
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is None:
            raise Invalid("contact", f"There is no contact #{contact_id}.")
        deal.contact_id = contact_id
        if company_id is None and "company_id" not in clear and contact.company_id:
            deal.company_id = contact.company_id
    if company_id is not None:
        if session.get(Company, company_id) is None:
            raise Invalid("company", f"There is no company #{company_id}.")
        deal.company_id = company_id
    for name in clear:
        setattr(deal, name, None)
    after = snapshot(deal)
    if after != before:
        deal.updated_at = now
        session.add(deal)
        audit.record(
            session,
            actor=actor,
            action="deal.update",
            entity_type="deal",
            entity_id=deal.id,
            at=now,
            before=before,
            after=snapshot(deal),
        )
        session.flush()
    if stage is not None:
        if pipeline is None:
            raise Invalid("stage", "A stage change needs the pipeline.")
        deal = set_stage(
            session,
            actor=actor,
            pipeline=pipeline,
            deal_id=deal_id,
            stage=stage,
            now=now,
            reason=reason,
        )
    elif deal.status == DealStatus.WON and after != before:
        # a won deal's purchase follows its amount and customer
        purchases.purchase_for_won_deal(session, actor=actor, deal_id=deal_id, now=now)
    return deal


def delete_deal(session: Session, *, actor: Actor, deal_id: int, now: datetime) -> Deal:
    """Deletes a deal, and a won deal's sale with it (the sale is the win: left behind
    unlinked, it would count twice once the restored deal is won again). The audit row
    keeps both whole, so `undo` re-creates them under the same ids."""
    require_rep(actor)
    deal = get_deal(session, deal_id)
    if not actor.is_admin and deal.owner_id not in (None, actor.id):
        raise Forbidden(f"Deal #{deal_id} belongs to someone else; ask them or an admin.")
    before = snapshot(deal)
    sales = [snapshot(p) for p in purchases.purchases_of_deal(session, deal_id=deal_id)]
    purchases.drop_purchase_for_deal(session, deal_id=deal_id)
    session.delete(deal)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="deal.delete",
        entity_type="deal",
        entity_id=deal_id,
        at=now,
        before=before,
        after={"sales": sales} if sales else None,
    )
    return deal


def stage_unchanged(
    deal: Deal, stage_name: str, reason: str | None, closed_at: datetime | None
) -> bool:
    """Whether moving `deal` to `stage_name` changes nothing: the same stage, no new close
    date, and (for a closed deal) no new reason. The stage's age is kept as it was."""
    if deal.stage != stage_name or closed_at is not None:
        return False
    if deal.status == DealStatus.OPEN:
        return True
    new_reason = (reason or "").strip()[:500]
    return not new_reason or new_reason == (deal.close_reason or "")


def set_stage(
    session: Session,
    *,
    actor: Actor,
    pipeline: Pipeline,
    deal_id: int,
    stage: str,
    now: datetime,
    reason: str | None = None,
    closed_at: datetime | None = None,
) -> Deal:
    """Moves a deal; `won`/`lost` close it (with the reason) and reopening is allowed.

    `closed_at` backdates the close (`won #3 on 2 Nov`); a won deal is a purchase
    (crm.purchases), dated at the close, and stops being one when reopened or lost.
    """
    require_rep(actor)
    if closed_at is not None and closed_at > now:
        raise Invalid("date", "A deal cannot be closed in the future; give today or a past day.")
    deal = get_deal(session, deal_id)
    before = snapshot(deal)
    stage_name = pipeline.check(stage)
    if stage_unchanged(deal, stage_name, reason, closed_at):
        return deal  # `won #3` typed twice: no audit row, so `undo` reverts the real change
    if stage_name == "lost" and not (reason and reason.strip()):
        raise Invalid("reason", "Say why it was lost, e.g. `lost #12 went with a competitor`.")
    deal.stage = stage_name
    deal.stage_changed_at = now
    deal.updated_at = now
    if stage_name in {DealStatus.WON, DealStatus.LOST}:
        deal.status = DealStatus(stage_name)
        deal.closed_at = closed_at or now
        deal.close_reason = (reason or "").strip()[:500] or None
    else:
        deal.status, deal.closed_at, deal.close_reason = DealStatus.OPEN, None, None
    session.add(deal)
    audit.record(
        session,
        actor=actor,
        action=f"deal.{deal.status if stage_name in {'won', 'lost'} else 'stage'}",
        entity_type="deal",
        entity_id=deal.id,
        at=now,
        before=before,
        after=snapshot(deal),
    )
    session.flush()
    if deal.status == "won":
        purchases.purchase_for_won_deal(session, actor=actor, deal_id=id_of(deal), now=now)
    else:
        purchases.drop_purchase_for_deal(session, deal_id=id_of(deal))
    return deal


@dataclass(frozen=True)
class StageSummary:
    stage: str
    count: int
    amounts: dict[str, int]  # currency -> minor units
    probability: int


def pipeline_summary(
    session: Session, *, pipeline: Pipeline, owner_id: int | None = None
) -> list[StageSummary]:
    """Open deals per stage (in pipeline order), amounts summed per currency in SQL."""
    statement = (
        select(Deal.stage, Deal.currency, func.count(), func.sum(Deal.amount_minor))
        .where(Deal.status == "open")
        .group_by(Deal.stage, Deal.currency)
    )
    if owner_id is not None:
        statement = statement.where(Deal.owner_id == owner_id)
    totals: dict[str, tuple[int, dict[str, int]]] = {}
    for stage, currency, count, amount in session.exec(statement):
        n, amounts = totals.get(stage, (0, {}))
        amounts[currency] = amounts.get(currency, 0) + int(amount or 0)
        totals[stage] = (n + int(count), amounts)
    order = pipeline.names + sorted(set(totals) - set(pipeline.names))
    return [
        StageSummary(s, totals[s][0], totals[s][1], pipeline.probability(s))
        for s in order
        if s in totals
    ]


def open_deals_for_contact(session: Session, contact: Contact) -> list[Deal]:
    conditions = [Deal.contact_id == contact.id]
    if contact.company_id:
        conditions.append(Deal.company_id == contact.company_id)
    return list(
        session.exec(
            select(Deal).where(Deal.status == "open", or_(*conditions)).order_by(col(Deal.id))
        )
    )


def open_twin(
    session: Session, *, title: str, contact: Contact | None, company: Company | None
) -> Deal | None:
    """An open deal with the same party and the same title (case and accents aside): the
    one a rep who types `deal ...` twice, or forgets they opened it, is about to repeat."""
    if contact is not None:
        party = Deal.contact_id == contact.id
    elif company is not None:
        party = Deal.company_id == company.id
    else:
        return None
    wanted = fold(title).strip()
    for deal in session.exec(
        select(Deal).where(Deal.status == DealStatus.OPEN, party).order_by(col(Deal.id))
    ):
        if fold(deal.title).strip() == wanted:
            return deal
    return None
