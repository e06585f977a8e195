"""The analytics measures on real SQLite files, against hand-computed numbers.

The shared world and its checks live in tests/analytics_world.py and
tests/analytics_checks.py so PostgreSQL runs exactly the same assertions.
"""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from crm.analytics import (
    churn,
    customer_lifetime_value,
    inbox_performance,
    needs_over_time,
    parse_period,
    pipeline_report,
    rfm_segments,
    simple_clv,
    standard_clv,
)
from crm.analytics.clv import period_discount_rate
from crm.db import Store, make_engine
from crm.migrate import upgrade
from tests.analytics_checks import CHECKS, march
from tests.analytics_world import NOW, PIPELINE, Ids, add_customer, build_world


def migrated(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Ids]]:
    """One migrated SQLite file with the world, shared by read-only checks."""
    engine = migrated(tmp_path_factory.mktemp("analytics") / "world.db")
    store = Store(engine)
    with store.transaction() as session:
        ids = build_world(session)
    yield store, ids
    engine.dispose()


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Session]:
    engine = migrated(tmp_path / "empty.db")
    with Store(engine).transaction() as session:
        yield session
    engine.dispose()


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_measure_matches_hand_computation_on_sqlite(
    world: tuple[Store, Ids], check: Callable[[Session, Ids], None]
) -> None:
    store, ids = world
    with store.transaction() as session:
        check(session, ids)


def test_every_measure_on_an_empty_database_says_why_instead_of_dividing(
    empty: Session,
) -> None:
    period = march()
    report = churn(empty, period=period)
    assert (report.customers_at_start, report.churn_rate, report.retention_rate) == (0, None, None)
    assert report.note and report.note.startswith("not enough data")
    value = customer_lifetime_value(empty, period=period)
    assert value.by_currency == [] and value.by_segment == [] and value.top_contacts == []
    assert value.note and "no churn rate" in value.note
    segments = rfm_segments(empty, as_of=period.end)
    assert segments.customers == 0 and all(
        s.size == 0 and s.share is None for s in segments.segments
    )
    assert segments.note and segments.note.startswith("not enough data")
    needs = needs_over_time(empty, period=period)
    assert (needs.inbound, needs.other_share, needs.mean_confidence, needs.correction_rate) == (
        0, None, None, None,
    )  # fmt: skip
    inbox = inbox_performance(empty, period=period)
    assert inbox.overall.conversations == 0 and inbox.overall.first_response.median is None
    assert inbox.by_rep == [] and inbox.note
    pipeline = pipeline_report(empty, period=period, pipeline=PIPELINE)
    assert pipeline.stages == [] and pipeline.win_rate is None and pipeline.avg_cycle_days is None
    assert pipeline.note and pipeline.note.startswith("not enough data")


def test_a_single_customer_scores_lowest_and_the_report_says_scores_are_coarse(
    empty: Session,
) -> None:
    add_customer(empty, "Solo", datetime(2026, 3, 3, 10, tzinfo=UTC))
    report = rfm_segments(empty, as_of=march().end)
    # n = 1: nobody is below, so R = F = M = 1 + 5*0//1 = 1 -> lost
    (member,) = [m for s in report.segments for m in s.members]
    assert (member.name, member.r, member.f, member.m) == ("Solo", 1, 1, 1)
    assert report.segments[-1].size == 1 and report.segments[-1].share == 1.0
    assert report.note and report.note.startswith("not enough data: only 1 customer(s)")
    # active at the start of April (Mar 3 is within 90 days) and still active at its end
    april = parse_period("2026-04-01 to 2026-04-30", tz="UTC", now=datetime(2026, 5, 2, tzinfo=UTC))
    rates = churn(empty, period=april)
    assert (rates.customers_at_start, rates.churned, rates.churn_rate) == (1, 0, 0.0)


def test_clv_formulas_and_their_guards() -> None:
    # simple: m / c
    assert simple_clv(100.0, 0.25) == 400.0
    assert simple_clv(100.0, 0.0) is None and simple_clv(100.0, None) is None
    # standard: m r / (1 + d - r) = 100 * 0.8 / (1 + 0.1 - 0.8) = 80 / 0.3
    assert standard_clv(100.0, 0.8, 0.1) == pytest.approx(266.6666667)
    assert standard_clv(100.0, 1.0, 0.0) is None  # never converges
    assert standard_clv(100.0, None, 0.1) is None
    # an annual 10% over a whole year is 10%; over 0 days, nothing
    assert period_discount_rate(0.1, 365) == pytest.approx(0.1)
    assert period_discount_rate(0.1, 0) == 0.0


def test_clv_refuses_a_margin_outside_zero_to_one(empty: Session) -> None:
    with pytest.raises(ValueError, match="margin"):
        customer_lifetime_value(empty, period=march(), margin=1.5)


def test_churn_needs_a_positive_inactivity_window(empty: Session) -> None:
    with pytest.raises(ValueError, match="inactive_days"):
        churn(empty, period=march(), inactive_days=0)


def test_months_are_used_for_needs_over_long_periods(empty: Session) -> None:
    period = parse_period("2024-01-01 to 2025-12-31", tz="UTC", now=NOW)
    report = needs_over_time(empty, period=period)
    assert report.granularity == "month" and len(report.buckets) == 24
    assert report.buckets[1].label == "2024-02-01"
