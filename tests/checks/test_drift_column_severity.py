"""detect_drift beyond the dataset rule: key columns, strong drift in one column, columns it could not compare,
and missing shares that moved. Evidently's dataset rule stays the default verdict for everything else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prefect_alerts.alert import Severity
from prefect_alerts.checks.drift import detect_drift
from tests.checks.helpers import RecordingChannel

ROWS = 2000


def frames(amount_shift: float, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four numeric columns (Wasserstein above 1000 rows); only ``amount`` moves, by ``amount_shift`` sigma."""
    rng = np.random.default_rng(seed)
    names = ["amount", "age", "score", "visits"]
    reference = pd.DataFrame(rng.normal(size=(ROWS, 4)), columns=names)
    current = pd.DataFrame(rng.normal(size=(ROWS, 4)), columns=names)
    current["amount"] += amount_shift
    return reference, current


# ---- a key column ----------------------------------------------------------------------------------------
def test_a_drifted_key_column_fails_the_check_below_the_dataset_share() -> None:
    channel = RecordingChannel()
    result = detect_drift.fn(
        *frames(0.2), key_columns=["amount"], destinations=channel, strong_drift_factor=None
    )
    amount = result.columns["amount"]
    assert amount.drifted and amount.key and 0.1 <= amount.score < 0.3
    assert not result.dataset_drift and result.drifted_share == 0.25  # Evidently's rule still says no
    assert not result.passed and result.status == "failed" and result.severity == Severity.ERROR
    assert result.flagged_columns == ["amount"] and result.key_columns == ["amount"]
    assert "key column amount drifted" in result.summary and "no dataset drift" in result.summary
    assert len(channel.alerts) == 1 and "amount" in channel.alerts[0].title + channel.alerts[0].message


def test_key_column_severity_is_configurable_and_an_undrifted_key_column_passes() -> None:
    result = detect_drift.fn(
        *frames(0.2), key_columns=["amount"], key_column_severity="critical", alert=False
    )
    assert result.severity == Severity.CRITICAL
    calm = detect_drift.fn(*frames(0.0), key_columns=["amount"], alert=False)
    assert calm.passed and not calm.columns["amount"].drifted


def test_an_unknown_key_column_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"key_columns.*'amout'.*not among the columns"):
        detect_drift.fn(*frames(0.0), key_columns=["amout"], alert=False)


# ---- strong drift in one column -------------------------------------------------------------------------
def test_a_column_far_past_its_threshold_warns_even_below_the_dataset_share() -> None:
    result = detect_drift.fn(*frames(0.8), alert=False)  # normed Wasserstein about 0.8: 8x its 0.1
    amount = result.columns["amount"]
    assert amount.drifted and amount.score >= 0.3 and amount.column_severity == Severity.WARNING
    assert not result.dataset_drift and not result.passed and result.severity == Severity.WARNING
    assert result.summary.startswith("Column drift") and "amount" in result.summary
    assert "no dataset drift" in result.summary


def test_a_column_just_past_its_threshold_is_listed_but_passes_by_the_dataset_rule() -> None:
    result = detect_drift.fn(*frames(0.2), alert=False)
    assert result.columns["amount"].drifted and result.columns["amount"].column_severity is None
    assert result.passed and result.summary.startswith("No dataset drift") and "amount" in result.summary


def test_the_strong_drift_factor_can_be_turned_off() -> None:
    assert detect_drift.fn(*frames(0.8), strong_drift_factor=None, alert=False).passed


def test_dataset_drift_still_reads_as_dataset_drift() -> None:
    reference, current = frames(0.8)
    current["age"] += 0.8
    result = detect_drift.fn(reference, current, alert=False)
    assert result.dataset_drift and result.summary.startswith("Dataset drift: 2 of 4 columns drifted")
    assert "amount" in result.summary and "age" in result.summary


# ---- columns that could not be compared -------------------------------------------------------------------
def test_an_all_nan_column_is_named_and_title_and_summary_agree() -> None:
    reference, current = frames(0.0)
    current["amount"] = np.nan
    channel = RecordingChannel()
    result = detect_drift.fn(reference, current, destinations=channel)
    assert not result.passed and result.status == "error"
    assert not result.summary.startswith("No dataset drift")
    assert "amount could not be compared" in result.summary and "no values" in result.summary
    (alert,) = channel.alerts
    assert "could not compare" in alert.title.lower() or "could not be compared" in alert.title.lower()
    assert alert.message.startswith(result.summary)


def test_an_empty_current_frame_names_its_columns() -> None:
    reference, current = frames(0.0)
    result = detect_drift.fn(reference, current.iloc[:0], alert=False)
    assert not result.passed and "could not be compared" in result.summary
    assert "amount" in result.summary


def test_reported_column_errors_pass_but_still_name_the_column() -> None:
    reference, current = frames(0.0)
    current["amount"] = np.nan
    result = detect_drift.fn(reference, current, column_errors="report", alert=False)
    assert result.passed and result.summary.startswith("No dataset drift")
    assert "amount could not be compared" in result.summary


# ---- missing share that moved ---------------------------------------------------------------------------
def test_a_missing_share_from_0_to_30_percent_is_reported_in_the_column_and_the_summary() -> None:
    reference, current = frames(0.0)
    current.loc[current.index[: int(ROWS * 0.3)], "age"] = np.nan
    result = detect_drift.fn(reference, current, alert=False)
    age = result.columns["age"]
    assert age.missing_share == pytest.approx((0.0, 0.3)) and age.missing_share_changed
    assert "missing" in (age.reason or "") and "0% → 30%" in (age.reason or "")
    assert "age: missing 0% → 30%" in result.summary
    assert not result.passed and result.severity == Severity.WARNING


def test_a_small_missing_share_change_stays_quiet() -> None:
    reference, current = frames(0.0)
    current.loc[current.index[:40], "age"] = np.nan  # 2%
    result = detect_drift.fn(reference, current, alert=False)
    assert result.passed and not result.columns["age"].missing_share_changed
    assert "missing" not in result.summary
