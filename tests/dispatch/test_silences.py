"""Silences: matchers, time boxes, expiry, and the pipeline's suppression reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts import Alert, send_alert
from prefect_alerts.alert import Source
from prefect_alerts.channels import SlackChannel
from prefect_alerts.dispatch import DispatchState
from prefect_alerts.silences import add_silence, expire_silence, list_silences
from tests.dispatch.conftest import FakeClock


def _alert(**changes) -> Alert:
    values = {
        "title": "ETL failed",
        "severity": "error",
        "event": "flow_failed",
        "tags": ["prod"],
        "source": Source(flow_name="etl-orders", deployment_name="nightly"),
    }
    values.update(changes)
    return Alert(**values)


@pytest.mark.parametrize(
    ("matchers", "matched"),
    [
        ({"flow": "etl-*"}, True),
        ({"flow": "etl-orders"}, True),
        ({"flow": "ml-*"}, False),
        ({"event": ["task_*", "flow_failed"]}, True),
        ({"severity": ">=warning"}, True),
        ({"severity": "critical"}, False),
        ({"tag": "prod"}, True),
        ({"tags": ["staging"]}, False),
        ({"flow": "etl-*", "severity": "critical"}, False),  # every matcher must match
        ({"deployment": "nightly"}, True),
    ],
)
def test_matchers(state: DispatchState, clock: FakeClock, matchers: dict, matched: bool) -> None:
    silence = add_silence(matchers, "1h", "ana", "migration", now=clock(), state=state)
    assert silence.matches(_alert()) is matched


def test_bad_silences_are_refused(state: DispatchState) -> None:
    with pytest.raises(ValueError, match="at least one matcher"):
        add_silence({}, "1h", "ana", "x", state=state)
    with pytest.raises(ValueError, match="unknown silence matcher 'team'"):
        add_silence({"team": "data"}, "1h", "ana", "x", state=state)
    with pytest.raises(ValueError, match="author and a comment"):
        add_silence({"flow": "x"}, "1h", " ", "x", state=state)
    with pytest.raises(ValueError):
        add_silence({"flow": "x"}, "soon", "ana", "x", state=state)
    with pytest.raises(ValueError, match="positive duration"):
        add_silence({"flow": "x"}, 0, "ana", "x", state=state)


def test_silence_is_time_boxed_listed_and_expired(state: DispatchState, clock: FakeClock) -> None:
    silence = add_silence({"flow": "etl-*"}, "2h", "ana", "warehouse migration", now=clock(), state=state)
    assert silence.id == "s-1"
    assert silence.ends_at - silence.starts_at == timedelta(hours=2)
    assert [s.id for s in list_silences(now=clock(), state=state)] == ["s-1"]
    assert list_silences(now=clock.advance(hours=3), state=state) == []
    assert [s.id for s in list_silences(active_only=False, state=state)] == ["s-1"]
    second = add_silence({"flow": "etl-*"}, "2h", "ana", "again", now=clock(), state=state)
    expired = expire_silence(second.id, now=clock.advance(minutes=1), state=state)
    assert expired.expired_at is not None
    assert list_silences(now=clock(), state=state) == []
    with pytest.raises(ValueError, match="no silence 's-99'"):
        expire_silence("s-99", state=state)


def test_pipeline_suppresses_silenced_alerts_and_sends_after(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    slack = SlackChannel(url=httpserver.url_for("/hook"))
    add_silence({"flow": "etl-*"}, "30m", "ana", "db migration", now=clock(), state=state)
    muted = send_alert(_alert(), destinations=[slack], state=state, clock=clock)
    assert muted.outcomes[0].status == "suppressed"
    assert muted.outcomes[0].reason == "silenced by s-1 until 2026-12-06 12:30 UTC (ana: db migration)"
    assert len(httpserver.log) == 0
    clock.advance(minutes=31)
    assert (
        send_alert(_alert(), destinations=[slack], state=state, clock=clock).outcomes[0].status == "delivered"
    )
    assert len(httpserver.log) == 1


def test_resolved_alerts_pass_a_silence(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    slack = SlackChannel(url=httpserver.url_for("/hook"))
    send_alert(_alert(), destinations=[slack], state=state, clock=clock)
    add_silence({"flow": "etl-*"}, "1h", "ana", "fixing it", now=clock(), state=state)
    clock.advance(minutes=5)
    resolved = send_alert(_alert().resolved(), destinations=[slack], state=state, clock=clock)
    assert resolved.outcomes[0].status == "delivered"
