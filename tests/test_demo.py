"""`prefect-alerts demo` (what `make demo` runs) keeps working, and what it shows is what the stand-ins received.

The demo runs as a user runs it: the installed console script, from an empty folder, with no PREFECT_* settings
from the test session (so it starts its own embedded server). Its report is read back per service: each
failing flow's error must be in what Slack, PagerDuty and the ticket webhook got, the timeout, the SLA breach
and the crash nobody reported must page, the recovery must resolve the incidents, the files in demo-output/
must hold the same messages, and nothing may leak a coroutine, a traceback, a crashed hook, a repr or a secret.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from prefect_alerts.demo import CHILD_ENV, demo_environment
from prefect_alerts.demo.receivers import DEMO_SECRETS

SINK_HEADING = re.compile(r"^(Slack|PagerDuty|Webhook|Email|Discord): (\d+) messages? ", re.MULTILINE)

# The demo's failures (prefect_alerts/demo/pipeline.py), as each service shows them.
EXPORT = "the CRM export s3://lake/crm/2026-11-25/customers.parquet does not exist"
FEATURES = "feature store features.internal:6379 refused the connection"


def _flat(text: str) -> str:
    # The report wraps long lines; compare words, not line breaks.
    return " ".join(text.split())


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-cwd")


@pytest.fixture(scope="module")
def demo_run(demo_folder: Path) -> subprocess.CompletedProcess[str]:
    script = shutil.which("prefect-alerts", path=os.path.dirname(sys.executable))
    assert script, "the prefect-alerts console script is not installed next to this Python"
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env["COLUMNS"] = "100"  # the console channel's panels at a fixed width, wherever the test runs
    return subprocess.run(
        [script, "demo"], capture_output=True, text=True, timeout=300, env=env, cwd=demo_folder
    )


@pytest.fixture(scope="module")
def received(demo_run: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """What each stand-in received, from the demo's report: ``{"Slack": "...", "PagerDuty": "...", ...}``."""
    assert demo_run.returncode == 0, demo_run.stdout[-3000:] + demo_run.stderr[-3000:]
    _, found, report = demo_run.stdout.partition("== What each local stand-in received ==")
    assert found, demo_run.stdout[-3000:]
    starts = list(SINK_HEADING.finditer(report))
    sections = {}
    for match, following in zip(starts, [*starts[1:], None], strict=True):
        end = following.start() if following else len(report)
        sections[match.group(1)] = _flat(report[match.start() : end])
    assert set(sections) == {"Slack", "PagerDuty", "Webhook", "Email", "Discord"}, report[:2000]
    return sections


def test_demo_succeeds_in_under_two_minutes_and_says_so(demo_run: subprocess.CompletedProcess[str]) -> None:
    assert demo_run.returncode == 0, demo_run.stdout[-3000:] + demo_run.stderr[-3000:]
    assert "Starting an embedded Prefect server" in demo_run.stdout
    assert "Every alert reached every destination it was routed to." in demo_run.stdout
    assert "did not receive" not in demo_run.stderr
    took = re.search(r"^Demo took (\d+) s\.$", demo_run.stdout, re.MULTILINE)
    assert took and int(took.group(1)) < 120, demo_run.stdout[-500:]


def test_sync_and_async_flow_failures_reach_slack_and_pagerduty(received: dict[str, str]) -> None:
    slack, pagerduty = received["Slack"], received["PagerDuty"]
    # Slack shows the mention in the error escaped, so it cannot ping anyone.
    assert f"Flow 'churn-pipeline' failed: FileNotFoundError: {EXPORT} &lt;@U123&gt;" in slack
    assert f"Flow 'churn-features' failed: ConnectionError: {FEATURES}" in slack
    assert f"Flow 'churn-pipeline' failed: FileNotFoundError: {EXPORT} <@U123>" in pagerduty
    assert f"Flow 'churn-features' failed: ConnectionError: {FEATURES}" in pagerduty
    assert "<@U123>" not in slack


def test_the_timeout_the_sla_breach_and_the_unreported_crash_page(received: dict[str, str]) -> None:
    for service in ("Slack", "PagerDuty"):
        text = received[service]
        assert "Flow 'churn-scoring' timed out after" in text
        assert "SLA missed: churn-pipeline: running for 45m" in text
        assert "Flow 'churn-pipeline' crashed: Found by the prefect-alerts sweeper" in text
    assert "trigger critical, incident" in received["PagerDuty"]  # the crash


def test_own_sync_hook_reads_the_error_on_the_async_flow_too(received: dict[str, str]) -> None:
    webhook = received["Webhook"]
    assert f"Ticket: churn-pipeline failed with FileNotFoundError {EXPORT}" in webhook
    # The sync hook on the async flow: state_error gives the exception, not a coroutine.
    assert f"Ticket: churn-features failed with ConnectionError {FEATURES}" in webhook
    assert "in ingest" in webhook and "in churn_features" in webhook


def test_the_recovery_resolves_every_incident_and_slack_alert(received: dict[str, str]) -> None:
    pagerduty = received["PagerDuty"]
    triggered = re.findall(r"trigger \w+, incident ([\w-]+) \(source (churn-[\w-]+)\)", pagerduty)
    assert len(triggered) == 5, pagerduty  # 2 failures, the timeout, the SLA breach, the crash
    for key, source in triggered:
        assert f"resolve incident {key} (source {source})" in pagerduty
    slack = received["Slack"]
    for resolved in (
        "[RESOLVED] Flow 'churn-pipeline' failed: FileNotFoundError: Recovered: flow run",
        "[RESOLVED] Flow 'churn-features' failed: ConnectionError: Recovered",
        "[RESOLVED] Flow 'churn-scoring' timed out",
        "[RESOLVED] SLA missed: churn-pipeline",
        "[RESOLVED] Flow 'churn-pipeline' crashed",
    ):
        assert resolved in slack, resolved


def test_the_pipeline_checks_and_send_alert_reach_their_routes(received: dict[str, str]) -> None:
    for check in ("Data quality check failed", "Drift check failed", "Model performance check failed"):
        assert check in received["Email"] and check in received["Slack"]
    assert "&lt;!channel&gt;" in received["Slack"]  # the garbage plan value: escaped, never a ping
    for severity in ("INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL", "RESOLVED"):
        assert f"{severity}:" in received["Discord"]


def test_demo_output_holds_the_same_messages(
    demo_folder: Path, demo_run: subprocess.CompletedProcess[str], received: dict[str, str]
) -> None:
    output = demo_folder / "demo-output"
    text = (output / "received.txt").read_text(encoding="utf-8")
    assert text.startswith("== What each local stand-in received ==")
    assert received["Slack"] in _flat(text) and received["PagerDuty"] in _flat(text)
    data = json.loads((output / "received.json").read_text(encoding="utf-8"))
    counts = {name: int(count) for name, count in SINK_HEADING.findall(text)}
    assert {service: len(data[service]) for service in data} == {
        "slack": counts["Slack"],
        "pagerduty": counts["PagerDuty"],
        "discord": counts["Discord"],
        "webhook": counts["Webhook"],
        "email": counts["Email"],
    }
    assert all(event["routing_key"] == "***" for event in data["pagerduty"])
    assert any("Drift check failed" in message["subject"] for message in data["email"])


def test_the_daily_report_reaches_email_and_slack_and_is_written_as_html(
    demo_folder: Path, demo_run: subprocess.CompletedProcess[str], received: dict[str, str]
) -> None:
    # Every churn flow the demo ran is in it; the failures, the timeout and the crash are counted.
    assert "Daily report:" in received["Email"] and "Daily report:" in received["Slack"]
    output = demo_folder / "demo-output"
    page = (output / "daily-report.html").read_text(encoding="utf-8")
    assert (
        page.startswith("<!DOCTYPE html>") and "churn-pipeline" in page and "data:image/png;base64," in page
    )
    assert (output / "daily-report.png").read_bytes().startswith(b"\x89PNG")
    summary = re.search(
        r"(\d+) runs, [\d.]+% succeeded; (\d+) failed, (\d+) crashed, (\d+) timed out", demo_run.stdout
    )
    assert summary, demo_run.stdout[-3000:]
    runs, failed, crashed, timed_out = (int(value) for value in summary.groups())
    assert runs >= 8 and failed >= 2 and crashed == 1 and timed_out == 1


def test_no_coroutine_traceback_crashed_hook_repr_or_secret_leaks(
    demo_folder: Path, demo_run: subprocess.CompletedProcess[str]
) -> None:
    everything = demo_run.stdout + demo_run.stderr
    for leak in (
        "coroutine object",
        "was never awaited",
        "Traceback (most recent call last)",
        "An error was encountered while running hook",
        "prefect-alerts: hook",
        "prefect-alerts: could not",
        "| ERROR",
    ):
        assert leak not in everything, leak
    repr_leak = re.search(r"<[\w.]+ object at 0x|<coroutine|<class '|<function |<bound method", everything)
    assert repr_leak is None, everything[max(repr_leak.start() - 200, 0) : repr_leak.end() + 200]
    texts = [path for path in (demo_folder / "demo-output").iterdir() if path.suffix != ".png"]
    written = "".join(path.read_text(encoding="utf-8") for path in texts)
    for secret in DEMO_SECRETS:
        assert secret not in everything and secret not in written, secret


def test_the_demo_keeps_prefect_api_url_and_nothing_else_of_the_users_setup(tmp_path: Path) -> None:
    user = {
        "PREFECT_API_URL": "https://prefect.example.com/api",
        "PREFECT_ALERTS_DATABASE_URL": "postgresql+psycopg://ana:pw@db/alerts",
        "PREFECT_ALERTS_CONFIG": "/etc/alerts.yaml",
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
        "PATH": "/usr/bin",
    }
    env = demo_environment(user, str(tmp_path))
    assert env["PREFECT_API_URL"] == "https://prefect.example.com/api"
    assert env["PREFECT_ALERTS_DATABASE_URL"] == f"sqlite:///{tmp_path}/prefect_alerts.db"
    assert env["PREFECT_HOME"] == str(tmp_path) and env[CHILD_ENV] == "1" and env["PATH"] == "/usr/bin"
    assert "PREFECT_ALERTS_CONFIG" not in env and "PREFECT_FLOWS_HEARTBEAT_FREQUENCY" not in env
    assert "PREFECT_API_URL" not in demo_environment({"PREFECT_API_URL": " "}, str(tmp_path))


def test_the_server_it_names_carries_no_credentials() -> None:
    from prefect_alerts.demo.run import _server_without_credentials

    shown = _server_without_credentials("https://ana:s3cret@prefect.internal:4200/api")
    assert shown == "https://prefect.internal:4200/api"
