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
