"""``aggregator_flow`` as a real flow run on the test server: sweep, heartbeat, and steps isolated."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from prefect import flow
from pytest_httpserver import HTTPServer

from prefect_alerts.dispatch import DispatchState
from prefect_alerts.monitoring import AggregatorResult, aggregator_flow
from prefect_alerts.monitoring.aggregator import partial_problems
from prefect_alerts.monitoring.recovery import RecoveryResult
from prefect_alerts.monitoring.requeue import RequeueResult
from prefect_alerts.monitoring.sweeper import CHECKPOINT, SweepResult, SweptRun
from prefect_alerts.status import HEARTBEAT_EVENT
from prefect_alerts.store.sweeper import SweeperStore
from tests.hooks.helpers import slack_posts, slack_text
from tests.monitoring.test_sweeper import closed_now, crashed_run

pytestmark = pytest.mark.usefixtures("prefect_server")

BLOCK = "aggregator-tests"


@pytest.fixture
def routing_file(httpserver: HTTPServer, tmp_path: Path) -> Iterator[Path]:
    """A routing file a user would write: every alert to a saved Slack webhook block (a local receiver)."""
    from prefect_slack import SlackWebhook

    httpserver.expect_request("/services/T0/B0/agg", method="POST").respond_with_data("ok")
    SlackWebhook(url=httpserver.url_for("/services/T0/B0/agg")).save(BLOCK, overwrite=True)
    path = tmp_path / "alerts.yaml"
    path.write_text(
        "defaults: {cooldown: 0s}\n"
        f"routes:\n  - name: all\n    destinations: [slack:{BLOCK}]\n"
        "default: []\n"
        "sweeper: {overlap: 0s}\n"
    )
    yield path


def start_here(overlap: timedelta = timedelta(0)) -> datetime:
    """The aggregator's store (the default one, per test) starts sweeping from this moment (the checkpoint
    is put ``overlap`` later, as the routing's sweeper overlap takes it back)."""
    moment = datetime.now(timezone.utc)
    SweeperStore(DispatchState.default().engine).advance(CHECKPOINT, moment + overlap, moment)
    return moment


def heartbeats_since(moment: datetime, timeout: float = 30.0) -> list[dict]:
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

    deadline = time.monotonic() + timeout
    while True:
        with get_client(sync_client=True) as client:
            events = client.read_events(
                filter=EventFilter(
                    event=EventNameFilter(name=[HEARTBEAT_EVENT]),
                    occurred=EventOccurredFilter(since=moment, until=moment + timedelta(hours=1)),
                ),
                limit=50,
            ).events
        if events or time.monotonic() > deadline:
            return [dict(event.payload) for event in events]
        time.sleep(0.5)


def test_the_aggregator_alerts_a_crash_once_and_sends_its_heartbeat(
    httpserver: HTTPServer, routing_file: Path
) -> None:
    moment = start_here()
    run_id = crashed_run("aggregated-crash", "Flow run infrastructure exited with non-zero status code 137.")

    result = aggregator_flow(routing=str(routing_file), now=closed_now())
    assert isinstance(result, AggregatorResult)
    assert result.ok, result.problems
    assert [run.flow_run_id for run in result.sweep.alerted] == [run_id]
    posts = slack_posts(httpserver)
    assert len(posts) == 1
    assert "Flow 'aggregated-crash' crashed" in slack_text(posts[0])
    assert result.heartbeat_sent
    beats = heartbeats_since(moment)
    assert beats and beats[0]["alerted_runs"] == 1 and beats[0]["problems"] == {}

    again = aggregator_flow(routing=str(routing_file), now=closed_now())
    assert again.ok and again.sweep.alerted == []
    assert len(slack_posts(httpserver)) == 1


def test_a_broken_step_does_not_stop_the_others_and_the_run_fails_naming_it(
    httpserver: HTTPServer,
) -> None:
    moment = start_here()
    state = aggregator_flow(routing="no-such-routing-block", now=closed_now(), return_state=True)
    assert state.is_failed()
    message = state.message or ""
    assert "routing" in message and "no-such-routing-block" in message
    beats = heartbeats_since(moment)
    assert beats, "the heartbeat is sent even when a step failed"
    assert "routing" in beats[0]["problems"]
    assert beats[0]["outbox_dead"] == 0  # the outbox was still flushed


def test_the_aggregator_runs_with_no_arguments_on_the_console_route(
    capsys: pytest.CaptureFixture[str],
) -> None:
    start_here(overlap=timedelta(minutes=2))  # the default sweeper settings: a 2-minute overlap

    @flow(name="aggregated-console")
    def broken() -> None:
        raise ValueError("nobody hooked me")

    broken(return_state=True)
    result = aggregator_flow(now=closed_now())
    assert result.ok, result.problems
    assert len(result.sweep.alerted) == 1
    assert (
        "Flow 'aggregated-console' failed: ValueError" in capsys.readouterr().err
    )  # the console channel writes to stderr


def test_errors_inside_a_step_that_went_on_are_problems_too() -> None:
    # A run the sweep could not alert on, a flow whose runs could not be read: the steps carry on, but the
    # aggregator run must still end Failed and its heartbeat must say why.
    now = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
    failed = SweptRun(flow_run_id="r-1", state_name="Crashed", decision="failed", detail="OSError: disk full")
    alerted = SweptRun(flow_run_id="r-2", state_name="Failed", decision="alerted")
    result = AggregatorResult(
        now=now,
        sweep=SweepResult(window_start=now, window_end=now, runs=[failed, alerted]),
        requeue=RequeueResult(),
        recovery=RecoveryResult(errors=[f"flow 'f{n}': could not read its runs: timeout" for n in range(5)]),
    )
    problems = partial_problems(result)
    assert problems["sweep"] == "run r-1: OSError: disk full"
    assert "requeue" not in problems
    assert problems["recovery"].count("could not read its runs") == 3
    assert problems["recovery"].endswith("(and 2 more)")
    assert partial_problems(AggregatorResult(now=now)) == {}


def test_each_run_deletes_settled_outbox_entries_past_their_keep_time(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    from prefect_alerts import Alert, send_alert
    from prefect_alerts.channels import SlackChannel
    from prefect_alerts.monitoring.aggregator import run_aggregator
    from prefect_alerts.routing import AlertRouting
    from prefect_alerts.store import get_engine

    httpserver.expect_request("/keep", method="POST").respond_with_data("ok")
    state = DispatchState(get_engine(f"sqlite:///{tmp_path}/aggregator.db"))
    routing = AlertRouting.model_validate(
        {"defaults": {"keep_delivered": "7d"}, "sweeper": {"enabled": False}, "default": []}
    )
    slack = SlackChannel(url=httpserver.url_for("/keep"), name="slack:keep")
    sent_at = datetime.now(timezone.utc)
    for key in ("a", "b"):
        alert = Alert(title=f"Load {key} failed", severity="error", event="flow_failed", dedup_key=key)
        for each in (alert, alert.resolved()):
            outcome = send_alert(each, routing=routing, destinations=[slack], state=state).outcomes[0]
            assert outcome.status == "delivered", outcome

    soon = run_aggregator(routing, now=sent_at + timedelta(days=1), state=state, heartbeat=False)
    assert soon.ok, soon.problems
    assert soon.pruned == 0 and len(state.outbox.entries()) == 4
    later = run_aggregator(routing, now=sent_at + timedelta(days=8), state=state, heartbeat=False)
    assert later.ok, later.problems
    assert later.pruned == 3  # the newest entry of slack:keep stays
    assert "3 settled entries past their keep time deleted" in str(later)
    assert later.heartbeat_payload()["outbox_pruned"] == 3
    assert len(state.outbox.entries()) == 1
    assert later.history_pruned == 0 and len(state.history.recent()) == 4  # history is kept 30 days
    assert later.resolved_pruned == 0 and state.log.get("a", "slack:keep") is not None
    month = run_aggregator(routing, now=sent_at + timedelta(days=31), state=state, heartbeat=False)
    assert month.ok, month.problems
    assert month.history_pruned == 4 and state.history.recent() == []
    assert "history: 4 alerts past keep_history deleted" in str(month)
    assert month.heartbeat_payload()["history_pruned"] == 4
    # Both keys resolved a month ago: their notification-log rows and the storm counter's members go too.
    assert month.resolved_pruned == 4 and month.heartbeat_payload()["resolved_pruned"] == 4
    assert state.log.get("a", "slack:keep") is None and state.log.get("b", "slack:keep") is None
    assert "resolved: 4 rows resolved alerts left past keep_history deleted" in str(month)
