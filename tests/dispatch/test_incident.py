"""One incident per flow run: the first alert pages, later failures of the run follow it.

The step alone with an injected clock, and the three-step case (a failed check, then its task's failure, then
the flow's) on a real run against real Slack and PagerDuty receivers.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from prefect import flow, task
from pytest_httpserver import HTTPServer

from prefect_alerts import Alert
from prefect_alerts.alert import Source, compute_dedup_key
from prefect_alerts.channels import PagerDutyChannel, SlackChannel
from prefect_alerts.checks import check_data_quality
from prefect_alerts.dispatch import DispatchState, send_alert
from prefect_alerts.dispatch.incident import incident_follow_up
from prefect_alerts.hooks import alert_on_completion, alert_on_failure, with_alerts
from prefect_alerts.routing import AlertRouting
from prefect_alerts.store.incidents import IncidentClaim
from tests.dispatch.conftest import FakeClock

ROUTING_KEY = "R" * 32


def _posts(server: HTTPServer, path: str) -> list[dict[str, Any]]:
    return [json.loads(request.get_data(as_text=True)) for request, _ in server.log if request.path == path]


def _alert(event: str, title: str, run: str = "run-1", **changes: Any) -> Alert:
    values: dict[str, Any] = {
        "title": title,
        "severity": "error",
        "event": event,
        "source": Source(flow_name="price-scrape", flow_run_id=run),
    }
    values.update(changes)
    return Alert(**values)


@pytest.fixture
def receivers(httpserver: HTTPServer) -> tuple[SlackChannel, PagerDutyChannel]:
    httpserver.expect_request("/slack", method="POST").respond_with_data("ok")
    httpserver.expect_request("/pd", method="POST").respond_with_json(
        {"status": "success", "message": "Event processed"}, status=202
    )
    slack = SlackChannel(url=httpserver.url_for("/slack"))
    pagerduty = PagerDutyChannel(routing_key=ROUTING_KEY, events_url=httpserver.url_for("/pd"))
    return slack, pagerduty


def test_a_check_then_its_task_then_the_flow_is_one_page_and_one_follow_up(
    receivers: tuple[SlackChannel, PagerDutyChannel],
    httpserver: HTTPServer,
    state: DispatchState,
    clock: FakeClock,
) -> None:
    slack, pagerduty = receivers
    routing = AlertRouting.model_validate({"routes": [{"name": "pages", "destinations": [pagerduty, slack]}]})
    check = _alert("data_quality_failed", "Data quality check failed: 12% nulls in price")
    task_failure = _alert("task_failed", "Task 'check' failed: CheckFailedError")
    flow_failure = _alert("flow_failed", "Flow 'price-scrape' failed: CheckFailedError", severity="critical")
    first = send_alert(check, routing, state=state, clock=clock)
    clock.advance(seconds=2)
    second = send_alert(task_failure, routing, state=state, clock=clock)
    clock.advance(seconds=1)
    third = send_alert(flow_failure, routing, state=state, clock=clock)
    assert [o.status for o in first.outcomes] == ["delivered", "delivered"]
    assert [o.status for o in second.outcomes] == ["folded", "folded"]
    assert [o.status for o in third.outcomes] == ["folded", "folded"]
    assert all("folded into the incident of this run" in o.reason for o in second.outcomes + third.outcomes)

    pd_events = _posts(httpserver, "/pd")
    # One incident: every event carries the check's dedup key; the flow's failure escalates it to critical.
    assert {event["dedup_key"] for event in pd_events} == {check.dedup_key}
    assert [event["event_action"] for event in pd_events] == ["trigger"] * 3
    assert [event["payload"]["severity"] for event in pd_events] == ["error", "error", "critical"]
    assert "after: Data quality check failed: 12% nulls in price" in pd_events[-1]["payload"]["summary"]

    slack_texts = [post["text"] for post in _posts(httpserver, "/slack")]
    assert len(slack_texts) == 2, slack_texts  # the page, and one follow-up when the flow failed
    assert "Data quality check failed: 12% nulls in price" in slack_texts[0]
    assert "Flow 'price-scrape' failed: CheckFailedError (after: Data quality check failed" in slack_texts[1]
    assert "Follow-up in the same flow run" in slack_texts[1]


def test_another_run_opens_its_own_incident(state: DispatchState, clock: FakeClock) -> None:
    routing = AlertRouting.model_validate(
        {"defaults": {"cooldown": "0s"}, "routes": [{"destinations": ["console"]}]}
    )
    assert send_alert(_alert("task_failed", "Task failed", run="a"), routing, state=state, clock=clock).ok
    clock.advance(seconds=5)
    other_run = send_alert(_alert("flow_failed", "Flow failed", run="b"), routing, state=state, clock=clock)
    assert other_run.outcomes[0].status == "delivered"


def test_alerts_outside_failure_chains_are_sent_as_usual(state: DispatchState, clock: FakeClock) -> None:
    routing = AlertRouting.model_validate({"routes": [{"destinations": ["console"]}]})
    send_alert(_alert("flow_failed", "Flow failed"), routing, state=state, clock=clock)
    for event in ("sla_violation", "task_slow", "result_check_failed", "flow_cancelled"):
        clock.advance(seconds=1)
        result = send_alert(_alert(event, f"about {event}"), routing, state=state, clock=clock)
        assert result.outcomes[0].status == "delivered", event
    clock.advance(seconds=1)  # a second failed check of the run is news of its own
    second_check = send_alert(_alert("drift_detected", "Drift in amount"), routing, state=state, clock=clock)
    assert second_check.outcomes[0].status == "delivered"
    no_run = _alert("task_failed", "from a script", source=Source(flow_name="price-scrape"))
    assert send_alert(no_run, routing, state=state, clock=clock).outcomes[0].status == "delivered"


def test_a_task_failure_after_a_check_folds_silently_on_chat(state: DispatchState, clock: FakeClock) -> None:
    routing = AlertRouting.model_validate({"routes": [{"destinations": ["console"]}]})
    send_alert(_alert("data_quality_failed", "Check failed"), routing, state=state, clock=clock)
    clock.advance(seconds=1)
    result = send_alert(_alert("task_failed", "Task failed"), routing, state=state, clock=clock)
    assert result.outcomes[0].status == "folded"
    assert "the flow's outcome follows as one follow-up" in result.outcomes[0].reason
    # A worse later alert is news even on chat: it is sent as the incident's follow-up.
    clock.advance(seconds=1)
    worse = send_alert(
        _alert("task_failed", "Task 2 failed", severity="critical"), routing, state=state, clock=clock
    )
    assert "sent as its follow-up" in worse.outcomes[0].reason


def test_the_follow_up_text_names_what_it_follows() -> None:
    claim = IncidentClaim(
        incident_key="k1",
        opened_by="a1",
        title="Data quality check failed: 12% nulls in price",
        severity_rank=Alert(title="x", severity="critical").severity.rank,
        previous_rank=0,
        alerts=3,
        opened_at=Alert(title="x").timestamp,
    )
    later = _alert("flow_failed", "Flow 'price-scrape' failed: KeyError", severity="error")
    update = incident_follow_up(later, claim, paging=True)
    assert update.dedup_key == "k1" and update.severity.value == "critical"
    assert (
        update.title
        == "Flow 'price-scrape' failed: KeyError (after: Data quality check failed: 12% nulls in price)"
    )
    assert update.fields["alerts in this run"] == 3
    assert incident_follow_up(later, claim, paging=False).severity.value == "error"


@pytest.mark.usefixtures("prefect_server")
def test_three_steps_on_a_real_run_then_recovery_resolves_the_one_incident(
    receivers: tuple[SlackChannel, PagerDutyChannel], httpserver: HTTPServer, dispatch_url: str, monkeypatch
) -> None:
    monkeypatch.setenv("PREFECT_ALERTS_DATABASE_URL", dispatch_url)
    slack, pagerduty = receivers
    routing = AlertRouting.model_validate({"routes": [{"name": "pages", "destinations": [pagerduty, slack]}]})
    hooks = {"routing": routing}

    @task(name="check_prices", on_failure=[alert_on_failure(**hooks)])
    def check_prices(frame: pd.DataFrame) -> None:
        check_data_quality(frame, not_null=["price"], check_name="prices", routing=routing, fail_on="error")

    @flow(
        name="price-scrape",
        on_failure=[alert_on_failure(**hooks)],
        on_completion=[alert_on_completion(**hooks)],
    )
    def price_scrape(prices: list[float | None]) -> None:
        check_prices(pd.DataFrame({"price": prices}))

    price_scrape([1.0, None, 3.0], return_state=True)
    pd_events = _posts(httpserver, "/pd")
    assert len(pd_events) == 3, [e["payload"]["summary"] for e in pd_events]
    incident_key = pd_events[0]["dedup_key"]
    assert {event["dedup_key"] for event in pd_events} == {incident_key}
    slack_texts = [post["text"] for post in _posts(httpserver, "/slack")]
    assert len(slack_texts) == 2, slack_texts
    assert "price" in slack_texts[0]
    assert "Flow 'price-scrape' failed" in slack_texts[1] and "(after: " in slack_texts[1]

    price_scrape([1.0, 2.0, 3.0])  # recovers: the one incident resolves, on both destinations, once
    pd_events = _posts(httpserver, "/pd")
    resolves = [event for event in pd_events if event["event_action"] == "resolve"]
    assert [event["dedup_key"] for event in resolves] == [incident_key]
    recovered = [post["text"] for post in _posts(httpserver, "/slack")][2:]
    assert len(recovered) == 1, recovered


@pytest.mark.usefixtures("prefect_server")
def test_a_recovery_resolves_two_open_keys_of_one_flow_each_where_it_went(
    receivers: tuple[SlackChannel, PagerDutyChannel],
    httpserver: HTTPServer,
    dispatch_url: str,
    state: DispatchState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PREFECT_ALERTS_DATABASE_URL", dispatch_url)
    slack, pagerduty = receivers
    # Cooldown 0s: the flap guard would otherwise hold back the new failure at the end, right after a resolve.
    routing = AlertRouting.model_validate(
        {"defaults": {"cooldown": "0s"}, "routes": [{"name": "pages", "destinations": [pagerduty, slack]}]}
    )

    @with_alerts(routing=routing)
    @task(name="extract")
    def extract(fail: bool) -> None:
        if fail:
            raise ConnectionError("orders API refused the connection")

    @with_alerts(routing=routing)
    @task(name="load")
    def load(fail: bool) -> None:
        if fail:
            raise PermissionError("no write access to warehouse.orders")

    @with_alerts(routing=routing)
    @flow(name="orders-sync")
    def orders_sync(fail_in: str = "") -> None:
        if fail_in == "flow":
            raise ConnectionError("orders API refused the connection")
        extract(fail_in == "extract")
        load(fail_in == "load")

    # Within one run the flow's failure folds into the task's incident, so two open keys need two runs.
    assert orders_sync("extract", return_state=True).is_failed()
    assert orders_sync("load", return_state=True).is_failed()
    extract_key = compute_dedup_key(
        "task_failed", Source(flow_name="orders-sync", task_name="extract"), "ConnectionError"
    )
    load_key = compute_dedup_key(
        "task_failed", Source(flow_name="orders-sync", task_name="load"), "PermissionError"
    )
    assert extract_key != load_key  # task-level keys name the task
    triggers = _posts(httpserver, "/pd")
    # Each run: its task's page, then the flow's failure as an update under the same key.
    assert [(e["event_action"], e["dedup_key"]) for e in triggers] == [
        ("trigger", extract_key),
        ("trigger", extract_key),
        ("trigger", load_key),
        ("trigger", load_key),
    ]
    assert {e["routing_key"] for e in triggers} == {ROUTING_KEY}
    assert len(_posts(httpserver, "/slack")) == 4  # per run: the page and the flow's follow-up

    assert orders_sync(return_state=True).is_completed()
    resolves = _posts(httpserver, "/pd")[4:]
    # One resolve per open key, under the key and routing key its trigger had; oldest first.
    assert [(e["event_action"], e["dedup_key"], e["routing_key"]) for e in resolves] == [
        ("resolve", extract_key, ROUTING_KEY),
        ("resolve", load_key, ROUTING_KEY),
    ]
    recovered = [post["text"] for post in _posts(httpserver, "/slack")][4:]
    assert len(recovered) == 2, recovered  # on the same webhook the pages went to
    assert recovered[0].startswith("✅ [RESOLVED] Task 'extract' failed: ConnectionError")
    assert recovered[1].startswith("✅ [RESOLVED] Task 'load' failed: PermissionError")

    # The flows' own failure keys were folded (never sent on their own): closed without a message.
    assert state.log.firing(flow_name="orders-sync") == []
    flow_key = compute_dedup_key("flow_failed", Source(flow_name="orders-sync"), "ConnectionError")
    (closed,) = [e for e in state.history.recent(dedup_key=flow_key) if e.status == "resolved"]
    assert {o["status"] for o in closed.outcomes} == {"suppressed"}
    assert all("never sent on its own" in o["reason"] for o in closed.outcomes)

    seen = len(httpserver.log)
    assert orders_sync(return_state=True).is_completed()
    assert len(httpserver.log) == seen  # nothing is resolved twice
    # Recovered means a new failure is news: the flow's own ConnectionError pages under its own key.
    assert orders_sync("flow", return_state=True).is_failed()
    (page,) = _posts(httpserver, "/pd")[6:]
    assert (page["event_action"], page["dedup_key"]) == ("trigger", flow_key)
