"""Reports for people: the analytics measures as a few readable lines, rows and a chart.

`run_report` is the one entry point shared by the chat command (`report needs last
month`), the CLI (`rapport report needs`) and the weekly summary. Each report is a read
(crm/analytics/views.py: session and parameters -> a frozen value) and a render
(bot/reports/render.py: that value -> text, rows and chart, no session), joined here by
the registry, which declares every report's name once.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlmodel import Session

from bot.reports.render import (
    ReportResult,
    amounts,
    duration,
    major,
    money,
    percent,
    render_churn,
    render_clv,
    render_inbox,
    render_needs,
    render_pipeline,
    render_segments,
    render_value,
)
from crm.analytics import parse_period
from crm.analytics.value import parse_horizon
from crm.analytics.views import (
    Assumptions,
    ReportParams,
    churn_view,
    clv_view,
    inbox_view,
    needs_view,
    pipeline_view,
    segments_view,
    value_view,
)
from crm.deals import Pipeline
from crm.errors import Invalid

__all__ = [
    "CHARTED",
    "REPORTS",
    "REPORT_NAMES",
    "WEEKLY_REPORTS",
    "Assumptions",
    "ReportParams",
    "ReportResult",
    "ReportSpec",
    "amounts",
    "duration",
    "major",
    "money",
    "percent",
    "report_named",
    "run_report",
]

View = TypeVar("View")


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
    return spec.build(session, ReportParams(period, pipeline, assumptions, owner_id, weeks))


# --- the registry -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportSpec(Generic[View]):
    """One report, declared once: the chat grammar (names and aliases), the CLI, the charts
    and the Monday summary all read REPORTS, so a new report is its read, its render and
    one entry here."""

    name: str
    read: Callable[[Session, ReportParams], View]  # crm/analytics/views.py
    render: Callable[[View], ReportResult]  # bot/reports/render.py: values only
    aliases: tuple[str, ...] = ()  # other words a rep may type: report ltv
    chart: bool = False  # build() returns a PNG (`rapport report x --chart`, Slack image)
    weekly: int | None = None  # position in the weekly summary; None: not posted weekly

    def build(self, session: Session, params: ReportParams) -> ReportResult:
        """Reads first, then renders: nothing is queried while the text is written."""
        return self.render(self.read(session, params))


REPORTS: tuple[ReportSpec[Any], ...] = (
    ReportSpec("needs", needs_view, render_needs, aliases=("need",), chart=True, weekly=2),
    ReportSpec("pipeline", pipeline_view, render_pipeline, chart=True, weekly=1),
    ReportSpec("clv", clv_view, render_clv, aliases=("ltv",)),
    ReportSpec("churn", churn_view, render_churn),
    ReportSpec("segments", segments_view, render_segments, aliases=("segment",), chart=True),
    ReportSpec("inbox", inbox_view, render_inbox, weekly=3),
    ReportSpec("value", value_view, render_value, weekly=4),
)
_BY_NAME = {spec.name: spec for spec in REPORTS}
REPORT_NAMES = tuple(_BY_NAME)
CHARTED = tuple(spec.name for spec in REPORTS if spec.chart)
WEEKLY_REPORTS = tuple(
    spec.name for spec in sorted(REPORTS, key=lambda s: s.weekly or 0) if spec.weekly
)


def report_named(word: str) -> ReportSpec[Any] | None:
    """The report a rep's word names (its name or an alias, any case)."""
    word = word.strip().lower()
    return _BY_NAME.get(word) or next((s for s in REPORTS if word in s.aliases), None)
