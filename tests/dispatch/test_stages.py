"""Each pipeline step alone, on a hand-built Dispatch with an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from prefect_alerts import Alert
from prefect_alerts.alert import Source
from prefect_alerts.channels import Channel, ConsoleChannel, DeliveryResult
from prefect_alerts.dispatch import Dispatch, DispatchState, Notification, firing_alerts
from prefect_alerts.dispatch.attempt import run_attempts
from prefect_alerts.dispatch.dedupe import DedupeStage, format_duration, format_time
from prefect_alerts.dispatch.outbox import OutboxStage
from prefect_alerts.dispatch.retry import RetryPolicy
from prefect_alerts.dispatch.route import RouteStage
from prefect_alerts.dispatch.silence import SilenceStage
from prefect_alerts.routing import AlertRouting, RouteTarget
from prefect_alerts.silences import add_silence
from tests.dispatch.conftest import FakeClock

HOUR = timedelta(hours=1)


def _alert(**changes) -> Alert:
    values = {
        "title": "Load failed",
        "severity": "error",
        "event": "flow_failed",
        "source": Source(flow_name="etl"),
    }
    values.update(changes)
    return Alert(**values)


def _target(**changes) -> RouteTarget:
    values = {
        "destination": "slack:oncall",
        "route": "pages",
        "cooldown": HOUR,
        "repeat_interval": 4 * HOUR,
        "send_resolved": True,
        "mentions": [],
    }
    values.update(changes)
    return RouteTarget(**values)


def _dispatch(state: DispatchState, clock: FakeClock, alert: Alert, *targets: RouteTarget) -> Dispatch:
    dispatch = Dispatch(alert=alert, routing=AlertRouting(), state=state, clock=clock)
    for target in targets or (_target(),):
        dispatch.notifications.append(
            Notification(target=target, destination=str(target.destination), alert=alert)
        )
    return dispatch


def _dedupe(state: DispatchState, clock: FakeClock, alert: Alert, **target) -> tuple[str, str | None]:
    dispatch = _dispatch(state, clock, alert, _target(**target))
    DedupeStage().run(dispatch)
    outcome = dispatch.notifications[0].outcome
    return ("send", None) if outcome is None else (outcome.status, outcome.reason)


# Minutes after the first notice at 12:00, and what the dedupe step says (cooldown 1 h, repeat 4 h).
TIMELINE = [
    (0, "send", None),
    (1, "suppressed", "cooldown until 13:00 UTC (1h after the last notice; 1 repeat suppressed)"),
    (59, "suppressed", "cooldown until 13:00 UTC (1h after the last notice; 2 repeats suppressed)"),
    (61, "suppressed", "still firing; next reminder at 16:00 UTC (repeat_interval 4h; 3 repeats suppressed)"),
    (240, "send", None),
    (241, "suppressed", "cooldown until 17:00 UTC (1h after the last notice; 1 repeat suppressed)"),
]


def test_dedupe_timeline(state: DispatchState, clock: FakeClock) -> None:
    start = clock()
    for minutes, status, reason in TIMELINE:
        clock.now = start + timedelta(minutes=minutes)
        assert _dedupe(state, clock, _alert()) == (status, reason), minutes


def test_dedupe_with_reminders_off(state: DispatchState, clock: FakeClock) -> None:
    assert _dedupe(state, clock, _alert(), repeat_interval=None)[0] == "send"
    clock.advance(days=3)
    status, reason = _dedupe(state, clock, _alert(), repeat_interval=None)
    assert status == "suppressed" and "repeat_interval is never" in reason


def test_dedupe_is_per_destination_and_per_key(state: DispatchState, clock: FakeClock) -> None:
    assert _dedupe(state, clock, _alert())[0] == "send"
    assert _dedupe(state, clock, _alert(), destination="email:team")[0] == "send"
    assert _dedupe(state, clock, _alert(error_type="KeyError"))[0] == "send"
    assert _dedupe(state, clock, _alert())[0] == "suppressed"


def test_resolved_rules(state: DispatchState, clock: FakeClock) -> None:
    alert = _alert()
    assert _dedupe(state, clock, alert.resolved()) == (
        "suppressed",
        "nothing was firing on slack:oncall: no resolve to send",
    )
    _dedupe(state, clock, alert)
    clock.advance(minutes=5)
    assert _dedupe(state, clock, alert.resolved())[0] == "send"
    assert _dedupe(state, clock, alert.resolved())[1] == "already resolved at 12:05 UTC"
    _dedupe(state, clock, alert)  # a flap within the cooldown is suppressed; the log stays resolved
    clock.advance(hours=2)
    assert _dedupe(state, clock, alert)[0] == "send"
    status, reason = _dedupe(state, clock, alert.resolved(), send_resolved=False)
    assert status == "suppressed" and "send_resolved: false" in reason
    assert _dedupe(state, clock, alert)[0] == "suppressed"  # the resolve was recorded: a flap now


def test_firing_alerts_lists_what_was_notified_and_not_resolved(
    state: DispatchState, clock: FakeClock
) -> None:
    first, second = _alert(), _alert(error_type="KeyError", source=Source(flow_name="etl", task_name="load"))
    other = _alert(source=Source(flow_name="ml"))
    for alert in (first, second, other):
        dispatch = _dispatch(state, clock, alert)
        DedupeStage().run(dispatch)
        OutboxStage().run(dispatch)
    assert {alert.dedup_key for alert in firing_alerts("etl", state=state)} == {
        first.dedup_key,
        second.dedup_key,
    }
    _dedupe(state, clock, first.resolved())
    assert [alert.dedup_key for alert in firing_alerts("etl", state=state)] == [second.dedup_key]
    assert firing_alerts("etl", state=state)[0].title == second.title


def test_route_stage_alone(state: DispatchState, clock: FakeClock) -> None:
    routing = AlertRouting.model_validate(
        {
            "routes": [
                {
                    "name": "pages",
                    "match": {"severity": ">=critical"},
                    "destinations": ["pagerduty:oncall", "slack:oncall"],
                    "continue": True,
                    "mentions": ["<!here>"],
                },
                {
                    "name": "slack",
                    "match": {"event": "flow_*"},
                    "destinations": ["slack:oncall", "email:team"],
                    "cooldown": "5m",
                },
            ],
            "default": ["console"],
        }
    )
    dispatch = Dispatch(alert=_alert(severity="critical"), routing=routing, state=state, clock=clock)
    RouteStage().run(dispatch)
    got = [
        (n.destination, n.target.route, n.target.cooldown, n.target.mentions) for n in dispatch.notifications
    ]
    assert got == [
        ("pagerduty:oncall", "pages", HOUR, ["<!here>"]),
        ("slack:oncall", "pages", HOUR, ["<!here>"]),
        ("email:team", "slack", timedelta(minutes=5), []),
    ]
    dispatch = Dispatch(alert=_alert(event="data_quality_failed"), routing=routing, state=state, clock=clock)
    RouteStage().run(dispatch)
    assert [(n.destination, n.target.route) for n in dispatch.notifications] == [("console", "default")]


def test_silence_stage_alone(state: DispatchState, clock: FakeClock) -> None:
    add_silence({"flow": "etl"}, "1h", "ana", "migration", now=clock(), state=state)
    dispatch = _dispatch(state, clock, _alert())
    SilenceStage().run(dispatch)
    assert dispatch.notifications[0].outcome.reason.startswith("silenced by s-1 until 2026-12-06 13:00 UTC")
    clock.advance(hours=2)
    dispatch = _dispatch(state, clock, _alert())
    SilenceStage().run(dispatch)
    assert dispatch.notifications[0].outcome is None


def test_outbox_stage_keeps_references_and_descriptions(state: DispatchState, clock: FakeClock) -> None:
    console = ConsoleChannel(plain=True)
    dispatch = _dispatch(state, clock, _alert(), _target(), _target(destination=console))
    OutboxStage().run(dispatch)
    entries = {entry.id: entry for entry in state.outbox.entries()}
    by_destination = {entries[n.outbox_id].destination: entries[n.outbox_id] for n in dispatch.notifications}
    reference = by_destination["slack:oncall"]
    assert reference.reference == "slack:oncall" and reference.channel_spec is None
    assert reference.status == "delivering" and reference.lease_until > clock()
    assert reference.expires_at - reference.created_at == timedelta(hours=24)
    assert Alert.from_record(reference.alert).dedup_key == dispatch.alert.dedup_key


class Scripted(Channel):
    """Answers with the given results in turn."""

    kind = "scripted"

    def __init__(self, *results: DeliveryResult) -> None:
        super().__init__()
        self.results = list(results)
        self.calls = 0

    def send(self, alert: Alert) -> DeliveryResult:
        self.calls += 1
        return self.results.pop(0)


def _result(status: str, retry_after: float | None = None) -> DeliveryResult:
    return DeliveryResult(status=status, channel="scripted", retry_after=retry_after)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("results", "deadline_in", "final", "calls"),
    [
        ([_result("delivered")], 3, "delivered", 1),
        ([_result("failed")], 3, "failed", 1),
        ([_result("retry", 0.01), _result("delivered")], 3, "delivered", 2),
        ([_result("retry", 30)], 3, "retry", 1),  # Retry-After past the budget: queued, no wait
        ([_result("retry", 0.01), _result("retry", 0.01), _result("failed")], 3, "failed", 3),
        ([_result("retry", 0.01)], None, "retry", 1),  # no deadline (a flush): one attempt
    ],
)
def test_attempts_within_the_budget(results, deadline_in, final, calls) -> None:  # type: ignore[no-untyped-def]
    import time

    channel = Scripted(*results)
    deadline = None if deadline_in is None else time.monotonic() + deadline_in
    result, attempts = run_attempts(
        lambda: channel, _alert(), RetryPolicy(), deadline=deadline, sleep=lambda s: None
    )
    assert (result.status, attempts, channel.calls) == (final, calls, calls)


def test_retry_policy() -> None:
    policy = RetryPolicy(jitter=0)
    assert [policy.outbox_delay(n, None) for n in (1, 2, 3, 10)] == [30, 60, 120, 3600]
    assert policy.outbox_delay(4, 12.5) == 12.5  # Retry-After wins
    assert policy.in_call_delay(1, None) == 0.5 and policy.in_call_delay(2, None) == 0.75
    created = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert policy.give_up(9, created, created + HOUR) is None
    assert policy.give_up(10, created, created + HOUR) == "gave up after 10 attempts (max_attempts 10)"
    assert policy.give_up(3, created, created + timedelta(hours=25)).startswith(
        "gave up: still undelivered after 24 h"
    )
    jittered = RetryPolicy(jitter=0.2)
    assert all(24 <= jittered.outbox_delay(1, None) <= 36 for _ in range(50))


def test_formatting() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
    assert format_time(now + HOUR, now) == "13:00 UTC"
    assert format_time(now + timedelta(days=1), now) == "2026-12-07 12:00 UTC"
    assert [format_duration(timedelta(seconds=s)) for s in (90, 1800, 3600, 86400, 9000)] == [
        "1m30s",
        "30m",
        "1h",
        "1d",
        "2h30m",
    ]
