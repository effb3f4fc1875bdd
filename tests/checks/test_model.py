"""check_model_performance: per-metric degradation, drift score, stored baselines, alerts and artifacts."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from prefect import flow

from prefect_alerts import Severity
from prefect_alerts.checks.base import CheckFailedError
from prefect_alerts.checks.model import ModelPerformanceResult, check_model_performance
from prefect_alerts.checks.model_metrics import HIGHER_IS_BETTER, metric_higher_is_better
from prefect_alerts.store import CheckStore, reset_engines
from prefect_alerts.store.engine import DATABASE_URL_ENV
from tests.checks.helpers import RecordingChannel


def performance(current: Any, baseline: Any = None, **kwargs: Any) -> ModelPerformanceResult:
    """The check outside a flow, alerting and recording nowhere unless asked."""
    kwargs.setdefault("alert", False)
    kwargs.setdefault("record", False)
    return check_model_performance.fn(current, baseline, **kwargs)


@pytest.fixture
def store(tmp_path: Path) -> CheckStore:
    return CheckStore(url=f"sqlite:///{tmp_path}/model.db")


# ---- the arithmetic against a straightforward reference ---------------------------------------------------
def test_changes_degradation_and_drift_score_match_the_formulas() -> None:
    rng = np.random.default_rng(7)
    names = ["accuracy", "roc_auc", "f1", "rmse", "mae", "log_loss"]
    baseline = dict(zip(names, rng.uniform(0.2, 0.9, len(names)).tolist(), strict=True))
    current = {name: value * rng.uniform(0.85, 1.15) for name, value in baseline.items()}
    result = performance(current, baseline, max_degradation=1.0)
    for name in names:
        row, c, b = result.metrics[name], current[name], baseline[name]
        sign = -1 if HIGHER_IS_BETTER[name] else 1
        assert row.absolute_change == pytest.approx(c - b, rel=1e-12)
        assert row.relative_change == pytest.approx((c - b) / abs(b), rel=1e-12)
        assert row.degradation == pytest.approx(sign * (c - b) / abs(b), rel=1e-12)
        assert row.absolute_degradation == pytest.approx(sign * (c - b), rel=1e-12)
        assert row.higher_is_better is HIGHER_IS_BETTER[name]
    reference = np.mean([abs(current[n] - baseline[n]) / baseline[n] for n in names])
    assert result.drift_score == pytest.approx(reference, rel=1e-12)


def test_a_negative_baseline_uses_its_magnitude() -> None:
    row = performance({"r2": -0.7}, {"r2": -0.5}).metrics["r2"]
    assert row.relative_change == pytest.approx(-0.4) and row.degradation == pytest.approx(0.4)
    assert row.degraded


# ---- directions --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "higher"),
    [
        *[(name, True) for name in ["accuracy", "auc", "roc_auc", "f1", "precision", "recall", "r2"]],
        *[(name, False) for name in ["rmse", "mse", "mae", "mape", "log_loss", "loss", "error", "latency"]],
        ("val_auc", True),
        ("test_rmse", False),
        ("F1-Macro", True),
        ("r2_score", True),
        ("Mean Absolute Error", False),
        ("latency_ms", False),
        ("neg_log_loss", True),
        ("neg_mean_squared_error", True),
    ],
)
def test_known_metric_directions(name: str, higher: bool) -> None:
    assert metric_higher_is_better(name) is higher


@pytest.mark.parametrize("name", ["conversion", "recall_drop", "accuracy_loss", "kappa"])
def test_unknown_metric_names_have_no_direction(name: str) -> None:
    assert metric_higher_is_better(name) is None


def test_an_unknown_direction_must_be_given() -> None:
    with pytest.raises(ValueError, match=r"unknown direction for metric\(s\) 'kappa'.*higher_is_better"):
        performance({"kappa": 0.5, "auc": 0.9}, {"kappa": 0.6, "auc": 0.9})
    result = performance({"kappa": 0.5}, {"kappa": 0.6}, higher_is_better={"kappa": True})
    assert result.metrics["kappa"].degraded
    assert performance(
        {"kappa": 0.5}, {"kappa": 0.6}, higher_is_better=False
    ).passed  # lower is better: improved


def test_higher_is_better_overrides_the_table() -> None:
    assert performance({"error": 0.5}, {"error": 1.0}).passed
    assert not performance({"error": 0.5}, {"error": 1.0}, higher_is_better={"error": True}).passed


# ---- limits and their edges -------------------------------------------------------------------------------------
def test_exactly_at_the_limit_passes_and_just_beyond_fails() -> None:
    at_limit = performance({"accuracy": 0.81}, {"accuracy": 0.9})  # 10% worse: (0.9 - 0.81) / 0.9 in floats
    assert at_limit.passed and at_limit.metrics["accuracy"].status == "ok"
    assert not performance({"accuracy": 0.8099999}, {"accuracy": 0.9}).passed
    assert performance({"rmse": 2.2}, {"rmse": 2.0}).passed
    assert not performance({"rmse": 2.2000001}, {"rmse": 2.0}).passed


def test_improvements_never_fail() -> None:
    result = performance({"auc": 0.99, "rmse": 0.1}, {"auc": 0.6, "rmse": 5.0})
    assert result.passed and all(row.degradation < 0 for row in result.metrics.values())
    assert result.drift_score == pytest.approx(np.mean([0.39 / 0.6, 4.9 / 5.0]))


def test_max_degradation_per_metric_with_the_default_for_others() -> None:
    current, baseline = {"auc": 0.85, "f1": 0.7}, {"auc": 0.9, "f1": 0.8}  # auc 5.6% worse, f1 12.5% worse
    result = performance(current, baseline, max_degradation={"auc": 0.05})
    assert result.metrics["auc"].degraded and result.metrics["auc"].max_degradation == 0.05
    assert result.metrics["f1"].degraded and result.metrics["f1"].max_degradation == 0.1
    relaxed = performance(current, baseline, max_degradation={"auc": 0.1, "f1": None})
    assert relaxed.passed and relaxed.metrics["f1"].max_degradation is None


def test_max_absolute_degradation() -> None:
    result = performance(
        {"latency": 130.0, "auc": 0.89},
        {"latency": 100.0, "auc": 0.9},
        max_degradation=None,
        max_absolute_degradation={"latency": 25.0, "auc": 0.02},
    )
    assert result.degraded_metrics == ["latency"]
    assert result.metrics["latency"].absolute_degradation == pytest.approx(30.0)
    assert performance({"auc": 0.88}, {"auc": 0.9}, max_absolute_degradation=0.02).passed  # at the limit


def test_severity_is_the_worst_degradation_as_a_multiple_of_its_limit() -> None:
    cases = {0.88: Severity.WARNING, 0.7: Severity.ERROR, 0.5: Severity.CRITICAL}  # 12%, 30%, 50% worse
    for current, expected in cases.items():
        assert performance({"accuracy": current}, {"accuracy": 1.0}).severity == expected, current
    custom = performance({"accuracy": 0.88}, {"accuracy": 1.0}, severity_levels={"critical": 1.1})
    assert custom.severity == Severity.CRITICAL


# ---- edge values --------------------------------------------------------------------------------------------
def test_baseline_zero_unchanged_or_better_is_ok() -> None:
    result = performance({"error_rate": 0.0, "auc": 0.5}, {"error_rate": 0.0, "auc": 0.0})
    assert result.passed
    assert result.metrics["error_rate"].relative_change == 0.0
    assert result.metrics["auc"].relative_change is None and result.metrics["auc"].status == "ok"
    assert result.drift_score is None  # no metric with a non-zero baseline


def test_baseline_zero_and_worse_needs_an_absolute_limit() -> None:
    result = performance({"error_rate": 0.02}, {"error_rate": 0.0})
    row = result.metrics["error_rate"]
    assert (
        row.status == "error" and "baseline is 0" in row.reason and "max_absolute_degradation" in row.reason
    )
    assert result.status == "error" and not result.passed and result.severity == Severity.ERROR
    judged = performance({"error_rate": 0.02}, {"error_rate": 0.0}, max_absolute_degradation=0.05)
    assert judged.passed and judged.metrics["error_rate"].absolute_degradation == pytest.approx(0.02)


@pytest.mark.parametrize(
    ("current", "baseline", "reason"),
    [
        ({"auc": float("nan")}, {"auc": 0.9}, "the current value is nan"),
        ({"auc": None}, {"auc": 0.9}, "the current value is nan"),
        ({"auc": float("inf")}, {"auc": 0.9}, "the current value is inf"),
        ({"auc": 0.9}, {"auc": float("nan")}, "the baseline value is nan"),
    ],
    ids=["nan-current", "none-current", "inf-current", "nan-baseline"],
)
def test_non_finite_values_are_errors_never_a_pass(
    current: dict[str, Any], baseline: dict[str, Any], reason: str
) -> None:
    channel = RecordingChannel()
    result = performance(current, baseline, destinations=channel, alert=True)
    assert result.metrics["auc"].status == "error" and reason in result.metrics["auc"].reason
    assert result.status == "error" and not result.passed and result.severity == Severity.ERROR
    assert channel.alerts and channel.alerts[0].fields["metrics_in_error"] == "auc"


def test_metrics_on_one_side_are_reported_not_fatal() -> None:
    # missing_metric="ignore": the old metric only reported (by default it fails: test_check_texts.py).
    result = performance(
        {"auc": 0.9, "new_metric": 3.0}, {"auc": 0.9, "old_metric": 1.0}, missing_metric="ignore"
    )
    assert result.passed and result.status == "passed"
    assert (
        result.metrics["new_metric"].status == "skipped"
        and result.metrics["new_metric"].reason == "not in the baseline"
    )
    assert result.metrics["old_metric"].reason == "not in the current metrics"
    assert "only on one side: new_metric, old_metric" in result.summary
    assert result.sample_sizes == {"metrics": 2, "baseline_metrics": 2, "compared": 1}


def test_a_nan_metric_missing_from_the_baseline_is_still_an_error() -> None:
    result = performance({"auc": 0.9, "new_metric": float("nan")}, {"auc": 0.9})
    assert result.metrics["new_metric"].status == "error" and result.status == "error"


def test_no_metric_in_common_is_an_error() -> None:
    result = performance({"auc": 0.9}, {"rmse": 1.0})
    assert result.status == "error" and not result.passed and "no metric in common" in result.summary


def test_a_pandas_series_of_metrics_works() -> None:
    result = performance(pd.Series({"auc": 0.8}), pd.Series({"auc": 0.9}))
    assert result.degraded_metrics == ["auc"]


# ---- bad input ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("current", "kwargs", "error", "match"),
    [
        ([0.9], {}, TypeError, "mapping of metric name"),
        ({}, {}, ValueError, "current_metrics is empty"),
        ({"auc": "high"}, {}, TypeError, r"current_metrics\['auc'\] must be a number"),
        ({"auc": True}, {}, TypeError, r"current_metrics\['auc'\] must be a number"),
        ({1: 0.9}, {}, TypeError, "metric names"),
        ({"auc": 0.9}, {"baseline": 0.9}, TypeError, "baseline_metrics must be a mapping"),
        ({"auc": 0.9}, {"max_degradation": -0.1}, ValueError, "max_degradation must be"),
        ({"auc": 0.9}, {"max_degradation": float("nan")}, ValueError, "max_degradation must be"),
        ({"auc": 0.9}, {"max_degradation": {"auc": -1}}, ValueError, "max_degradation must be"),
        ({"auc": 0.9}, {"max_absolute_degradation": "1"}, ValueError, "max_absolute_degradation must be"),
        ({"auc": 0.9}, {"severity_levels": {"warning": 3, "error": 1}}, ValueError, "must rise"),
    ],
    ids=[
        "list",
        "empty",
        "string-value",
        "bool-value",
        "int-key",
        "baseline-scalar",
        "negative-limit",
        "nan-limit",
        "negative-dict-limit",
        "string-abs-limit",
        "falling-levels",
    ],
)
def test_bad_input_is_a_clear_error(
    current: Any, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    baseline = kwargs.pop("baseline", {"auc": 0.9})
    with pytest.raises(error, match=match):
        performance(current, baseline, **kwargs)


def test_no_baseline_and_no_stored_baseline_allowed_is_an_error() -> None:
    with pytest.raises(ValueError, match="no baseline"):
        performance({"auc": 0.9}, use_stored_baseline=False)


# ---- the stored baseline --------------------------------------------------------------------------------------
def test_first_run_has_no_baseline_then_the_last_passing_run_is_the_baseline(store: CheckStore) -> None:
    def run(auc: float) -> ModelPerformanceResult:
        return performance({"auc": auc}, store=store, record=True, check_name="churn")

    first = run(0.90)
    assert first.status == "insufficient_history" and first.passed and first.baseline_source == "none"
    assert "no baseline yet" in first.summary and first.metrics["auc"].status == "skipped"
    assert first.recorded
    degraded = run(0.70)
    assert degraded.status == "failed" and degraded.metrics["auc"].baseline == 0.90
    assert degraded.baseline_source == "store" and degraded.baseline_recorded_at is not None
    # The degraded run is stored but is not the new normal: the next run is compared with 0.90 again.
    recovered = run(0.88)
    assert recovered.passed and recovered.metrics["auc"].baseline == 0.90
    assert run(0.85).metrics["auc"].baseline == 0.88
    latest = store.latest_result("model_performance", "churn")
    assert latest is not None and latest.result["metrics"] == {"auc": 0.85}


def test_a_run_with_a_nan_metric_never_becomes_the_baseline(store: CheckStore) -> None:
    performance({"auc": float("nan")}, store=store, record=True, check_name="m")
    assert store.latest_result("model_performance", "m", passed_only=True) is None
    assert store.latest_result("model_performance", "m").result["metrics"] == {"auc": "NaN"}
    assert performance({"auc": 0.9}, store=store, check_name="m").status == "insufficient_history"


def test_a_given_baseline_wins_and_the_run_is_still_recorded(store: CheckStore) -> None:
    performance({"auc": 0.5}, store=store, record=True, check_name="m")
    result = performance({"auc": 0.9}, {"auc": 0.91}, store=store, record=True, check_name="m")
    assert result.baseline_source == "argument" and result.metrics["auc"].baseline == 0.91
    assert store.latest_result("model_performance", "m").result["metrics"] == {"auc": 0.9}


def test_renamed_metrics_start_a_new_stored_baseline(store: CheckStore) -> None:
    performance({"auc": 0.9}, store=store, record=True, check_name="m")
    renamed = performance({"roc_auc": 0.9}, store=store, record=True, check_name="m")
    assert (
        renamed.status == "insufficient_history" and renamed.passed and "starts a new one" in renamed.summary
    )
    assert performance({"roc_auc": 0.5}, store=store, check_name="m").metrics["roc_auc"].baseline == 0.9


def test_record_false_writes_nothing(store: CheckStore) -> None:
    performance({"auc": 0.9}, store=store, record=False, check_name="m")
    assert store.latest_result("model_performance", "m") is None


def test_baselines_are_keyed_by_check_name(store: CheckStore) -> None:
    performance({"auc": 0.9}, store=store, record=True, check_name="a")
    assert performance({"auc": 0.5}, store=store, check_name="b").status == "insufficient_history"
    assert performance({"auc": 0.5}, store=store, check_name="a").status == "failed"


def test_the_store_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/env.db"
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    reset_engines()
    try:
        performance({"auc": 0.9}, record=True, check_name="env-model")
        assert performance({"auc": 0.5}, check_name="env-model").status == "failed"
    finally:
        monkeypatch.delenv(DATABASE_URL_ENV)
        reset_engines()
    assert CheckStore(url=url).latest_result("model_performance", "env-model") is not None


def test_an_unreadable_store_is_an_error_result(tmp_path: Path) -> None:
    result = performance({"auc": 0.9}, store=f"sqlite:///{tmp_path}/missing/dir/x.db", record=True)
    assert result.status == "error" and not result.passed and "could not be read" in result.summary
    assert not result.recorded


# ---- alerts, fail_on, artifacts ---------------------------------------------------------------------------------
def test_a_degradation_alerts_with_event_severity_and_fields() -> None:
    channel = RecordingChannel()
    result = performance(
        {"auc": 0.80, "rmse": 1.0},
        {"auc": 0.90, "rmse": 1.0},
        check_name="churn",
        destinations=channel,
        alert=True,
    )
    [sent] = channel.alerts
    assert sent.event == "model_degraded" and sent.severity == result.severity == Severity.WARNING
    assert sent.title == "Model performance check failed: churn"
    assert sent.fields["auc"] == "0.9 → 0.8 (-11.1%)"
    assert sent.fields["drift_score"] == pytest.approx(result.drift_score, abs=1e-6)
    assert "auc 0.9 → 0.8 (11.1% worse, limit 10.0%)" in sent.message


def test_a_pass_or_alert_false_sends_nothing() -> None:
    channel = RecordingChannel()
    performance({"auc": 0.9}, {"auc": 0.9}, destinations=channel, alert=True)
    performance({"auc": 0.1}, {"auc": 0.9}, destinations=channel, alert=False)
    assert channel.alerts == []


def test_fail_on_raises_with_the_result() -> None:
    with pytest.raises(CheckFailedError) as raised:
        performance({"auc": 0.1}, {"auc": 0.9}, fail_on="critical")
    assert isinstance(raised.value.result, ModelPerformanceResult)
    assert raised.value.result.degraded_metrics == ["auc"]
    assert performance({"auc": 0.88 * 0.9}, {"auc": 0.9}, fail_on="error").severity == Severity.WARNING


@pytest.mark.usefixtures("prefect_server")
def test_inside_a_flow_it_writes_artifacts_and_records_the_run(store: CheckStore) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    channel = RecordingChannel()

    @flow(name="model-flow")
    def evaluate() -> ModelPerformanceResult:
        return check_model_performance(
            {"auc": 0.7, "log_loss": 0.5},
            {"auc": 0.9, "log_loss": 0.4},
            check_name="Churn v2",
            store=store,
            destinations=channel,
        )

    result = evaluate()
    assert result.status == "failed" and result.artifact_key == "model-performance-churn-v2"
    with get_client(sync_client=True) as client:
        table = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["model-performance-churn-v2"]))
        )
        summary = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["model-performance-churn-v2-summary"]))
        )
    assert table and table[0].type == "table" and "log_loss" in str(table[0].data)
    assert summary and summary[0].type == "markdown" and "Churn v2" in str(summary[0].data)
    alert = channel.alerts[0]
    assert alert.source.task_name == "check-model-performance" and alert.severity == Severity.ERROR
    stored = store.latest_result("model_performance", "Churn v2")
    assert stored is not None and not stored.passed and stored.flow_run_id == alert.source.flow_run_id
    assert math.isclose(stored.result["drift_score"], result.drift_score)
