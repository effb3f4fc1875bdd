"""Every alert the pipeline handles is a Prefect event, related to its flow run, readable from the server."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from prefect import flow
from pytest_httpserver import HTTPServer

from prefect_alerts import Alert, send_alert
from prefect_alerts.channels import SlackChannel
from prefect_alerts.delivery import source_from_context
from prefect_alerts.dispatch import DispatchState
from tests.alert_events import poll_alert_events


@pytest.mark.usefixtures("prefect_server")
def test_delivered_and_suppressed_outcomes_are_events(httpserver: HTTPServer, state: DispatchState) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    slack = SlackChannel(url=httpserver.url_for("/hook"))

    @flow(name="events-flow")
    def failing_twice() -> str:
        source = source_from_context()
        for _ in range(2):
            send_alert(
                Alert(title="Load failed", severity="error", event="flow_failed", source=source),
                destinations=[slack],
                state=state,
            )
        return source.flow_run_id or ""

    flow_run_id = failing_twice()
    events = poll_alert_events(flow_run_id=flow_run_id, until=lambda events: len(events) >= 2)
    names = sorted(event.event for event in events)
    assert names == ["prefect-alerts.alert.delivered", "prefect-alerts.alert.suppressed"]
    suppressed = next(event for event in events if event.event.endswith("suppressed"))
    assert suppressed.payload["reasons"][next(iter(suppressed.payload["reasons"]))].startswith(
        "cooldown until"
    )
    assert suppressed.payload["dedup_key"]
    assert any(resource.id == f"prefect.flow-run.{flow_run_id}" for resource in suppressed.related)


@pytest.mark.usefixtures("prefect_server")
def test_a_queued_event_carries_the_alert_and_its_next_attempt(
    httpserver: HTTPServer, state: DispatchState
) -> None:
    # A worker that dies takes its outbox with it: the event is what another machine re-raises from.
    httpserver.expect_request("/hook").respond_with_data("unavailable", status=503)
    slack = SlackChannel(url=httpserver.url_for("/hook"))

    @flow(name="events-queued-flow")
    def failing() -> str:
        source = source_from_context()
        result = send_alert(
            Alert(
                title="Load failed",
                severity="error",
                event="flow_failed",
                source=source,
                fields={"rows": 120, "duration": timedelta(seconds=125)},
            ),
            destinations=[slack],
            state=state,
            budget=2.0,
        )
        assert [outcome.status for outcome in result.outcomes] == ["queued"]
        return source.flow_run_id or ""

    flow_run_id = failing()
    events = poll_alert_events(flow_run_id=flow_run_id)
    queued = next(event for event in events if event.event == "prefect-alerts.alert.queued")
    (destination,) = queued.payload["destinations"]
    alert = Alert.from_record(queued.payload["alert"])
    assert alert.title == "Load failed"
    assert alert.fields == {"rows": 120, "duration": timedelta(seconds=125)}
    assert alert.source.flow_run_id == flow_run_id
    due = datetime.fromisoformat(queued.payload["next_attempt_at"][destination])
    assert due > queued.occurred  # the outbox's backoff (30 s), not "now"
    entry = state.outbox.entries(status="pending")[0]
    assert abs((due - entry.next_attempt_at).total_seconds()) < 1
