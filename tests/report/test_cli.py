"""``prefect-alerts report`` against a real Prefect server: text, HTML and chart files, JSON, bad input."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from prefect_alerts.cli import main
from tests.seed_runs import SeedRun, create_flow, insert_runs


@pytest.mark.usefixtures("prefect_server")
def test_report_prints_the_window_and_writes_html_and_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    until = datetime(1980, 3, 1, 8, tzinfo=timezone.utc) + timedelta(days=uuid.uuid4().int % 1000)
    name = f"report-cli-{uuid.uuid4().hex[:6]}"
    flow_id = create_flow(name)
    insert_runs(
        [
            SeedRun.finished(flow_id, "Completed", until - timedelta(hours=3), 125),
            SeedRun.finished(
                flow_id, "Failed", until - timedelta(hours=2), 5, message="KeyError: 'customer_id'"
            ),
        ]
    )
    html, chart = tmp_path / "report.html", tmp_path / "chart.png"
    args = ["report", "--since", "1d", "--until", until.isoformat(), "--timezone", "Europe/Berlin"]
    assert main([*args, "--html", str(html), "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    assert "2 runs, 50% succeeded; 1 failed" in out
    assert f"{name}: 1 of 2 runs (50% succeeded)" in out
    assert "1x KeyError: 'customer_id'" in out
    # Times in the zone asked for, by its usual name (the seeded day may fall in summer time).
    assert "Europe/Berlin" not in out and (" CET" in out or " CEST" in out)
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page and name in page
    assert chart.read_bytes().startswith(b"\x89PNG")

    assert main([*args, "--json"]) == 0
    numbers = json.loads(capsys.readouterr().out)
    assert (numbers["total_runs"], numbers["failed"], numbers["success_rate"]) == (2, 1, 0.5)


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", "Mars/Olympus"], "unknown timezone 'Mars/Olympus'"),
        (["--since", "yesterday"], "yesterday"),
        (["--until", "not-a-time"], "not-a-time"),
    ],
)
def test_bad_input_is_a_usage_error_naming_it(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", *args]) == 2
    assert message in capsys.readouterr().err


def test_no_server_is_an_error_saying_how_to_point_at_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings({PREFECT_API_URL: None}):
        assert main(["report"]) == 1
    assert "PREFECT_API_URL is not set" in capsys.readouterr().err
