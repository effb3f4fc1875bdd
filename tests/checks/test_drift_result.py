"""The dataset verdict, severity, alert, artifact and fail_on of detect_drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from prefect import flow

from prefect_alerts.alert import Severity
from prefect_alerts.checks.base import CheckFailedError, SeverityLevels
from prefect_alerts.checks.drift import ColumnDrift, DriftResult, detect_drift, drift_verdict
from tests.checks.helpers import RecordingChannel

RNG = np.random.default_rng(5)


def shifted_frames(columns: int, drifted: int, rows: int = 2000) -> tuple[pd.DataFrame, pd.DataFrame]:
    names = [f"x{i}" for i in range(columns)]
    reference = pd.DataFrame(RNG.normal(size=(rows, columns)), columns=names)
    shift = np.r_[np.ones(drifted), np.zeros(columns - drifted)]
    current = pd.DataFrame(RNG.normal(size=(rows, columns)) + shift, columns=names)
    return reference, current


def finding(status: str) -> ColumnDrift:
    return ColumnDrift(column=status, column_type="numerical", status=status, reason="r")  # type: ignore[arg-type]


# ---- verdict ----------------------------------------------------------------------------------------------
def test_a_drifted_share_of_exactly_half_is_dataset_drift() -> None:
    result = detect_drift.fn(*shifted_frames(4, 2), alert=False)
    assert result.drifted_share == 0.5 and result.dataset_drift and not result.passed
    assert result.status == "failed" and result.severity == Severity.ERROR
    assert result.number_of_drifted_columns == 2 and result.number_of_compared_columns == 4
    assert result.summary.startswith("Dataset drift: 2 of 4 columns drifted (50% >= 50%)")


def test_below_the_share_is_no_dataset_drift_but_the_drifted_column_is_listed() -> None:
    # The dataset rule alone (strong_drift_factor=None: a 1-sigma shift is far past its threshold, see
    # test_drift_column_severity.py for the default).
    result = detect_drift.fn(*shifted_frames(4, 1), strong_drift_factor=None, alert=False)
    assert result.drifted_share == 0.25 and not result.dataset_drift and result.passed
    assert result.status == "passed" and result.severity == Severity.SUCCESS
    assert result.drifted_columns == ["x0"] and "x0" in result.summary


def test_drift_verdict_rule() -> None:
    two_of_four = [finding("drifted"), finding("drifted"), finding("ok"), finding("ok")]
    assert drift_verdict(two_of_four, 0.5)["dataset_drift"] is True
    assert drift_verdict(two_of_four, 0.51)["dataset_drift"] is False
    with_skipped = [*two_of_four, finding("skipped"), finding("skipped")]
    assert drift_verdict(with_skipped, 0.5)["drifted_share"] == 0.5  # skipped columns are not in the share
    with_error = [finding("ok"), finding("error")]
    assert drift_verdict(with_error, 0.5)["status"] == "error"
    assert drift_verdict(with_error, 0.5, column_errors="report")["passed"] is True
    nothing_compared = drift_verdict([finding("error")], 0.5, column_errors="report")
    assert nothing_compared["passed"] is False
    assert drift_verdict([finding("skipped")], 0.5)["status"] == "skipped"


@pytest.mark.parametrize(
    ("share", "drift_share", "expected"),
    [
        (0.5, 0.5, Severity.ERROR),
        (0.9, 0.5, Severity.CRITICAL),
        (1.0, 0.5, Severity.CRITICAL),
        (0.3, 0.2, Severity.WARNING),
    ],
)
def test_default_severity_by_drifted_share(share: float, drift_share: float, expected: Severity) -> None:
    drifted = round(share * 10)
    columns = [finding("drifted")] * drifted + [finding("ok")] * (10 - drifted)
    assert drift_verdict(columns, drift_share)["severity"] == expected


def test_severity_levels_are_configurable_and_errors_are_at_least_error() -> None:
    levels = SeverityLevels(warning=0.5, error=0.75, critical=1.0)
    columns = [finding("drifted")] * 6 + [finding("ok")] * 4
    assert drift_verdict(columns, 0.5, severity_levels=levels)["severity"] == Severity.WARNING
    result = detect_drift.fn(*shifted_frames(4, 4), severity_levels=levels, alert=False)
    as_dict = detect_drift.fn(
        *shifted_frames(4, 4), severity_levels={"error": 0.2, "critical": 2.0}, alert=False
    )
    assert as_dict.severity == Severity.ERROR
    assert result.severity == Severity.CRITICAL
    schema = drift_verdict([finding("ok"), finding("error")], 0.5, severity_levels=levels)
    assert schema["severity"] == Severity.ERROR


def test_per_column_methods_and_thresholds() -> None:
    reference, current = shifted_frames(3, 0)
    result = detect_drift.fn(
        reference,
        current,
        method={"x0": "psi", "x1": "ks"},
        threshold={"x0": 0.0},
        alert=False,
    )
    assert [result.columns[n].method for n in ("x0", "x1", "x2")] == ["psi", "ks", "wasserstein"]
    assert result.columns["x0"].threshold == 0.0 and result.columns["x0"].drifted  # PSI >= 0 always
    assert result.columns["x1"].threshold == 0.05 and result.columns["x2"].threshold == 0.1
    everywhere = detect_drift.fn(reference, current, threshold=10.0, alert=False)
    assert all(c.threshold == 10.0 for c in everywhere.columns.values())
    assert everywhere.thresholds["threshold"] == 10.0 and everywhere.thresholds["drift_share"] == 0.5


def test_columns_selects_and_orders_the_compared_columns() -> None:
    reference, current = shifted_frames(4, 0, rows=300)
    result = detect_drift.fn(reference, current, columns=["x3", "x1"], alert=False)
    assert list(result.columns) == ["x3", "x1"]
    assert list(detect_drift.fn(reference, current, columns="x2", alert=False).columns) == ["x2"]


# ---- alert, fail_on, artifact --------------------------------------------------------------------------
def test_a_failed_check_alerts_with_the_drift_numbers() -> None:
    channel = RecordingChannel()
    result = detect_drift.fn(*shifted_frames(4, 3), check_name="features", destinations=channel)
    assert len(channel.alerts) == 1 and result.alert_results[0].ok
    alert = channel.alerts[0]
    assert alert.event == "drift_detected" and alert.severity == Severity.ERROR
    assert alert.title == "Drift check failed: features"
    assert alert.fields["drifted_share"] == 0.75 and alert.fields["drifted_columns"] == "3 of 4"
    assert alert.fields["top_drifted"].startswith("x") and "wasserstein" in alert.fields["top_drifted"]
    assert alert.fields["reference_rows"] == 2000 and "check" in alert.tags and "drift" in alert.tags
    assert "x0: Wasserstein distance (normed)" in alert.message


def test_no_alert_when_passed_or_alert_false() -> None:
    channel = RecordingChannel()
    detect_drift.fn(*shifted_frames(4, 0), destinations=channel)
    detect_drift.fn(*shifted_frames(4, 4), destinations=channel, alert=False)
    assert channel.alerts == []


def test_schema_errors_alert_with_the_failing_columns() -> None:
    channel = RecordingChannel()
    reference, current = shifted_frames(3, 0, rows=300)
    detect_drift.fn(reference, current.drop(columns=["x2"]), destinations=channel)
    alert = channel.alerts[0]
    assert alert.severity == Severity.ERROR and alert.fields["schema_changes"] == 1
    assert "x2: error: missing in the current data" in alert.message


def test_fail_on_raises_at_the_asked_severity() -> None:
    frames = shifted_frames(4, 2)  # share 0.5: severity error
    assert not detect_drift.fn(*frames, alert=False, fail_on="critical").passed
    with pytest.raises(CheckFailedError) as raised:
        detect_drift.fn(*frames, alert=False, fail_on="error")
    assert isinstance(raised.value.result, DriftResult) and raised.value.result.dataset_drift
    with pytest.raises(CheckFailedError):
        detect_drift.fn(*frames, alert=False, fail_on=True)


def test_table_rows_have_one_row_per_column() -> None:
    result = detect_drift.fn(*shifted_frames(3, 1, rows=300), alert=False)
    rows = result.table_rows()
    assert [row["column"] for row in rows] == ["x0", "x1", "x2"]
    assert set(rows[0]) == {
        "column",
        "type",
        "method",
        "score",
        "threshold",
        "drifted",
        "status",
        "reason",
        "reference_size",
        "current_size",
    }
    assert rows[0]["drifted"] is True and rows[0]["method"] == "ks"
    assert "Drifted columns:" in result.markdown() and "`x0`" in result.markdown()


@pytest.mark.usefixtures("prefect_server")
def test_inside_a_flow_it_writes_table_and_markdown_artifacts() -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    channel = RecordingChannel()
    reference, current = shifted_frames(3, 2, rows=500)

    @flow(name="drift-flow")
    def pipeline() -> DriftResult:
        return detect_drift(
            reference, current.drop(columns=["x2"]), check_name="Orders EU", destinations=channel
        )

    result = pipeline()
    assert result.artifact_key == "drift-orders-eu"
    with get_client(sync_client=True) as client:
        table = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["drift-orders-eu"]))
        )
        summary = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["drift-orders-eu-summary"]))
        )
    assert table and table[0].type == "table"
    data = str(table[0].data)
    assert "x0" in data and "x2" in data and "missing in the current data" in data
    assert summary and summary[0].type == "markdown"
    assert "Orders EU" in str(summary[0].data) and "Schema changes" in str(summary[0].data)
    alert = channel.alerts[0]
    assert alert.source.flow_name == "drift-flow" and alert.source.task_name == "detect-drift"
