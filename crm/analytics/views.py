"""The reads each report renders: one function per report, (session, params) -> a frozen
value holding the measures and whatever else its text names (rep names, the value a week
earlier, who slipped away).

The report renderers in bot/reports/render.py take these values and never a session (the
boundary test pins that), so what a report reads, and what that costs, is decided here, as
crm/views.py does for the contact card and App Home. They live in crm/analytics/ rather
than crm/views.py because they need the analytics stack (numpy, the purchase models), which
the rest of the bot must not load at start-up (benchmarks/startup.py measures that).
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlmodel import Session

from crm.analytics.churn import ChurnReport, churn
from crm.analytics.clv import CLVReport, customer_lifetime_value
from crm.analytics.inbox import InboxReport, inbox_performance
from crm.analytics.needs import NeedsReport, needs_over_time
from crm.analytics.period import Period
from crm.analytics.pipeline import PipelineReport, pipeline_report
from crm.analytics.segments import SegmentsReport, rfm_segments
from crm.analytics.value import CustomerValue, ValueReport, customer_value
from crm.deals import Pipeline
from crm.views import rep_names

SLIPPING_P_ALIVE = 0.5  # under this chance of buying again a customer "slipped away"
SLIPPING_SHOWN = 5


class _AssumptionSettings(Protocol):
    """The part of the bot's settings the assumptions come from (crm cannot import bot)."""

    @property
    def clv_margin(self) -> float: ...

    @property
    def clv_discount_rate(self) -> float: ...

    @property
    def churn_inactive_days(self) -> int: ...


@dataclass(frozen=True)
class Assumptions:
    """The business's own figures the CLV and churn reports rest on (RAPPORT_CLV_MARGIN,
    RAPPORT_CLV_DISCOUNT_RATE, RAPPORT_CHURN_INACTIVE_DAYS): one value, so the chat
    command, the weekly summary and the CLI cannot pass them differently."""

    margin: float = 1.0
    discount_rate: float = 0.1
    inactive_days: int = 90

    @classmethod
    def from_settings(cls, settings: _AssumptionSettings) -> "Assumptions":
        return cls(
            margin=settings.clv_margin,
            discount_rate=settings.clv_discount_rate,
            inactive_days=settings.churn_inactive_days,
        )


@dataclass(frozen=True)
class ReportParams:
    """What a person asked for, already parsed: every report reads with these."""

    period: Period
    pipeline: Pipeline
    assumptions: Assumptions = Assumptions()
    owner_id: int | None = None  # one rep's book; None: everyone's
    horizon_weeks: float = 52.18


@dataclass(frozen=True)
class NeedsView:
    period: Period
    report: NeedsReport


@dataclass(frozen=True)
class PipelineView:
    period: Period
    stages: tuple[tuple[str, int], ...]  # the pipeline's stages, drawn even when empty
    report: PipelineReport


@dataclass(frozen=True)
class ClvView:
    period: Period
    report: CLVReport
    value: ValueReport  # the purchase model as of the period's last day


@dataclass(frozen=True)
class Slipping:
    customer: CustomerValue
    owner: str | None  # the owning rep's name; None: nobody owns them


@dataclass(frozen=True)
class ChurnView:
    period: Period
    report: ChurnReport
    slipping: tuple[Slipping, ...]  # biggest past spenders first; empty without a model


@dataclass(frozen=True)
class SegmentsView:
    period: Period
    report: SegmentsReport


@dataclass(frozen=True)
class InboxView:
    period: Period
    report: InboxReport


@dataclass(frozen=True)
class ValueView:
    period: Period
    value: ValueReport
    week_before: ValueReport | None  # read only when there is a model to compare


def needs_view(session: Session, p: ReportParams) -> NeedsView:
    return NeedsView(p.period, needs_over_time(session, period=p.period, owner_id=p.owner_id))


def pipeline_view(session: Session, p: ReportParams) -> PipelineView:
    report = pipeline_report(session, period=p.period, pipeline=p.pipeline, owner_id=p.owner_id)
    return PipelineView(p.period, tuple(p.pipeline.stages), report)


def clv_view(session: Session, p: ReportParams) -> ClvView:
    report = customer_lifetime_value(
        session,
        period=p.period,
        margin=p.assumptions.margin,
        discount_rate=p.assumptions.discount_rate,
        inactive_days=p.assumptions.inactive_days,
        owner_id=p.owner_id,
    )
    return ClvView(p.period, report, _value_model(session, p))


def churn_view(session: Session, p: ReportParams) -> ChurnView:
    report = churn(
        session, period=p.period, inactive_days=p.assumptions.inactive_days, owner_id=p.owner_id
    )
    return ChurnView(p.period, report, _slipping(session, p))


def segments_view(session: Session, p: ReportParams) -> SegmentsView:
    report = rfm_segments(session, as_of=p.period.end, owner_id=p.owner_id, members_per_segment=5)
    return SegmentsView(p.period, report)


def inbox_view(session: Session, p: ReportParams) -> InboxView:
    return InboxView(p.period, inbox_performance(session, period=p.period, assignee_id=p.owner_id))


def value_view(session: Session, p: ReportParams) -> ValueView:
    """The model as of the period's last day and, when there is one, as of a week before
    (the weekly summary leads with how the expected value moved)."""
    value = _value_model(session, p)
    before = None
    if value.method != "rfm" and value.currency is not None:
        before = customer_value(
            session,
            as_of=value.as_of - timedelta(days=7),
            horizon_weeks=p.horizon_weeks,
            owner_id=p.owner_id,
            with_segments=False,
        )
    return ValueView(p.period, value, before)


def _value_model(session: Session, p: ReportParams, *, segments: bool = True) -> ValueReport:
    """The purchase models as of the period's last day (nothing after it is used)."""
    return customer_value(
        session,
        as_of=p.period.local_dates()[1],
        horizon_weeks=p.horizon_weeks,
        owner_id=p.owner_id,
        with_segments=segments,
    )


def _slipping(session: Session, p: ReportParams) -> tuple[Slipping, ...]:
    """Who most likely slipped away: P(alive) under one half, biggest past spenders first
    (those are worth a call), with their owner's name."""
    v = _value_model(session, p, segments=False)
    if v.method == "rfm" or v.currency is None:
        return ()
    gone = sorted(
        (c for c in v.customers if c.p_alive is not None and c.p_alive < SLIPPING_P_ALIVE),
        key=lambda c: (-c.spend_minor, c.contact_id),
    )[:SLIPPING_SHOWN]
    owners = rep_names(session, {c.owner_id for c in gone}) if gone else {}
    return tuple(Slipping(c, owners.get(c.owner_id or 0)) for c in gone)
