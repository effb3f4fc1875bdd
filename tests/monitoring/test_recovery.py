"""The aggregator's recovery sweep on a real Prefect server with real Slack and PagerDuty receivers.

Each flow's failure pages from a plain ``on_failure`` function (no ``alert_on_completion``), so nothing but
:func:`resolve_recovered` can ever say it recovered.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.states import Completed, Running
from pytest_httpserver import HTTPServer

from prefect_alerts import Alert, Source
from prefect_alerts.channels import PagerDutyChannel, SlackChannel
from prefect_alerts.dispatch import DispatchState, firing_alerts, send_alert
from prefect_alerts.hooks import build_flow_alert, build_task_alert
from prefect_alerts.monitoring import recovery
from prefect_alerts.monitoring.recovery import FOUND_BY, RecoveryResult, resolve_recovered
from prefect_alerts.routing import AlertRouting
from tests.receivers import free_port

pytestmark = pytest.mark.usefixtures("prefect_server")

ROUTING_KEY = "Rk7" + "q" * 29  # 32 characters, as PagerDuty's integration keys are


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _name() -> str:
    # The Prefect server is shared by the session: every test's flows have names of their own.
    return f"recovery-{uuid.uuid4().hex[:8]}"


def _posts(server: HTTPServer, path: str) -> list[dict[str, Any]]:
    return [json.loads(request.get_data(as_text=True)) for request, _ in server.log if request.path == path]


def _pd_actions(server: HTTPServer) -> list[tuple[str, str]]:
    return [(event["event_action"], event["dedup_key"]) for event in _posts(server, "/pd")]


@pytest.fixture
def pagerduty(httpserver: HTTPServer) -> PagerDutyChannel:
    httpserver.expect_request("/pd", method="POST").respond_with_json(
        {"status": "success", "message": "Event processed"}, status=202
    )
    return PagerDutyChannel(routing_key=ROUTING_KEY, events_url=httpserver.url_for("/pd"))


@pytest.fixture
def slack(httpserver: HTTPServer) -> SlackChannel:
    httpserver.expect_request("/slack", method="POST").respond_with_data("ok")
    return SlackChannel(url=httpserver.url_for("/slack"))


@pytest.fixture
def routing(pagerduty: PagerDutyChannel, slack: SlackChannel) -> AlertRouting:
    return AlertRouting.model_validate({"routes": [{"name": "pages", "destinations": [pagerduty, slack]}]})


def _paging_flow(
    name: str, store: DispatchState, routing: AlertRouting | None, destinations: list[Any] | None = None
) -> Callable[..., Any]:
    """A flow whose failure pages through ``send_alert`` from a plain hook; nothing resolves it."""

    def page(flow, flow_run, state):  # type: ignore[no-untyped-def]
        send_alert(build_flow_alert(flow, flow_run, state), routing, destinations, state=store)

    @flow(name=name, on_failure=[page])
    def job(error: str = "") -> None:
        if error == "value":
            raise ValueError("bad row 12")
        if error == "key":
            raise KeyError("price")

    return job


def _keys(store: DispatchState) -> set[str]:
    return {alert.dedup_key for alert in firing_alerts(state=store)}


def test_a_completion_resolves_each_key_once_on_every_destination_it_went_to(
    state: DispatchState, routing: AlertRouting, httpserver: HTTPServer
) -> None:
    name = _name()
    job = _paging_flow(name, state, routing)
    job("value", return_state=True)
    (key,) = _keys(state)
    assert _pd_actions(httpserver) == [("trigger", key)]
    assert len(_posts(httpserver, "/slack")) == 1
    assert resolve_recovered(routing, _now(), state=state).resolved == []  # no completion yet

    completed = job(return_state=True)
    assert completed.is_completed()
    result = resolve_recovered(routing, _now(), state=state)

    assert result.errors == []
    assert result.checked_flows == 1
    (sent,) = result.resolved
    assert sorted(o.status for o in sent.outcomes) == ["delivered", "delivered"]
    pd_events = _posts(httpserver, "/pd")
    assert _pd_actions(httpserver) == [("trigger", key), ("resolve", key)]
    assert pd_events[-1]["routing_key"] == ROUTING_KEY
    slack_posts = _posts(httpserver, "/slack")
    assert len(slack_posts) == 2
    recovered = json.dumps(slack_posts[-1], ensure_ascii=False)
    assert slack_posts[-1]["blocks"][0]["text"]["text"].startswith("✅ RESOLVED: Flow ")
    assert "Recovered: flow run " in recovered
    assert f"found by {FOUND_BY}" in recovered
    assert sent.alert.dedup_key == key and sent.alert.source.flow_name == name
    assert _keys(state) == set()
    assert "1 alert resolved (2 notifications delivered)" in str(result)

    again = resolve_recovered(routing, _now(), state=state)
    assert again.resolved == [] and again.errors == []
    assert len(_posts(httpserver, "/pd")) == 2 and len(_posts(httpserver, "/slack")) == 2


def test_two_aggregators_racing_send_one_resolve(
    state: DispatchState, routing: AlertRouting, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _paging_flow(_name(), state, routing)
    job("value", return_state=True)
    job(return_state=True)
    stale = firing_alerts(state=state)  # what a second aggregator read before the first one sent
    first = resolve_recovered(routing, _now(), state=state)
    assert len(first.resolved) == 1

    monkeypatch.setattr(recovery, "firing_alerts", lambda **_: stale)
    second = resolve_recovered(routing, _now(), state=state)
    (late,) = second.resolved
    assert {o.status for o in late.outcomes} == {"suppressed"}
    assert all(o.reason and o.reason.startswith("already resolved at") for o in late.outcomes)
    assert [action for action, _ in _pd_actions(httpserver)] == ["trigger", "resolve"]
    assert len(_posts(httpserver, "/slack")) == 2


def test_a_cached_or_older_completion_resolves_nothing(
    state: DispatchState, routing: AlertRouting, httpserver: HTTPServer
) -> None:
    name = _name()
    job = _paging_flow(name, state, routing)
    job(return_state=True)  # completed before anything failed
    job("value", return_state=True)
    (key,) = _keys(state)

    older = resolve_recovered(routing, _now(), state=state)
    assert older.resolved == [] and older.checked_flows == 1 and older.errors == []

    with get_client(sync_client=True) as client:  # a cached completion: nothing ran, nothing healed
        run = client.create_flow_run(job)
        client.set_flow_run_state(run.id, Running(), force=True)
        client.set_flow_run_state(run.id, Completed(name="Cached"), force=True)
        assert client.read_flow_run(run.id).state_name == "Cached"
    cached = resolve_recovered(routing, _now(), state=state)
    assert cached.resolved == [] and cached.errors == []
    assert _keys(state) == {key}

    job(return_state=True)  # a real completion does heal it: the two above were not blind
    healed = resolve_recovered(routing, _now(), state=state)
    assert healed.resolved_keys == {key}
    assert _pd_actions(httpserver) == [("trigger", key), ("resolve", key)]


def test_a_completion_after_the_sweep_time_waits_for_the_next_sweep(
    state: DispatchState, routing: AlertRouting, httpserver: HTTPServer
) -> None:
    job = _paging_flow(_name(), state, routing)
    job("value", return_state=True)
    swept_at = _now()
    job(return_state=True)
    assert resolve_recovered(routing, swept_at, state=state).resolved == []
    assert len(resolve_recovered(routing, _now(), state=state).resolved) == 1


def test_every_open_key_of_the_flow_resolves_and_another_flow_stays_firing(
    state: DispatchState, routing: AlertRouting, httpserver: HTTPServer
) -> None:
    job = _paging_flow(_name(), state, routing)
    other = _paging_flow(_name(), state, routing)
    job("value", return_state=True)
    job("key", return_state=True)
    other("value", return_state=True)
    firing = {alert.source.flow_name: alert for alert in firing_alerts(state=state)}
    keys = _keys(state)
    other_key = firing[other.name].dedup_key
    job_keys = keys - {other_key}
    assert len(job_keys) == 2

    job(return_state=True)
    result = resolve_recovered(routing, _now(), state=state)

    assert result.errors == []
    assert result.checked_flows == 2  # both flows were asked; only one completed
    assert result.resolved_keys == job_keys
    resolves = [key for action, key in _pd_actions(httpserver) if action == "resolve"]
    assert sorted(resolves) == sorted(job_keys)  # one each, with the key each incident was opened by
    recovered = [p for p in _posts(httpserver, "/slack") if "Recovered: flow run" in json.dumps(p)]
    assert len(recovered) == 2
    assert _keys(state) == {other_key}


def test_a_task_key_resolves_with_the_incident_key_and_its_folded_flow_key_closes_silently(
    state: DispatchState, routing: AlertRouting, httpserver: HTTPServer
) -> None:
    store = state

    def page_task(task, task_run, state):  # type: ignore[no-untyped-def]
        send_alert(build_task_alert(task, task_run, state), routing, state=store)

    def page_flow(flow, flow_run, state):  # type: ignore[no-untyped-def]
        send_alert(build_flow_alert(flow, flow_run, state), routing, state=store)

    @task(on_failure=[page_task])
    def load(fail: bool) -> None:
        if fail:
            raise ConnectionError("warehouse refused")

    @flow(name=_name(), on_failure=[page_flow])
    def job(fail: bool = False) -> None:
        load(fail)

    job(True, return_state=True)
    alerts = {alert.event: alert for alert in firing_alerts(state=store)}
    assert set(alerts) == {"task_failed", "flow_failed"}  # the flow's failure folded into the task's incident
    incident_key = alerts["task_failed"].dedup_key
    assert {key for _, key in _pd_actions(httpserver)} == {incident_key}

    job(False, return_state=True)
    result = resolve_recovered(routing, _now(), state=store)

    assert result.errors == [] and result.resolved_keys == {incident_key, alerts["flow_failed"].dedup_key}
    assert [entry for entry in _pd_actions(httpserver) if entry[0] == "resolve"] == [
        ("resolve", incident_key)
    ]
    recovered = [p for p in _posts(httpserver, "/slack") if "Recovered: flow run" in json.dumps(p)]
    assert len(recovered) == 1
    folded = next(r for r in result.resolved if r.alert.event == "flow_failed")
    assert all(o.status == "suppressed" and "folded" in (o.reason or "") for o in folded.outcomes)
    assert _keys(store) == set()  # the folded key is closed too: the next failure is news again


def test_a_firing_alert_sent_to_direct_destinations_is_resolved_there(
    state: DispatchState, pagerduty: PagerDutyChannel, slack: SlackChannel, httpserver: HTTPServer
) -> None:
    # The hook paged with destinations=[...]; the aggregator's routing sends everything to the console.
    job = _paging_flow(_name(), state, None, [pagerduty, slack])
    aggregator_routing = AlertRouting(default=["console"])
    job("value", return_state=True)
    (key,) = _keys(state)
    job(return_state=True)

    result = resolve_recovered(aggregator_routing, _now(), state=state)

    assert result.errors == []
    assert _pd_actions(httpserver) == [("trigger", key), ("resolve", key)]
    assert _posts(httpserver, "/pd")[-1]["routing_key"] == ROUTING_KEY
    assert len(_posts(httpserver, "/slack")) == 2
    via_routing, direct = result.resolved
    assert [(o.destination, o.status) for o in via_routing.outcomes] == [("console", "suppressed")]
    assert sorted(o.status for o in direct.outcomes) == ["delivered", "delivered"]
    assert _keys(state) == set()
    assert resolve_recovered(aggregator_routing, _now(), state=state).resolved == []


def test_a_deployments_alert_needs_a_completion_of_that_deployment(
    state: DispatchState, routing: AlertRouting, httpserver: HTTPServer
) -> None:
    name = _name()

    @flow(name=name)
    def job() -> None:
        pass

    with get_client(sync_client=True) as client:
        deployment_id = client.create_deployment(flow_id=client.create_flow(job), name="prod")
    in_deployment = Alert(
        title="prod failed",
        event="flow_crashed",
        source=Source(flow_name=name, deployment_name="prod", deployment_id=str(deployment_id)),
    )
    local = Alert(title="local failed", event="flow_failed", source=Source(flow_name=name))
    by_name_only = Alert(  # the hook could not read the deployment's id: its name still scopes it
        title="prod slow", event="sla_violation", source=Source(flow_name=name, deployment_name="prod")
    )
    for alert in (in_deployment, local, by_name_only):
        assert send_alert(alert, routing, state=state).ok

    with get_client(sync_client=True) as client:  # a run of the deployment heals the deployment's alerts
        run = client.create_flow_run_from_deployment(deployment_id)
        client.set_flow_run_state(run.id, Running(), force=True)
        client.set_flow_run_state(run.id, Completed(), force=True)
    first = resolve_recovered(routing, _now(), state=state)
    assert first.errors == [] and first.checked_flows == 3
    assert first.resolved_keys == {in_deployment.dedup_key, by_name_only.dedup_key}

    job()  # a local run heals the local alert
    second = resolve_recovered(routing, _now(), state=state)
    assert second.errors == [] and second.checked_flows == 1
    assert second.resolved_keys == {local.dedup_key}
    resolves = {key for action, key in _pd_actions(httpserver) if action == "resolve"}
    assert resolves == {local.dedup_key, in_deployment.dedup_key, by_name_only.dedup_key}


def test_a_data_check_alert_is_not_healed_by_a_completion(
    state: DispatchState, routing: AlertRouting, httpserver: HTTPServer
) -> None:
    job = _paging_flow(_name(), state, routing)
    drift = Alert(title="Drift in amount", event="drift_detected", source=Source(flow_name=job.name))
    send_alert(drift, routing, state=state)
    job(return_state=True)
    result = resolve_recovered(routing, _now(), state=state)
    assert result.resolved == [] and result.checked_flows == 0
    assert _keys(state) == {drift.dedup_key}


def test_one_groups_failure_is_reported_and_the_others_go_on(
    state: DispatchState, routing: AlertRouting, httpserver: HTTPServer
) -> None:
    job = _paging_flow(_name(), state, routing)
    broken = Alert(
        title="odd source",
        event="flow_failed",
        source=Source(flow_name="elsewhere", deployment_id="not-a-uuid"),
    )
    send_alert(broken, routing, state=state)
    job("value", return_state=True)
    job(return_state=True)

    result = resolve_recovered(routing, _now(), state=state)

    (error,) = result.errors
    assert error.startswith("flow 'elsewhere' (deployment 'not-a-uuid'): could not read its runs: ValueError")
    assert len(result.resolved) == 1 and result.checked_flows == 1
    assert _keys(state) == {broken.dedup_key}


def test_an_unreachable_api_is_an_error_not_an_exception(state: DispatchState, routing: AlertRouting) -> None:
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    send_alert(
        Alert(title="load failed", event="flow_failed", source=Source(flow_name="somewhere")),
        routing,
        state=state,
    )
    with temporary_settings(
        {PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api", PREFECT_CLIENT_MAX_RETRIES: 0}
    ):
        result = resolve_recovered(routing, _now(), state=state)
    assert isinstance(result, RecoveryResult)
    assert result.resolved == [] and result.checked_flows == 0
    assert len(result.errors) == 1 and "flow 'somewhere'" in result.errors[0]
    assert ROUTING_KEY not in str(result)


def test_a_run_heals_its_own_alert_only_when_it_ended_badly_and_was_retried(
    state: DispatchState, routing: AlertRouting, httpserver: HTTPServer
) -> None:
    store = state

    def page_task(task, task_run, state):  # type: ignore[no-untyped-def]
        send_alert(build_task_alert(task, task_run, state), routing, state=store)

    @task(on_failure=[page_task])
    def enrich() -> None:
        raise TimeoutError("geo lookup timed out")

    @flow(name=_name())
    def job(skip: bool = False) -> None:
        if not skip:
            enrich(return_state=True)  # the flow shrugs the task's failure off and completes

    assert job(return_state=True).is_completed()
    (task_key,) = _keys(store)
    assert resolve_recovered(routing, _now(), state=store).resolved == []  # its own run: not healed
    job(True, return_state=True)  # a later run completes: healed
    assert resolve_recovered(routing, _now(), state=store).resolved_keys == {task_key}

    # A failed run retried to completion (the same run id) heals its own failure.
    failing = _paging_flow(_name(), store, routing)
    failed = failing("value", return_state=True)
    (flow_key,) = _keys(store)
    with get_client(sync_client=True) as client:
        run_id = failed.state_details.flow_run_id
        client.set_flow_run_state(run_id, Running(), force=True)
        client.set_flow_run_state(run_id, Completed(), force=True)
    retried = resolve_recovered(routing, _now(), state=store)
    assert retried.resolved_keys == {flow_key}
    assert retried.resolved[0].alert.source.flow_run_id == str(run_id)
