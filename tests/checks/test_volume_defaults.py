"""check_data_volume defaults a user can trust: an empty batch is never silently fine, a zero MAD is no page."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from prefect_alerts import Severity
from prefect_alerts.checks.volume import DEFAULT_ZERO_MAD_SEVERITY, DataVolumeResult, check_data_volume
from tests.checks.helpers import RecordingChannel


def volume(count: Any, **kwargs: Any) -> DataVolumeResult:
    kwargs.setdefault("alert", False)
    kwargs.setdefault("record", False)
    return check_data_volume.fn(count, **kwargs)


# ---- an empty batch with nothing to judge it by -----------------------------------------------------------
def test_an_empty_frame_with_no_bounds_and_no_history_warns_and_says_how_to_set_min_rows() -> None:
    channel = RecordingChannel()
    result = volume(pd.DataFrame({"id": []}), history=[], destinations=channel, alert=True)
    assert not result.passed and result.status == "failed" and result.severity == Severity.WARNING
    assert "0 rows" in result.summary and "min_rows" in result.summary
    assert "not enough history (0 of 7)" in result.summary
    assert len(channel.alerts) == 1 and "min_rows=1" in channel.alerts[0].message


def test_an_empty_frame_with_some_history_but_not_enough_still_warns() -> None:
    result = volume(0, history=[100, 120, 90])
    assert not result.passed and result.severity == Severity.WARNING
    assert "not enough history (3 of 7)" in result.summary


def test_min_rows_zero_says_an_empty_batch_is_fine() -> None:
    result = volume(0, min_rows=0, history=[])
    assert result.passed and result.status == "insufficient_history"


def test_the_empty_warning_can_be_turned_off_or_raised() -> None:
    assert volume(0, history=[], empty_without_baseline_severity=None).passed
    raised = volume(0, history=[], empty_without_baseline_severity="error")
    assert not raised.passed and raised.severity == Severity.ERROR


def test_a_history_of_empty_batches_makes_an_empty_batch_normal() -> None:
    result = volume(0, history=[0] * 10)
    assert result.passed and result.status == "passed"


def test_a_non_empty_batch_without_baseline_still_passes() -> None:
    result = volume(5, history=[])
    assert result.passed and result.status == "insufficient_history"


# ---- MAD = 0: the relative-change rule -------------------------------------------------------------------
def test_constant_history_and_a_one_percent_change_is_no_page() -> None:
    result = volume(101, history=[100] * 14)
    assert result.passed and not result.anomaly and result.severity == Severity.SUCCESS
    assert result.rule == "relative_change" and result.relative_change == pytest.approx(0.01)
    assert "inf" not in result.summary and "relative-change rule" in result.reason
    assert "+1.0%" in result.summary


@pytest.mark.parametrize(
    ("count", "severity"),
    [
        (104, None),
        (105, Severity.WARNING),
        (95, Severity.WARNING),
        (119, Severity.WARNING),
        (120, Severity.ERROR),
        (150, Severity.CRITICAL),
        (0, Severity.CRITICAL),
    ],
)
def test_zero_mad_steps_by_relative_change(count: int, severity: Severity | None) -> None:
    result = volume(count, history=[100] * 14)
    assert result.rule == "relative_change"
    if severity is None:
        assert result.passed and not result.anomaly
    else:
        assert result.anomaly and result.severity == severity, result.summary
        assert "relative-change rule" in result.reason and "MAD = 0" in result.reason
        assert "inf" not in result.summary


def test_zero_mad_defaults_are_documented_values() -> None:
    levels = DEFAULT_ZERO_MAD_SEVERITY
    assert (levels.warning, levels.error, levels.critical) == (0.05, 0.2, 0.5)


def test_zero_mad_levels_are_configurable() -> None:
    assert volume(101, history=[100] * 14, zero_mad_levels={"warning": 0.01}).anomaly
    assert not volume(110, history=[100] * 14, zero_mad_levels={"warning": 0.2}).anomaly


def test_the_robust_z_rule_names_itself_when_mad_is_not_zero() -> None:
    history = [100, 102, 98, 101, 99, 100, 103, 97]
    result = volume(160, history=history)
    assert result.rule == "robust_z" and result.anomaly and "robust z" in result.reason


def test_the_raw_robust_z_stays_infinite_for_callers_who_read_it() -> None:
    result = volume(101, history=[100] * 14)
    assert result.robust_z == math.inf and result.mad == 0


def test_a_constant_zero_history_and_some_rows_is_reported_without_inf() -> None:
    result = volume(5, history=[0] * 14)
    assert result.anomaly and result.rule == "relative_change"
    assert "inf" not in result.summary and "from 0" in result.reason
