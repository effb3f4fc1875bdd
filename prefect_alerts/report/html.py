"""The daily report as one HTML page (``prefect-alerts report --html FILE``): inline CSS, no external assets,
every value autoescaped (flow names and error messages come from users' code)."""

from __future__ import annotations

import base64

import jinja2

from prefect_alerts.report.chart import STATE_COLOURS
from prefect_alerts.report.model import DailyReport
from prefect_alerts.report.render import (
    FLOW_COLUMNS,
    alert_lines,
    flow_table_rows,
    percent,
    summary_line,
    window_text,
)

__all__ = ["render_html"]

_TEMPLATE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Prefect daily report, {{ window }}</title>
</head>
<body style="margin:0;padding:16px;background:#f4f5f7;font-family:-apple-system,'Segoe UI',Helvetica,Arial,\
sans-serif;font-size:14px;line-height:1.5;color:#1d1c1d;">
<div style="max-width:960px;margin:0 auto;background:#ffffff;border:1px solid #dddddd;padding:20px;">
<h1 style="font-size:20px;margin:0 0 4px 0;">Prefect daily report</h1>
<div style="color:#616061;">{{ window }}</div>
<p style="font-size:16px;font-weight:bold;">{{ summary }}</p>
<table style="border-collapse:collapse;margin:8px 0 16px 0;">
<tr>{% for name, value, colour in cards %}\
<td style="padding:8px 14px;border:1px solid #eeeeee;text-align:center;">\
<div style="font-size:20px;font-weight:bold;color:{{ colour }};">{{ value }}</div>\
<div style="font-size:12px;color:#616061;">{{ name }}</div></td>{% endfor %}</tr>
</table>
{% if chart_src %}<img src="{{ chart_src }}" alt="Runs per {{ bucket }} by final state, and run duration" \
style="display:block;width:100%;max-width:900px;height:auto;border:0;">{% endif %}
{% if rows %}
<h2 style="font-size:16px;margin:20px 0 6px 0;">Flows</h2>
<table style="border-collapse:collapse;width:100%;font-size:13px;">
<tr>{% for column in columns %}<th style="text-align:{{ 'left' if loop.first else 'right' }};padding:4px 8px;\
border-bottom:2px solid #dddddd;color:#616061;">{{ column }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for cell in row %}<td style="text-align:{{ 'left' if loop.first else 'right' }};\
padding:4px 8px;border-bottom:1px solid #eeeeee;word-break:break-word;">{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% if note %}<div style="font-size:12px;color:#616061;">{{ note }}</div>{% endif %}
{% endif %}
{% if errors %}
<h2 style="font-size:16px;margin:20px 0 6px 0;">Recurring errors</h2>
<table style="border-collapse:collapse;width:100%;font-size:13px;">
{% for error in errors %}<tr><td style="padding:4px 8px;border-bottom:1px solid #eeeeee;text-align:right;\
vertical-align:top;">{{ "{:,}".format(error.count) }}&times;</td><td style="padding:4px 8px;border-bottom:1px solid \
#eeeeee;font-family:Menlo,Consolas,monospace;word-break:break-word;">{{ error.message }}</td>\
<td style="padding:4px 8px;border-bottom:1px solid #eeeeee;color:#616061;">{{ error.flows | join(", ") }}</td></tr>
{% endfor %}</table>
{% endif %}
{% if checks %}
<h2 style="font-size:16px;margin:20px 0 6px 0;">Checks that failed</h2>
<table style="border-collapse:collapse;width:100%;font-size:13px;">
{% for check in checks %}<tr><td style="padding:4px 8px;border-bottom:1px solid #eeeeee;text-align:right;">\
{{ "{:,}".format(check.count) }}&times;</td><td style="padding:4px 8px;border-bottom:1px solid #eeeeee;">\
{{ check.event }}</td><td style="padding:4px 8px;border-bottom:1px solid #eeeeee;">{{ check.flow_name or "-" }}</td>\
<td style="padding:4px 8px;border-bottom:1px solid #eeeeee;color:#616061;">{{ check.last_title }}</td></tr>
{% endfor %}</table>
{% endif %}
<h2 style="font-size:16px;margin:20px 0 6px 0;">Alerts</h2>
<ul style="margin:0;padding-left:20px;">{% for line in alert_lines %}<li>{{ line }}</li>{% endfor %}</ul>
{% for note in notes %}<p style="font-size:12px;color:#8d8d8d;">Note: {{ note }}</p>{% endfor %}
<p style="font-size:11px;color:#8d8d8d;margin-top:20px;">Generated {{ generated }} by prefect-alerts\
{% if ui_url %} &middot; <a href="{{ ui_url }}" style="color:#1264a3;">open the runs in Prefect</a>{% endif %}</p>
</div>
</body>
</html>
"""
_HTML = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True).from_string(
    _TEMPLATE
)


def render_html(report: DailyReport, chart_src: str | None = None) -> str:
    """The report page; the chart is a ``data:`` URI unless ``chart_src`` is given (``cid:...`` in an email)."""
    if chart_src is None:
        chart_src = "data:image/png;base64," + base64.b64encode(report.chart_png()).decode("ascii")
    rows, note = flow_table_rows(report)
    cards = [
        ("runs", f"{report.total_runs:,}", "#1d1c1d"),
        ("succeeded", percent(report.success_rate), STATE_COLOURS["completed"]),
        ("failed", f"{report.failed:,}", STATE_COLOURS["failed"]),
        ("timed out", f"{report.timed_out:,}", STATE_COLOURS["timed_out"]),
        ("crashed", f"{report.crashed:,}", STATE_COLOURS["crashed"]),
        ("cancelled", f"{report.cancelled:,}", STATE_COLOURS["cancelled"]),
        ("late", f"{report.late:,}", "#1d1c1d"),
    ]
    return _HTML.render(
        window=window_text(report),
        summary=summary_line(report),
        cards=cards,
        chart_src=chart_src,
        bucket=report.bucket,
        columns=FLOW_COLUMNS,
        rows=rows,
        note=note,
        errors=report.top_errors,
        checks=report.failed_checks,
        alert_lines=alert_lines(report),
        notes=report.notes,
        generated=report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        ui_url=report.ui_url,
    )
