"""The routing file's ``slas:`` list: the issue's shapes load, Python and the file agree, mistakes name the fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from prefect_alerts.routing import AlertRouting, RoutingError
from prefect_alerts.sla import FrequencySla, LatenessSla, MaxFailuresSla, SuccessRateSla, TimeToCompletionSla

FILE = """
default: [console]
slas:
  - {type: lateness, flow: "etl-*", within: 10m, severity: error}
  - {type: time_to_completion, deployment: "*/nightly", duration: 1h}
  - {type: frequency, deployment: "reports/daily", stale_after: 1d}
  - {type: max_failures, flow: "etl-*", max_failures: 2, window: 1d}
  - {type: success_rate, flow: "*", min_success_rate: 0.95, window: 7d}
"""


def test_every_sla_type_loads_from_the_file_as_in_python(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(FILE)
    routing = AlertRouting.from_file(path)
    assert routing.slas == [
        LatenessSla(flow="etl-*", within="10m", severity="error"),
        TimeToCompletionSla(deployment="*/nightly", duration="1h"),
        FrequencySla(deployment="reports/daily", stale_after="1d"),
        MaxFailuresSla(flow="etl-*", max_failures=2, window="1d"),
        SuccessRateSla(flow="*", min_success_rate=0.95, window="7d"),
    ]
    assert routing.slas[4].min_runs == 3 and routing.slas[3].window == timedelta(days=1)
    assert [rule.title for rule in routing.slas] == [
        "lateness 10m on flow etl-*",
        "time to completion 1h on deployment */nightly",
        "freshness 1d on deployment reports/daily",
        "failures at most 2 per 1d on flow etl-*",
        "success rate at least 95% over 7d on flow *",
    ]


def test_rules_cover_flows_and_deployments_by_glob() -> None:
    nightly = TimeToCompletionSla(deployment="*/nightly", duration="1h")
    assert nightly.per_deployment
    assert nightly.covers("etl", "nightly") and not nightly.covers("etl", "hourly")
    assert not nightly.covers("etl")  # a run with no deployment is outside a deployment rule
    etl = LatenessSla(flow=["etl-*", "load"], within="5m")
    assert not etl.per_deployment
    assert etl.covers("etl-orders") and etl.covers("load", "x") and not etl.covers("report")
    assert (
        etl.key == LatenessSla(flow=["etl-*", "load"], within="5m", severity="critical").key
    )  # severity aside
    assert etl.key != LatenessSla(flow=["etl-*", "load"], within="6m").key


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"type": "latenes", "flow": "x", "within": "5m"},
            "slas[0]: type 'latenes' is not an SLA type; write one of",
        ),
        ({"flow": "x", "within": "5m"}, "slas[0]: 'type' is required"),
        ({"type": "lateness", "within": "5m"}, "names the flows or deployments it covers: add flow: 'etl-*'"),
        (
            {"type": "lateness", "flow": "x", "withn": "5m"},
            "unknown key 'withn' in slas[0] (did you mean 'within'?)",
        ),
        ({"type": "lateness", "flow": "x", "within": "0s"}, "slas[0].within: must be longer than 0s"),
        ({"type": "frequency", "flow": "x", "stale_after": "soon"}, "slas[0].stale_after"),
        ({"type": "max_failures", "flow": "x", "max_failures": -1}, "slas[0].max_failures: -1 is too small"),
        (
            {"type": "success_rate", "flow": "x", "min_success_rate": 95},
            "slas[0].min_success_rate: a share between 0 and 1: write 0.95 for 95%",
        ),
        ({"type": "lateness", "flow": "x", "within": "5m", "severity": "urgent"}, "slas[0].severity"),
    ],
)
def test_a_bad_rule_fails_at_load_naming_the_field_and_the_fix(rule: dict, message: str) -> None:
    with pytest.raises(RoutingError) as caught:
        AlertRouting.model_validate({"slas": [rule]})
    assert message in str(caught.value)


def test_config_check_lists_the_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from prefect_alerts.cli import main

    path = tmp_path / "alerts.yaml"
    path.write_text(FILE)
    assert main(["config", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "slas (judged by the SLA monitor" in out
    assert "  - lateness 10m on flow etl-* (error)" in out
