"""Every alert the pipeline handles is a Prefect event, related to its flow run, readable from the server."""

from __future__ import annotations

import time

import pytest
from prefect import flow
from pytest_httpserver import HTTPServer

from prefect_alerts import Alert, send_alert
from prefect_alerts.channels import SlackChannel
from prefect_alerts.delivery import source_from_context
from prefect_alerts.dispatch import DispatchState


def _read_events(flow_run_id: str, expected: int, timeout: float = 30.0) -> list:
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter

    deadline = time.monotonic() + timeout
    while True:
        with get_client(sync_client=True) as client:
            events = client.read_events(
                filter=EventFilter(
                    event=EventNameFilter(prefix=["prefect-alerts.alert."]),
                    related=EventRelatedFilter(id=[f"prefect.flow-run.{flow_run_id}"]),
                ),
                limit=50,
            ).events
        if len(events) >= expected or time.monotonic() > deadline:
            return events
        time.sleep(0.5)


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
    events = _read_events(flow_run_id, expected=2)
    names = sorted(event.event for event in events)
    assert names == ["prefect-alerts.alert.delivered", "prefect-alerts.alert.suppressed"]
    suppressed = next(event for event in events if event.event.endswith("suppressed"))
    assert suppressed.payload["reasons"][next(iter(suppressed.payload["reasons"]))].startswith(
        "cooldown until"
    )
    assert suppressed.payload["dedup_key"]
    assert any(resource.id == f"prefect.flow-run.{flow_run_id}" for resource in suppressed.related)
