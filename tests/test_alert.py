"""The Alert model: validation, severity order, dedup keys, JSON safety."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from prefect_alerts import Alert, AlertStatus, Severity, Source
from prefect_alerts.alert import compute_dedup_key, json_safe


def test_severity_order_is_info_success_warning_error_critical() -> None:
    ordered = [Severity.INFO, Severity.SUCCESS, Severity.WARNING, Severity.ERROR, Severity.CRITICAL]
    assert sorted(reversed(ordered)) == ordered
    assert Severity.ERROR > Severity.WARNING
    assert Severity.INFO < Severity.SUCCESS  # alphabetical order would say otherwise
    assert Severity.CRITICAL >= "error"
    assert max(Severity) == Severity.CRITICAL


def test_severity_parses_case_insensitively_and_rejects_unknown() -> None:
    assert Severity("ERROR") is Severity.ERROR
    assert Alert(title="x", severity="Warning").severity is Severity.WARNING
    with pytest.raises(ValidationError, match="severity"):
        Alert(title="x", severity="fatal")


def test_defaults() -> None:
    alert = Alert(title="Backfill finished")
    assert alert.severity is Severity.INFO
    assert alert.status is AlertStatus.FIRING
    assert alert.event == "notification"
    assert alert.timestamp.tzinfo is not None and alert.timestamp.utcoffset() == timedelta(0)
    assert alert.error_type is None
    assert len(alert.dedup_key) == 32


@pytest.mark.parametrize("event", ["flow_failed", "sla_violation", "drift_detected", "x1"])
def test_event_accepts_snake_case(event: str) -> None:
    assert Alert(title="x", event=event).event == event


@pytest.mark.parametrize("event", ["Flow Failed", "flow-failed", "", "1abc", "x" * 65])
def test_event_rejects_other_shapes_with_a_clear_message(event: str) -> None:
    with pytest.raises(ValidationError, match="snake_case"):
        Alert(title="x", event=event)


def test_title_is_required() -> None:
    with pytest.raises(ValidationError, match="title"):
        Alert(title="")


def test_timestamps_are_utc() -> None:
    naive = Alert(title="x", timestamp=datetime(2026, 1, 2, 3, 4, 5))
    assert naive.timestamp == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    plus_two = timezone(timedelta(hours=2))
    aware = Alert(title="x", timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=plus_two))
    assert aware.timestamp == datetime(2026, 1, 2, 1, 4, 5, tzinfo=timezone.utc)
    assert aware.timestamp.tzinfo == timezone.utc


def test_links_validate_urls_and_accept_a_mapping() -> None:
    alert = Alert(title="x", links={"Flow run": "https://prefect.example/runs/1"})
    assert alert.links[0].label == "Flow run"
    assert alert.run_url == "https://prefect.example/runs/1"
    with pytest.raises(ValidationError, match="http"):
        Alert(title="x", links=[{"label": "bad", "url": "javascript:alert(1)"}])
    with pytest.raises(ValidationError):
        Alert(title="x", links=[{"label": "bad", "url": "https://x.example/a|<!channel>"}])


def test_tags_are_deduplicated_in_order() -> None:
    assert Alert(title="x", tags=["etl", "prod", "etl"]).tags == ["etl", "prod"]
    assert Alert(title="x", tags="solo").tags == ["solo"]


def test_dedup_key_is_stable_for_the_same_failure_of_the_same_flow() -> None:
    first = Alert(
        title="Run happy-otter failed",
        event="flow_failed",
        source=Source(
            flow_name="etl", flow_run_id="1", flow_run_name="happy-otter", deployment_name="nightly"
        ),
        error_type="ValueError",
    )
    second = Alert(
        title="Run brave-fox failed",
        event="flow_failed",
        source=Source(flow_name="etl", flow_run_id="2", flow_run_name="brave-fox", deployment_name="nightly"),
        error_type="ValueError",
        message="different message",
    )
    assert first.dedup_key == second.dedup_key


@pytest.mark.parametrize(
    "change",
    [
        {"event": "flow_crashed"},
        {"source": Source(flow_name="other", deployment_name="nightly")},
        {"source": Source(flow_name="etl", deployment_name="weekly")},
        {"source": Source(flow_name="etl", deployment_name="nightly", task_name="load")},
        {"error_type": "KeyError"},
    ],
)
def test_dedup_key_changes_with_each_identifying_part(change: dict) -> None:
    base = {
        "title": "x",
        "event": "flow_failed",
        "source": Source(flow_name="etl", deployment_name="nightly"),
        "error_type": "ValueError",
    }
    assert Alert(**base).dedup_key != Alert(**{**base, **change}).dedup_key


def test_dedup_key_of_free_standing_alerts_includes_the_title() -> None:
    assert Alert(title="Disk full").dedup_key != Alert(title="Cost over budget").dedup_key
    assert Alert(title="Disk full").dedup_key == Alert(title="Disk full", message="other").dedup_key


def test_given_dedup_key_is_kept_and_resolved_copy_keeps_it() -> None:
    alert = Alert(title="x", dedup_key="my-key", severity="error")
    resolved = alert.resolved("all clear")
    assert resolved.dedup_key == "my-key"
    assert resolved.status is AlertStatus.RESOLVED and resolved.is_resolved
    assert resolved.message == "all clear"
    assert alert.status is AlertStatus.FIRING
    with pytest.raises(ValidationError, match="255"):
        Alert(title="x", dedup_key="k" * 256)


def test_dedup_key_is_the_same_in_another_process() -> None:
    code = (
        "from prefect_alerts.alert import compute_dedup_key, Source;"
        "print(compute_dedup_key('flow_failed', Source(flow_name='etl', task_name='load'), 'ValueError'))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123"},
    )
    here = compute_dedup_key("flow_failed", Source(flow_name="etl", task_name="load"), "ValueError")
    assert other.stdout.strip() == here


def test_non_finite_fields_are_json_safe() -> None:
    alert = Alert(
        title="x",
        fields={
            "nan": float("nan"),
            "inf": float("inf"),
            "ninf": -math.inf,
            "when": datetime(2026, 1, 1, tzinfo=timezone.utc),
            "took": timedelta(seconds=90),
            "nested": {"a": [1, float("nan")]},
        },
    )
    data = alert.to_json_dict()
    text = json.dumps(data, allow_nan=False)
    assert data["fields"]["nan"] == "NaN"
    assert data["fields"]["inf"] == "Infinity"
    assert data["fields"]["ninf"] == "-Infinity"
    assert data["fields"]["took"] == 90.0
    assert data["fields"]["nested"] == {"a": [1, "NaN"]}
    assert data["severity"] == "info" and data["status"] == "firing"
    assert "NaN" in text


def test_json_safe_handles_numpy_scalars() -> None:
    np = pytest.importorskip("numpy")
    assert json_safe(np.float64("nan")) == "NaN"
    assert json_safe(np.int64(3)) == 3
    assert isinstance(json_safe(np.int64(3)), int)
    assert json_safe(np.bool_(True)) is True


def test_fields_keys_become_strings_and_text_is_coerced() -> None:
    alert = Alert(title=123, message=ValueError("boom"), fields={1: "a"})  # type: ignore[arg-type]
    assert alert.title == "123" and alert.message == "boom"
    assert alert.fields == {"1": "a"}


def test_a_stored_alert_keeps_its_durations_and_times() -> None:
    # A resolve or a redelivery reads the alert back from the outbox: "2m 05s" must not become "125.0".
    from datetime import datetime, timedelta, timezone

    from prefect_alerts.channels.text import format_value

    started = datetime(2026, 12, 6, 3, 0, tzinfo=timezone.utc)
    alert = Alert(
        title="slow",
        fields={"duration": timedelta(seconds=125), "started": started, "rate": float("nan"), "n": 3},
    )
    back = Alert.from_record(alert.to_record())
    assert back.fields["duration"] == timedelta(seconds=125)
    assert back.fields["started"] == started
    assert back.fields["n"] == 3 and back.fields["rate"] == "NaN"
    assert format_value(back.fields["duration"]) == format_value(timedelta(seconds=125))
    assert back.dedup_key == alert.dedup_key
