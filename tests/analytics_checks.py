"""Hand-computed expectations for the analytics world (tests/analytics_world.py).

Each check takes a session on a database holding `build_world` and its Ids; the same
checks run on SQLite (tests/unit/test_analytics.py) and PostgreSQL
(tests/integration/test_analytics_pg.py), so both dialects must give the same numbers.
"""

from collections.abc import Callable

import pytest
from sqlmodel import Session

from crm.analytics import (
    Period,
    churn,
    customer_lifetime_value,
    inbox_performance,
    needs_over_time,
    parse_period,
    pipeline_report,
    rfm_segments,
)
from tests.analytics_world import MARCH, NOW, PIPELINE, Ids


def march(tz: str = "UTC") -> Period:
    return parse_period(MARCH, tz=tz, now=NOW)


def check_churn(session: Session, ids: Ids) -> None:
    report = churn(session, period=march(), inactive_days=90)
    # active in [2025-12-01, 2026-03-01): Ann (Feb 10), Ben (Dec 10), Cara (msg Feb 20),
    # Dan (Jan 5), Finn (Feb 1) = 5; Eve, Gus, Hana start later or never
    assert report.customers_at_start == 5
    # tagged/opted out: Cara (#churned), Finn (opted out Mar 12 < Apr 1) = 2
    assert report.churned_tagged == 2
    # quiet in [2025-12-31, 2026-04-01): Ben only (last touch Dec 10) = 1
    assert report.churned_inactive == 1
    assert report.churned == 3
    assert report.churn_rate == pytest.approx(3 / 5)  # 0.6
    assert report.retention_rate == pytest.approx(2 / 5)  # 0.4
    # March inbound: M1..M5 = 5, of which M1 is a cancellation: 1/5
    assert (report.inbound_messages, report.cancellation_messages) == (5, 1)
    assert report.cancellation_share == pytest.approx(0.2)
    assert report.note is None


def check_churn_for_one_rep(session: Session, ids: Ids) -> None:
    report = churn(session, period=march(), owner_id=ids.alice)
    # Alice's contacts active at start: Ann, Cara = 2; Cara tagged = 1 churned: 1/2
    assert (report.customers_at_start, report.churned) == (2, 1)
    assert report.churn_rate == pytest.approx(0.5)
    # her contacts' March inbound: M1 (Cara), M3, M4 (Ann), M5 (Eve) = 4; 1 cancellation
    assert report.cancellation_share == pytest.approx(1 / 4)


def check_no_churn_with_one_customer(session: Session, ids: Ids) -> None:
    january = parse_period("2026-01-01 to 2026-01-31", tz="UTC", now=NOW)
    report = churn(session, period=january)
    # active in [2025-10-03, 2026-01-01): Ben (Dec 10) only; still active in
    # [2025-11-02, 2026-02-01) and not tagged: nobody churned
    assert (report.customers_at_start, report.churned) == (1, 0)
    assert report.churn_rate == 0.0 and report.retention_rate == 1.0
    # no inbound message in January: the early signal has nothing to divide
    assert report.inbound_messages == 0 and report.cancellation_share is None


def check_segments(session: Session, ids: Ids) -> None:
    report = rfm_segments(session, as_of=march().end)
    c = ids.contacts
    # 7 customers (Gus has only an open deal). score = 1 + 5*below//7
    # R (last touch ascending): Ben, Finn, Cara, Ann (Mar 20 09:00), Dan (Mar 20 12:00),
    #   Eve (Mar 28), Hana (Mar 30): below 0..6 -> 1, 1, 2, 3, 3, 4, 5
    # F (activities + inbound): Ben 1, Eve 1, Finn 1 (below 0 -> 1); Cara 2, Dan 2
    #   (below 3 -> 1+15//7 = 3); Ann 4, Hana 4 (below 5 -> 1+25//7 = 4)
    # M (won, per currency): USD Hana 2.5M (below 6 -> 5), Ann 1.9M (below 5 -> 4),
    #   Eve 0.3M (below 4 -> 3); EUR Dan 150k (below 6 -> 5); the rest 1
    assert report.customers == 7
    members = {m.contact_id: (s.name, m.r, m.f, m.m) for s in report.segments for m in s.members}
    assert members == {
        c["Hana"]: ("champions", 5, 4, 5),
        c["Ann"]: ("loyal", 3, 4, 4),
        c["Dan"]: ("potential", 3, 3, 5),
        c["Eve"]: ("new", 4, 1, 3),
        c["Cara"]: ("at_risk", 2, 3, 1),
        c["Finn"]: ("lost", 1, 1, 1),
        c["Ben"]: ("lost", 1, 1, 1),
    }
    sizes = {s.name: s.size for s in report.segments}
    assert sizes == {
        "champions": 1, "loyal": 1, "potential": 1, "new": 1,
        "at_risk": 1, "hibernating": 0, "lost": 2,
    }  # fmt: skip
    lost = report.segments[-1]
    assert lost.share == pytest.approx(2 / 7)
    # best first: equal scores, so the more recent touch (Finn, Feb 1) before Ben (Dec 10)
    assert [m.name for m in lost.members] == ["Finn", "Ben"]
    # Ben: 2025-12-10 10:00 -> 2026-04-01 00:00 is 111 days 14 h
    assert lost.members[1].recency_days == 111
    assert report.segments[5].avg_frequency is None and report.segments[5].share == 0.0


def check_clv_exact_without_discounting(session: Session, ids: Ids) -> None:
    report = customer_lifetime_value(session, period=march(), margin=0.5, discount_rate=0.0)
    # churn 3/5 = 0.6, retention 0.4 (check_churn); d = 0
    # USD paying: Ann 1.2M, Eve 0.3M, Hana 2.5M: revenue 4.0M, profit x0.5 = 2.0M,
    #   average 2.0M/3 = 666,666.67 -> simple 666,666.67/0.6 = 1,111,111.11;
    #   standard 666,666.67*0.4/(1+0-0.4) = 444,444.44
    # EUR paying: Dan 150k: profit 75,000 -> simple 125,000; standard 75k*0.4/0.6 = 50,000
    usd = next(v for v in report.by_currency if v.currency == "USD")
    eur = next(v for v in report.by_currency if v.currency == "EUR")
    assert (usd.customers, usd.profit_minor, usd.avg_profit_minor) == (3, 2_000_000, 666_667)
    assert (usd.simple_clv_minor, usd.standard_clv_minor) == (1_111_111, 444_444)
    assert (eur.customers, eur.profit_minor, eur.simple_clv_minor) == (1, 75_000, 125_000)
    assert eur.standard_clv_minor == 50_000
    # per segment (segments as of Apr 1): Hana champions 1.25M profit -> 2,083,333 / 833,333;
    # Ann loyal 600k -> 1,000,000 / 400,000; Dan potential EUR; Eve new 150k -> 250k / 100k
    by_segment = {(v.group, v.currency): (v.simple_clv_minor, v.standard_clv_minor)
                  for v in report.by_segment}  # fmt: skip
    assert by_segment == {
        ("champions", "USD"): (2_083_333, 833_333),
        ("loyal", "USD"): (1_000_000, 400_000),
        ("potential", "EUR"): (125_000, 50_000),
        ("new", "USD"): (250_000, 100_000),
    }
    assert [v.group for v in report.by_segment] == ["champions", "loyal", "potential", "new"]
    # top contacts per currency, highest profit first: EUR Dan; USD Hana, Ann, Eve
    assert [(t.name, t.profit_minor) for t in report.top_contacts] == [
        ("Dan", 75_000), ("Hana", 1_250_000), ("Ann", 600_000), ("Eve", 150_000),
    ]  # fmt: skip
    assert report.note is None


def check_clv_with_annual_discount(session: Session, ids: Ids) -> None:
    report = customer_lifetime_value(session, period=march(), margin=1.0, discount_rate=0.1)
    # March is 31 days: d = 1.1 ** (31/365) - 1 (about 0.81% per period)
    d = 1.1 ** (31 / 365) - 1
    assert report.period_discount_rate == pytest.approx(d)
    eur = next(v for v in report.by_currency if v.currency == "EUR")
    # Dan: profit 150,000 (margin 1.0): standard = 150,000 * 0.4 / (1 + d - 0.4)
    assert eur.standard_clv_minor == round(150_000 * 0.4 / (0.6 + d))  # 98,665
    assert eur.simple_clv_minor == 250_000  # 150,000 / 0.6


def check_clv_when_nobody_churned(session: Session, ids: Ids) -> None:
    january = parse_period("2026-01-01 to 2026-01-31", tz="UTC", now=NOW)
    report = customer_lifetime_value(session, period=january, discount_rate=0.1)
    # churn 0 (check_no_churn_with_one_customer); Ann won 700,000 USD on Jan 20
    (usd,) = report.by_currency
    assert (usd.customers, usd.profit_minor) == (1, 700_000)
    assert usd.simple_clv_minor is None  # m / 0: unbounded, reported as None
    # standard with r = 1: m * 1 / (1 + d - 1) = m / d
    assert usd.standard_clv_minor == round(700_000 / (1.1 ** (31 / 365) - 1))
    assert report.note and "unbounded" in report.note
    undiscounted = customer_lifetime_value(session, period=january, discount_rate=0.0)
    assert undiscounted.by_currency[0].standard_clv_minor is None  # 1 + 0 - 1 = 0


def check_needs(session: Session, ids: Ids) -> None:
    report = needs_over_time(session, period=march(), granularity="week")
    # inbound in March: billing 2 (M2, M4), cancellation 1, other 1, unclassified 1 = 5
    assert report.inbound == 5 and report.classified == 4
    assert [(t.need, t.count) for t in report.totals] == [
        ("billing", 2), ("cancellation", 1), ("other", 1), ("unclassified", 1),
    ]  # fmt: skip
    assert report.other_share == pytest.approx(1 / 4)  # other / classified
    assert report.mean_confidence == pytest.approx((0.9 + 0.8 + 0.4 + 1.0) / 4)  # 0.775
    assert report.correction_rate == pytest.approx(1 / 5)  # M4 corrected / 5 inbound
    billing = report.totals[0]
    assert billing.mean_confidence == pytest.approx((0.8 + 1.0) / 2) and billing.corrected == 1
    # weeks: Sun Mar 1 (partial), then Mondays Mar 2, 9, 16, 23, 30
    assert [b.label for b in report.buckets] == [
        "2026-03-01", "2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30",
    ]  # fmt: skip
    assert [b.total for b in report.buckets] == [0, 0, 3, 1, 1, 0]
    assert report.buckets[2].counts == {"cancellation": 1, "billing": 1, "other": 1}


def check_needs_per_local_day(session: Session, ids: Ids) -> None:
    utc = needs_over_time(session, period=march())
    assert utc.granularity == "day" and len(utc.buckets) == 31
    by_day = {b.label: b.total for b in utc.buckets if b.total}
    assert by_day == {"2026-03-10": 1, "2026-03-15": 2, "2026-03-16": 1, "2026-03-25": 1}
    # in New York (EDT from Mar 8) M4, sent Mar 16 03:00 UTC, is Mar 15 23:00 local
    new_york = needs_over_time(session, period=march("America/New_York"))
    by_day = {b.label: b.total for b in new_york.buckets if b.total}
    assert by_day == {"2026-03-10": 1, "2026-03-15": 3, "2026-03-25": 1}


def check_inbox(session: Session, ids: Ids) -> None:
    report = inbox_performance(session, period=march())
    o = report.overall
    # C1..C4 opened in March; C1, C2, C3 answered; C1, C2 closed
    assert (o.conversations, o.answered, o.closed, report.unanswered) == (4, 3, 2, 1)
    # first responses 600, 1800, 7200 s: median = 1800;
    # p90 at position 0.9*2 = 1.8: 1800 + 0.8*(7200-1800) = 6120
    assert (o.first_response.median, o.first_response.p90) == (1800, 6120)
    # resolutions 7200, 86400: median at 0.5: 46,800; p90 at 0.9: 7200 + 0.9*79200 = 78,480
    assert o.resolution.median == pytest.approx(46_800)
    assert o.resolution.p90 == pytest.approx(78_480)
    assert (o.satisfaction_avg, o.satisfaction_count) == (3.5, 2)  # (2 + 5) / 2
    reps = {g.key: g for g in report.by_rep}
    # Alice: 600, 1800 -> median 1200, p90 600 + 0.9*1200 = 1680
    assert (reps["Alice"].first_response.median, reps["Alice"].first_response.p90) == (
        pytest.approx(1200), pytest.approx(1680),
    )  # fmt: skip
    assert reps["Bob"].resolution.median == 86_400
    assert reps["unassigned"].first_response.count == 0
    assert reps["unassigned"].first_response.median is None
    needs = {g.key: g.conversations for g in report.by_need}
    assert needs == {"cancellation": 1, "billing": 1, "other": 1, "unclassified": 1}


def check_pipeline(session: Session, ids: Ids) -> None:
    report = pipeline_report(session, period=march(), pipeline=PIPELINE)
    assert [(s.stage, s.deals, s.amounts, s.weighted) for s in report.stages] == [
        ("lead", 1, {"USD": 100_000}, {"USD": 10_000}),  # 10%
        ("proposal", 2, {"EUR": 200_000, "USD": 1_000_000}, {"EUR": 100_000, "USD": 500_000}),
        ("negotiation", 1, {"USD": 400_000}, {"USD": 300_000}),  # 75%
    ]
    assert report.open_amounts == {"EUR": 200_000, "USD": 1_500_000}
    assert report.forecast == {"EUR": 100_000, "USD": 810_000}  # 10k + 500k + 300k
    # March: won D1, D2, D3, D8; lost D4, D5, D6 -> 4 / 7
    assert (report.won, report.lost) == (4, 3)
    assert report.win_rate == pytest.approx(4 / 7)
    assert report.avg_cycle_days == pytest.approx((30 + 10 + 1 + 4) / 4)  # 11.25
    assert report.won_amounts == {"EUR": 150_000, "USD": 4_000_000}
    assert report.lost_amounts == {"EUR": 80_000, "USD": 550_000}
    assert report.lost_reasons == [("price", 2), ("went with a competitor", 1)]
    assert [d.amount_minor for d in report.closed][:2] == [2_500_000, 300_000]  # latest first


def check_pipeline_for_one_rep(session: Session, ids: Ids) -> None:
    report = pipeline_report(session, period=march(), pipeline=PIPELINE, owner_id=ids.alice)
    # Alice's: won D1, D3, D8; lost D5 -> 3/4; open lead 100k and proposal 1M (USD)
    assert (report.won, report.lost, report.win_rate) == (3, 1, 0.75)
    assert report.open_amounts == {"USD": 1_100_000}


CHECKS: list[Callable[[Session, Ids], None]] = [
    check_churn,
    check_churn_for_one_rep,
    check_no_churn_with_one_customer,
    check_segments,
    check_clv_exact_without_discounting,
    check_clv_with_annual_discount,
    check_clv_when_nobody_churned,
    check_needs,
    check_needs_per_local_day,
    check_inbox,
    check_pipeline,
    check_pipeline_for_one_rep,
]
