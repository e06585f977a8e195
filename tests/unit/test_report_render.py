"""The report renderers on values built in memory: no database, no session (issue 14).

bot/reports/render.py turns what crm/analytics/views.py read into text, rows and charts;
these tests pin its wording on the edge cases a store rarely has at hand: nothing at all,
too few customers to segment, two currencies, a model a week earlier or none."""

import struct
from datetime import UTC, date, datetime

from bot.reports.render import (
    render_churn,
    render_clv,
    render_pipeline,
    render_segments,
    render_value,
)
from crm.analytics import (
    SEGMENT_RULES,
    SEGMENTS,
    ChurnReport,
    CLVReport,
    ContactValue,
    Period,
    PipelineReport,
    Segment,
    SegmentMember,
    SegmentsReport,
    StageRow,
    Value,
)
from crm.analytics.charts import pipeline_figure
from crm.analytics.segments import MIN_CUSTOMERS
from crm.analytics.value import CustomerValue, ValueReport
from crm.analytics.views import (
    ChurnView,
    ClvView,
    PipelineView,
    SegmentsView,
    Slipping,
    ValueView,
)

MARCH = Period(
    datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC), "March 2026", "UTC"
)
STAGES = (("lead", 10), ("proposal", 50))


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk comes first
    return width, height


def segments_report(sizes: dict[str, int], note: str | None = None) -> SegmentsReport:
    customers = sum(sizes.values())
    segments = [
        Segment(
            name=name,
            rule=SEGMENT_RULES[name],
            size=sizes.get(name, 0),
            share=sizes.get(name, 0) / customers if customers else None,
            avg_frequency=1.0 if sizes.get(name) else None,
            members=[
                SegmentMember(100 * i + n, f"{name}-{n}", MARCH.end, 40, 1, 1, 1, 1)
                for n in range(sizes.get(name, 0))
            ],
        )
        for i, name in enumerate(SEGMENTS)
    ]
    return SegmentsReport(MARCH.end, customers, segments, note)


def buyer(cid: int, name: str, spend: int, segment: str | None, **model: float) -> CustomerValue:
    return CustomerValue(
        contact_id=cid,
        name=name,
        external_id=None,
        owner_id=None,
        last_contact=None,
        purchases=1,
        spend_minor=spend,
        last_purchase=date(2026, 2, 28),
        expected_purchases=model.get("purchases"),
        expected_value_minor=int(model["value"]) if "value" in model else None,
        p_alive=model.get("p_alive"),
        segment=segment,
    )


def rfm_value(customers: list[CustomerValue], scored: int | None) -> ValueReport:
    return ValueReport(
        as_of=date(2026, 3, 31),
        horizon_weeks=52.18,
        currency="USD",
        method="rfm",
        customers=customers,
        repeat_customers=0,
        total_expected_value_minor=None,
        note="not enough data for the value model: 0 repeat customer(s), it needs 300; "
        "ranking by past spend instead",
        rfm_customers=scored,
    )


def test_an_empty_segments_report_says_so_and_still_draws_a_chart() -> None:
    note = "not enough data: no contact has any activity, message or won deal yet"
    result = render_segments(SegmentsView(MARCH, segments_report({}, note)))
    assert result.title == "Segments: 0 customers"
    assert result.text == f"Customer segments as of 2026-04-01 00:00: 0 customers.\n{note}"
    assert [r["segment"] for r in result.rows] == list(SEGMENTS)
    assert result.chart is not None and png_size(result.chart) == (800, 450)


def test_too_few_customers_show_no_segment_label_only_why() -> None:
    tiny = segments_report({"lost": 1, "new": 1}, "not enough data: only 2 customer(s); ...")
    text = render_segments(SegmentsView(MARCH, tiny)).text
    assert text.splitlines() == [
        "Customer segments as of 2026-04-01 00:00: 2 customers.",
        "not enough data: only 2 customer(s); ...",
    ]
    enough = segments_report({"lost": 2, "new": 1, "at_risk": MIN_CUSTOMERS - 3})
    text = render_segments(SegmentsView(MARCH, enough)).text
    assert "lost 2" in text and "Welcome (new): new-0." in text and "Win back (at risk)" in text


def test_the_value_fallback_names_buyers_without_labels_under_the_threshold() -> None:
    jane = buyer(1, "Jane Doe", 12_000, "lost")
    result = render_value(ValueView(MARCH, rfm_value([jane], scored=1), None))
    assert result.text.splitlines() == [
        "Customer value as of 2026-03-31: 1 buyer.",
        "Jane Doe: spent $120.00",
        "not enough data for the value model: 0 repeat customer(s), it needs 300; "
        "ranking by past spend instead",
        "not enough data to segment customers: only 1 customer so far; the RFM scoring "
        f"needs at least {MIN_CUSTOMERS}",
    ]
    assert result.rows[0]["segment"] is None and result.extra["customers"][0]["segment"] is None

    at_threshold = render_value(ValueView(MARCH, rfm_value([jane], scored=MIN_CUSTOMERS), None))
    assert "Jane Doe: spent $120.00 (lost)" in at_threshold.text
    assert "segment customers" not in at_threshold.text
    assert at_threshold.rows[0]["segment"] == "lost"


def test_no_buyers_at_all_is_one_line_and_the_note() -> None:
    empty = ValueReport(date(2026, 3, 31), 52.18, None, "rfm", [], 0, None, {}, "no purchases")
    result = render_value(ValueView(MARCH, empty, None))
    assert result.text == "Customer value as of 2026-03-31: 0 buyers.\nno purchases"
    assert result.rows == [] and result.extra["currency"] is None


def modelled(total: int, as_of: date = date(2026, 3, 31)) -> ValueReport:
    return ValueReport(
        as_of=as_of,
        horizon_weeks=52.18,
        currency="USD",
        method="pareto_nbd",
        customers=[buyer(1, "Ann", 50_000, "champions", purchases=2.0, value=total, p_alive=0.9)],
        repeat_customers=400,
        total_expected_value_minor=total,
        rfm_customers=500,
    )


def test_the_value_report_leads_with_the_change_since_a_week_earlier() -> None:
    before = modelled(9_000, date(2026, 3, 24))
    text = render_value(ValueView(MARCH, modelled(10_000), before)).text
    assert text.splitlines() == [
        "Expected over the next 12 months (pareto_nbd, 1 buyers, 400 repeat): $100.00.",
        "Change since 2026-03-24: +$10.00 (from $90.00).",
        "Top customers by expected value:",
        "1. Ann: $100.00 (2.0 purchases, P(alive) 90%)",
    ]
    no_model = render_value(ValueView(MARCH, modelled(10_000), None)).text
    assert "A week earlier (2026-03-24) there was no model to compare with." in no_model


def test_pipeline_amounts_stay_in_their_currency_one_per_chart_axis() -> None:
    stages = [
        StageRow("lead", 10, 2, {"USD": 100_000, "EUR": 50_000}, {"USD": 10_000, "EUR": 5_000}),
        StageRow("proposal", 50, 1, {"JPY": 5_000}, {"JPY": 2_500}),
    ]
    report = PipelineReport(
        period=MARCH,
        stages=stages,
        open_deals=3,
        open_amounts={"USD": 100_000, "EUR": 50_000, "JPY": 5_000},
        forecast={"USD": 10_000, "EUR": 5_000, "JPY": 2_500},
        won=0,
        lost=0,
        win_rate=None,
        avg_cycle_days=None,
        won_amounts={},
        lost_amounts={},
        lost_reasons=[],
    )
    view = PipelineView(MARCH, STAGES, report)
    result = render_pipeline(view)
    assert (
        "Open pipeline: 3 deals, €500.00 + ¥5,000 + $1,000.00; "
        "weighted forecast €50.00 + ¥2,500 + $100.00." in result.text
    )
    assert "March 2026: won 0 (nothing), lost 0 · win rate n/a." in result.text
    assert {(r["stage"], r["currency"], r["amount"]) for r in result.rows} == {
        ("lead", "USD", "1000.00"), ("lead", "EUR", "500.00"), ("proposal", "JPY", "5000"),
    }  # fmt: skip
    labels = [ax.get_ylabel() for ax in pipeline_figure(view.report, view.stages).axes]
    assert labels == ["open amount (EUR)", "open amount (JPY)", "open amount (USD)"]
    assert result.chart is not None and png_size(result.chart)[1] > 450  # three panels, taller


def churn_report(**counts: int) -> ChurnReport:
    return ChurnReport(
        period=MARCH,
        inactive_days=90,
        customers_at_start=counts.get("start", 0),
        churned=counts.get("churned", 0),
        churned_tagged=counts.get("churned", 0),
        churned_inactive=0,
        churn_rate=counts["churned"] / counts["start"] if counts.get("start") else None,
        retention_rate=1 - counts["churned"] / counts["start"] if counts.get("start") else None,
        inbound_messages=0,
        cancellation_messages=0,
        cancellation_share=None,
        note=None if counts.get("start") else "not enough data: no customers at the start",
    )


def test_churn_names_who_slipped_away_and_their_owner_or_nobody() -> None:
    gone = buyer(7, "Gus", 90_000, None, purchases=0.1, value=100, p_alive=0.2)
    view = ChurnView(
        MARCH, churn_report(start=4, churned=1), (Slipping(gone, None), Slipping(gone, "Bob"))
    )
    text = render_churn(view).text
    assert text.splitlines()[0] == (
        "Churn, March 2026: 1 of 4 customers active at the start left (25%); retention 75%."
    )
    assert text.endswith(
        "Most likely slipped away: Gus (P(alive) 20%, owner nobody, last contact 2026-02-28); "
        "Gus (P(alive) 20%, owner Bob, last contact 2026-02-28)."
    )
    empty = render_churn(ChurnView(MARCH, churn_report(), ())).text
    assert empty.splitlines() == [
        "Churn, March 2026: 0 of 0 customers active at the start left (n/a); retention n/a.",
        "not enough data: no customers at the start",
    ]


def test_clv_names_the_most_valuable_customer_with_a_segment_only_when_it_means_something() -> None:
    churned = churn_report()
    report = CLVReport(
        period=MARCH,
        margin=1.0,
        churn=churned,
        churn_rate=None,
        retention_rate=None,
        discount_rate=0.1,
        period_discount_rate=0.008,
        by_currency=[Value("all", "USD", 1, 12_000, 12_000, None, None)],
        by_segment=[Value("lost", "USD", 1, 12_000, 12_000, None, None)],
        top_contacts=[ContactValue(1, "Jane Doe", "lost", "USD", 12_000, None, None)],
    )
    jane = buyer(1, "Jane Doe", 12_000, "lost")
    tiny = render_clv(ClvView(MARCH, report, rfm_value([jane], scored=1))).text
    assert "Most valuable: Jane Doe, $120.00 profit this period." in tiny
    assert "CLV unbounded (simple), unbounded (discounted)." in tiny
    assert "Purchase model: not enough data for the value model" in tiny
    enough = render_clv(ClvView(MARCH, report, rfm_value([jane], scored=MIN_CUSTOMERS))).text
    assert "Most valuable: Jane Doe (lost), $120.00 profit this period." in enough
