"""Report values -> what a person reads: a few lines, the same figures as rows, a chart.

Pure functions of the values crm/analytics/views.py reads (no session, no queries: the
boundary test pins that), so each report's wording is tested on values built in memory.
Money is always shown per currency: "$12,000.00 + €1,500.00", never summed across.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bot.rep.render import money
from crm.analytics.segments import MIN_CUSTOMERS, Segment
from crm.analytics.value import CustomerValue, ValueReport
from crm.analytics.views import (
    ChurnView,
    ClvView,
    InboxView,
    NeedsView,
    PipelineView,
    SegmentsView,
    Slipping,
    ValueView,
)
from crm.money import currency_exponent


@dataclass(frozen=True)
class ReportResult:
    title: str
    text: str  # a few plain lines, ready to send
    rows: list[dict[str, Any]] = field(default_factory=list)  # same figures, tabular
    chart: bytes | None = None  # PNG for needs, pipeline and segments
    extra: dict[str, Any] = field(default_factory=dict)  # JSON only: per-customer, model


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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def segments_mean_something(customers: int | None) -> bool:
    """Segment labels are shown only with MIN_CUSTOMERS scored customers or more: under it
    every quintile score is coarse (one customer scores 1/1/1, which the rules call
    "lost"), so a label would say more than the data does."""
    return customers is not None and customers >= MIN_CUSTOMERS


def too_few_to_segment(customers: int) -> str:
    return (
        f"not enough data to segment customers: only {_plural(customers, 'customer')} so far; "
        f"the RFM scoring needs at least {MIN_CUSTOMERS}"
    )


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


def render_needs(view: NeedsView) -> ReportResult:
    from crm.analytics.charts import needs_chart

    report = view.report
    top = ", ".join(f"{t.need} {t.count} ({percent(t.share)})" for t in report.totals[:5])
    text = _lines(
        f"Customer needs, {view.period.label}: {report.inbound} inbound message"
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
    return ReportResult(f"Needs: {view.period.label}", text, rows, needs_chart(report))


def render_pipeline(view: PipelineView) -> ReportResult:
    from crm.analytics.charts import pipeline_chart

    report = view.report
    stages = " · ".join(f"{s.stage} {s.deals} ({amounts(s.amounts)})" for s in report.stages)
    reason = report.lost_reasons[0] if report.lost_reasons else None
    cycle = report.avg_cycle_days
    text = _lines(
        f"Open pipeline: {report.open_deals} deal{'s' * (report.open_deals != 1)}, "
        f"{amounts(report.open_amounts)}; weighted forecast {amounts(report.forecast)}.",
        f"By stage: {stages}." if stages else None,
        f"{view.period.label}: won {report.won} ({amounts(report.won_amounts)}), "
        f"lost {report.lost} · win rate {percent(report.win_rate)}"
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
        f"Pipeline: {view.period.label}", text, rows, pipeline_chart(report, view.stages)
    )


def render_clv(view: ClvView) -> ReportResult:
    report = view.report

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
    labelled = segments_mean_something(view.value.rfm_customers)
    label = f" ({best.segment or 'unsegmented'})" if best and labelled else ""
    text = _lines(
        f"Customer lifetime value, {view.period.label}: churn {percent(report.churn_rate)}, "
        f"retention {percent(report.retention_rate)}, margin {percent(report.margin)}.",
        *per_currency,
        f"Most valuable: {best.name}{label}, "
        f"{money(best.profit_minor, best.currency)} profit this period."
        if best
        else None,
        report.note,
        _value_line(view.value),
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
    return ReportResult(
        f"Customer lifetime value: {view.period.label}", text, rows, extra=_value_extra(view.value)
    )


def _slipping_line(slipping: tuple[Slipping, ...]) -> str | None:
    if not slipping:
        return None

    def last(c: CustomerValue) -> str:
        return (c.last_contact.date() if c.last_contact else c.last_purchase).isoformat()

    names = "; ".join(
        f"{s.customer.name} (P(alive) {percent(s.customer.p_alive)}, owner "
        f"{s.owner or 'nobody'}, last contact {last(s.customer)})"
        for s in slipping
    )
    return f"Most likely slipped away: {names}."


def render_churn(view: ChurnView) -> ReportResult:
    r, label = view.report, view.period.label
    text = _lines(
        f"Churn, {label}: {r.churned} of {r.customers_at_start} customers active at "
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
        _slipping_line(view.slipping),
    )
    rows = [
        {
            "period": label,
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
    return ReportResult(f"Churn: {label}", text, rows)


def render_segments(view: SegmentsView) -> ReportResult:
    """Sizes and whom to thank, welcome or win back; with fewer than MIN_CUSTOMERS
    customers no label at all (the note says why), in the text and in the chart."""
    from crm.analytics.charts import segments_chart

    report = view.report

    def names(segment: Segment, limit: int = 3) -> str:
        return ", ".join(m.name for m in segment.members[:limit])

    labelled = segments_mean_something(report.customers)
    by_name = {s.name: s for s in report.segments}
    sizes = " · ".join(f"{s.name} {s.size}" for s in report.segments)
    hints = [
        f"{verb}: {names(by_name[segment])}."
        for segment, verb in (
            ("champions", "Thank your champions"),
            ("at_risk", "Win back (at risk)"),
            ("new", "Welcome (new)"),
        )
        if labelled and by_name[segment].members
    ]
    text = _lines(
        f"Customer segments as of {view.period.end.astimezone(view.period.zone):%Y-%m-%d %H:%M}: "
        f"{_plural(report.customers, 'customer')}.",
        sizes if labelled else None,
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
        f"Segments: {_plural(report.customers, 'customer')}", text, rows, segments_chart(report)
    )


def render_inbox(view: InboxView) -> ReportResult:
    report = view.report
    o = report.overall
    slowest = max(
        (g for g in report.by_rep if g.first_response.median is not None),
        key=lambda g: g.first_response.median or 0,
        default=None,
    )
    text = _lines(
        f"Inbox, {view.period.label}: {o.conversations} conversation"
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
    return ReportResult(f"Inbox: {view.period.label}", text, rows)


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
    """The per-customer figures for JSON and CSV; a customer's segment is left out (null)
    when too few customers were scored for a segment to mean anything."""
    labelled = segments_mean_something(v.rfm_customers)
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
                "segment": c.segment if labelled else None,
            }
            for c in v.customers
        ],
        "model": v.model,
        "note": v.note,
    }


def _value_change(view: ValueView) -> str | None:
    """How the expected value moved in a week (what the weekly summary leads with)."""
    v, before = view.value, view.week_before
    day = (v.as_of - timedelta(days=7)).isoformat()
    if before is None or before.total_expected_value_minor is None or before.currency != v.currency:
        return f"A week earlier ({day}) there was no model to compare with."
    if v.total_expected_value_minor is None or v.currency is None:
        return None
    change = v.total_expected_value_minor - before.total_expected_value_minor
    sign = "+" if change >= 0 else "-"
    return (
        f"Change since {day}: {sign}{money(abs(change), v.currency)} "
        f"(from {money(before.total_expected_value_minor, v.currency)})."
    )


def render_value(view: ValueView) -> ReportResult:
    v = view.value
    top = v.customers[:10]
    if v.method == "rfm" or v.currency is None:
        labelled = segments_mean_something(v.rfm_customers)
        lines = [
            f"{c.name}: spent {money(c.spend_minor, v.currency or 'USD')}"
            + (f" ({c.segment or 'unsegmented'})" if labelled else "")
            for c in top
        ]
        text = _lines(
            f"Customer value as of {v.as_of.isoformat()}: {_plural(len(v.customers), 'buyer')}.",
            *lines,
            v.note,
            too_few_to_segment(v.rfm_customers or 0) if v.customers and not labelled else None,
        )
    else:
        lines = [
            f"{i}. {c.name}: {money(c.expected_value_minor or 0, v.currency)} "
            f"({c.expected_purchases or 0:.1f} purchases, P(alive) {percent(c.p_alive)})"
            for i, c in enumerate(top, 1)
        ]
        text = _lines(
            _value_line(v), _value_change(view), "Top customers by expected value:", *lines
        )
    extra = _value_extra(v)
    return ReportResult(
        f"Customer value as of {v.as_of.isoformat()}", text, extra["customers"], extra=extra
    )
