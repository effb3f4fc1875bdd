"""build_flow_alert / build_task_alert on real runs: every piece of context an alert carries."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.client.orchestration import get_client
from prefect.flow_engine import run_flow
from prefect.settings import PREFECT_UI_URL, temporary_settings
from prefect.states import Cancelled, Completed, Crashed, Failed

from prefect_alerts import Alert, Severity
from prefect_alerts.hooks import build_flow_alert, build_task_alert, event_for_state


def _collector(alerts: list[Alert], builder: Any = build_flow_alert):
    def hook(obj: Any, run: Any, state: Any) -> None:
        alerts.append(builder(obj, run, state))

    return hook


def test_failed_flow_alert_has_the_context_to_act(prefect_server: None) -> None:
    alerts: list[Alert] = []

    @flow(name="nightly-etl", on_failure=[_collector(alerts)], retries=1, retry_delay_seconds=0)
    def etl(day: str = "2026-12-06", db_password: str = "hunter2-secret", limit: int = 10) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    from prefect import tags

    with tags("prod", "etl"):
        etl(return_state=True)
    (alert,) = alerts
    assert alert.event == "flow_failed" and alert.severity == Severity.ERROR
    assert alert.title == "Flow 'nightly-etl' failed: ConnectionRefusedError"
    assert alert.error_type == "ConnectionRefusedError"
    assert alert.source.flow_name == "nightly-etl" and alert.source.flow_run_name
    assert alert.source.flow_run_id and alert.source.task_name is None
    assert {"prod", "etl"} <= set(alert.tags)
    fields = alert.fields
    assert fields["flow run"] == alert.source.flow_run_name
    assert fields["error"] == "ConnectionRefusedError" and fields["cause"] == "Connection failed"
    assert fields["attempt"] == "2 of 2"  # retried once, then gave up
    assert fields["duration"].total_seconds() >= 0
    assert fields["parameters"] == "day=2026-12-06, db_password=***, limit=10"
    assert len(fields) <= 10
    first_line, *rest = alert.message.splitlines()
    assert first_line == "[Errno 111] Connection refused"
    assert any(line.startswith("Suggested action: A service could not be reached") for line in rest)
    assert any("in etl" in line for line in rest)  # the traceback's last lines
    assert "hunter2" not in alert.model_dump_json()


def test_the_same_failure_keeps_its_dedup_key_across_runs(prefect_server: None) -> None:
    alerts: list[Alert] = []

    @flow(name="dedup-etl", on_failure=[_collector(alerts)])
    def etl(n: int) -> None:
        raise ValueError(f"bad row {n}")

    etl(1, return_state=True)
    etl(2, return_state=True)
    assert alerts[0].dedup_key == alerts[1].dedup_key
    assert alerts[0].source.flow_run_id != alerts[1].source.flow_run_id


def test_timeout_is_its_own_event(prefect_server: None) -> None:
    alerts: list[Alert] = []

    @flow(name="slow-etl", on_failure=[_collector(alerts)], timeout_seconds=0.3)
    def slow() -> None:
        time.sleep(2)

    slow(return_state=True)
    (alert,) = alerts
    assert alert.event == "flow_timeout" and alert.severity == Severity.ERROR
    assert alert.title.startswith("Flow 'slow-etl' timed out after ")
    assert alert.fields["cause"] == "Timed out"
    assert "Suggested action: Something took too long" in alert.message


def test_failed_task_names_and_error_log_lines(prefect_server: None) -> None:
    alerts: list[Alert] = []

    @task
    def extract(source: str) -> None:
        get_run_logger().error("source %s answered 500 three times", source)
        raise RuntimeError(f"{source} is down")

    @task
    def fine() -> int:
        return 1

    @flow(name="fan-out", on_failure=[_collector(alerts)])
    def fan_out() -> None:
        logging.getLogger("warehouse.client").error("warehouse refused the login for role etl")
        futures = [extract.submit("crm"), extract.submit("billing"), fine.submit()]
        for future in futures:
            future.wait()
        get_run_logger().error("giving up after 2 of 3 sources failed")
        raise RuntimeError("2 sources failed")

    @flow(name="other-run", on_failure=[_collector(alerts)])
    def other() -> None:
        get_run_logger().error("a line from another run")
        raise RuntimeError("other")

    fan_out(return_state=True)
    other(return_state=True)
    alert = alerts[0]
    failed = alert.fields["failed tasks"]
    assert failed.count("extract-") == 2 and "(Failed)" in failed and "fine" not in failed
    logs = alert.message.split("Last ERROR logs:\n", 1)[1]
    assert "warehouse refused the login for role etl" in logs
    assert "giving up after 2 of 3 sources failed" in logs
    assert "answered 500 three times" in logs  # the tasks' own ERROR lines belong to the run too
    assert "a line from another run" not in alert.message
    assert "Finished in state" not in alert.message  # the engine's boilerplate is left out
    assert "a line from another run" in alerts[1].message


def test_ui_link_when_prefect_ui_url_is_set(prefect_server: None) -> None:
    alerts: list[Alert] = []

    @flow(name="linked", on_failure=[_collector(alerts)])
    def linked() -> None:
        raise ValueError("x")

    with temporary_settings({PREFECT_UI_URL: "https://prefect.example.com"}):
        linked(return_state=True)
    (alert,) = alerts
    assert alert.links[0].label == "Flow run"
    assert alert.links[0].url == f"https://prefect.example.com/runs/flow-run/{alert.source.flow_run_id}"


def _deployment_run(flow_obj: Any, deployment: str, parameters: dict[str, Any]) -> Any:
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name(flow_obj.name)
        deployment_id = client.create_deployment(flow_id=flow_id, name=deployment)
        return client.create_flow_run_from_deployment(deployment_id, parameters=parameters)


def test_deployment_name_is_read_from_the_api_also_in_a_sync_hook_on_an_async_flow(
    prefect_server: None,
) -> None:
    alerts: list[Alert] = []

    @flow(name="deployed-etl", on_failure=[_collector(alerts)])
    async def deployed(n: int = 1) -> None:
        raise ValueError("bad")

    flow_run = _deployment_run(deployed, "nightly", {"n": 3})
    asyncio.run(run_flow(deployed, flow_run=flow_run, parameters={"n": 3}, return_type="state"))
    (alert,) = alerts
    assert alert.source.deployment_name == "nightly"
    assert alert.source.deployment_id == str(flow_run.deployment_id)
    assert alert.fields["deployment"] == "nightly"
    assert alert.title == "Flow 'deployed-etl' (nightly) failed: ValueError"
    assert alert.fields["parameters"] == "n=3"


def test_task_alert_after_its_last_retry(prefect_server: None) -> None:
    alerts: list[Alert] = []

    @task(name="load", retries=2, retry_delay_seconds=0, on_failure=[_collector(alerts, build_task_alert)])
    def load(table: str, api_key: str) -> None:
        raise PermissionError(13, "Permission denied", f"/data/{table}.csv")

    @flow(name="loader")
    def loader() -> None:
        load("sales", api_key="k-123456")

    loader(return_state=True)
    (alert,) = alerts
    assert alert.event == "task_failed" and alert.severity == Severity.ERROR
    assert alert.title == "Task 'load' failed after 3 attempts: PermissionError"
    assert alert.source.task_name == "load" and alert.source.flow_name == "loader"
    assert alert.source.task_run_name and alert.source.task_run_name.startswith("load-")
    assert alert.fields["task run"] == alert.source.task_run_name
    assert alert.fields["attempt"] == "3 of 3"
    assert alert.fields["cause"] == "Permission denied"
    assert alert.fields["parameters"] == "table=sales, api_key=***"


def test_events_for_each_final_state() -> None:
    assert event_for_state(Failed()) == "flow_failed"
    assert event_for_state(Failed(name="TimedOut")) == "flow_timeout"
    assert event_for_state(Crashed()) == "flow_crashed"
    assert event_for_state(Cancelled()) == "flow_cancelled"
    assert event_for_state(Completed()) == "flow_completed"
    assert event_for_state(Failed(), task=True) == "task_failed"
