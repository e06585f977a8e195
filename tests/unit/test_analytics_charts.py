"""Charts render to real PNGs of a readable size, with data and without."""

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
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
