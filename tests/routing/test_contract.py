"""The issue's routing file, exactly as written there: parsing, targets, and every way of loading it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from prefect_alerts import Alert
from prefect_alerts.routing import AlertRouting, RouteTarget, RoutingError, resolve_routing
from tests.routing.conftest import ISSUE_YAML

DATA_TEAM = "email:data-team"


def paging_alert(**overrides: object) -> Alert:
    values: dict[str, object] = {
        "title": "Load failed",
        "severity": "error",
        "event": "flow_failed",
        "tags": ["prod", "etl"],
        "source": {"flow_name": "etl-daily", "deployment_name": "nightly"},
    }
    values.update(overrides)
    return Alert(**values)  # type: ignore[arg-type]


def by_key(routing: AlertRouting, alert: Alert) -> dict[str, RouteTarget]:
    return {target.key: target for target in routing.targets(alert)}


def test_the_issue_file_parses_as_shown(issue_file: Path) -> None:
    routing = AlertRouting.from_file(issue_file)
    assert routing.defaults.cooldown == timedelta(hours=1)
    assert routing.defaults.repeat_interval == timedelta(hours=4)
    assert routing.defaults.send_resolved is True
    assert routing.fallback == "slack:ops-alerts"
    pages, data = routing.routes
    assert pages.name == "pages"
    assert pages.match.severity == ">=error"
    assert pages.match.event == ["flow_*", "task_failed"]
    assert pages.match.tags == ["prod"]
    assert pages.match.flow == ["etl-*"]
    assert pages.match.deployment == ["*/nightly"]
    assert pages.destinations == ["pagerduty:oncall", "slack:oncall"]
    assert pages.cooldown == timedelta(minutes=30)
    assert pages.mentions == ["<!here>"]
    assert pages.continue_ is True
    assert data.name == "data"
    assert data.match.event == ["data_*", "drift_detected", "model_degraded"]
    assert data.destinations == [DATA_TEAM]  # ${DATA_TEAM_DESTINATION} substituted
    assert data.continue_ is False
    assert routing.default == ["slack:ops-alerts"]
    assert routing.teams == []


def test_the_issue_file_without_its_variable_fails_naming_it(
    issue_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATA_TEAM_DESTINATION")
    with pytest.raises(RoutingError) as raised:
        AlertRouting.from_file(issue_file)
    message = str(raised.value)
    assert "DATA_TEAM_DESTINATION" in message
    assert str(issue_file) in message  # which file
    assert "line 17" in message  # where in it
    assert "export DATA_TEAM_DESTINATION=" in message  # the fix


def test_a_paging_alert_goes_to_pagerduty_and_slack_with_the_route_settings(issue_file: Path) -> None:
    targets = by_key(AlertRouting.from_file(issue_file), paging_alert())
    # continue: true, but no later route matches flow_failed; having matched, the default is not used.
    assert list(targets) == ["pagerduty:oncall", "slack:oncall"]
    for target in targets.values():
        assert target.route == "pages"
        assert target.cooldown == timedelta(minutes=30)
        assert target.repeat_interval == timedelta(hours=4)
        assert target.send_resolved is True
        assert target.mentions == ["<!here>"]


@pytest.mark.parametrize(
    ("change", "route"),
    [
        ({}, "pages"),
        ({"severity": "warning"}, "default"),  # below >=error
        ({"severity": "critical", "event": "task_failed"}, "pages"),
        ({"event": "flow_crashed"}, "pages"),  # flow_* glob
        ({"event": "check_failed"}, "default"),
        ({"tags": ["staging"]}, "default"),
        ({"tags": []}, "default"),
        ({"source": {"flow_name": "ml-train", "deployment_name": "nightly"}}, "default"),
        ({"source": {"flow_name": "etl-daily", "deployment_name": "hourly"}}, "default"),
        ({"source": {"flow_name": "etl-daily", "deployment_name": "etl-daily/nightly"}}, "pages"),
        ({"source": {"flow_name": "etl-daily"}}, "default"),  # no deployment: */nightly cannot match
    ],
)
def test_every_key_of_a_match_must_hold(issue_file: Path, change: dict[str, object], route: str) -> None:
    routing = AlertRouting.from_file(issue_file)
    assert {target.route for target in routing.targets(paging_alert(**change))} == {route}


@pytest.mark.parametrize("event", ["data_volume_low", "drift_detected", "model_degraded"])
def test_data_alerts_go_to_the_data_team_with_the_defaults(issue_file: Path, event: str) -> None:
    [target] = AlertRouting.from_file(issue_file).targets(Alert(title="Rows dropped", event=event))
    assert (target.destination, target.route) == (DATA_TEAM, "data")
    assert target.cooldown == timedelta(hours=1) and target.repeat_interval == timedelta(hours=4)
    assert target.send_resolved is True and target.mentions == []


def test_anything_else_goes_to_the_default_route(issue_file: Path) -> None:
    [target] = AlertRouting.from_file(issue_file).targets(Alert(title="Nightly report"))
    assert (target.destination, target.route, target.key) == (
        "slack:ops-alerts",
        "default",
        "slack:ops-alerts",
    )
    assert target.cooldown == timedelta(hours=1) and target.mentions == []


def test_from_file_yml_json_dict_block_name_and_load_give_equal_objects(
    issue_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_yaml = AlertRouting.from_file(issue_file)
    data = yaml.safe_load(ISSUE_YAML.replace("${DATA_TEAM_DESTINATION}", DATA_TEAM))
    from_dict = AlertRouting.model_validate(data)
    json_file = tmp_path / "alerts.json"
    json_file.write_text(json.dumps(data))
    yml_file = tmp_path / "alerts.yml"
    yml_file.write_text(ISSUE_YAML)
    monkeypatch.setenv("PREFECT_ALERTS_CONFIG", str(yml_file))
    loaded = AlertRouting.load()
    assert (
        from_yaml
        == from_dict
        == AlertRouting.from_file(json_file)
        == AlertRouting.from_file(yml_file)
        == loaded
    )
    assert resolve_routing(str(issue_file)) == from_yaml == resolve_routing(issue_file)
    assert AlertRouting.model_validate(from_yaml.to_config()) == from_yaml  # what the block stores
    alert = paging_alert()
    assert from_yaml.targets(alert) == from_dict.targets(alert) == loaded.targets(alert)


def test_the_issue_file_described(issue_file: Path) -> None:
    text = AlertRouting.from_file(issue_file).describe()
    for expected in [
        "defaults: cooldown 1h, repeat_interval 4h, send_resolved true, budget 3s, max_attempts 10, max_age 1d",
        "fallback: slack:ops-alerts",
        "1. pages: severity >=error, event flow_*|task_failed, tags prod, flow etl-*, deployment */nightly",
        "-> pagerduty:oncall, slack:oncall",
        "cooldown 30m, repeat 4h, send_resolved true, mentions <!here>, continue",
        "2. data: event data_*|drift_detected|model_degraded",
        f"-> {DATA_TEAM}",
        "default (when no route matched): slack:ops-alerts",
    ]:
        assert expected in text, (expected, text)
