"""``prefect-alerts deploy`` against the real test server: the aggregator deployment and its watchdog."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts.cli import main
from prefect_alerts.monitoring.deploy import DeployError, cron_every, deploy_monitoring
from prefect_alerts.monitoring.watchdog import WATCHDOG_AUTOMATION

POOL = "monitoring-tests"


@pytest.mark.parametrize(
    ("every", "cron"),
    [
        (timedelta(minutes=1), "* * * * *"),
        (timedelta(minutes=5), "*/5 * * * *"),
        (timedelta(minutes=30), "*/30 * * * *"),
        (timedelta(hours=1), "0 * * * *"),
        (timedelta(hours=6), "0 */6 * * *"),
        (timedelta(days=1), "0 0 * * *"),
    ],
)
def test_every_becomes_a_cron_that_runs_evenly(every: timedelta, cron: str) -> None:
    assert cron_every(every) == cron


@pytest.mark.parametrize("every", [timedelta(minutes=7), timedelta(seconds=90), timedelta(hours=5)])
def test_an_every_cron_cannot_express_is_refused_with_the_choices(every: timedelta) -> None:
    with pytest.raises(DeployError, match=r"1m, 2m, 5m, 10m, 15m, 30m"):
        cron_every(every)


@pytest.fixture
def work_pool() -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
    return POOL


@pytest.fixture
def routing_file(httpserver: HTTPServer, tmp_path: Path) -> Path:
    from prefect_slack import SlackWebhook

    httpserver.expect_request("/services/T0/B0/deploy", method="POST").respond_with_data("ok")
    SlackWebhook(url=httpserver.url_for("/services/T0/B0/deploy")).save("deploy-tests", overwrite=True)
    path = tmp_path / "alerts.yaml"
    path.write_text("fallback: slack:deploy-tests\ndefault: [console]\n")
    return path


@pytest.mark.usefixtures("prefect_server", "watchdog_cleanup")
def test_deploy_applies_the_aggregator_and_its_watchdog_and_is_idempotent(
    routing_file: Path, work_pool: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect.client.orchestration import get_client

    assert main(["deploy", "--routing", str(routing_file), "--work-pool", work_pool]) == 0
    out = capsys.readouterr().out
    assert "deployment prefect-alerts-aggregator/prefect-alerts-aggregator" in out
    assert "deployment prefect-alerts-sla-monitor/prefect-alerts-sla-monitor" in out
    assert "cron '*/5 * * * *' on work pool 'monitoring-tests'" in out
    assert "created automation 'prefect-alerts: aggregator heartbeat missing'" in out
    assert "posts to slack:deploy-tests when no prefect-alerts.aggregator.heartbeat arrived for 15m" in out
    assert "reads " + str(routing_file) + " on the worker's machine" in out

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("prefect-alerts-aggregator/prefect-alerts-aggregator")
        assert deployment.entrypoint == "prefect_alerts.monitoring.aggregator.aggregator_flow"
        assert deployment.work_pool_name == work_pool
        assert deployment.parameters == {"routing": str(routing_file)}
        (schedule,) = deployment.schedules
        assert (schedule.schedule.cron, schedule.schedule.timezone) == ("*/5 * * * *", "UTC")
        sla = client.read_deployment_by_name("prefect-alerts-sla-monitor/prefect-alerts-sla-monitor")
        assert sla.entrypoint == "prefect_alerts.monitoring.sla_monitor.sla_monitor_flow"
        assert sla.parameters == {"routing": str(routing_file)}
        report = client.read_deployment_by_name("prefect-alerts-daily-report/prefect-alerts-daily-report")
        assert report.entrypoint == "prefect_alerts.monitoring.daily_report.daily_report_flow"
        assert report.parameters == {"routing": str(routing_file), "timezone_name": "UTC"}
        (report_schedule,) = report.schedules
        assert (report_schedule.schedule.cron, report_schedule.schedule.timezone) == ("0 8 * * *", "UTC")

    # Again, with a new schedule: the same deployment and automation, updated in place.
    again_args = ["deploy", "--routing", str(routing_file), "--work-pool", work_pool, "--every", "10m"]
    assert main([*again_args, "--timezone", "Europe/Berlin", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["deployments"][0]["deployment_id"] == str(deployment.id)
    assert again["watchdog"]["action"] == "updated"
    with get_client(sync_client=True) as client:
        (schedule,) = client.read_deployment(deployment.id).schedules
        assert (schedule.schedule.cron, schedule.schedule.timezone) == ("*/10 * * * *", "Europe/Berlin")
        (report_schedule,) = client.read_deployment(report.id).schedules
        assert (report_schedule.schedule.cron, report_schedule.schedule.timezone) == (
            "0 8 * * *",
            "Europe/Berlin",
        )
        assert client.read_deployment(report.id).parameters["timezone_name"] == "Europe/Berlin"
        (automation,) = client.read_automations_by_name(WATCHDOG_AUTOMATION)
        assert automation.trigger.within == timedelta(minutes=30)


@pytest.mark.usefixtures("prefect_server", "watchdog_cleanup")
def test_bad_settings_fail_before_anything_is_applied_naming_the_fix(
    routing_file: Path, work_pool: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect.client.orchestration import get_client

    assert main(["deploy", "--routing", str(routing_file), "--work-pool", "no-such-pool"]) == 2
    assert "prefect work-pool create no-such-pool --type process" in capsys.readouterr().err
    assert (
        main(["deploy", "--routing", str(routing_file), "--work-pool", work_pool, "--timezone", "Mars/Base"])
        == 2
    )
    assert "not an IANA time zone name" in capsys.readouterr().err
    assert main(["deploy", "--routing", str(routing_file), "--every", "7m"]) == 2
    assert "every N minutes where N divides 60" in capsys.readouterr().err
    assert main(["deploy", "--routing", str(routing_file), "--watchdog", "console"]) == 2
    err = capsys.readouterr().err
    assert "cannot post to console" in err and "--watchdog slack:ops-alerts" in err
    with get_client(sync_client=True) as client:
        assert client.read_automations_by_name(WATCHDOG_AUTOMATION) == []


@pytest.mark.usefixtures("prefect_server", "watchdog_cleanup")
def test_without_a_work_pool_only_the_watchdog_is_set_up_and_serving_is_explained(routing_file: Path) -> None:
    result = deploy_monitoring(str(routing_file))
    assert result.deployments == []
    assert result.watchdog is not None and result.watchdog.action == "created"
    assert any("python flows/aggregator.py" in note for note in result.notes)


def test_deploy_needs_a_server() -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings(updates={PREFECT_API_URL: None}),
        pytest.raises(DeployError, match="PREFECT_API_URL"),
    ):
        deploy_monitoring(work_pool=POOL)


@pytest.mark.usefixtures("prefect_server")
def test_a_process_worker_with_the_package_installed_runs_the_deployed_aggregator(
    work_pool: str, tmp_path: Path
) -> None:
    # The module-path entrypoint needs no code storage: a worker anywhere with prefect-alerts installed runs it.
    import os
    import subprocess
    import sys

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    routing = tmp_path / "quiet.yaml"
    routing.write_text("default: []\nsweeper: {enabled: false}\n")  # nothing of other tests' runs is swept
    result = deploy_monitoring(str(routing), work_pool=work_pool, watchdog=False)
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(result.deployments[0].deployment_id)
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_HOME": str(tmp_path / "worker-home"),
        "PREFECT_ALERTS_DATABASE_URL": f"sqlite:///{tmp_path}/worker.db",
    }
    worker = subprocess.run(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", work_pool, "--run-once"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert worker.returncode == 0, worker.stderr[-2000:]
    with get_client(sync_client=True) as client:
        final = client.read_flow_run(run.id)
    assert final.state is not None and final.state.is_completed(), (final.state, worker.stderr[-2000:])
