"""PNG charts for the reports, as bytes a channel can upload.

Uses `matplotlib.figure.Figure` directly rather than pyplot: no global figure
registry, no backend selection, safe from worker threads, and nothing leaks between
reports. Every chart is 800x450 pixels and draws a readable placeholder when there
is no data, so a caller never has to special-case an empty report.
"""

from collections.abc import Sequence
from io import BytesIO

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from crm.analytics.needs import NeedsReport
from crm.analytics.pipeline import PipelineReport
from crm.analytics.segments import MIN_CUSTOMERS, SegmentsReport

SIZE = (8.0, 4.5)  # inches; at 100 dpi: 800x450
DPI = 100
ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "XOF", "XAF"})
MAX_STACKED_NEEDS = 7  # the rest are drawn together as "(rest)"


def major_units(amount_minor: int, currency: str) -> float:
    """Minor units as a plottable number of major units (charts only, never for sums)."""
    return amount_minor / (1 if currency in ZERO_DECIMAL else 100)


def _png(figure: Figure) -> bytes:
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _figure(title: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title)
    return figure, axes


def _placeholder(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])


def needs_chart(report: NeedsReport) -> bytes:
    """Stacked bars: inbound messages per need per day (or week)."""
    return _png(needs_figure(report))


def needs_figure(report: NeedsReport) -> Figure:
    """The needs chart as a figure: ticks are month-day, the axis label names the year(s)
    and whether a bar is a day or the week starting that day."""
    figure, ax = _figure(f"Customer needs per {report.granularity}: {report.period.label}")
    if not report.inbound:
        _placeholder(ax, "No inbound messages in this period")
        return figure
    shown = [t.need for t in report.totals[:MAX_STACKED_NEEDS]]
    rest = [t.need for t in report.totals[MAX_STACKED_NEEDS:]]
    positions = list(range(len(report.buckets)))
    bottoms = [0] * len(report.buckets)
    series = [(need, [b.counts.get(need, 0) for b in report.buckets]) for need in shown]
    if rest:
        series.append(("(rest)", [sum(b.counts.get(n, 0) for n in rest) for b in report.buckets]))
    for name, heights in series:
        ax.bar(positions, heights, bottom=bottoms, label=name)
        bottoms = [a + b for a, b in zip(bottoms, heights, strict=True)]
    step = max(1, len(positions) // 12)
    ax.set_xticks(positions[::step], [b.label[5:] for b in report.buckets][::step])
    years = sorted({b.label[:4] for b in report.buckets})
    first = "week starting" if report.granularity == "week" else "day"
    ax.set_xlabel(f"{first} (month-day, {'–'.join(dict.fromkeys([years[0], years[-1]]))})")
    ax.set_ylabel("inbound messages")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", fontsize="small", ncols=2)
    return figure


def pipeline_chart(report: PipelineReport, stages: Sequence[tuple[str, int]] = ()) -> bytes:
    """Bars per open stage, one panel per currency (amounts in different currencies never
    share an axis); every stage of `stages` (the pipeline) is drawn, empty ones too."""
    return _png(pipeline_figure(report, stages))


def pipeline_figure(report: PipelineReport, stages: Sequence[tuple[str, int]] = ()) -> Figure:
    currencies = sorted({c for row in report.stages for c in row.amounts})
    rows = {r.stage: r for r in report.stages}
    order = [(name, p) for name, p in stages] + [
        (r.stage, r.probability) for r in report.stages if r.stage not in dict(stages)
    ]
    if not order or not currencies:
        figure, ax = _figure("Open pipeline by stage")
        _placeholder(ax, "No open deals")
        return figure
    figure = Figure(figsize=(SIZE[0], max(SIZE[1], 2.6 * len(currencies))), dpi=DPI,
                    layout="constrained")  # fmt: skip
    axes = figure.subplots(len(currencies), 1, sharex=True, squeeze=False)[:, 0]
    figure.suptitle("Open pipeline by stage")
    labels = []
    for name, probability in order:
        deals = rows[name].deals if name in rows else 0
        labels.append(f"{name}\n{probability}% · {deals} deal{'s' * (deals != 1)}")
    for ax, currency in zip(axes, currencies, strict=True):
        heights = [
            major_units(rows[name].amounts.get(currency, 0), currency) if name in rows else 0
            for name, _ in order
        ]
        ax.bar(range(len(order)), heights, color="tab:blue")
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.set_ylabel(f"open amount ({currency})")
    axes[-1].set_xticks(range(len(order)), labels)
    return figure


def segments_chart(report: SegmentsReport) -> bytes:
    """Bars: customers per RFM segment, in the fixed segment order."""
    return _png(segments_figure(report))


def segments_figure(report: SegmentsReport) -> Figure:
    """Every segment is drawn, empty ones too (a bar of 0), so charts compare; under
    MIN_CUSTOMERS customers none is (a placeholder says why)."""
    figure, ax = _figure(f"Customer segments ({report.customers} customers)")
    if not report.customers:
        _placeholder(ax, "No customers yet")
        return figure
    if report.customers < MIN_CUSTOMERS:  # quintiles of so few label no one meaningfully
        _placeholder(ax, f"Not enough data: segments need at least {MIN_CUSTOMERS} customers")
        return figure
    names = [s.name.replace("_", " ") for s in report.segments]
    bars = ax.bar(names, [s.size for s in report.segments], color="tab:blue")
    ax.bar_label(bars, padding=2, fontsize="small")
    ax.set_ylabel("customers")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return figure
