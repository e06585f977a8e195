"""Reports for people: the analytics measures as a few readable lines, rows and a chart.

`run_report` is the one entry point shared by the chat command (`report needs last
month`) and the CLI (`rapport report needs`). It returns plain text a rep can act on,
the same figures as rows (CSV/JSON), and a PNG for the reports that have a picture.
Money is always shown per currency: "$12,000.00 + €1,500.00", never summed across.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.language.parsing import currency_exponent
from bot.rep.render import money
from crm import analytics
from crm.analytics import Period, parse_period
from crm.analytics.value import ValueReport, customer_value, parse_horizon
from crm.deals import Pipeline
from crm.errors import Invalid
from crm.views import rep_names

if TYPE_CHECKING:
    from bot.settings import Settings


@dataclass(frozen=True)
class ReportResult:
    title: str
    text: str  # a few plain lines, ready to send
    rows: list[dict[str, Any]] = field(default_factory=list)  # same figures, tabular
    chart: bytes | None = None  # PNG for needs, pipeline and segments
    extra: dict[str, Any] = field(default_factory=dict)  # JSON only: per-customer, model


@dataclass(frozen=True)
class Assumptions:
    """The business's own figures the CLV and churn reports rest on (RAPPORT_CLV_MARGIN,
    RAPPORT_CLV_DISCOUNT_RATE, RAPPORT_CHURN_INACTIVE_DAYS): one value, so the chat
    command, the weekly summary and the CLI cannot pass them differently."""

    margin: float = 1.0
    discount_rate: float = 0.1
    inactive_days: int = 90

    @classmethod
    def from_settings(cls, settings: "Settings") -> "Assumptions":
        return cls(
            margin=settings.clv_margin,
            discount_rate=settings.clv_discount_rate,
            inactive_days=settings.churn_inactive_days,
        )


@dataclass(frozen=True)
class _Params:
    period: Period
    pipeline: Pipeline
    assumptions: Assumptions
    owner_id: int | None
    horizon_weeks: float = 52.18


def run_report(
    session: Session,
    *,
    name: str,
    period_text: str | None,
    tz: str,
    now: datetime,
    pipeline: Pipeline,
    assumptions: Assumptions = Assumptions(),
    owner_id: int | None = None,
    horizon: str | None = None,
) -> ReportResult:
    """Runs one report. Raises `Invalid` (shown to the person as is) for an unknown report
    name or a period it cannot read; `owner_id` narrows every report to one rep's book
    (their contacts, deals, and conversations assigned to them)."""
    spec = _BY_NAME.get(name.strip().lower())
    if spec is None:
        raise Invalid(
            "report", f"There is no '{name[:30]}' report. Reports: {', '.join(REPORT_NAMES)}."
        )
    try:
        period = parse_period(period_text, tz=tz, now=now)
    except ValueError as exc:
        raise Invalid("period", str(exc)) from None
    try:
        weeks = parse_horizon(horizon)
    except ValueError as exc:
        raise Invalid("horizon", str(exc)) from None
    return spec.build(session, _Params(period, pipeline, assumptions, owner_id, weeks))


# --- formatting --------------------------------------------------------------------------


def amounts(per_currency: Mapping[str, int]) -> str:
    """{"USD": 100, "EUR": 50} -> "€0.50 + $1.00"; "nothing" when empty."""
    shown = [money(a, c) for c, a in sorted(per_currency.items())]
    return " + ".join(shown) if shown else "nothing"


def major(amount_minor: int | None, currency: str) -> str | None:
    """Minor units as an exact decimal string for CSV/JSON ("12000.00")."""
    if amount_minor is None:
        return None
    digits = currency_exponent(currency)
    return f"{Decimal(amount_minor) / (Decimal(10) ** digits):.{digits}f}"


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def duration(seconds: float | None) -> str:
    """3720 -> "1h 2m"; a response time a person reads at a glance."""
    if seconds is None:
        return "n/a"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _lines(*lines: str | None) -> str:
    return "\n".join(line for line in lines if line)


# --- the reports ---------------------------------------------------------------------------


def _languages_line(by_language: dict[str, dict[str, int]] | None) -> str | None:
    """`By language: es 12 (pricing 5, refund 3), en 9 (...)`, when customers wrote in more
    than one language; each language's two most frequent needs."""
    if not by_language or len(by_language) < 2:
        return None
    parts = []
    for language, needs in by_language.items():
        top = sorted(needs.items(), key=lambda item: (-item[1], item[0]))[:2]
        parts.append(f"{language} {sum(needs.values())} ({', '.join(f'{n} {c}' for n, c in top)})")
    return "By language: " + ", ".join(parts) + "."


def _needs(session: Session, p: _Params) -> ReportResult:
    from crm.analytics.charts import needs_chart

    report = analytics.needs_over_time(session, period=p.period, owner_id=p.owner_id)
    top = ", ".join(f"{t.need} {t.count} ({percent(t.share)})" for t in report.totals[:5])
    text = _lines(
        f"Customer needs, {p.period.label}: {report.inbound} inbound message"
        f"{'s' * (report.inbound != 1)}.",
        f"Most asked: {top}." if top else None,
        f"Tagged 'other': {percent(report.other_share)} of classified · mean confidence "
        f"{'n/a' if report.mean_confidence is None else f'{report.mean_confidence:.2f}'} · "
        f"corrected by reps: {percent(report.correction_rate)}."
        if report.inbound
        else None,
        _languages_line(report.by_language),
        report.note,
    )
    needs = [t.need for t in report.totals]
    rows = [
        {"from": b.label, "total": b.total, **{n: b.counts.get(n, 0) for n in needs}}
        for b in report.buckets
    ]
    return ReportResult(f"Needs: {p.period.label}", text, rows, needs_chart(report))


def _pipeline(session: Session, p: _Params) -> ReportResult:
    from crm.analytics.charts import pipeline_chart

    report = analytics.pipeline_report(
        session, period=p.period, pipeline=p.pipeline, owner_id=p.owner_id
    )
    stages = " · ".join(f"{s.stage} {s.deals} ({amounts(s.amounts)})" for s in report.stages)
    reason = report.lost_reasons[0] if report.lost_reasons else None
    cycle = report.avg_cycle_days
    text = _lines(
        f"Open pipeline: {report.open_deals} deal{'s' * (report.open_deals != 1)}, "
        f"{amounts(report.open_amounts)}; weighted forecast {amounts(report.forecast)}.",
        f"By stage: {stages}." if stages else None,
        f"{p.period.label}: won {report.won} ({amounts(report.won_amounts)}), lost {report.lost}"
        f" · win rate {percent(report.win_rate)}"
        + (f" · average cycle {cycle:.1f} days." if cycle is not None else "."),
        f"Top lost reason: {reason[0]} ({reason[1]})." if reason else None,
        report.note,
    )
    rows = [
        {
            "stage": s.stage,
            "probability": s.probability,
            "deals": s.deals,
            "currency": currency,
            "amount": major(amount, currency),
            "weighted": major(s.weighted[currency], currency),
        }
        for s in report.stages
        for currency, amount in s.amounts.items()
    ]
    return ReportResult(
        f"Pipeline: {p.period.label}", text, rows, pipeline_chart(report, p.pipeline.stages)
    )


def _clv(session: Session, p: _Params) -> ReportResult:
    report = analytics.customer_lifetime_value(
        session,
        period=p.period,
        margin=p.assumptions.margin,
        discount_rate=p.assumptions.discount_rate,
        inactive_days=p.assumptions.inactive_days,
        owner_id=p.owner_id,
    )

    def clv(value: int | None, currency: str) -> str:
        return "unbounded" if value is None else money(value, currency)

    per_currency = [
        f"{v.currency}: {v.customers} paying customer{'s' * (v.customers != 1)}, average "
        f"profit {money(v.avg_profit_minor, v.currency)} → CLV "
        f"{clv(v.simple_clv_minor, v.currency)} (simple), "
        f"{clv(v.standard_clv_minor, v.currency)} (discounted)."
        for v in report.by_currency
    ]
    best = max(report.top_contacts, key=lambda c: c.profit_minor, default=None)
    text = _lines(
        f"Customer lifetime value, {p.period.label}: churn {percent(report.churn_rate)}, "
        f"retention {percent(report.retention_rate)}, margin {percent(report.margin)}.",
        *per_currency,
        f"Most valuable: {best.name} ({best.segment or 'unsegmented'}), "
        f"{money(best.profit_minor, best.currency)} profit this period."
        if best
        else None,
        report.note,
    )
    rows = [
        {
            "group": v.group,
            "currency": v.currency,
            "customers": v.customers,
            "profit": major(v.profit_minor, v.currency),
            "avg_profit": major(v.avg_profit_minor, v.currency),
            "clv_simple": major(v.simple_clv_minor, v.currency),
            "clv_discounted": major(v.standard_clv_minor, v.currency),
        }
        for v in [*report.by_currency, *report.by_segment]
    ]
    value = _value_model(session, p)
    return ReportResult(
        f"Customer lifetime value: {p.period.label}",
        _lines(text, _value_line(value)),
        rows,
        extra=_value_extra(value),
    )


def _churn(session: Session, p: _Params) -> ReportResult:
    r = analytics.churn(
        session, period=p.period, inactive_days=p.assumptions.inactive_days, owner_id=p.owner_id
    )
    text = _lines(
        f"Churn, {p.period.label}: {r.churned} of {r.customers_at_start} customers active at "
        f"the start left ({percent(r.churn_rate)}); retention {percent(r.retention_rate)}.",
        f"{r.churned_tagged} tagged churned or opted out, {r.churned_inactive} went quiet for "
        f"{r.inactive_days} days."
        if r.churned
        else None,
        f"Early signal: {r.cancellation_messages} of {r.inbound_messages} inbound messages "
        f"asked to cancel ({percent(r.cancellation_share)})."
        if r.inbound_messages
        else None,
        r.note,
        _slipping(session, p),
    )
    rows = [
        {
            "period": p.period.label,
            "customers_at_start": r.customers_at_start,
            "churned": r.churned,
            "churned_tagged": r.churned_tagged,
            "churned_inactive": r.churned_inactive,
            "churn_rate": _rounded(r.churn_rate, 4),
            "retention_rate": _rounded(r.retention_rate, 4),
            "inbound_messages": r.inbound_messages,
            "cancellation_messages": r.cancellation_messages,
            "cancellation_share": _rounded(r.cancellation_share, 4),
        }
    ]
    return ReportResult(f"Churn: {p.period.label}", text, rows)


def _segments(session: Session, p: _Params) -> ReportResult:
    from crm.analytics.charts import segments_chart

    report = analytics.rfm_segments(
        session, as_of=p.period.end, owner_id=p.owner_id, members_per_segment=5
    )

    def names(segment: analytics.Segment, limit: int = 3) -> str:
        return ", ".join(m.name for m in segment.members[:limit])

    by_name = {s.name: s for s in report.segments}
    sizes = " · ".join(f"{s.name} {s.size}" for s in report.segments)
    hints = [
        f"{verb}: {names(by_name[segment])}."
        for segment, verb in (
            ("champions", "Thank your champions"),
            ("at_risk", "Win back (at risk)"),
            ("new", "Welcome (new)"),
        )
        if by_name[segment].members
    ]
    text = _lines(
        f"Customer segments as of {p.period.end.astimezone(p.period.zone):%Y-%m-%d %H:%M}: "
        f"{report.customers} customers.",
        sizes if report.customers else None,
        *hints,
        report.note,
    )
    rows = [
        {
            "segment": s.name,
            "rule": s.rule,
            "customers": s.size,
            "share": _rounded(s.share, 4),
            "avg_frequency": _rounded(s.avg_frequency, 2),
            "examples": names(s, 5),
        }
        for s in report.segments
    ]
    return ReportResult(
        f"Segments: {report.customers} customers", text, rows, segments_chart(report)
    )


def _inbox(session: Session, p: _Params) -> ReportResult:
    report = analytics.inbox_performance(session, period=p.period, assignee_id=p.owner_id)
    o = report.overall
    slowest = max(
        (g for g in report.by_rep if g.first_response.median is not None),
        key=lambda g: g.first_response.median or 0,
        default=None,
    )
    text = _lines(
        f"Inbox, {p.period.label}: {o.conversations} conversation"
        f"{'s' * (o.conversations != 1)}, {report.unanswered} still unanswered.",
        f"First response: median {duration(o.first_response.median)}, p90 "
        f"{duration(o.first_response.p90)}. Resolution: median {duration(o.resolution.median)}, "
        f"p90 {duration(o.resolution.p90)}."
        if o.conversations
        else None,
        f"Satisfaction {o.satisfaction_avg:.1f}/5 ({o.satisfaction_count} rating"
        f"{'s' * (o.satisfaction_count != 1)})."
        if o.satisfaction_avg is not None
        else None,
        f"Slowest first response: {slowest.key} (median {duration(slowest.first_response.median)})."
        if slowest is not None and len(report.by_rep) > 1
        else None,
        report.note,
    )
    rows = [
        {
            "by": dimension,
            "key": g.key,
            "conversations": g.conversations,
            "answered": g.answered,
            "closed": g.closed,
            "first_response_median_s": _rounded(g.first_response.median, 1),
            "first_response_p90_s": _rounded(g.first_response.p90, 1),
            "resolution_median_s": _rounded(g.resolution.median, 1),
            "resolution_p90_s": _rounded(g.resolution.p90, 1),
            "satisfaction_avg": _rounded(g.satisfaction_avg, 2),
            "satisfaction_count": g.satisfaction_count,
        }
        for dimension, groups in (("all", [o]), ("rep", report.by_rep), ("need", report.by_need))
        for g in groups
    ]
    return ReportResult(f"Inbox: {p.period.label}", text, rows)


def _value_model(session: Session, p: _Params, *, segments: bool = True) -> ValueReport:
    """The purchase models as of the period's last day (nothing after it is used)."""
    last_day = p.period.local_dates()[1]
    return customer_value(
        session,
        as_of=last_day,
        horizon_weeks=p.horizon_weeks,
        owner_id=p.owner_id,
        with_segments=segments,
    )


def _horizon_label(weeks: float) -> str:
    months = weeks * 7 / (365.25 / 12)
    return f"{round(months)} months" if abs(months - round(months)) < 0.01 else f"{weeks:g} weeks"


def _value_line(v: ValueReport) -> str | None:
    if v.method == "rfm" or v.currency is None:
        return f"Purchase model: {v.note}." if v.note else None
    total = (
        "n/a"
        if v.total_expected_value_minor is None
        else money(v.total_expected_value_minor, v.currency)
    )
    return _lines(
        f"Expected over the next {_horizon_label(v.horizon_weeks)} ({v.method}, "
        f"{len(v.customers)} buyers, {v.repeat_customers} repeat): {total}.",
        v.note,
    )


def _value_extra(v: ValueReport) -> dict[str, Any]:
    return {
        "as_of": v.as_of.isoformat(),
        "currency": v.currency,
        "customers": [
            {
                "contact_id": c.contact_id,
                "external_id": c.external_id,
                "expected_purchases": _rounded(c.expected_purchases, 4),
                "expected_value": None
                if c.expected_value_minor is None or v.currency is None
                else major(c.expected_value_minor, v.currency),
                "p_alive": _rounded(c.p_alive, 4),
                "segment": c.segment,
            }
            for c in v.customers
        ],
        "model": v.model,
        "note": v.note,
    }


def _value_change(session: Session, p: _Params, v: ValueReport) -> str | None:
    """How the expected value moved in a week (what the weekly summary leads with)."""
    week_ago = v.as_of - timedelta(days=7)
    before = customer_value(
        session,
        as_of=week_ago,
        horizon_weeks=p.horizon_weeks,
        owner_id=p.owner_id,
        with_segments=False,
    )
    if before.total_expected_value_minor is None or before.currency != v.currency:
        return f"A week earlier ({week_ago.isoformat()}) there was no model to compare with."
    assert v.total_expected_value_minor is not None and v.currency is not None
    change = v.total_expected_value_minor - before.total_expected_value_minor
    sign = "+" if change >= 0 else "-"
    return (
        f"Change since {week_ago.isoformat()}: {sign}{money(abs(change), v.currency)} "
        f"(from {money(before.total_expected_value_minor, v.currency)})."
    )


def _value(session: Session, p: _Params) -> ReportResult:
    v = _value_model(session, p)
    top = v.customers[:10]
    if v.method == "rfm" or v.currency is None:
        lines = [
            f"{c.name}: spent {money(c.spend_minor, v.currency or 'USD')} "
            f"({c.segment or 'unsegmented'})"
            for c in top
        ]
        text = _lines(
            f"Customer value as of {v.as_of.isoformat()}: {len(v.customers)} buyers.",
            *lines,
            v.note,
        )
    else:
        lines = [
            f"{i}. {c.name}: {money(c.expected_value_minor or 0, v.currency)} "
            f"({c.expected_purchases or 0:.1f} purchases, P(alive) {percent(c.p_alive)})"
            for i, c in enumerate(top, 1)
        ]
        text = _lines(
            _value_line(v), _value_change(session, p, v), "Top customers by expected value:", *lines
        )
    rows = _value_extra(v)["customers"]
    return ReportResult(
        f"Customer value as of {v.as_of.isoformat()}", text, rows, extra=_value_extra(v)
    )


def _slipping(session: Session, p: _Params) -> str | None:
    """Who most likely slipped away: P(alive) under one half, biggest past spenders
    first (those are worth a call), with their owner and when they were last in touch."""
    v = _value_model(session, p, segments=False)
    if v.method == "rfm" or v.currency is None:
        return None
    gone = sorted(
        (c for c in v.customers if c.p_alive is not None and c.p_alive < 0.5),
        key=lambda c: (-c.spend_minor, c.contact_id),
    )[:5]
    if not gone:
        return None
    owners = rep_names(session, {c.owner_id for c in gone})
    names = "; ".join(
        f"{c.name} (P(alive) {percent(c.p_alive)}, owner "
        f"{owners.get(c.owner_id or 0, 'nobody')}, last contact "
        f"{(c.last_contact.date() if c.last_contact else c.last_purchase).isoformat()})"
        for c in gone
    )
    return f"Most likely slipped away: {names}."


# --- the registry -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportSpec:
    """One report, declared once: the chat grammar (names and aliases), the CLI, the charts
    and the Monday summary all read REPORTS, so a new report is its builder plus one entry."""

    name: str
    build: Callable[[Session, _Params], ReportResult]
    aliases: tuple[str, ...] = ()  # other words a rep may type: report ltv
    chart: bool = False  # build() returns a PNG (`rapport report x --chart`, Slack image)
    weekly: int | None = None  # position in the weekly summary; None: not posted weekly


REPORTS: tuple[ReportSpec, ...] = (
    ReportSpec("needs", _needs, aliases=("need",), chart=True, weekly=2),
    ReportSpec("pipeline", _pipeline, chart=True, weekly=1),
    ReportSpec("clv", _clv, aliases=("ltv",)),
    ReportSpec("churn", _churn),
    ReportSpec("segments", _segments, aliases=("segment",), chart=True),
    ReportSpec("inbox", _inbox, weekly=3),
    ReportSpec("value", _value, weekly=4),
)
_BY_NAME = {spec.name: spec for spec in REPORTS}
REPORT_NAMES = tuple(_BY_NAME)
CHARTED = tuple(spec.name for spec in REPORTS if spec.chart)
WEEKLY_REPORTS = tuple(
    spec.name for spec in sorted(REPORTS, key=lambda s: s.weekly or 0) if spec.weekly
)


def report_named(word: str) -> ReportSpec | None:
    """The report a rep's word names (its name or an alias, any case)."""
    word = word.strip().lower()
    return _BY_NAME.get(word) or next((s for s in REPORTS if word in s.aliases), None)
