"""docs/configuration.md's worked example is a valid config that routes as the text says."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from prefect_alerts import Alert
from prefect_alerts.routing import AlertRouting
from tests.routing.conftest import write

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_worked_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_TEAM_DESTINATION", "email:data-team")
    example = re.search(r"```yaml\n# alerts.yaml\n(.*?)```", DOC.read_text(), re.S)
    assert example is not None
    write(tmp_path / "teams", "ml.yaml", "routes:\n  - destinations: [slack:ml]\n")
    routing = AlertRouting.from_file(write(tmp_path, "alerts.yaml", example.group(1)))
    page = Alert(
        title="x",
        severity="error",
        event="flow_failed",
        tags=["prod"],
        source={"flow_name": "etl-daily", "deployment_name": "nightly"},
    )
    targets = routing.targets(page)
    assert [(t.key, t.route) for t in targets] == [("pagerduty:oncall", "pages"), ("slack:oncall", "pages")]
    assert {(t.cooldown, t.repeat_interval) for t in targets} == {(timedelta(minutes=30), timedelta(hours=4))}
    assert targets[0].mentions == ["<!here>"]
    assert [t.key for t in routing.targets(Alert(title="x", event="drift_detected"))] == ["email:data-team"]
    assert [t.key for t in routing.targets(Alert(title="x"))] == ["slack:ops-alerts"]
    assert [t.route for t in routing.targets(Alert(title="x", tags=["team-ml"]))] == ["ml/routes[0]"]
    finance = Alert(title="x", source={"flow_name": "billing-daily"})
    assert [t.route for t in routing.targets(finance)] == ["finance/default"]
