"""The SLA monitor against a real Prefect server: stuck, late and stale runs, failures and success rates, each
announced once to a real HTTP receiver and resolved when back within the limit.

Each test scopes its rules to flows named for it alone (the session's server holds every other test's runs) and
injects ``now``: the server's own Late marking and hours of running cannot be waited for.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts.channels import SlackChannel
from prefect_alerts.dispatch import DispatchState
from prefect_alerts.monitoring import sla_monitor_flow
from prefect_alerts.monitoring.sla_monitor import TAGS_SUBJECT, check_slas
from prefect_alerts.routing import AlertRouting
from tests.hooks.helpers import field_texts, slack_posts, slack_text

pytestmark = pytest.mark.usefixtures("prefect_server")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def routing_with(slack: SlackChannel, *slas: dict[str, Any]) -> AlertRouting:
    return AlertRouting.model_validate(
        {
            "defaults": {"cooldown": "0s"},
            "routes": [{"name": "all", "destinations": [slack]}],
            "default": [],
            "slas": list(slas),
        }
    )


def new_run(flow_name: str, state: Any, deployment_id: Any = None) -> Any:
    from prefect import flow
    from prefect.client.orchestration import get_client

    @flow(name=flow_name)
    def placeholder() -> None:
        pass

    with get_client(sync_client=True) as client:
        if deployment_id is not None:
            run = client.create_flow_run_from_deployment(deployment_id, state=state)
        else:
            run = client.create_flow_run(placeholder, state=state)
        return client.read_flow_run(run.id)


def set_state(run_id: Any, state: Any) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run_id, state, force=True)
        return client.read_flow_run(run_id)


def texts(httpserver: HTTPServer) -> list[str]:
    return [slack_text(post) for post in slack_posts(httpserver)]


def test_a_stuck_run_is_announced_once_and_resolved_when_it_finishes(
    httpserver: HTTPServer, slack: SlackChannel, state: DispatchState
) -> None:
    from prefect.states import Completed, Pending, Running

    flow_name = unique("sla-stuck")
    run = set_state(new_run(flow_name, Pending()).id, Running())
    routing = routing_with(slack, {"type": "time_to_completion", "flow": flow_name, "duration": "1h"})
    later = run.start_time + timedelta(hours=2, minutes=5)

    first = check_slas(routing, later, state=state)
    (violation,) = first.violations
    assert (violation.status, violation.observed) == ("opened", "running for 2h 05m")
    assert [outcome.status for outcome in violation.outcomes] == ["delivered"]
    (text,) = texts(httpserver)
    assert f"SLA missed: {flow_name}: running for 2h 05m" in text
    assert f"Run '{run.name}' has been running for 2h 05m (limit 1h)" in text
    assert field_texts(slack_posts(httpserver)[0])["sla"] == f"time to completion 1h on flow {flow_name}"

    # The same window again, or a minute later: nothing is announced twice.
    assert [v.status for v in check_slas(routing, later, state=state).violations] == ["open"]
    assert [v.status for v in check_slas(routing, later + timedelta(minutes=1), state=state).violations] == [
        "open"
    ]
    assert len(texts(httpserver)) == 1

    set_state(run.id, Completed())
    healed = check_slas(routing, later + timedelta(minutes=6), state=state)
    assert healed.violations == []
    assert [(r.status, r.subject) for r in healed.resolved] == [("resolved", f"run:{run.id}")]
    resolved_text = texts(httpserver)[1]
    assert "SLA met again" in resolved_text and "back within the SLA" in resolved_text
    assert check_slas(routing, later + timedelta(minutes=7), state=state).resolved == []  # resolved once


def test_a_run_that_has_not_started_after_its_schedule_is_late(
    httpserver: HTTPServer, slack: SlackChannel, state: DispatchState
) -> None:
    from prefect.states import AwaitingRetry, Running, Scheduled

    flow_name = unique("sla-late")
    planned = datetime.now(timezone.utc) - timedelta(minutes=30)
    late = new_run(flow_name, Scheduled(scheduled_time=planned))
    new_run(flow_name, AwaitingRetry(scheduled_time=planned))  # a retry waiting its delay is not a late start
    routing = routing_with(
        slack, {"type": "lateness", "flow": flow_name, "within": "10m", "severity": "warning"}
    )
    now = planned + timedelta(minutes=30)

    result = check_slas(routing, now, state=state)
    assert [(v.subject, v.observed) for v in result.violations] == [(f"run:{late.id}", "30m late")]
    (text,) = texts(httpserver)
    assert "WARNING" in text and f"Run '{late.name}' was scheduled for {planned:%Y-%m-%d %H:%M} UTC" in text
    assert "is a worker polling its work pool" in text

    set_state(late.id, Running())
    assert [r.subject for r in check_slas(routing, now + timedelta(minutes=5), state=state).resolved] == [
        f"run:{late.id}"
    ]


def test_a_deployment_with_no_recent_completed_run_is_stale(
    httpserver: HTTPServer, slack: SlackChannel, state: DispatchState
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Completed, Pending

    flow_name = unique("sla-fresh")
    with get_client(sync_client=True) as client:
        deployment_id = client.create_deployment(
            flow_id=client.create_flow_from_name(flow_name), name="daily"
        )
    done = set_state(new_run(flow_name, Pending(), deployment_id).id, Completed())
    routing = routing_with(
        slack, {"type": "frequency", "deployment": f"{flow_name}/daily", "stale_after": "1d"}
    )

    assert check_slas(routing, done.end_time + timedelta(hours=23), state=state).violations == []
    stale = check_slas(routing, done.end_time + timedelta(days=2), state=state)
    (violation,) = stale.violations
    assert violation.subject == f"deployment:{flow_name}/daily"
    assert violation.observed == "last Completed run 2d ago"
    assert f"The last Completed run of {flow_name}/daily ended" in texts(httpserver)[0]

    # A flow with no Completed run at all is stale once it is older than the limit.
    never = unique("sla-never")
    new_run(never, Pending())
    routing = routing_with(slack, {"type": "frequency", "flow": never, "stale_after": "1d"})
    (fresh_flow,) = check_slas(
        routing, datetime.now(timezone.utc) + timedelta(days=2), state=state
    ).violations
    assert fresh_flow.observed.startswith("no Completed run in 2d")


def test_too_many_failures_and_a_low_success_rate(
    httpserver: HTTPServer, slack: SlackChannel, state: DispatchState
) -> None:
    from prefect.states import Completed, Crashed, Failed, Pending

    flow_name = unique("sla-rate")
    for final in (Failed(), Crashed(), Failed(), Completed()):
        set_state(new_run(flow_name, Pending()).id, final)
    now = datetime.now(timezone.utc) + timedelta(minutes=1)
    routing = routing_with(
        slack,
        {"type": "max_failures", "flow": flow_name, "max_failures": 2, "window": "1d"},
        {"type": "success_rate", "flow": flow_name, "min_success_rate": 0.95, "window": "7d"},
        {"type": "max_failures", "flow": flow_name, "max_failures": 3, "name": "three allowed"},
        {"type": "success_rate", "flow": flow_name, "min_success_rate": 0.2, "window": "7d", "min_runs": 5},
    )
    result = check_slas(routing, now, state=state)
    assert sorted(v.observed for v in result.violations) == ["25% success (1 of 4)", "3 failed runs in 1d"]
    assert len(texts(httpserver)) == 2
    # A day and more later the failures are outside the windows: both resolve.
    later = check_slas(routing, now + timedelta(days=8), state=state)
    assert later.violations == [] and len(later.resolved) == 2


def test_an_unreachable_api_is_retried_then_reported_without_resolving_anything(
    httpserver: HTTPServer, slack: SlackChannel, state: DispatchState
) -> None:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.states import Pending, Running

    flow_name = unique("sla-down")
    run = set_state(new_run(flow_name, Pending()).id, Running())
    routing = routing_with(slack, {"type": "time_to_completion", "flow": flow_name, "duration": "1h"})
    later = run.start_time + timedelta(hours=2)
    assert check_slas(routing, later, state=state).violations[0].status == "opened"

    waits: list[float] = []
    with SyncPrefectClient("http://127.0.0.1:9/api") as dead:  # nothing listens on the discard port
        down = check_slas(routing, later + timedelta(minutes=5), state=state, client=dead, sleep=waits.append)
    assert waits == [1.0, 2.0, 4.0] * 2  # the rule's reads, then the deployments' tags
    ((rule, error), (tags, tags_error)) = down.errors.items()
    assert rule.startswith("time to completion 1h") and "ConnectError" in error
    assert tags == TAGS_SUBJECT and "ConnectError" in tags_error
    assert down.resolved == [], "a rule that was not judged resolves nothing"
    assert len(texts(httpserver)) == 1
    assert "2 rules not judged" in str(down)


def test_the_flow_runs_with_a_routing_file_and_says_what_it_found(
    httpserver: HTTPServer, tmp_path: Any
) -> None:
    from prefect.states import Pending, Running
    from prefect_slack import SlackWebhook

    httpserver.expect_request("/services/T0/B0/sla", method="POST").respond_with_data("ok")
    SlackWebhook(url=httpserver.url_for("/services/T0/B0/sla")).save("sla-tests", overwrite=True)
    flow_name = unique("sla-flow")
    run = set_state(new_run(flow_name, Pending()).id, Running())
    path = tmp_path / "alerts.yaml"
    path.write_text(
        "default: [slack:sla-tests]\n"
        f"slas:\n  - {{type: time_to_completion, flow: {json.dumps(flow_name)}, duration: 30m, severity: critical}}\n"
    )
    result = sla_monitor_flow(routing=str(path), now=run.start_time + timedelta(hours=1))
    assert [v.status for v in result.violations] == ["opened"]
    assert "1 SLA rule judged" in str(result) and "1 violation (1 new)" in str(result)
    (post,) = slack_posts(httpserver)
    assert "CRITICAL" in slack_text(post) and "running for 1h" in slack_text(post)


def test_no_rules_says_how_to_add_them(state: DispatchState) -> None:
    result = check_slas(AlertRouting(), datetime.now(timezone.utc), state=state)
    assert result.rules == 0 and "add an slas: list to the routing file" in str(result)
    assert "or an sla: tag to a deployment, e.g. sla:lateness=10m" in str(result)


def test_the_flow_alerts_and_fails_when_the_api_keeps_it_from_judging(
    httpserver: HTTPServer, slack: SlackChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The flow itself needs the server, so only the SLA reads lose it: as when the API times out under load.
    import httpx

    from prefect_alerts.monitoring import sla_checks
    from prefect_alerts.monitoring.sla_monitor import SlaMonitorError

    def unavailable(self: object, read: object) -> None:
        raise httpx.ConnectError("All connection attempts failed")

    monkeypatch.setattr(sla_checks.SlaApi, "call", unavailable)
    routing = routing_with(slack, {"type": "lateness", "flow": unique("sla-outage"), "within": "10m"})
    state = sla_monitor_flow(routing=routing, return_state=True)
    assert state.is_failed()
    with pytest.raises(SlaMonitorError, match="SLA rules not judged: lateness 10m on flow"):
        state.result()
    (text,) = texts(httpserver)
    assert "SLA monitor could not judge 2 rules" in text  # the rule, and the deployments' sla: tags
    assert "ConnectError: All connection attempts failed" in text
    assert "neither announced nor resolved" in text


def test_sla_tags_on_a_deployment_are_rules_and_a_bad_tag_is_named(
    httpserver: HTTPServer, slack: SlackChannel, state: DispatchState
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Completed, Pending, Running

    flow_name = unique("sla-tagged")
    tags = ["team-data", "sla:time_to_completion=1h@warning", "sla:lateness=soon"]
    with get_client(sync_client=True) as client:
        deployment_id = client.create_deployment(
            flow_id=client.create_flow_from_name(flow_name), name="nightly", tags=tags
        )
    try:
        run = set_state(new_run(flow_name, Pending(), deployment_id).id, Running())
        routing = routing_with(slack)  # no slas: in the routing file: the tags alone
        later = run.start_time + timedelta(hours=2)

        result = check_slas(routing, later, state=state)
        (violation,) = result.violations
        assert (violation.status, violation.rule) == (
            "opened",
            f"time to completion 1h on deployment {flow_name}/nightly",
        )
        assert "WARNING" in texts(httpserver)[0] and f"SLA missed: {flow_name}" in texts(httpserver)[0]
        ((where, why),) = result.errors.items()
        assert where == f"deployment {flow_name}/nightly: sla:lateness=soon"
        assert "write it as sla:lateness=10m" in why

        set_state(run.id, Completed())
        healed = check_slas(routing, later + timedelta(minutes=5), state=state)
        assert [outcome.status for outcome in healed.resolved] == ["resolved"]
    finally:
        with get_client(sync_client=True) as client:  # later tests on this server must not judge its tags
            client.delete_deployment(deployment_id)
