"""The sweeper against a real Prefect server: runs that failed or crashed with no alert get exactly one.

Every test narrows the sweep to its own runs by setting the checkpoint just before them (the session's server
holds every other test's failed runs too) and injects ``now`` so windows close without waiting 60 s.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from prefect import flow
from pytest_httpserver import HTTPServer

from prefect_alerts.channels import SlackChannel
from prefect_alerts.dispatch import DispatchState
from prefect_alerts.hooks import with_alerts
from prefect_alerts.monitoring.sweeper import CHECKPOINT, sweep_unreported_runs
from prefect_alerts.routing import AlertRouting
from prefect_alerts.routing.sweeper import SweeperSettings
from prefect_alerts.store.sweeper import SweeperStore
from tests.alert_events import poll_alert_events
from tests.hooks.helpers import field_texts, slack_posts, slack_text

pytestmark = pytest.mark.usefixtures("prefect_server")

CLOSE = timedelta(seconds=60)


def routing_to(channel: SlackChannel, **sweeper: Any) -> AlertRouting:
    routing = AlertRouting.model_validate(
        {
            "defaults": {"cooldown": "0s"},
            "routes": [{"name": "all", "destinations": [channel]}],
            "default": [],
        }
    )
    return routing.model_copy(update={"sweeper": SweeperSettings(overlap="0s", **sweeper)})


def start_here(state: DispatchState) -> datetime:
    """Put the checkpoint at this moment: the next sweep sees only runs that end from now on."""
    moment = datetime.now(timezone.utc)
    SweeperStore(state.engine).advance(CHECKPOINT, moment, moment)
    return moment


def closed_now() -> datetime:
    """A ``now`` at which every run that has ended so far is in a closed window."""
    return datetime.now(timezone.utc) + CLOSE + timedelta(seconds=1)


def crashed_run(flow_name: str, message: str, *, pending: bool = True) -> str:
    """A run that crashed with no hook: created Pending (never started, like an image pull failure) and forced
    to Crashed, the way a worker reports infrastructure that died."""
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed, Pending, Running

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name(flow_name)
        created = client.create_flow_run(_named_flow(flow_name), state=Pending())
        assert created.flow_id == flow_id
        if not pending:
            client.set_flow_run_state(created.id, Running(), force=True)
        client.set_flow_run_state(created.id, Crashed(message=message), force=True)
    return str(created.id)


def _named_flow(name: str) -> Any:
    @flow(name=name)
    def placeholder() -> None:
        pass

    return placeholder


def test_a_run_forced_to_crashed_with_no_hook_alerts_exactly_once(
    httpserver: HTTPServer, slack: SlackChannel, state: DispatchState
) -> None:
    start_here(state)
    run_id = crashed_run("sweep-image-pull", "Flow run infrastructure exited with non-zero status code 137.")
    routing = routing_to(slack)

    first = sweep_unreported_runs(routing, closed_now(), state=state)
    assert [(run.flow_run_id, run.decision) for run in first.runs] == [(run_id, "alerted")]
    assert first.alerted[0].outcomes[0].status == "delivered"
    posts = slack_posts(httpserver)
    assert len(posts) == 1
    text = slack_text(posts[0])
    assert "Flow 'sweep-image-pull' crashed" in text
    assert "Found by the prefect-alerts sweeper" in text
    assert "It never started running" in text
    assert "exited with non-zero status code 137" in text
    fields = field_texts(posts[0])
    assert fields["found by"] == "prefect-alerts sweeper"
    assert "duration" not in fields  # start == end: a zero duration would say nothing
    assert fields["cause"] == "Out of memory"  # exit code 137: the OOM killer's SIGKILL
    assert "Interrupted" not in text and "Ctrl-C" not in text

    # The same window again (a re-run, an overlap): claimed by run id, nothing new.
    SweeperStore(state.engine).advance(CHECKPOINT, first.window_start, first.window_start)  # never backwards
    # An overlap reaching back exactly to the first window's start: only this test's run is in it.
    overlap = first.window_end - first.window_start
    again = sweep_unreported_runs(
        routing.model_copy(update={"sweeper": SweeperSettings(overlap=overlap)}), closed_now(), state=state
    )
    assert [run.decision for run in again.runs] == ["already_swept"]
    assert len(slack_posts(httpserver)) == 1

    # Another aggregator with its own SQLite: the server's events say the run was reported.
    poll_alert_events(flow_run_id=run_id)  # the server has it (a few seconds late)
    other = DispatchState.default()  # the per-test "worker" store: no claims, its own checkpoint
    SweeperStore(other.engine).advance(CHECKPOINT, first.window_start, first.window_start)
    elsewhere = sweep_unreported_runs(routing, closed_now(), state=other)
    assert {run.flow_run_id: run.decision for run in elsewhere.runs}[run_id] == "reported"
    assert len(slack_posts(httpserver)) == 1


def test_a_failure_reported_by_its_hook_then_swept_is_one_notification(
    httpserver: HTTPServer, slack: SlackChannel, state: DispatchState
) -> None:
    start_here(state)

    @with_alerts(destinations=[slack])
    @flow(name="sweep-hooked")
    def hooked() -> None:
        raise ValueError("bad row 12")

    final = hooked(return_state=True)
    run_id = str(final.state_details.flow_run_id)
    assert len(slack_posts(httpserver)) == 1  # the hook's alert, written to the worker's store

    # The aggregator runs elsewhere (its own store): only the server's events tell it the hook reported.
    poll_alert_events(flow_run_id=run_id)  # the server has it (a few seconds late)
    swept = sweep_unreported_runs(routing_to(slack), closed_now(), state=state)
    assert [(run.flow_run_id, run.decision) for run in swept.runs] == [(run_id, "reported")]
    assert len(slack_posts(httpserver)) == 1

    # On the worker's own machine the history says so at once, with no event needed.
    worker = DispatchState.default()
    SweeperStore(worker.engine).advance(CHECKPOINT, swept.window_start, swept.window_start)
    local = sweep_unreported_runs(routing_to(slack), closed_now(), state=worker)
    assert {run.flow_run_id: run.decision for run in local.runs}[run_id] == "reported"
    assert len(slack_posts(httpserver)) == 1


def test_a_failed_run_without_hooks_is_alerted_with_its_error(
    httpserver: HTTPServer, slack: SlackChannel, state: DispatchState
) -> None:
    start_here(state)

    @flow(name="sweep-unhooked", retries=0)
    def unhooked(day: str) -> None:
        raise KeyError("<!channel> price")

    final = unhooked("2026-12-07", return_state=True)
    swept = sweep_unreported_runs(routing_to(slack), closed_now(), state=state)
    assert [run.decision for run in swept.runs] == ["alerted"]
    assert swept.alerted[0].flow_run_id == str(final.state_details.flow_run_id)
    post = slack_posts(httpserver)[0]
    text = slack_text(post)
    assert "Flow 'sweep-unhooked' failed: KeyError" in text
    assert "ended Failed and no alert was recorded" in text
    assert "<!channel>" not in text  # hostile text from the exception is escaped, never a mention
    assert field_texts(post)["parameters"] == "day=2026-12-07"


def test_a_run_still_inside_the_close_delay_waits_for_the_next_sweep(
    httpserver: HTTPServer, slack: SlackChannel, state: DispatchState
) -> None:
    started = start_here(state)
    crashed_run("sweep-late-window", "killed", pending=False)
    routing = routing_to(slack)

    too_soon = sweep_unreported_runs(routing, datetime.now(timezone.utc) + timedelta(seconds=5), state=state)
    assert too_soon.window_start is None and "next window closes" in (too_soon.note or "")
    assert slack_posts(httpserver) == []
    assert SweeperStore(state.engine).checkpoint(CHECKPOINT) == started  # not advanced

    later = sweep_unreported_runs(routing, closed_now(), state=state)
    assert [run.decision for run in later.runs] == ["alerted"]
    assert later.checkpoint == later.window_end
    assert len(slack_posts(httpserver)) == 1
    text = slack_text(slack_posts(httpserver)[0])
    assert "It never started running" not in text  # it ran, then its process died


def test_a_subflow_is_covered_by_its_failed_parent(
    httpserver: HTTPServer, slack: SlackChannel, state: DispatchState
) -> None:
    start_here(state)

    @flow(name="sweep-child")
    def child() -> None:
        raise RuntimeError("child broke")

    @flow(name="sweep-parent")
    def parent() -> None:
        child()

    parent(return_state=True)
    swept = sweep_unreported_runs(routing_to(slack), closed_now(), state=state)
    decisions = {run.flow_run_name: run.decision for run in swept.runs}
    assert sorted(decisions.values()) == ["alerted", "covered_by_parent"]
    posts = slack_posts(httpserver)
    assert len(posts) == 1
    assert "Flow 'sweep-parent' failed" in slack_text(posts[0])


def test_two_aggregators_sweeping_at_once_alert_once(
    httpserver: HTTPServer, slack: SlackChannel, state: DispatchState
) -> None:
    start_here(state)
    for number in range(3):
        crashed_run(f"sweep-race-{number}", "OOMKilled")
    routing = routing_to(slack)
    now = closed_now()
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(sweep_unreported_runs(routing, now, state=state)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    alerted = [run.flow_run_id for result in results for run in result.alerted]
    assert len(alerted) == 3 and len(set(alerted)) == 3
    assert len(slack_posts(httpserver)) == 3


def test_an_unreachable_api_raises_and_keeps_the_checkpoint(
    slack: SlackChannel, state: DispatchState, free_tcp_port: int
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    started = start_here(state)
    dead_api = f"http://127.0.0.1:{free_tcp_port}/api"
    with temporary_settings({PREFECT_API_URL: dead_api}), pytest.raises(httpx.ConnectError):
        sweep_unreported_runs(routing_to(slack), closed_now(), state=state)
    assert SweeperStore(state.engine).checkpoint(CHECKPOINT) == started


def test_sweeper_settings_come_from_the_routing_file() -> None:
    routing = AlertRouting.model_validate({"sweeper": {"close_delay": "2m", "first_lookback": "6h"}})
    assert routing.sweeper.close_delay == timedelta(minutes=2)
    assert routing.sweeper.first_lookback == timedelta(hours=6)
    assert routing.sweeper.queued_stale == timedelta(minutes=10)
    from prefect_alerts.routing import RoutingError

    with pytest.raises(RoutingError, match="sweeper"):
        AlertRouting.model_validate({"sweeper": {"first_lookback": "0s"}})
    with pytest.raises(RoutingError, match="sweeper"):
        AlertRouting.model_validate({"sweeper": {"lookback": "1h"}})


def test_the_documented_sweeper_defaults_are_the_models() -> None:
    from pathlib import Path

    from prefect_alerts.routing.durations import parse_duration

    text = Path(__file__).parents[2].joinpath("docs", "configuration.md").read_text()
    section = text.split("#### `sweeper`", 1)[1].split("\nThe rules:", 1)[0]
    documented = {}
    for line in section.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0] in SweeperSettings.model_fields:
            documented[cells[0]] = cells[1]
    defaults = SweeperSettings()
    assert set(documented) == set(SweeperSettings.model_fields)
    for key, value in documented.items():
        actual = getattr(defaults, key)
        if isinstance(actual, timedelta):
            assert parse_duration(value) == actual, key
        elif isinstance(actual, bool):
            assert value == str(actual).lower(), key
        else:
            assert int(value) == actual, key


@pytest.mark.parametrize(
    ("message", "started", "cause"),
    [
        ("Failed to pull image 'registry.example/etl:1.2': ErrImagePull", False, "Infrastructure failed"),
        ("Flow run infrastructure exited with non-zero status code 1.", False, "Infrastructure failed"),
        ("Flow run infrastructure exited with non-zero status code 137.", False, "Out of memory"),
        ("Flow run infrastructure exited with non-zero status code 137.", True, "Out of memory"),
        ("Flow run infrastructure exited with non-zero status code 1.", True, "Interrupted"),
    ],
)
def test_a_crash_before_the_flow_started_is_blamed_on_its_infrastructure(
    message: str, started: bool, cause: str
) -> None:
    from uuid import uuid4

    from prefect.client.schemas.objects import FlowRun
    from prefect.states import Crashed

    from prefect_alerts.monitoring.sweeper import sweeper_alert

    ended = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)
    run = FlowRun(
        id=uuid4(),
        name="quiet-otter",
        flow_id=uuid4(),
        state=Crashed(message=message),
        start_time=ended - timedelta(minutes=3) if started else None,
        end_time=ended,
        run_count=1 if started else 0,
    )
    alert = sweeper_alert(run, "nightly-etl")
    assert alert.fields["cause"] == cause
    assert ("It never started running." in alert.message) is (not started)
    if cause == "Infrastructure failed":
        assert "check the worker's logs for this run" in alert.message
        assert "Ctrl-C" not in alert.message
