"""Charts render to real PNGs of a readable size, with data and without."""

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from matplotlib.patches import Rectangle
from sqlmodel import Session

from crm.analytics import needs_over_time, pipeline_report, rfm_segments
from crm.analytics.charts import needs_chart, pipeline_chart, segments_chart
from crm.db import Store, make_engine
from crm.migrate import upgrade
from tests.analytics_checks import march
from tests.analytics_world import PIPELINE, build_world

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which PNG requires to come first."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


@pytest.fixture(params=["world", "empty"])
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'charts.db'}")
    upgrade(engine)
    with Store(engine).transaction() as session:
        if request.param == "world":
            build_world(session)
        yield session
    engine.dispose()


def test_each_chart_is_a_png_of_at_least_400_by_250(session: Session) -> None:
    period = march()
    charts = [
        needs_chart(needs_over_time(session, period=period)),
        needs_chart(needs_over_time(session, period=period, granularity="week")),
        pipeline_chart(pipeline_report(session, period=period, pipeline=PIPELINE)),
        segments_chart(rfm_segments(session, as_of=period.end)),
    ]
    for data in charts:
        width, height = png_size(data)
        assert width >= 400 and height >= 250
        assert len(data) > 5_000  # drawn, not blank


def test_pipeline_chart_gives_each_currency_its_own_axis_and_shows_empty_stages(
    session: Session,
) -> None:
    from crm.analytics.charts import pipeline_figure

    report = pipeline_report(session, period=march(), pipeline=PIPELINE)
    figure = pipeline_figure(report, PIPELINE.stages)
    currencies = sorted({c for row in report.stages for c in row.amounts})
    if not currencies:
        return  # the empty store draws the placeholder (checked above)
    axes = figure.axes
    assert [ax.get_ylabel() for ax in axes] == [f"open amount ({c})" for c in currencies]
    labels = [t.get_text().split("\n")[0] for t in axes[-1].get_xticklabels()]
    assert labels[: len(PIPELINE.names)] == PIPELINE.names  # every stage, empty ones too
    empty = [r for r in PIPELINE.names if r not in {s.stage for s in report.stages}]
    for name in empty:
        assert f"{name}\n" in "".join(t.get_text() + "\n" for t in axes[-1].get_xticklabels())


def test_pipeline_chart_never_mixes_currencies_on_an_axis(session: Session) -> None:
    from crm.analytics.charts import major_units, pipeline_figure

    report = pipeline_report(session, period=march(), pipeline=PIPELINE)
    currencies = sorted({c for row in report.stages for c in row.amounts})
    if not currencies:
        return  # the empty store draws the placeholder
    assert len(currencies) == 2  # the world has EUR and USD deals open: two panels
    figure = pipeline_figure(report, PIPELINE.stages)
    rows = {r.stage: r for r in report.stages}
    for ax, currency in zip(figure.axes, currencies, strict=True):
        heights = [bar.get_height() for bar in ax.patches if isinstance(bar, Rectangle)]
        expected = [
            major_units(rows[name].amounts.get(currency, 0), currency) if name in rows else 0
            for name in PIPELINE.names
        ]
        assert heights == expected  # this currency's amounts only, empty stages at 0
        assert any(h > 0 for h in heights)


@pytest.mark.parametrize("granularity", ["day", "week"])
def test_needs_chart_labels_its_dates_and_draws_empty_days(
    session: Session, granularity: Literal["day", "week"]
) -> None:
    from crm.analytics.charts import needs_figure

    report = needs_over_time(session, period=march(), granularity=granularity)
    (ax,) = needs_figure(report).axes
    assert report.period.label in ax.get_title()  # the period's dates head the chart
    if not report.inbound:
        assert not ax.get_xticklabels()  # the placeholder has no axes to label
        return
    first = "week starting" if granularity == "week" else "day"
    years = sorted({b.label[:4] for b in report.buckets})
    assert ax.get_xlabel().startswith(f"{first} (month-day, {years[0]}")
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks and all(t in {b.label[5:] for b in report.buckets} for t in ticks)
    assert ticks[0] == report.buckets[0].label[5:]  # the first day is labelled
    legend = ax.get_legend()
    assert legend is not None
    bars_per_need = len(ax.patches) // len(legend.get_texts())
    assert bars_per_need == len(report.buckets)  # a bar slot for every day, empty ones too
    assert any(b.total == 0 for b in report.buckets) or granularity == "week"


def test_segments_chart_draws_every_segment_even_empty(session: Session) -> None:
    from crm.analytics import SEGMENTS
    from crm.analytics.charts import segments_figure

    report = rfm_segments(session, as_of=march().end)
    (ax,) = segments_figure(report).axes
    if not report.customers:
        return
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [name.replace("_", " ") for name in SEGMENTS]
    assert [bar.get_height() for bar in ax.patches if isinstance(bar, Rectangle)] == [
        s.size for s in report.segments
    ]
    assert any(s.size == 0 for s in report.segments)  # the small world leaves some empty
