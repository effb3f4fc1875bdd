"""The daily report as people receive it: hostile flow names and errors escaped in every rendering, the email
with its chart as a multipart/related part its HTML shows by Content-ID (a real SMTP server), and the flow
on a real Prefect server sending to a real HTTP receiver, with its artifacts, once per window."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts.channels import EmailChannel, SlackChannel
from prefect_alerts.report import (
    ARTIFACT_KEY,
    AlertTotals,
    DailyReport,
    ErrorRow,
    FlowRow,
    TimeBucket,
    report_alert,
    send_daily_report,
)
from tests.hooks.helpers import field_texts, slack_posts, slack_text
from tests.store_fixtures import default_store

HOSTILE_FLOW = "<script>alert(1)</script> | *etl* <!channel>"
HOSTILE_ERROR = "ValueError: <img src=x onerror=alert(1)> & `rm -rf` <!here> [link](http://evil)"
SINCE = datetime(2026, 12, 6, 8, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def worker_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.delenv("PREFECT_ALERTS_CONFIG", raising=False)
    with default_store(f"sqlite:///{tmp_path}/worker.db", monkeypatch) as url:
        yield url


def hostile_report() -> DailyReport:
    buckets = [TimeBucket(start=SINCE + timedelta(hours=hour)) for hour in range(24)]
    buckets[3] = TimeBucket(
        start=SINCE + timedelta(hours=3), completed=40, failed=2, mean_seconds=61, max_seconds=300
    )
    return DailyReport(
        since=SINCE,
        until=SINCE + timedelta(days=1),
        generated_at=SINCE + timedelta(days=1, minutes=1),
        timezone="Europe/Berlin",
        total_runs=42,
        completed=40,
        failed=2,
        success_rate=40 / 42,
        flows=[
            FlowRow(
                flow_name=HOSTILE_FLOW,
                total_runs=42,
                completed=40,
                failed=2,
                success_rate=40 / 42,
                p50_seconds=61,
                p95_seconds=300,
            )
        ],
        buckets=buckets,
        top_errors=[ErrorRow(message=HOSTILE_ERROR, count=2, flows=[HOSTILE_FLOW], last_seen=SINCE)],
        alerts=AlertTotals(
            delivered=3,
            by_severity={"error": 3},
            by_destination={"slack:oncall": 3},
            by_outcome={"delivered": 3},
        ),
    )


def test_every_rendering_escapes_flow_names_and_errors() -> None:
    report = hostile_report()
    html = report.render_html()
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', html)

    markdown = report.render_markdown()
    assert "<script>" not in markdown and "<img" not in markdown
    flow_line = next(line for line in markdown.splitlines() if "script" in line and line.startswith("| "))
    assert flow_line.count(" | ") == 8  # the name's own | is escaped: the row keeps its nine cells
    assert r"\[link\]\(http://evil\)" in markdown.replace(r"\.", ".").replace(r"\-", "-")

    slack = report.render_slack()
    assert "<!channel>" not in slack and "<!here>" not in slack and "&lt;!here&gt;" in slack
    assert slack.startswith("*42 runs, 95.2% succeeded; 2 failed*")

    assert report.render_text().startswith("Prefect daily report, 2026-12-06 09:00 – 2026-12-07 09:00 CET")


def test_the_chart_is_a_png_of_the_expected_size() -> None:
    png = hostile_report().chart_png()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (900, 500)


def test_the_email_shows_the_chart_by_content_id_and_the_tables_escaped(smtp_server: Any) -> None:
    channel = EmailChannel(
        credentials=smtp_server.credentials(), email_from="alerts@example.com", email_to=["data@example.com"]
    )
    result = send_daily_report(hostile_report(), destinations=[channel])
    assert [outcome.status for outcome in result.outcomes] == ["delivered"]

    (received,) = smtp_server.received
    message = received.message()
    assert "Daily report: 95.2% of 42 runs succeeded" in message["Subject"]
    plain, related = list(message.iter_parts())
    assert related.get_content_type() == "multipart/related"
    html_part, chart = list(related.iter_parts())
    assert chart.get_content_type() == "image/png" and chart.get_content().startswith(b"\x89PNG")
    html = html_part.get_content()
    (cid,) = re.findall(r'<img src="cid:([^"]+)"', html)
    assert cid == chart["Content-ID"].strip("<>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert ">Flows</div>" in html and ">Recurring errors</div>" in html
    text = plain.get_content()
    assert "Flows:" in text and "p95" in text and "5m 00s" in text


def test_the_alert_is_info_with_one_dedup_key_per_window() -> None:
    report = hostile_report()
    alert = report_alert(report, chart=False)
    assert (alert.event, alert.severity.value) == ("daily_report", "info")
    assert alert.dedup_key == report_alert(report.model_copy(), chart=False).dedup_key
    later = report.model_copy(update={"until": report.until + timedelta(days=1)})
    assert report_alert(later, chart=False).dedup_key != alert.dedup_key
    assert alert.fields["success rate"] == "95.2%"


@pytest.mark.usefixtures("prefect_server")
def test_the_flow_sends_once_per_window_and_publishes_its_artifacts(httpserver: HTTPServer) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from prefect_alerts.monitoring import daily_report_flow
    from prefect_alerts.routing import AlertRouting
    from tests.seed_runs import SeedRun, create_flow, insert_runs

    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    slack = SlackChannel(url=httpserver.url_for("/hook"))
    routing = AlertRouting.model_validate(
        {
            "defaults": {
                "cooldown": "0s"
            },  # the window's report is still sent once: not the cooldown's doing
            "routes": [{"name": "reports", "match": {"event": "daily_report"}, "destinations": [slack]}],
            "default": [],
        }
    )
    until = datetime(1985, 6, 1, 8, tzinfo=timezone.utc) + timedelta(days=uuid.uuid4().int % 1000)
    flow_id = create_flow(f"report-flow-{uuid.uuid4().hex[:6]}")
    insert_runs(
        [
            SeedRun.finished(flow_id, "Completed", until - timedelta(hours=2), 60),
            SeedRun.finished(flow_id, "Crashed", until - timedelta(hours=1), 5, message="exited with 137"),
        ]
    )

    first = daily_report_flow(routing=routing, now=until)
    assert (first["total_runs"], first["success_rate"]) == (2, 0.5)
    assert [outcome["status"] for outcome in first["outcomes"]] == ["delivered"]
    (post,) = slack_posts(httpserver)
    assert "Daily report: 50% of 2 runs succeeded" in slack_text(post)
    assert field_texts(post)["crashed"] == "1"

    again = daily_report_flow(routing=routing, now=until)
    assert [outcome["status"] for outcome in again["outcomes"]] == ["suppressed"]
    assert "this window's report already went out at" in again["outcomes"][0]["reason"]
    assert len(slack_posts(httpserver)) == 1

    from prefect_alerts.report import build_daily_report

    report = build_daily_report(until - timedelta(days=1), until)
    resent = send_daily_report(report, routing, again=True)
    assert [outcome.status for outcome in resent.outcomes] == ["delivered"]
    assert len(slack_posts(httpserver)) == 2

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[ARTIFACT_KEY]))
        )
    assert any("2 runs, 50% succeeded; 1 crashed" in (artifact.data or "") for artifact in artifacts)


@pytest.mark.usefixtures("prefect_server")
def test_a_report_that_cannot_be_built_alerts_daily_report_failed_and_raises(httpserver: HTTPServer) -> None:
    # An unreachable API takes the same path (ReportError; test_build checks its retries); a bad timezone gets
    # there without leaving a client pointed at a dead server for the rest of the session.
    from prefect_alerts.monitoring import daily_report_flow
    from prefect_alerts.report import ReportError
    from prefect_alerts.routing import AlertRouting

    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    routing = AlertRouting.model_validate(
        {
            "routes": [{"name": "all", "destinations": [SlackChannel(url=httpserver.url_for("/hook"))]}],
            "default": [],
        }
    )
    with pytest.raises(ReportError, match="unknown timezone"):
        daily_report_flow.fn(routing=routing, timezone_name="Mars/Olympus")
    (post,) = slack_posts(httpserver)
    assert "The daily report could not be built" in slack_text(post)
    assert "daily_report_failed" in slack_text(post) and "unknown timezone" in slack_text(post)
