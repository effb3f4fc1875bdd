"""The daily report's chart: runs per hour (or day) by final state, stacked, above the duration trend.

matplotlib with the Agg backend, drawn on a ``Figure`` of its own (never pyplot's global state), so it works on a
worker with no display and from several threads.
"""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from prefect_alerts.report.model import DailyReport

__all__ = ["STATE_COLOURS", "chart_png"]

STATE_COLOURS = {
    "completed": "#2eb67d",
    "failed": "#e01e5a",
    "timed_out": "#ecb22e",
    "crashed": "#7a2048",
    "cancelled": "#9e9ea6",
}
"""One colour per final state, the same in the chart's legend and the email's table."""
_LABELS = {"completed": "completed", "failed": "failed", "timed_out": "timed out", "crashed": "crashed"}


def chart_png(report: DailyReport, *, dpi: int = 100) -> bytes:
    """The chart as PNG bytes (about 900 x 500 pixels at the default ``dpi``).

    Example:
        ```python
        Path("report.png").write_bytes(chart_png(report))
        ```
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure

    zone = ZoneInfo(report.timezone)
    starts = [bucket.start.astimezone(zone) for bucket in report.buckets]
    width = (1 / 24 if report.bucket == "hour" else 1.0) * 0.85  # in days, matplotlib's date unit

    figure = Figure(figsize=(9, 5), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    runs_axes, duration_axes = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    bottom = [0] * len(starts)
    for state, colour in STATE_COLOURS.items():
        heights = [getattr(bucket, state) for bucket in report.buckets]
        if any(heights):
            runs_axes.bar(
                starts, heights, width=width, bottom=bottom, color=colour, align="edge",
                label=_LABELS.get(state, state),
            )  # fmt: skip
            bottom = [low + high for low, high in zip(bottom, heights, strict=True)]
    runs_axes.set_ylabel(f"runs per {report.bucket}")
    runs_axes.set_title(f"Flow runs by final state ({report.total_runs:,} in all)", loc="left", fontsize=11)
    if report.total_runs:
        runs_axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, ncols=5, frameon=False)
    else:
        runs_axes.text(0.5, 0.5, "no flow run finished in this window", transform=runs_axes.transAxes,
                       ha="center", va="center", color="#616061")  # fmt: skip
    runs_axes.grid(axis="y", color="#eeeeee")
    runs_axes.set_axisbelow(True)

    timed = [
        (start, bucket) for start, bucket in zip(starts, report.buckets, strict=True) if bucket.mean_seconds
    ]
    if timed:
        minutes = [bucket.mean_seconds / 60 for _, bucket in timed]  # type: ignore[operator]
        longest = [(bucket.max_seconds or 0) / 60 for _, bucket in timed]
        points = [start for start, _ in timed]
        duration_axes.plot(points, minutes, marker="o", markersize=3, color="#1264a3", label="mean")
        duration_axes.plot(
            points, longest, linestyle="--", marker="x", markersize=4, color="#9e9ea6", label="longest"
        )
        duration_axes.set_ylim(bottom=0)
        duration_axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, ncols=2, frameon=False)
    duration_axes.set_ylabel("duration (min)")
    duration_axes.set_title("Run duration", loc="left", fontsize=11)
    duration_axes.grid(axis="y", color="#eeeeee")
    duration_axes.set_axisbelow(True)
    if starts:
        duration_axes.set_xlim(starts[0], report.until.astimezone(zone))
    duration_axes.xaxis.set_major_formatter(
        DateFormatter("%H:%M" if report.bucket == "hour" else "%m-%d", tz=zone)
    )
    duration_axes.set_xlabel(report.timezone)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": "prefect-alerts"})
    return buffer.getvalue()
