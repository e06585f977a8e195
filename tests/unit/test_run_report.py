"""`run_report`: the measures as short text for a rep, rows and charts."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.reports import REPORT_NAMES, Assumptions, amounts, duration, money, run_report
from crm.db import Store, make_engine
from crm.errors import Invalid
from crm.migrate import upgrade
from tests.analytics_world import MARCH, NOW, PIPELINE, Ids, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, Ids]]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('reports') / 'world.db'}")
    upgrade(engine)
    with Store(engine).transaction() as session:
        ids = build_world(session)
        yield session, ids
    engine.dispose()


def report(session: Session, name: str, **kwargs: object):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {"period_text": MARCH, "tz": "UTC", "now": NOW}
    options.update(kwargs)
    return run_report(session, name=name, pipeline=PIPELINE, **options)  # type: ignore[arg-type]


def test_money_is_formatted_per_currency_without_floats() -> None:
    assert money(1_200_000, "USD") == "$12,000.00"
    assert money(150_000, "EUR") == "€1,500.00"
    assert money(5000, "JPY") == "¥5,000"
    assert money(1999, "CHF") == "19.99 CHF"
    assert amounts({"USD": 100, "EUR": 50}) == "€0.50 + $1.00"
    assert amounts({}) == "nothing"
    assert [duration(s) for s in (None, 600, 6120, 86_400, 93_600)] == [
        "n/a", "10m", "1h 42m", "1d", "1d 2h",
    ]  # fmt: skip


def test_every_report_has_a_title_text_and_rows_and_charts_where_promised(
    world: tuple[Session, Ids],
) -> None:
    session, _ = world
    for name in REPORT_NAMES:
        result = report(session, name)
        assert result.title and result.text and result.rows
        assert (result.chart is not None) == (name in {"needs", "pipeline", "segments"})


def test_pipeline_text_keeps_currencies_apart(world: tuple[Session, Ids]) -> None:
    text = report(world[0], "pipeline").text
    assert (
        "Open pipeline: 4 deals, €2,000.00 + $15,000.00; weighted forecast €1,000.00 + $8,100.00."
        in text
    )
    assert (
        "won 4 (€1,500.00 + $40,000.00), lost 3 · win rate 57% · average cycle 11.2 days." in text
    )
    assert "Top lost reason: price (2)." in text


def test_clv_text_names_both_forms_and_the_most_valuable_customer(
    world: tuple[Session, Ids],
) -> None:
    result = report(world[0], "clv", assumptions=Assumptions(margin=0.5, discount_rate=0.0))
    assert "churn 60%, retention 40%, margin 50%" in result.text
    # USD: 3 paying, average 666,667 minor; simple 1,111,111; standard 444,444
    assert (
        "USD: 3 paying customers, average profit $6,666.67 → "
        "CLV $11,111.11 (simple), $4,444.44 (discounted)."
    ) in result.text
    assert "Most valuable: Hana (champions), $12,500.00 profit this period." in result.text
    assert result.rows[0] == {
        "group": "all", "currency": "EUR", "customers": 1, "profit": "750.00",
        "avg_profit": "750.00", "clv_simple": "1250.00", "clv_discounted": "500.00",
    }  # fmt: skip


def test_churn_inbox_segments_and_needs_texts_carry_the_numbers(
    world: tuple[Session, Ids],
) -> None:
    session, _ = world
    assert (
        "3 of 5 customers active at the start left (60%); retention 40%."
        in report(session, "churn").text
    )
    inbox = report(session, "inbox").text
    assert "First response: median 30m, p90 1h 42m. Resolution: median 13h, p90 21h 48m." in inbox
    assert "Satisfaction 3.5/5 (2 ratings)." in inbox
    segments = report(session, "segments").text
    assert (
        "champions 1 · loyal 1 · potential 1 · new 1 · at_risk 1 · hibernating 0 · lost 2"
        in segments
    )
    assert "Win back (at risk): Cara." in segments
    needs = report(session, "needs")
    assert "Most asked: billing 2 (40%), cancellation 1 (20%)" in needs.text
    assert needs.rows[14] == {
        "from": "2026-03-15", "total": 2, "billing": 1, "cancellation": 0, "other": 1,
        "unclassified": 0,
    }  # fmt: skip


def test_one_reps_view_only_counts_their_book(world: tuple[Session, Ids]) -> None:
    session, ids = world
    text = report(session, "pipeline", owner_id=ids.alice).text
    assert "won 3 ($40,000.00), lost 1 · win rate 75%" in text


def test_unknown_reports_and_unreadable_periods_are_invalid_not_crashes(
    world: tuple[Session, Ids],
) -> None:
    session, _ = world
    with pytest.raises(Invalid, match="There is no 'sales' report"):
        report(session, "sales")
    with pytest.raises(Invalid, match="I don't understand the period 'fortnight'"):
        report(session, "needs", period_text="fortnight")


def test_an_empty_store_gives_a_note_not_an_error(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    upgrade(engine)
    with Store(engine).transaction() as session:
        for name in REPORT_NAMES:
            result = report(session, name)
            assert "not enough data" in result.text or "0 customers" in result.text, name
    engine.dispose()
