"""``prefect-alerts history`` and ``prefect_alerts.history``: what the pipeline did, filtered, one alert per two
lines, hostile titles kept to one line."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from prefect_alerts import Alert, send_alert
from prefect_alerts.alert import Source
from prefect_alerts.cli import main
from prefect_alerts.dispatch import DispatchState
from prefect_alerts.history import recent_alerts, render_history
from prefect_alerts.store import get_engine
from tests.store_fixtures import store_url as store_url  # the fixture, for pytest


@pytest.fixture
def state(store_url: str, monkeypatch: pytest.MonkeyPatch) -> DispatchState:
    monkeypatch.setenv("PREFECT_ALERTS_DATABASE_URL", store_url)
    state = DispatchState(get_engine(store_url))
    alerts = [
        Alert(
            title="Load failed", severity="error", event="flow_failed", source=Source(flow_name="etl-orders")
        ),
        Alert(
            title="Load failed", severity="error", event="flow_failed", source=Source(flow_name="etl-orders")
        ),
        Alert(
            title="Drift in price",
            severity="warning",
            event="drift_detected",
            source=Source(flow_name="score"),
        ),
        Alert(
            title="Bad\nrow\x1b[31m <!channel>",
            severity="critical",
            event="task_failed",
            source=Source(flow_name="etl_refunds", flow_run_id="0f9c1234-aaaa"),
        ),
    ]
    for alert in alerts:
        send_alert(alert, destinations=["console"], state=state)
    return state


def test_filters_by_flow_event_severity_and_outcome(state: DispatchState) -> None:
    everything = recent_alerts(state=state)
    assert everything[0].title.startswith("Bad")  # newest first
    assert len(everything) == 4
    assert {entry.flow_name for entry in recent_alerts(flow="etl*", state=state)} == {
        "etl-orders",
        "etl_refunds",
    }
    assert [entry.event for entry in recent_alerts(event="drift_*", state=state)] == ["drift_detected"]
    assert {entry.severity for entry in recent_alerts(severity=">=error", state=state)} == {
        "error",
        "critical",
    }
    (suppressed,) = recent_alerts(status="suppressed", state=state)  # the repeat within the cooldown
    assert suppressed.title == "Load failed" and "cooldown until" in suppressed.outcomes[0]["reason"]
    assert recent_alerts(since=timedelta(seconds=0), state=state) == []
    assert len(recent_alerts(limit=2, state=state)) == 2
    # "_" in a glob is a literal underscore, not SQL's any-character.
    assert [entry.flow_name for entry in recent_alerts(flow="etl_*", state=state)] == ["etl_refunds"]


def test_bad_filters_are_refused_naming_the_choices(state: DispatchState) -> None:
    with pytest.raises(ValueError, match="use one of delivered, queued, suppressed, folded, dead"):
        recent_alerts(status="sent", state=state)
    with pytest.raises(ValueError, match="is not a severity"):
        recent_alerts(severity="urgent", state=state)


def test_each_alert_renders_as_two_readable_lines(state: DispatchState) -> None:
    text = render_history(recent_alerts(state=state))
    lines = text.splitlines()
    assert len(lines) == 8
    assert "CRITICAL" in lines[0] and "task_failed" in lines[0] and "Bad row [31m <!channel>" in lines[0]
    assert "\x1b" not in text
    assert lines[1].strip() == "flow etl_refunds · run 0f9c1234 · console: delivered"
    assert "console: suppressed (cooldown until" in text
    assert render_history([]) == "no alerts match"


def test_the_cli_prints_filters_and_json(state: DispatchState, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--flow", "etl-*", "--severity", ">=error", "--since", "1h"]) == 0
    out = capsys.readouterr().out
    assert "Load failed" in out and "Drift" not in out
    assert main(["history", "--status", "suppressed", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["title"] == "Load failed" and entry["outcomes"][0]["status"] == "suppressed"
    assert main(["history", "--status", "sent"]) == 2
    assert "use one of delivered" in capsys.readouterr().err
    assert main(["history", "--since", "soon"]) == 2
    assert "not a duration" in capsys.readouterr().err
