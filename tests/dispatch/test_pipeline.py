"""send_alert end to end against real local receivers: delivered, suppressed, queued, dead; flush_outbox."""

from __future__ import annotations

import time

from pytest_httpserver import HTTPServer
from werkzeug import Response

from prefect_alerts import Alert, flush_outbox, send_alert
from prefect_alerts.channels import SlackChannel
from prefect_alerts.dispatch import DispatchState
from prefect_alerts.routing import AlertRouting
from tests.dispatch.conftest import FakeClock
from tests.receivers import free_port, received_dict


def _alert(**changes) -> Alert:
    values = {"title": "Nightly load failed", "severity": "error", "event": "flow_failed", "message": "boom"}
    values.update(changes)
    return Alert(**values)


def _slack(httpserver: HTTPServer, path: str = "/hook", **kwargs) -> SlackChannel:
    return SlackChannel(url=httpserver.url_for(path), **kwargs)


def test_delivered_then_repeats_suppressed_with_a_reason(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    slack = _slack(httpserver)
    first = send_alert(_alert(), destinations=[slack], state=state, clock=clock)
    assert [o.status for o in first.outcomes] == ["delivered"]
    assert first.outcomes[0].attempts == 1
    clock.advance(minutes=5)
    second = send_alert(_alert(), destinations=[slack], state=state, clock=clock)
    outcome = second.outcomes[0]
    assert outcome.status == "suppressed"
    assert outcome.reason.startswith("cooldown until 13:00 UTC"), outcome.reason
    assert "1 repeat suppressed" in outcome.reason
    assert len(httpserver.log) == 1


def test_reminder_after_repeat_interval_carries_the_repeat_count(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    slack = _slack(httpserver)
    send_alert(_alert(), destinations=[slack], state=state, clock=clock)
    clock.advance(hours=2)  # past the 1 h cooldown, inside the 4 h repeat interval
    later = send_alert(_alert(), destinations=[slack], state=state, clock=clock)
    assert later.outcomes[0].status == "suppressed"
    assert later.outcomes[0].reason.startswith("still firing; next reminder at 16:00 UTC")
    clock.advance(hours=2, minutes=1)
    reminder = send_alert(_alert(), destinations=[slack], state=state, clock=clock)
    assert reminder.outcomes[0].status == "delivered"
    body = str(received_dict(httpserver))
    assert "still firing" in body and "1 more time since 12:00 UTC" in body
    assert len(httpserver.log) == 2


def test_resolve_goes_once_and_only_where_the_firing_alert_went(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    httpserver.expect_request("/a").respond_with_data("ok")
    httpserver.expect_request("/b").respond_with_data("ok")
    a, b = _slack(httpserver, "/a", name="a"), _slack(httpserver, "/b", name="b")
    alert = _alert()
    send_alert(alert, destinations=[a], state=state, clock=clock)
    clock.advance(minutes=1)
    resolved = send_alert(alert.resolved(), destinations=[a, b], state=state, clock=clock)
    statuses = {
        o.destination.split("#")[0].removeprefix("slack:"): (o.status, o.reason) for o in resolved.outcomes
    }
    assert statuses["a"] == ("delivered", None)
    assert statuses["b"][0] == "suppressed" and "nothing was firing" in statuses["b"][1]
    again = send_alert(alert.resolved(), destinations=[a], state=state, clock=clock)
    assert again.outcomes[0].status == "suppressed"
    assert again.outcomes[0].reason.startswith("already resolved at 12:01 UTC")
    assert [request.path for request, _ in httpserver.log] == ["/a", "/a"]


def test_flapping_alert_is_held_for_the_cooldown_after_a_resolve(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    slack = _slack(httpserver)
    send_alert(_alert(), destinations=[slack], state=state, clock=clock)
    clock.advance(minutes=10)
    send_alert(_alert().resolved(), destinations=[slack], state=state, clock=clock)
    clock.advance(minutes=10)
    flap = send_alert(_alert(), destinations=[slack], state=state, clock=clock)
    assert flap.outcomes[0].status == "suppressed"
    assert "cooldown until 13:00 UTC" in flap.outcomes[0].reason
    clock.advance(hours=1)
    assert (
        send_alert(_alert(), destinations=[slack], state=state, clock=clock).outcomes[0].status == "delivered"
    )


def test_503_is_retried_within_the_budget(httpserver: HTTPServer, state: DispatchState) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    result = send_alert(_alert(), destinations=[_slack(httpserver)], state=state, budget=3)
    assert result.outcomes[0].status == "delivered"
    assert result.outcomes[0].attempts == 2
    assert state.outbox.entries()[0].status == "delivered"


def test_429_retry_after_is_queued_then_flushed_exactly_once(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_response(
        Response("rate limited", status=429, headers={"Retry-After": "30"})
    )
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    result = send_alert(_alert(), destinations=[_slack(httpserver)], state=state, clock=clock, budget=1)
    outcome = result.outcomes[0]
    assert outcome.status == "queued"
    assert "429" in outcome.reason
    assert (outcome.next_attempt_at - clock()).total_seconds() == 30
    assert flush_outbox(now=clock.advance(seconds=10), state=state).delivered == 0  # not due yet
    flushed = flush_outbox(now=clock.advance(seconds=25), state=state)
    assert (flushed.delivered, flushed.queued, flushed.dead) == (1, 0, 0)
    assert flush_outbox(now=clock.advance(hours=1), state=state).outcomes == []
    assert len(httpserver.log) == 2


def test_refused_connection_is_queued(state: DispatchState) -> None:
    slack = SlackChannel(url=f"http://127.0.0.1:{free_port()}/hook")
    started = time.monotonic()
    # A refusal is known in milliseconds; the budget only has to outlast a loaded CI machine's first send.
    result = send_alert(_alert(), destinations=[slack], state=state, budget=2.0)
    assert time.monotonic() - started < 3
    assert result.outcomes[0].status == "queued"
    assert "connection refused" in result.outcomes[0].reason
    assert state.outbox.entries()[0].status == "pending"


def test_black_hole_returns_within_budget_and_stays_in_the_outbox(
    black_hole_url: str, state: DispatchState
) -> None:
    slack = SlackChannel(url=black_hole_url, read_timeout=5)
    started = time.monotonic()
    result = send_alert(_alert(), destinations=[slack], state=state, budget=0.5)
    elapsed = time.monotonic() - started
    assert elapsed < 1.5, elapsed
    outcome = result.outcomes[0]
    assert outcome.status == "queued"
    assert "budget" in outcome.reason
    entry = state.outbox.entries()[0]
    assert entry.status == "delivering"  # leased by this process until its attempt ends


def test_permanent_failure_is_dead_with_a_notice_on_the_fallback(
    httpserver: HTTPServer, state: DispatchState
) -> None:
    httpserver.expect_request("/gone").respond_with_data("no_service", status=404)
    httpserver.expect_request("/ops").respond_with_data("ok")
    routing = AlertRouting.model_validate(
        {
            "fallback": _slack(httpserver, "/ops", name="slack:ops"),
            "default": [_slack(httpserver, "/gone", name="slack:oncall")],
        }
    )
    result = send_alert(_alert(), routing=routing, state=state)
    outcome = result.outcomes[0]
    assert outcome.status == "dead"
    assert "404" in outcome.reason and "no_service" in outcome.reason
    notice = received_dict(httpserver)
    assert "Slack destination slack:oncall is dead" in notice["text"]
    assert state.outbox.entries(status="dead")[0].last_error == outcome.reason
    # A second dead alert within the hour does not repeat the notice.
    send_alert(_alert(title="Other failure", error_type="KeyError"), routing=routing, state=state)
    assert [request.path for request, _ in httpserver.log] == ["/gone", "/ops", "/gone"]


def test_gives_up_after_max_attempts(httpserver: HTTPServer, state: DispatchState, clock: FakeClock) -> None:
    httpserver.expect_request("/hook").respond_with_data("busy", status=503)
    routing = AlertRouting.model_validate({"defaults": {"max_attempts": 3}, "default": [_slack(httpserver)]})
    result = send_alert(_alert(), routing=routing, state=state, clock=clock, budget=0.1)
    assert result.outcomes[0].status == "queued"
    outcomes = []
    for _ in range(4):
        outcomes += flush_outbox(now=clock.advance(hours=2), state=state).outcomes
    assert [o.status for o in outcomes] == ["queued", "dead"]
    assert outcomes[-1].reason.startswith("gave up after 3 attempts")
    assert len(httpserver.log) == 3


def test_history_records_every_outcome(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    slack = _slack(httpserver)
    first = send_alert(_alert(), destinations=[slack], state=state, clock=clock)
    send_alert(_alert(), destinations=[slack], state=state, clock=clock)
    history = state.history.recent(dedup_key=first.alert.dedup_key)
    assert [entry.outcomes[0]["status"] for entry in history] == ["suppressed", "delivered"]
    assert history[-1].id == first.alert_id


def test_a_custom_channel_without_describe_is_delivered_in_process(state: DispatchState) -> None:
    from prefect_alerts.channels import Channel, DeliveryResult

    class Flaky(Channel):
        kind = "flaky"

        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        def send(self, alert: Alert) -> DeliveryResult:
            self.calls += 1
            status = "retry" if self.calls == 1 else "delivered"
            return DeliveryResult(
                status=status, channel=self.name, retry_after=60 if status == "retry" else None
            )

    channel = Flaky()
    result = send_alert(_alert(), destinations=[channel], state=state, budget=0.2)
    assert result.outcomes[0].status == "queued"
    entry = state.outbox.entries()[0]
    assert entry.reference is None and entry.channel_spec is None
    from datetime import datetime, timedelta, timezone

    flushed = flush_outbox(now=datetime.now(timezone.utc) + timedelta(minutes=2), state=state)
    assert flushed.delivered == 1 and channel.calls == 2


def test_an_escalation_breaks_the_cooldown(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    slack = _slack(httpserver)
    key = "same-incident"
    send_alert(_alert(severity="warning", dedup_key=key), destinations=[slack], state=state, clock=clock)
    clock.advance(minutes=1)
    assert (
        send_alert(_alert(severity="warning", dedup_key=key), destinations=[slack], state=state, clock=clock)
        .outcomes[0]
        .status
        == "suppressed"
    )
    worse = send_alert(
        _alert(severity="critical", dedup_key=key), destinations=[slack], state=state, clock=clock
    )
    assert worse.outcomes[0].status == "delivered"
    clock.advance(minutes=1)
    back = send_alert(_alert(severity="error", dedup_key=key), destinations=[slack], state=state, clock=clock)
    assert back.outcomes[0].status == "suppressed"  # less bad than what was last said: no news
    assert len(httpserver.log) == 2
