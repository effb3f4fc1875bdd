"""check_thresholds: levels, directions, missing and NaN values, artifacts, alerts, fail_on."""

from __future__ import annotations

import math

import pytest
from prefect import flow
from pydantic import ValidationError

from prefect_alerts import Severity
from prefect_alerts.checks import CheckFailedError, ThresholdRule, at_least, at_most, check_thresholds
from tests.checks.helpers import RecordingChannel

RULES = [
    at_least("success_rate", warning=0.95, critical=0.90),
    at_most("cost_usd", warning=400, error=450, critical=500, unit=" USD"),
    at_most("gpu_memory_share", error=0.95),
]


@pytest.mark.parametrize(
    ("values", "severity", "passed"),
    [
        ({"success_rate": 0.99, "cost_usd": 100, "gpu_memory_share": 0.5}, Severity.SUCCESS, True),
        (
            {"success_rate": 0.95, "cost_usd": 400, "gpu_memory_share": 0.95},
            Severity.SUCCESS,
            True,
        ),  # on the line
        ({"success_rate": 0.94, "cost_usd": 100, "gpu_memory_share": 0.5}, Severity.WARNING, False),
        ({"success_rate": 0.99, "cost_usd": 451, "gpu_memory_share": 0.5}, Severity.ERROR, False),
        ({"success_rate": 0.89, "cost_usd": 401, "gpu_memory_share": 0.5}, Severity.CRITICAL, False),
        ({"success_rate": 0.99, "cost_usd": 100, "gpu_memory_share": 0.951}, Severity.ERROR, False),
    ],
)
def test_levels_and_directions(values: dict, severity: Severity, passed: bool) -> None:
    result = check_thresholds.fn(values, RULES, alert=False)
    assert result.severity == severity
    assert result.passed is passed
    assert result.status == ("passed" if passed else "failed")
    assert [item.metric for item in result.items] == ["success_rate", "cost_usd", "gpu_memory_share"]


def test_item_breakdown_and_summary() -> None:
    result = check_thresholds.fn(
        {"success_rate": 0.89, "cost_usd": 401, "gpu_memory_share": 0.2}, RULES, alert=False
    )
    rate, cost, gpu = result.items
    assert (rate.status, rate.level, rate.passed) == ("breached", Severity.CRITICAL, False)
    assert rate.message == "success_rate = 0.89, below the critical line of 0.9"
    assert (cost.level, cost.message) == (
        Severity.WARNING,
        "cost_usd = 401 USD, above the warning line of 400 USD",
    )
    assert gpu.status == "ok" and gpu.passed
    assert result.summary.startswith("2 of 3 thresholds crossed; worst: success_rate = 0.89")
    assert (
        result.thresholds["cost_usd"]
        == "cost_usd at most 400 USD (warning) / 450 USD (error) / 500 USD (critical)"
    )
    assert result.sample_sizes == {"rules": 3}


@pytest.mark.parametrize("bad", [math.nan, math.inf, "n/a"])
def test_non_numbers_fail_instead_of_passing(bad: object) -> None:
    result = check_thresholds.fn({"success_rate": bad}, [at_least("success_rate", warning=0.9)], alert=False)
    assert not result.passed
    assert result.items[0].status == "invalid"
    assert result.severity == Severity.ERROR


def test_missing_values_fail_unless_optional() -> None:
    rules = [at_least("success_rate", warning=0.9), at_most("cost_usd", warning=10, required=False)]
    result = check_thresholds.fn({}, rules, alert=False, missing_severity="critical")
    assert [item.status for item in result.items] == ["missing", "skipped"]
    assert result.severity == Severity.CRITICAL and not result.passed


def test_mapping_rules() -> None:
    rules = {"cost_usd": {"direction": "at_most", "warning": 400, "critical": 500}}
    assert check_thresholds.fn({"cost_usd": 600}, rules, alert=False).severity == Severity.CRITICAL
    with pytest.raises(ValueError, match="direction"):
        check_thresholds.fn({"cost_usd": 1}, {"cost_usd": {"warning": 1}}, alert=False)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"direction": "at_least", "warning": 0.9, "critical": 0.95},  # critical above warning for at_least
        {"direction": "at_most", "warning": 500, "critical": 400},
        {"direction": "at_least"},
        {"direction": "at_least", "warning": math.nan},
    ],
)
def test_badly_ordered_or_empty_rules_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValidationError):
        ThresholdRule(metric="x", **kwargs)


def test_wrong_arguments() -> None:
    with pytest.raises(TypeError, match="mapping"):
        check_thresholds.fn([0.9], RULES)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one rule"):
        check_thresholds.fn({"a": 1}, [])
    with pytest.raises(TypeError, match="ThresholdRule"):
        check_thresholds.fn({"a": 1}, [{"metric": "a"}])  # type: ignore[list-item]


def test_alert_goes_to_destinations_with_the_worst_level() -> None:
    channel = RecordingChannel()
    result = check_thresholds.fn(
        {"success_rate": 0.89, "cost_usd": 100, "gpu_memory_share": 0.1},
        RULES,
        check_name="nightly-scrape",
        destinations=channel,
    )
    assert [r.status for r in result.alert_results] == ["delivered"]
    (alert,) = channel.alerts
    assert alert.event == "threshold_breached"
    assert alert.severity == Severity.CRITICAL
    assert alert.title == "Thresholds check failed: nightly-scrape"
    assert "success_rate = 0.89, below the critical line of 0.9" in alert.message
    assert alert.fields == {"success_rate": 0.89}
    assert "thresholds" in alert.tags


def test_no_alert_when_passing_or_disabled() -> None:
    channel = RecordingChannel()
    check_thresholds.fn({"success_rate": 0.99}, [at_least("success_rate", warning=0.9)], destinations=channel)
    check_thresholds.fn(
        {"success_rate": 0.5}, [at_least("success_rate", warning=0.9)], destinations=channel, alert=False
    )
    assert channel.alerts == []


def test_fail_on_raises_with_the_result_after_alerting() -> None:
    channel = RecordingChannel()
    rules = [at_least("success_rate", warning=0.95, critical=0.9)]
    result = check_thresholds.fn({"success_rate": 0.94}, rules, destinations=channel, fail_on="error")
    assert result.severity == Severity.WARNING  # below fail_on: returned
    with pytest.raises(CheckFailedError) as info:
        check_thresholds.fn({"success_rate": 0.5}, rules, destinations=channel, fail_on="error")
    assert info.value.result.severity == Severity.CRITICAL
    assert len(channel.alerts) == 2  # the alert goes out before the pipeline stops
    with pytest.raises(CheckFailedError):
        check_thresholds.fn({"success_rate": 0.94}, rules, alert=False, fail_on=True)
    with pytest.raises(ValueError):
        check_thresholds.fn({"success_rate": 0.99}, rules, fail_on="fatal")


@pytest.mark.usefixtures("prefect_server")
def test_inside_a_flow_it_writes_table_and_markdown_artifacts() -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    channel = RecordingChannel()

    @flow(name="threshold-flow")
    def pipeline() -> object:
        return check_thresholds(
            {"success_rate": 0.5},
            [at_least("success_rate", warning=0.9)],
            check_name="Scrape EU",
            destinations=channel,
        )

    result = pipeline()
    assert result.artifact_key == "thresholds-scrape-eu"
    with get_client(sync_client=True) as client:
        table = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["thresholds-scrape-eu"]))
        )
        summary = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["thresholds-scrape-eu-summary"]))
        )
    assert table and table[0].type == "table" and "success_rate" in str(table[0].data)
    assert summary and summary[0].type == "markdown" and "Scrape EU" in str(summary[0].data)
    alert = channel.alerts[0]
    assert alert.source.flow_name == "threshold-flow" and alert.source.task_name == "check-thresholds"


def test_dedup_key_is_per_check_not_per_run() -> None:
    channel = RecordingChannel()
    rules = [at_least("success_rate", warning=0.9)]
    check_thresholds.fn({"success_rate": 0.5}, rules, check_name="a", destinations=channel)
    again = check_thresholds.fn({"success_rate": 0.45}, rules, check_name="a", destinations=channel)
    check_thresholds.fn({"success_rate": 0.4}, rules, check_name="b", destinations=channel)
    # The second run of check "a" has the same key: it is in cooldown, not a new alert.
    assert [outcome.status for outcome in again.alert_results] == ["suppressed"]
    assert again.alert_results[0].reason.startswith("cooldown until")
    keys = [alert.dedup_key for alert in channel.alerts]
    assert len(keys) == 2 and keys[0] != keys[1]
