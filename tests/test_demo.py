"""`make demo` keeps working, and what it shows is what the stand-ins really received.

The demo runs as the Makefile runs it (its own embedded server and local sinks, no PREFECT_* settings from the
test session). Its sink report is read back per service: the exception message of each failing flow must be
in what Slack, PagerDuty and the ticket webhook got, the recovery must resolve the incident, and nothing may
leak a coroutine, a traceback, a crashed hook, a repr or a secret.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "demo" / "demo.py"
SINK_HEADING = re.compile(r"^(Slack|PagerDuty|Webhook|Email|Discord): (\d+) messages? ", re.MULTILINE)

# The demo's two failures (demo/demo.py ORDERS_FAILURE and FEATURES_FAILURE), as each service shows them.
ORDERS = "column 'amount' has 1,204 nulls in batch 2026-11-25"
FEATURES = "feature store features.internal:6379 refused the connection"


def _flat(text: str) -> str:
    # The report wraps long lines; compare words, not line breaks.
    return " ".join(text.split())


@pytest.fixture(scope="module")
def demo_run() -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env["COLUMNS"] = "100"  # the console channel's panels at a fixed width, wherever the test runs
    return subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, timeout=300, env=env, cwd=DEMO.parents[1]
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


def test_demo_succeeds_and_says_so(demo_run: subprocess.CompletedProcess[str]) -> None:
    assert demo_run.returncode == 0, demo_run.stdout[-3000:] + demo_run.stderr[-3000:]
    assert "Every alert reached every destination it was routed to." in demo_run.stdout
    assert "did not receive" not in demo_run.stderr


def test_sync_and_async_flow_failures_reach_slack_and_pagerduty(received: dict[str, str]) -> None:
    slack, pagerduty = received["Slack"], received["PagerDuty"]
    # Slack shows the mention in the error escaped, so it cannot ping anyone.
    assert f"Flow 'nightly-orders' failed: ValueError: {ORDERS} &lt;@U123&gt;" in slack
    assert f"Flow 'refresh-features' failed: ConnectionError: {FEATURES}" in slack
    assert f"Flow 'nightly-orders' failed: ValueError: {ORDERS} <@U123>" in pagerduty
    assert f"Flow 'refresh-features' failed: ConnectionError: {FEATURES}" in pagerduty
    assert "<@U123>" not in slack


def test_own_sync_hook_reads_the_error_on_the_async_flow_too(received: dict[str, str]) -> None:
    webhook = received["Webhook"]
    assert f"Ticket: nightly-orders failed with ValueError {ORDERS}" in webhook
    # The sync hook on the async flow: state_error gives the exception, not a coroutine.
    assert f"Ticket: refresh-features failed with ConnectionError {FEATURES}" in webhook
    assert "in refresh_features" in webhook and "in nightly_orders" in webhook


def test_the_recovery_resolves_the_incident_and_the_slack_alert(received: dict[str, str]) -> None:
    trigger = re.search(r"trigger error, incident (\w+) \(source nightly-orders\)", received["PagerDuty"])
    assert trigger, received["PagerDuty"]
    assert f"resolve incident {trigger.group(1)} (source nightly-orders)" in received["PagerDuty"]
    assert "[RESOLVED] Flow 'nightly-orders' failed: ValueError: Recovered: flow run" in received["Slack"]
    assert "[RESOLVED] Flow 'refresh-features'" not in received["Slack"]  # it never recovered


def test_checks_and_send_alert_reach_their_routes(received: dict[str, str]) -> None:
    for check in ("Data volume check failed", "Data quality check failed", "Drift check failed"):
        assert check in received["Email"] and check in received["Slack"]
    for severity in ("INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL", "RESOLVED"):
        assert f"{severity}:" in received["Discord"]


def test_no_coroutine_traceback_crashed_hook_repr_or_secret_leaks(
    demo_run: subprocess.CompletedProcess[str],
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
    for secret in ("demo-not-a-real-token", "demo0routing0key0not0real", "demo-secret", "demo-token"):
        assert secret not in everything, secret
