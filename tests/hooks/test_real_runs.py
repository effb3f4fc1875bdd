"""Hooks on real runs that need more than one process or a real Prefect mechanism: a crash in a child process,
routing read from the saved block by a child with no file or variable, return-value checks on real tasks and
flows, a cancellation through a runner (``flow.serve``), and ``destinations=`` with no config at all on a task.

Every child process talks to the session's test server (its ``PREFECT_API_URL`` is passed on) and writes to this
test's alert store (``PREFECT_ALERTS_DATABASE_URL`` is inherited); its receiver is a local pytest-httpserver.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import flow, task
from pytest_httpserver import HTTPServer

from prefect_alerts.channels import SlackChannel
from prefect_alerts.hooks import alert_on_failure, alert_on_result
from prefect_alerts.routing import AlertRouting, clear_routing_cache, resolve_routing
from tests.hooks.helpers import field_texts, slack_posts, slack_text

pytestmark = pytest.mark.usefixtures("prefect_server")

# Cooldown off: a hook that fired twice would deliver twice, so "exactly one" is what the hooks did.
NO_COOLDOWN = {"defaults": {"cooldown": "0s", "repeat_interval": "0s"}}
CHILD_TIMEOUT = 120


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment for a child: the test server's API URL, the test's store (inherited from
    the ``fresh_store`` fixture), and no routing file."""
    from prefect.settings import PREFECT_API_URL

    env = {key: value for key, value in os.environ.items() if key != "PREFECT_ALERTS_CONFIG"}
    env["PREFECT_API_URL"] = str(
        PREFECT_API_URL.value()
    )  # the harness sets it as a setting, not in os.environ
    env.update(extra)
    return env


def run_child(code: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh Python process against the test server; fail the test with its stderr if the
    child itself fails."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=child_env(**extra),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def flow_runs_named(flow_name: str) -> list[Any]:
    """Every run of the flow called ``flow_name`` on the test server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])), limit=10)


def delete_block(slug: str, name: str) -> None:
    """Delete a saved block if it exists (blocks live on the session's server, shared by every test)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            document = client.read_block_document_by_name(name, block_type_slug=slug)
        except ObjectNotFound:
            return
        client.delete_block_document(document.id)


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def title(post: dict[str, Any]) -> str:
    return str(post["blocks"][0]["text"]["text"])


# 1. crash -------------------------------------------------------------------------------------------------
CRASHING_CHILD = """
    import os
    from prefect import flow
    from prefect_alerts.channels import SlackChannel
    from prefect_alerts.hooks import alert_on_crashed, with_alerts
    from prefect_alerts.routing import AlertRouting

    slack = SlackChannel(url=os.environ["HOOKRUNS_SLACK_URL"])
    routing = AlertRouting.model_validate({no_cooldown!r})

    @flow(name="hookruns-crash-direct", on_crashed=[alert_on_crashed(routing, destinations=[slack])])
    def crash_direct(day: str = "2026-12-06") -> None:
        raise KeyboardInterrupt  # what Ctrl-C does: the run is Crashed, on_crashed runs

    @with_alerts(routing=routing, destinations=[slack])
    @flow(name="hookruns-crash-with-alerts")
    def crash_with_alerts() -> None:
        raise SystemExit(3)  # a library calling sys.exit: Crashed too, and only on_crashed fires

    for crashing in (crash_direct, crash_with_alerts):
        try:
            crashing()
        except BaseException as exc:  # Prefect re-raises the interrupt after the hooks ran
            print("raised", type(exc).__name__, flush=True)
"""


def test_a_crash_in_a_child_process_sends_one_critical_alert(
    slack: SlackChannel, httpserver: HTTPServer
) -> None:
    result = run_child(
        CRASHING_CHILD.format(no_cooldown=NO_COOLDOWN), HOOKRUNS_SLACK_URL=httpserver.url_for("/hook")
    )
    assert result.stdout.splitlines()[-2:] == ["raised KeyboardInterrupt", "raised SystemExit"]

    posts = slack_posts(httpserver)
    assert [title(post) for post in posts] == [
        "🚨 CRITICAL: Flow 'hookruns-crash-direct' crashed",
        "🚨 CRITICAL: Flow 'hookruns-crash-with-alerts' crashed",
    ]
    for post, flow_name in zip(posts, ["hookruns-crash-direct", "hookruns-crash-with-alerts"], strict=True):
        (run,) = flow_runs_named(flow_name)  # the parent sees the child's run through the API
        assert run.state.is_crashed(), run.state
        text = slack_text(post)
        assert "event: `flow_crashed`" in text
        fields = field_texts(post)
        assert fields["flow run"] == run.name
        assert fields["cause"] == "Interrupted"
        assert "Suggested action: The run was interrupted (Ctrl-C, SIGTERM, SystemExit)" in text
    assert field_texts(posts[0])["parameters"] == "day=2026-12-06"
    assert field_texts(posts[0])["error"] == "KeyboardInterrupt"
    assert field_texts(posts[1])["error"] == "SystemExit"


# 2. routing from the saved block --------------------------------------------------------------------------
BLOCK_ROUTED_CHILD = """
    import os
    from prefect import flow
    from prefect_alerts.hooks import with_alerts

    assert "PREFECT_ALERTS_CONFIG" not in os.environ

    @flow(name="hookruns-block-routed")
    def nightly() -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    with_alerts(nightly)  # no routing, no destinations: the resolution order finds alert-routing/default
    print("failed:", nightly(return_state=True).is_failed(), flush=True)
"""


@pytest.fixture
def default_routing_block() -> Iterator[Callable[[AlertRouting], None]]:
    """Save ``alert-routing/default`` for one test and delete it afterwards: left on the session's server it
    would route every later test that relies on "no config means the console"."""
    delete_block("alert-routing", "default")
    try:
        yield lambda routing: routing.save_block()  # alert-routing/default
    finally:
        delete_block("alert-routing", "default")
        clear_routing_cache()


def test_a_child_with_no_file_or_variable_routes_through_the_saved_block(
    httpserver: HTTPServer, default_routing_block: Callable[[AlertRouting], None]
) -> None:
    from prefect_slack import SlackWebhook  # prefect-slack's block: the core one (apprise) logs its URL

    httpserver.expect_request("/services/T0/B0/routed", method="POST").respond_with_data("ok")
    slack_block = "hookruns-routed"
    SlackWebhook(url=httpserver.url_for("/services/T0/B0/routed")).save(slack_block, overwrite=True)
    try:
        # The route's mention proves the alert came through this route, not the default.
        default_routing_block(
            AlertRouting.model_validate(
                {
                    **NO_COOLDOWN,
                    "routes": [
                        {
                            "name": "run-health",
                            "match": {"event": "flow_*", "flow": "hookruns-*"},
                            "destinations": [f"slack:{slack_block}"],
                            "mentions": ["<!here>"],
                        }
                    ],
                    "default": [],
                }
            )
        )
        result = run_child(BLOCK_ROUTED_CHILD)
    finally:
        delete_block("slack-incoming-webhook", slack_block)
    assert result.stdout.splitlines()[-1] == "failed: True"
    (post,) = slack_posts(httpserver)
    assert title(post) == "🔴 ERROR: Flow 'hookruns-block-routed' failed: ConnectionRefusedError"
    assert post["text"].startswith("<!here> ")
    assert "event: `flow_failed`" in slack_text(post)
    assert field_texts(post)["cause"] == "Connection failed"


def test_no_routing_is_left_behind_for_later_tests() -> None:
    # Runs after the block test in file order: the resolution order is back to the console.
    clear_routing_cache()
    assert resolve_routing(None) == AlertRouting(default=["console"])


# 3. return values ------------------------------------------------------------------------------------------
def no_matches(rows: list[str]) -> str | None:
    return "no matches" if not rows else None


def low_confidence(scores: dict[str, float]) -> dict[str, Any] | None:
    low = {name: score for name, score in scores.items() if score < 0.7}
    return {"below 0.7": low, "lowest": min(scores.values())} if low else None


def test_result_checks_on_a_real_task_and_flow(slack: SlackChannel, httpserver: HTTPServer) -> None:
    routing = AlertRouting.model_validate(NO_COOLDOWN)

    @task(name="search", on_completion=[alert_on_result(no_matches, routing, destinations=[slack])])
    def search(rows: list[str]) -> list[str]:
        return rows

    @flow(
        name="hookruns-scoring",
        on_completion=[alert_on_result(low_confidence, routing, destinations=[slack])],
    )
    def scoring(rows: list[str], scores: dict[str, float]) -> dict[str, float]:
        search(rows)
        return scores

    scoring(["a"], {"model-a": 0.91, "model-b": 0.7})  # good values: no alert
    assert httpserver.log == []

    scoring([], {"model-a": 0.91, "model-b": 0.42})
    task_post, flow_post = slack_posts(httpserver)
    assert title(task_post) == "⚠️ WARNING: Task 'search' result check failed: no matches"
    assert field_texts(task_post)["result"] == "[] (empty list)"
    assert field_texts(task_post)["check"] == "no_matches"
    assert "event: `result_check_failed`" in slack_text(task_post)
    assert title(flow_post).startswith("⚠️ WARNING: Flow 'hookruns-scoring' result check failed")
    flow_fields = field_texts(flow_post)
    assert flow_fields["lowest"] == "0.42"
    assert "model-b" in flow_fields["below 0.7"] and "0.42" in flow_fields["below 0.7"]
    assert "model-a" not in flow_fields["below 0.7"]
    assert flow_fields["check"] == "low_confidence"

    bad_task_run = field_texts(task_post)["task run"]
    scoring(["a", "b"], {"model-a": 0.91})  # good again: each check resolves its own alert, nothing new fires
    task_resolve, flow_resolve = slack_posts(httpserver)[2:]
    assert title(task_resolve) == "✅ RESOLVED: Task 'search' result check failed: no matches"
    assert title(flow_resolve) == "✅ RESOLVED: Flow 'hookruns-scoring' result check failed: low_confidence"
    # The all-clear describes the run that passes, not the failed run's bad values.
    resolved_fields = field_texts(task_resolve)
    assert resolved_fields["result"] == "list of 2: ['a', 'b']"
    assert resolved_fields["failed run"] == bad_task_run
    assert resolved_fields["resolved by"] != bad_task_run
    assert "lowest" not in field_texts(flow_resolve) and "below 0.7" not in field_texts(flow_resolve)
    assert field_texts(flow_resolve)["result"] == "dict of 1: {'model-a': 0.91}"
    scoring(["a"], {"model-a": 0.91})  # still good: nothing is firing, nothing is sent
    assert len(httpserver.log) == 4


# 4. cancellation -------------------------------------------------------------------------------------------
SERVED_FLOW = """
import os
import time

from prefect import flow
from prefect_alerts.channels import SlackChannel
from prefect_alerts.hooks import with_alerts
from prefect_alerts.routing import AlertRouting

slack = SlackChannel(url=os.environ["HOOKRUNS_SLACK_URL"])


@flow(name="hookruns-cancelled")
def long_load() -> None:
    time.sleep(60)


with_alerts(long_load, routing=AlertRouting.model_validate({no_cooldown!r}), destinations=[slack])

if __name__ == "__main__":
    long_load.serve(name="hookruns", limit=1)
"""


def test_a_cancelled_run_sends_one_flow_cancelled_alert(
    slack: SlackChannel, httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Cancelling is a request to whoever runs the flow: an in-process call has nobody watching for it, so
    the real path is a runner (``flow.serve``, as users run deployments). The test serves the flow in a child,
    starts a run, marks it Cancelling through the client (what the UI's Cancel button does), and the runner
    stops the run's process and runs its ``on_cancellation`` hooks."""
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelling

    (tmp_path / "served.py").write_text(SERVED_FLOW.format(no_cooldown=NO_COOLDOWN))
    runner = subprocess.Popen(
        [sys.executable, "served.py"],
        cwd=tmp_path,
        env=child_env(HOOKRUNS_SLACK_URL=httpserver.url_for("/hook"), PREFECT_RUNNER_POLL_FREQUENCY="1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with get_client(sync_client=True) as client:
            deployment = wait_for(
                lambda: _deployment(client, "hookruns-cancelled/hookruns"), 60, "the served deployment"
            )
            run = client.create_flow_run_from_deployment(deployment.id)
            wait_for(lambda: client.read_flow_run(run.id).state.is_running(), 60, "the run to start")
            client.set_flow_run_state(run.id, Cancelling(message="cancelled by the test"), force=True)
            final = wait_for(
                lambda: (state := client.read_flow_run(run.id).state).is_cancelled() and state,
                60,
                "the run to be cancelled",
            )
        wait_for(lambda: httpserver.log, 30, "the cancellation alert")
        time.sleep(1.0)  # a second hook call (the run's process and the runner both) would land by now
    finally:
        runner.send_signal(signal.SIGTERM)
        try:
            runner.wait(timeout=20)
        except subprocess.TimeoutExpired:
            runner.kill()
            runner.wait()
    assert final.is_cancelled()
    (post,) = slack_posts(httpserver)
    assert title(post) == "⚠️ WARNING: Flow 'hookruns-cancelled' (hookruns) was cancelled"
    text = slack_text(post)
    assert "event: `flow_cancelled`" in text
    assert "Suggested action: The run was cancelled by a person or an automation" in text
    fields = field_texts(post)
    assert fields["flow run"] == run.name and fields["deployment"] == "hookruns"


def _deployment(client: Any, name: str) -> Any:
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_deployment_by_name(name)
    except ObjectNotFound:
        return None


# 5. destinations= with no config ---------------------------------------------------------------------------
def test_a_task_hook_with_destinations_and_no_config_alerts_once_after_the_last_retry(
    slack: SlackChannel, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    assert resolve_routing(None) == AlertRouting(default=["console"])  # no file, variable or block
    attempts: list[int] = []

    @task(
        name="fetch-rates",
        retries=2,
        retry_delay_seconds=0,
        on_failure=[alert_on_failure(destinations=[slack])],
    )
    def fetch_rates() -> None:
        attempts.append(1)
        raise PermissionError(13, "Permission denied", "/data/rates.csv")

    @flow(name="hookruns-rates")
    def rates() -> None:
        fetch_rates()

    caplog.set_level(logging.INFO)
    assert rates(return_state=True).is_failed()
    assert len(attempts) == 3
    (post,) = slack_posts(httpserver)
    assert title(post) == "🔴 ERROR: Task 'fetch-rates' failed after 3 attempts: PermissionError"
    assert "event: `task_failed`" in slack_text(post)
    fields = field_texts(post)
    assert fields["attempt"] == "3 of 3"
    assert fields["cause"] == "Permission denied"
    # The cooldown would hide a second send from the receiver: count the hook's own sends instead.
    sends = [r for r in caplog.records if r.getMessage().startswith("prefect-alerts: alert ")]
    assert len(sends) == 1, [r.getMessage() for r in sends]
    assert "delivered" in sends[0].getMessage()
