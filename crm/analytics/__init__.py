"""Measures over the store: CLV, churn, RFM segments, needs, inbox and pipeline.

Each measure is a pure function of a Session and its parameters that aggregates in SQL
and returns a frozen dataclass. Empty data never divides by zero: the affected values
are None and the report's `note` says why. What each report reads is
`crm.analytics.views`; formatting for people lives in `bot.reports`; charts (PNG bytes)
in `crm.analytics.charts`, imported separately because matplotlib is slow to import and
only some callers draw.
"""

from crm.analytics.churn import ChurnReport, churn
from crm.analytics.clv import (
    CLVReport,
    ContactValue,
    Value,
    customer_lifetime_value,
    period_discount_rate,
    simple_clv,
    standard_clv,
)
from crm.analytics.inbox import InboxGroup, InboxReport, inbox_performance
from crm.analytics.needs import NeedBucket, NeedsReport, NeedTotal, needs_over_time
from crm.analytics.period import Period, parse_period
from crm.analytics.pipeline import ClosedDeal, PipelineReport, StageRow, pipeline_report
from crm.analytics.segments import (
    SEGMENT_RULES,
    SEGMENTS,
    Segment,
    SegmentMember,
    SegmentsReport,
    rfm_segments,
)
from crm.analytics.sql import Spread

__all__ = [
    "SEGMENTS",
    "SEGMENT_RULES",
    "CLVReport",
    "ChurnReport",
    "ClosedDeal",
    "ContactValue",
    "InboxGroup",
    "InboxReport",
    "NeedBucket",
    "NeedTotal",
    "NeedsReport",
    "Period",
    "PipelineReport",
    "Segment",
    "SegmentMember",
    "SegmentsReport",
    "Spread",
    "StageRow",
    "Value",
    "churn",
    "customer_lifetime_value",
    "inbox_performance",
    "needs_over_time",
    "parse_period",
    "period_discount_rate",
    "pipeline_report",
    "rfm_segments",
    "simple_clv",
    "standard_clv",
]
