"""Storm folding at send time: the counting rules with an injected clock, the summary, the close, the config."""

from __future__ import annotations

import multiprocessing
import os
import re
from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts import Alert
from prefect_alerts.alert import Link, Source
from prefect_alerts.channels import SlackChannel
from prefect_alerts.dispatch import DispatchState, send_alert
from prefect_alerts.dispatch.storm_close import close_storms
from prefect_alerts.dispatch.storm_summary import STORM_EVENT, storm_dedup_key
from prefect_alerts.routing import AlertRouting, RoutingError
from prefect_alerts.routing.storm import StormSettings, storm_group
from tests.dispatch.conftest import FakeClock
from tests.receivers import received_dict


def _failure(index: int, flow: str | None = None, **changes) -> Alert:
    flow = flow or f"etl-{index % 4}"
    values = {
        "title": f"Flow {flow} failed",
        "message": f"KeyError: 'price' missing in batch {index}",
        "error_type": "KeyError",
        "severity": "error",
        "event": "flow_failed",
        "source": Source(flow_name=flow, flow_run_id=f"run-{index}"),
        "dedup_key": f"key-{index}",
        "links": [Link(label="Flow run", url=f"http://prefect.local/runs/flow-run/run-{index}")],
    }
    values.update(changes)
    return Alert(**values)


def _routing(**storm) -> AlertRouting:
    config: dict = {"routes": [{"name": "etl", "destinations": ["console"]}], "default": []}
    if storm:
        config["storm"] = storm
    return AlertRouting.model_validate(config)


def _send(alert: Alert, routing: AlertRouting, state: DispatchState, clock: FakeClock):  # type: ignore[no-untyped-def]
    return send_alert(alert, routing, state=state, clock=clock)


def test_the_first_threshold_alerts_go_out_then_the_rest_fold(state: DispatchState, clock: FakeClock) -> None:
    routing = _routing(threshold=3)
    statuses = []
    for index in range(6):
        clock.advance(seconds=10)
        result = _send(_failure(index), routing, state, clock)
        statuses.append(result.outcomes[0].status)
    assert statuses == ["delivered"] * 3 + ["folded"] * 3
    reasons = [
        row.outcomes[0].get("reason") for row in state.history.recent(limit=20) if row.event != STORM_EVENT
    ]
    folded = [reason for reason in reasons if reason]
    assert len(folded) == 3
    assert all(reason.startswith("folded into storm ") for reason in folded), folded
    assert any("this alert opened it" in reason for reason in folded)
    summaries = [row for row in state.history.recent(limit=20) if row.event == STORM_EVENT]
    assert len(summaries) == 1  # one summary per group_interval, however many fold
    assert summaries[0].outcomes[0]["status"] == "delivered"


def test_the_summary_is_sent_again_at_most_every_group_interval(
    state: DispatchState, clock: FakeClock
) -> None:
    routing = _routing(threshold=2, window="10m", group_interval="2m")
    for index in range(12):  # one a minute: the storm lasts, the summary is due every two minutes
        clock.advance(minutes=1)
        _send(_failure(index), routing, state, clock)
    summaries = [row for row in state.history.recent(limit=50) if row.event == STORM_EVENT]
    assert len(summaries) == 5, [row.title for row in summaries]  # at alerts 3, 5, 7, 9, 11
    assert {row.dedup_key for row in summaries} == {summaries[0].dedup_key}  # one storm, one key
    assert summaries[0].title.startswith("Alert storm: 11 alerts in 10m")  # newest first


def test_a_quiet_window_ends_the_storm_and_alerts_go_out_again(
    state: DispatchState, clock: FakeClock
) -> None:
    routing = _routing(threshold=2, window="5m")
    for index in range(4):
        clock.advance(seconds=30)
        _send(_failure(index), routing, state, clock)
    clock.advance(minutes=6)
    result = _send(_failure(10), routing, state, clock)
    assert result.outcomes[0].status == "delivered"


def test_counting_is_per_group_and_per_route(state: DispatchState, clock: FakeClock) -> None:
    routing = AlertRouting.model_validate(
        {
            "storm": {"threshold": 2, "group_by": ["flow"]},
            "routes": [{"name": "etl", "destinations": ["console"]}],
        }
    )
    statuses: dict[str, list[str]] = {"a": [], "b": []}
    for index in range(3):
        for flow in ("a", "b"):
            clock.advance(seconds=5)
            result = _send(_failure(index * 2 + (flow == "b"), flow=flow), routing, state, clock)
            statuses[flow].append(result.outcomes[0].status)
    assert statuses == {"a": ["delivered", "delivered", "folded"], "b": ["delivered", "delivered", "folded"]}
    # Two direct routes (destinations=[...]) to different places are two groups too.
    one = storm_group(_failure(1), "direct", StormSettings(), ["slack:a"])[0]
    other = storm_group(_failure(1), "direct", StormSettings(), ["slack:b"])[0]
    assert one != other


def test_storm_disabled_sends_every_alert(state: DispatchState, clock: FakeClock) -> None:
    routing = AlertRouting.model_validate(
        {
            "storm": {"threshold": 2},
            "routes": [{"name": "pages", "destinations": ["console"], "storm": {"enabled": False}}],
        }
    )
    for index in range(5):
        clock.advance(seconds=5)
        assert _send(_failure(index), routing, state, clock).outcomes[0].status == "delivered"


def test_resolved_alerts_are_never_folded_and_a_folded_firing_resolves_quietly(
    state: DispatchState, clock: FakeClock
) -> None:
    routing = _routing(threshold=2)
    for index in range(4):
        clock.advance(seconds=5)
        _send(_failure(index), routing, state, clock)
    clock.advance(seconds=5)
    sent_one = _send(_failure(0).resolved(), routing, state, clock)  # sent one by one before the storm
    assert sent_one.outcomes[0].status == "delivered"
    clock.advance(seconds=5)
    folded_one = _send(_failure(3).resolved(), routing, state, clock)  # only the storm summary announced it
    assert folded_one.outcomes[0].status == "suppressed"
    assert "folded into storm" in folded_one.outcomes[0].reason


def test_fifty_failures_in_a_minute_reach_slack_as_ten_alerts_and_one_summary(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    httpserver.expect_request("/storm").respond_with_data("ok")
    slack = SlackChannel(url=httpserver.url_for("/storm"))
    routing = AlertRouting.model_validate({"routes": [{"name": "etl", "destinations": [slack]}]})
    outcomes = []
    for index in range(50):
        clock.advance(seconds=1)
        outcomes.append(send_alert(_failure(index), routing, state=state, clock=clock).outcomes[0].status)
    texts = [received_dict(httpserver, i)["text"] for i in range(len(httpserver.log))]
    individual = [text for text in texts if "Alert storm" not in text]
    storm = [text for text in texts if "Alert storm" in text]
    assert len(individual) == 10 and len(storm) == 1, texts
    assert outcomes.count("delivered") == 10 and outcomes.count("folded") == 40
    history = [row for row in state.history.recent(limit=100) if row.event != STORM_EVENT]
    assert len(history) == 50
    assert sorted(row.outcomes[0]["status"] for row in history) == ["delivered"] * 10 + ["folded"] * 40
    body = received_dict(httpserver, len(httpserver.log) - 1)
    text = str(body)
    assert "11 alerts" in text and "10 sent before the storm" in text
    assert "etl-0" in text and "KeyError: 'price' missing" in text
    assert "http://prefect.local/runs/flow-run/run-0" in text


def test_close_storms_sends_one_closing_summary_after_a_quiet_window(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    httpserver.expect_request("/storm").respond_with_data("ok")
    slack = SlackChannel(url=httpserver.url_for("/storm"))
    routing = AlertRouting.model_validate(
        {"storm": {"threshold": 2}, "routes": [{"name": "etl", "destinations": [slack]}]}
    )
    for index in range(5):
        clock.advance(seconds=10)
        send_alert(_failure(index), routing, state=state, clock=clock)
    clock.advance(seconds=10)
    send_alert(_failure(0).resolved(), routing, state=state, clock=clock)  # one of them recovered
    sent_before = len(httpserver.log)
    assert close_storms(routing, clock.now + timedelta(minutes=1), state=state) == []  # still going
    results = close_storms(routing, clock.now + timedelta(minutes=6), state=state)
    assert len(results) == 1
    closing = results[0]
    assert closing.alert.is_resolved and closing.alert.dedup_key.startswith("alert_storm:")
    assert closing.alert.title == "Storm over: 5 alerts in 4 flows, 4 still firing"
    # The summaries went to a channel object, which lives only in its process: the close goes to the fallback.
    assert closing.outcomes[0].destination == "console"
    assert close_storms(routing, clock.now + timedelta(minutes=7), state=state) == []  # closed once
    assert len(httpserver.log) == sent_before


def test_close_storms_resolves_on_the_referenced_destinations(state: DispatchState, clock: FakeClock) -> None:
    routing = _routing(threshold=1)
    for index in range(3):
        clock.advance(seconds=10)
        _send(_failure(index), routing, state, clock)
    (result,) = close_storms(routing, clock.now + timedelta(minutes=10), state=state)
    assert [outcome.destination for outcome in result.outcomes] == ["console"]
    assert result.outcomes[0].status == "delivered"
    storm_keys = {row.dedup_key for row in state.history.recent(limit=20) if row.event == STORM_EVENT}
    assert storm_keys == {result.alert.dedup_key}
    assert result.alert.dedup_key == storm_dedup_key(result.alert.dedup_key.split(":", 1)[1])


@pytest.mark.parametrize(
    ("storm", "message"),
    [
        ({"group_by": ["flw"]}, "storm.group_by: unknown group_by key 'flw'"),
        ({"window": "0s"}, "storm.window: must be longer than 0s"),
        ({"threshold": 0}, "storm.threshold"),
        ({"treshold": 5}, "unknown key 'treshold' in storm (did you mean 'threshold'?)"),
        ({"window": "soon"}, "storm.window"),
    ],
)
def test_bad_storm_config_names_the_field(storm: dict, message: str) -> None:
    with pytest.raises(RoutingError, match=re.escape(message)):
        AlertRouting.model_validate({"storm": storm})


def test_a_route_overrides_only_the_storm_keys_it_gives() -> None:
    routing = AlertRouting.model_validate(
        {
            "storm": {"threshold": 20, "window": "10m"},
            "routes": [
                {"name": "etl", "destinations": ["console"], "storm": {"group_by": ["flow", "tag:team-"]}}
            ],
        }
    )
    (target,) = routing.targets(_failure(1))
    assert target.storm.threshold == 20 and target.storm.window == timedelta(minutes=10)
    assert target.storm.group_by == ["flow", "tag:team-"]
    assert AlertRouting.model_validate(routing.to_config()) == routing
    tagged = _failure(1, tags=["team-data", "prod"])
    assert storm_group(tagged, "etl", target.storm)[1] == {"flow": "etl-1", "tag:team-": "team-data"}


WORKERS = 4
PER_WORKER = 10


def _raise_distinct_alerts(url: str, hook: str, barrier, errors, worker: int) -> None:  # type: ignore[no-untyped-def]
    os.environ["PREFECT_ALERTS_DATABASE_URL"] = url
    from prefect_alerts.channels import SlackChannel as Slack

    slack = Slack(url=hook)
    barrier.wait(timeout=60)
    for index in range(PER_WORKER):
        try:
            send_alert(_failure(worker * PER_WORKER + index), destinations=[slack])
        except Exception as exc:  # "database is locked" above all fails the test
            errors.put(f"worker {worker}: {type(exc).__name__}: {exc}")


def test_many_processes_fold_into_one_storm(httpserver: HTTPServer, dispatch_url: str) -> None:
    httpserver.expect_request("/storm").respond_with_data("ok")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    errors = context.Queue()
    workers = [
        context.Process(
            target=_raise_distinct_alerts,
            args=(dispatch_url, httpserver.url_for("/storm"), barrier, errors, index),
        )
        for index in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert problems == []
    assert all(worker.exitcode == 0 for worker in workers)
    texts = [str(received_dict(httpserver, i)) for i in range(len(httpserver.log))]
    summaries = [text for text in texts if "Alert storm" in text]
    assert len(texts) - len(summaries) == 10, len(texts)  # the default threshold, across all workers
    assert len(summaries) == 1
