"""deployments/: prefect.yaml applied with ``prefect deploy`` against the real test server, and serve.py's
deployments, with the right entrypoints, crons and timezones read back."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NAMES = {
    "prefect-alerts-aggregator/prefect-alerts-aggregator": "flows/aggregator.py:aggregator_flow",
    "prefect-alerts-sla-monitor/prefect-alerts-sla-monitor": "flows/sla_monitor.py:sla_monitor_flow",
    "prefect-alerts-daily-report/prefect-alerts-daily-report": "flows/daily_report.py:daily_report_flow",
}
CRONS = {"prefect-alerts-daily-report": "0 8 * * *"}
"""Deployments not on the 5-minute schedule."""


def _serve_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("serve", ROOT / "deployments" / "serve.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_prefect_yaml_entrypoints_load_the_library_flows() -> None:
    from prefect.flows import load_flow_from_entrypoint

    config = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    deployments = {item["name"]: item for item in config["deployments"]}
    assert set(deployments) == {name.split("/")[1] for name in NAMES}
    for name, entrypoint in NAMES.items():
        item = deployments[name.split("/")[1]]
        assert item["entrypoint"] == entrypoint
        assert load_flow_from_entrypoint(str(ROOT / entrypoint)).name == name.split("/")[0]
        cron = CRONS.get(item["name"], "*/5 * * * *")
        assert item["schedules"] == [{"cron": cron, "timezone": "UTC", "active": True}]


@pytest.mark.usefixtures("prefect_server")
def test_prefect_deploy_applies_the_yaml_with_its_crons_and_pull_step() -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.settings import PREFECT_API_URL

    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name="monitoring", type="process"))
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "PWD": str(ROOT)}
    command = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"]
    done = subprocess.run(
        [*command, "--prefect-file", "deployments/prefect.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with get_client(sync_client=True) as client:
        for name, entrypoint in NAMES.items():
            deployment = client.read_deployment_by_name(name)
            assert deployment.entrypoint == entrypoint
            assert deployment.work_pool_name == "monitoring"
            (schedule,) = deployment.schedules
            assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == (
                CRONS.get(deployment.name, "*/5 * * * *"),
                "UTC",
                True,
            )
            assert deployment.pull_steps == [
                {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
            ]


def test_serve_builds_the_three_deployments_in_one_timezone() -> None:
    serve = _serve_module()
    deployments = serve.build_deployments("alerts.yaml", "10m", "Europe/Berlin")
    assert [deployment.name for deployment in deployments] == [
        "prefect-alerts-aggregator",
        "prefect-alerts-sla-monitor",
        "prefect-alerts-daily-report",
    ]
    *watchers, report = deployments
    for deployment in watchers:
        (schedule,) = deployment.schedules
        assert (schedule.schedule.cron, schedule.schedule.timezone) == ("*/10 * * * *", "Europe/Berlin")
        assert deployment.parameters == {"routing": "alerts.yaml"}
    (schedule,) = report.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 8 * * *", "Europe/Berlin")
    assert report.parameters == {"routing": "alerts.yaml", "timezone_name": "Europe/Berlin"}


def test_serve_refuses_an_interval_cron_cannot_express() -> None:
    from prefect_alerts.monitoring.deploy import DeployError

    with pytest.raises(DeployError, match="every N minutes where N divides 60"):
        _serve_module().build_deployments(None, "7m", None)
