"""Route actions against the harness's real server: run a deployment with parameters from the alert, pause a
schedule after N failed runs in a row; once per incident and cooldown, outcomes recorded and reported."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pandas as pd
import pytest
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.states import Completed, Failed
from pytest_httpserver import HTTPServer

from prefect_alerts import Alert
from prefect_alerts.alert import Source
from prefect_alerts.channels import SlackChannel
from prefect_alerts.checks import check_data_quality
from prefect_alerts.dispatch import DispatchState, send_alert
from prefect_alerts.hooks import with_alerts
from prefect_alerts.routing import AlertRouting, RoutingError
from tests.dispatch.conftest import FakeClock

pytestmark = pytest.mark.usefixtures("prefect_server")


def _deployment(flow_name: str, name: str) -> uuid.UUID:
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name(flow_name)
        return client.create_deployment(flow_id=flow_id, name=name)


def _runs_of(deployment_id: uuid.UUID) -> list[Any]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )


def _finished_run(deployment_id: uuid.UUID, state: Any) -> None:
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(deployment_id)
        client.set_flow_run_state(run.id, state, force=True)


def _drift(run: str = "run-1", **changes: Any) -> Alert:
    values: dict[str, Any] = {
        "title": "Drift detected: churn model inputs",
        "severity": "warning",
        "event": "drift_detected",
        "fields": {"model": "churn-v3", "share": 0.5},
        "source": Source(flow_name="score", flow_run_id=run),
    }
    values.update(changes)
    return Alert(**values)


def _routing(slack: SlackChannel, actions: list[dict[str, Any]], **route: Any) -> AlertRouting:
    return AlertRouting.model_validate(
        {"routes": [{"name": "ml", "destinations": [slack], "actions": actions, **route}], "default": []}
    )


@pytest.fixture
def slack(httpserver: HTTPServer) -> SlackChannel:
    httpserver.expect_request("/ml", method="POST").respond_with_data("ok")
    return SlackChannel(url=httpserver.url_for("/ml"))


def _texts(server: HTTPServer) -> list[str]:
    return [json.loads(request.get_data(as_text=True))["text"] for request, _ in server.log]


def test_drift_starts_a_retraining_run_with_parameters_from_the_alert_once(
    slack: SlackChannel, httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    flow_name = f"retrain-{uuid.uuid4().hex[:6]}"
    deployment_id = _deployment(flow_name, "nightly")
    routing = _routing(
        slack,
        [
            {
                "run_deployment": {
                    "deployment": f"{flow_name}/nightly",
                    "parameters": {"model": "{fields.model}", "why": "{event} in {flow}"},
                }
            }
        ],
    )
    result = send_alert(_drift(), routing, state=state, clock=clock)
    action = next(o for o in result.outcomes if o.destination.startswith("action:"))
    assert action.status == "delivered", action
    assert action.reason.startswith("started run '") and f"of {flow_name}/nightly" in action.reason
    (run,) = _runs_of(deployment_id)
    assert run.parameters == {"model": "churn-v3", "why": "drift_detected in score"}
    assert "prefect-alerts" in run.tags
    texts = _texts(httpserver)
    assert len(texts) == 2  # the alert, then what was done about it
    assert "Action for" in texts[1] and "started run" in texts[1]

    # The same run's later failure, and a repeat within the cooldown, start nothing more.
    clock.advance(seconds=5)
    again = send_alert(_drift(severity="error"), routing, state=state, clock=clock)
    repeat = next(o for o in again.outcomes if o.destination.startswith("action:"))
    assert repeat.status == "suppressed" and "already run for this flow run's incident" in repeat.reason
    clock.advance(minutes=5)
    next_run = send_alert(_drift(run="run-2"), routing, state=state, clock=clock)
    cooled = next(o for o in next_run.outcomes if o.destination.startswith("action:"))
    assert cooled.status == "suppressed" and "cooldown until" in cooled.reason
    assert len(_runs_of(deployment_id)) == 1
    history = state.history.recent(dedup_key=_drift().dedup_key, limit=10)
    assert any(o["destination"].startswith("action:") for row in history for o in row.outcomes)

    # Past the route's cooldown (1 h) the same drift in a later run is a new incident: it retrains again.
    clock.advance(minutes=61)
    later = send_alert(_drift(run="run-3"), routing, state=state, clock=clock)
    rerun = next(o for o in later.outcomes if o.destination.startswith("action:"))
    assert rerun.status == "delivered", rerun
    assert len(_runs_of(deployment_id)) == 2


def test_a_missing_deployment_is_a_dead_outcome_naming_it(
    slack: SlackChannel, httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    routing = _routing(slack, [{"run_deployment": "no-such-flow/nightly"}])
    result = send_alert(_drift(), routing, state=state, clock=clock)
    action = next(o for o in result.outcomes if o.destination.startswith("action:"))
    assert action.status == "dead"
    assert "no deployment 'no-such-flow/nightly'" in action.reason
    assert result.outcomes[0].status == "delivered"  # the alert itself still went out
    assert "failed" in _texts(httpserver)[-1]


def test_a_missing_field_for_a_parameter_is_dead_with_the_fields_it_has(
    slack: SlackChannel, state: DispatchState, clock: FakeClock
) -> None:
    flow_name = f"retrain-{uuid.uuid4().hex[:6]}"
    _deployment(flow_name, "nightly")
    routing = _routing(
        slack,
        [{"run_deployment": {"deployment": f"{flow_name}/nightly", "parameters": {"m": "{fields.nope}"}}}],
    )
    action = next(
        o
        for o in send_alert(_drift(), routing, state=state, clock=clock).outcomes
        if o.destination.startswith("action:")
    )
    assert action.status == "dead" and "no field 'nope' (it has: model, share)" in action.reason


def test_pause_schedule_after_three_failed_runs_in_a_row(
    slack: SlackChannel, state: DispatchState, clock: FakeClock
) -> None:
    flow_name = f"etl-{uuid.uuid4().hex[:6]}"
    deployment_id = _deployment(flow_name, "nightly")
    routing = _routing(slack, [{"pause_schedule": {"after_failures": 3}}], cooldown="0s")

    def failure(run: str) -> Alert:
        return Alert(
            title=f"Flow {flow_name} failed",
            severity="error",
            event="flow_failed",
            source=Source(flow_name=flow_name, deployment_name="nightly", flow_run_id=run),
        )

    _finished_run(deployment_id, Completed())
    _finished_run(deployment_id, Failed())
    _finished_run(deployment_id, Failed())
    early = send_alert(failure("r2"), routing, state=state, clock=clock)
    waiting = next(o for o in early.outcomes if o.destination.startswith("action:"))
    assert waiting.status == "suppressed" and "2 of the last 3 finished runs" in waiting.reason
    _finished_run(deployment_id, Failed())
    clock.advance(seconds=10)
    result = send_alert(failure("r3"), routing, state=state, clock=clock)
    paused = next(o for o in result.outcomes if o.destination.startswith("action:"))
    assert paused.status == "delivered" and "paused the schedule" in paused.reason
    with get_client(sync_client=True) as client:
        assert client.read_deployment(deployment_id).paused is True


def test_silenced_and_resolved_alerts_run_nothing(
    slack: SlackChannel, state: DispatchState, clock: FakeClock
) -> None:
    from prefect_alerts.silences import add_silence

    routing = _routing(slack, [{"run_deployment": "anything/nightly"}])
    assert not [
        o
        for o in send_alert(_drift().resolved(), routing, state=state, clock=clock).outcomes
        if o.destination.startswith("action:")
    ]
    add_silence({"event": "drift_detected"}, "1h", "ana", "retraining by hand", state=state, now=clock())
    result = send_alert(_drift(run="run-9"), routing, state=state, clock=clock)
    action = next(o for o in result.outcomes if o.destination.startswith("action:"))
    assert action.status == "suppressed" and "silenced by s-" in action.reason


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        ([{"run_deployment": "nightly"}], "deployment is flow-name/deployment-name"),
        ([{"retrain": {}}], "unknown action 'retrain'; use one of: run_deployment, pause_schedule"),
        (
            [{"run_deployment": {"deployment": "a/b", "parameters": {"x": "{nope}"}}}],
            "unknown placeholder {nope}",
        ),
        ([{"pause_schedule": {"after_failures": 0}}], "after_failures"),
    ],
)
def test_bad_actions_fail_at_load_naming_the_route(actions: list[Any], message: str) -> None:
    with pytest.raises(RoutingError, match=r"routes\[0\]\.actions") as raised:
        AlertRouting.model_validate({"routes": [{"destinations": ["console"], "actions": actions}]})
    assert message in str(raised.value)


def _section_text(server: HTTPServer, index: int) -> str:
    """The message body of one Slack post (its first attachment section)."""
    request, _ = server.log[index]
    return json.loads(request.get_data(as_text=True))["attachments"][0]["blocks"][0]["text"]["text"]


def test_the_incident_follow_up_names_the_action_its_check_started(
    slack: SlackChannel, httpserver: HTTPServer, dispatch_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_ALERTS_DATABASE_URL", dispatch_url)
    flow_name = f"backfill-{uuid.uuid4().hex[:6]}"
    deployment_id = _deployment(flow_name, "nightly")
    # The failed check starts a backfill; the task's and the flow's failures go to the same channel.
    routing = AlertRouting.model_validate(
        {
            "routes": [
                {
                    "name": "backfill",
                    "match": {"event": "data_quality_failed"},
                    "destinations": [slack],
                    "actions": [{"run_deployment": f"{flow_name}/nightly"}],
                },
                {"name": "runs", "destinations": [slack]},
            ],
            "default": [],
        }
    )

    @with_alerts(routing=routing)
    @task(name="check_prices")
    def check_prices(frame: pd.DataFrame) -> None:
        check_data_quality(frame, not_null=["price"], check_name="prices", routing=routing, fail_on="error")

    @with_alerts(routing=routing)
    @flow(name="price-scrape")
    def price_scrape(prices: list[float | None]) -> None:
        check_prices(pd.DataFrame({"price": prices}))

    assert price_scrape([1.0, None, 3.0], return_state=True).is_failed()
    (run,) = _runs_of(deployment_id)  # one backfill for the run's incident
    texts = _texts(httpserver)
    assert len(texts) == 3, texts  # the check, the action's report, the flow's follow-up
    assert "Data quality check failed: prices" in texts[0]
    assert "Action for" in texts[1]
    assert texts[2].startswith("🔴 [ERROR] Flow 'price-scrape' failed: CheckFailedError (after: ")
    lead, action = _section_text(httpserver, 2).splitlines()[:2]
    assert lead.startswith("Follow-up in the same flow run")
    assert action == f"Action: started run '{run.name}' of {flow_name}/nightly"


def test_a_failed_action_is_named_in_the_follow_up_too(
    slack: SlackChannel, httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    routing = _routing(slack, [{"run_deployment": "no-such-flow/nightly"}], match={"flow": "score"})
    send_alert(_drift(), routing, state=state, clock=clock)
    clock.advance(seconds=5)
    flow_failure = _drift(title="Flow 'score' failed: DriftError", event="flow_failed", severity="error")
    result = send_alert(flow_failure, routing, state=state, clock=clock)
    assert result.outcomes[0].status == "folded"
    assert "already run for this flow run's incident" in result.outcomes[1].reason  # not retried
    lines = _section_text(httpserver, -1).splitlines()
    assert lines[1] == (
        "Action run_deployment:no-such-flow/nightly failed: no deployment 'no-such-flow/nightly' on the "
        "Prefect server; deploy it or fix the name (flow-name/deployment-name) in the route's actions"
    )
