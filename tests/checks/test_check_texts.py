"""What the checks say: counts in the right number, what a bad value was, where the nulls are, missing metrics,
and datetime dtypes across pandas' units."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from prefect_alerts import Severity
from prefect_alerts.checks.model import ModelPerformanceResult, check_model_performance
from prefect_alerts.checks.predictions import check_prediction_distribution
from prefect_alerts.checks.quality import Dtype, InSet, NotNull, check_data_quality
from prefect_alerts.checks.thresholds import at_least, at_most, check_thresholds
from prefect_alerts.text import all_of, count_of, plural
from tests.checks.helpers import RecordingChannel


def performance(current: Any, baseline: Any = None, **kwargs: Any) -> ModelPerformanceResult:
    kwargs.setdefault("alert", False)
    kwargs.setdefault("record", False)
    kwargs.setdefault("use_stored_baseline", False)
    return check_model_performance.fn(current, baseline, **kwargs)


# ---- the counting helper ----------------------------------------------------------------------------------
def test_the_counting_helper_agrees_in_number() -> None:
    assert [plural(n, "rule") for n in (0, 1, 2)] == ["0 rules", "1 rule", "2 rules"]
    assert count_of(1, 1, "rule") == "1 of 1 rule" and count_of(1, 4, "metric") == "1 of 4 metrics"
    assert all_of(1, "rule") == "the 1 rule" and all_of(7, "rule") == "all 7 rules"
    assert plural(1_234, "row") == "1,234 rows" and plural(2, "index") == "2 indices"


# ---- singular and plural in the checks' texts -------------------------------------------------------------
def test_one_failed_quality_rule_of_one_reads_in_the_singular() -> None:
    frame = pd.DataFrame({"id": [1, None, 3]})
    failed = check_data_quality.fn(frame, [NotNull("id")], alert=False)
    assert "1 of 1 rule failed" in failed.summary and "rules" not in failed.summary.split(";")[0]
    passed = check_data_quality.fn(pd.DataFrame({"id": [1, 2]}), [NotNull("id")], alert=False)
    assert "rules" not in passed.summary and "1 rules" not in passed.summary


def test_one_value_of_one_and_one_row_read_in_the_singular() -> None:
    frame = pd.DataFrame({"country": ["XX"]})
    result = check_data_quality.fn(frame, [InSet("country", ["DE"])], alert=False)
    assert "1 of 1 non-missing value " in result.rules[0].message
    assert "on 1 row" in result.summary and "1 rows" not in result.summary


def test_thresholds_count_in_the_right_number() -> None:
    one = check_thresholds.fn({"cost": 600}, [at_most("cost", warning=500)], alert=False)
    assert one.summary.startswith("1 of 1 threshold crossed")
    calm = check_thresholds.fn({"cost": 1}, [at_most("cost", warning=500)], alert=False)
    assert "all 1 values" not in calm.summary and "the 1 value" in calm.summary


def test_prediction_rules_count_in_the_right_number() -> None:
    result = check_prediction_distribution.fn(np.array([0.1, 0.2, 0.3]), alert=False)
    assert "all 1 rules" not in result.summary and "1 rules" not in result.summary


def test_model_metric_counts_read_in_the_singular() -> None:
    result = performance({"auc": 0.5}, {"auc": 0.9})
    assert "1 of 1 metric degraded" in result.summary


# ---- check_thresholds: a value that is not a number ---------------------------------------------------------
def test_a_non_numeric_threshold_value_says_what_was_given_and_that_a_number_was_expected() -> None:
    channel = RecordingChannel()
    result = check_thresholds.fn(
        {"success_rate": "high"}, [at_least("success_rate", warning=0.9)], destinations=channel
    )
    item = result.items[0]
    assert not result.passed and item.status == "invalid"
    assert "'high'" in item.message and "expected a number" in item.message
    assert "NaN" not in item.message and "NaN" not in result.summary
    assert "'high'" in channel.alerts[0].message


def test_a_real_nan_still_reads_as_nan() -> None:
    result = check_thresholds.fn({"success_rate": float("nan")}, [at_least("success_rate", warning=0.9)])
    assert "NaN" in result.items[0].message and not result.passed


# ---- null examples are row positions, not "None, None, None" --------------------------------------------
def test_null_examples_show_where_the_nulls_are() -> None:
    frame = pd.DataFrame({"id": [1, None, 3, None, None]}, index=[10, 11, 12, 13, 14])
    channel = RecordingChannel()
    result = check_data_quality.fn(frame, [NotNull("id")], destinations=channel)
    message = channel.alerts[0].message
    assert "None, None" not in message and "11, 13, 14" in message
    row = result.table_rows()[0]
    assert "None" not in row["examples"] and "11" in row["examples"]
    assert "None, None" not in result.markdown()


# ---- check_model_performance: a metric the current run lacks ---------------------------------------------
def test_a_metric_missing_from_the_current_run_fails_and_says_so() -> None:
    channel = RecordingChannel()
    result = check_model_performance.fn(
        {"auc": 0.9, "precision": 0.8},
        {"auc": 0.9, "precision": 0.8, "f1": 0.7},
        destinations=channel,
        record=False,
        use_stored_baseline=False,
    )
    assert not result.passed and result.status == "failed" and result.severity == Severity.ERROR
    assert result.metrics["f1"].status == "missing" and result.missing_metrics == ["f1"]
    assert "f1" in result.summary and "missing from this run" in result.summary
    assert "only on one side" not in result.summary
    assert len(channel.alerts) == 1


def test_a_missing_metric_can_warn_or_be_ignored() -> None:
    current, baseline = {"auc": 0.9}, {"auc": 0.9, "f1": 0.7}
    warned = performance(current, baseline, missing_metric="warn")
    assert not warned.passed and warned.severity == Severity.WARNING
    ignored = performance(current, baseline, missing_metric="ignore")
    assert ignored.passed and ignored.metrics["f1"].status == "skipped"


def test_a_new_metric_only_in_this_run_is_still_only_reported() -> None:
    result = performance({"auc": 0.9, "f1": 0.7}, {"auc": 0.9})
    assert result.passed and result.metrics["f1"].status == "skipped"


def test_the_summary_says_the_mean_relative_change_in_words() -> None:
    result = performance(
        {"auc": 0.85, "precision": 0.8, "recall": 0.9}, {"auc": 0.9, "precision": 0.8, "recall": 0.9}
    )
    assert "drift score" not in result.summary
    expected = f"mean relative change of {result.drift_score:.1%} across 3 metrics"
    assert expected in result.summary


def test_a_bad_missing_metric_option_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"missing_metric must be 'fail', 'warn' or 'ignore'"):
        performance({"auc": 0.9}, {"auc": 0.9}, missing_metric="skip")


# ---- Dtype rules and pandas' datetime units --------------------------------------------------------------
def frame_with_unit(unit: str, tz: str | None = None) -> pd.DataFrame:
    stamps = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02"])).astype(f"datetime64[{unit}]")
    if tz is not None:
        stamps = stamps.dt.tz_localize(tz)
    return pd.DataFrame({"t": stamps})


def test_a_datetime_ns_rule_passes_a_datetime_us_column() -> None:
    result = check_data_quality.fn(frame_with_unit("us"), [Dtype("t", "datetime64[ns]")], alert=False)
    assert result.passed, result.summary
    assert "us" in result.rules[0].message  # says what it saw


def test_exact_unit_asks_for_the_unit_too() -> None:
    rule = Dtype("t", "datetime64[ns]", exact_unit=True)
    result = check_data_quality.fn(frame_with_unit("us"), [rule], alert=False)
    assert not result.passed and "datetime64[us]" in result.rules[0].message


def test_the_timezone_still_counts() -> None:
    naive_rule = Dtype("t", "datetime64[ns]")
    assert not check_data_quality.fn(frame_with_unit("us", "UTC"), [naive_rule], alert=False).passed
    utc_rule = Dtype("t", "datetime64[ns, UTC]")
    assert check_data_quality.fn(frame_with_unit("us", "UTC"), [utc_rule], alert=False).passed
    berlin = Dtype("t", "datetime64[ns, Europe/Berlin]")
    assert not check_data_quality.fn(frame_with_unit("us", "UTC"), [berlin], alert=False).passed


def test_timedelta_units_compare_by_kind_too() -> None:
    frame = pd.DataFrame({"d": pd.to_timedelta([1, 2], unit="s").astype("timedelta64[us]")})
    assert check_data_quality.fn(frame, [Dtype("d", "timedelta64[ns]")], alert=False).passed
    assert not check_data_quality.fn(
        frame, [Dtype("d", "timedelta64[ns]", exact_unit=True)], alert=False
    ).passed
