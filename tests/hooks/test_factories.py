"""The hook factories end to end: real flows and tasks under the harness, delivering through send_alert to a
real Slack receiver (pytest-httpserver), with no routing config (``destinations=`` is a direct route)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from prefect import flow, task
from prefect.cache_policies import INPUTS
from pytest_httpserver import HTTPServer

from prefect_alerts.channels import SlackChannel, WebhookChannel
from prefect_alerts.hooks import (
    alert_on_completion,
    alert_on_crashed,
    alert_on_failure,
    sla,
)
from prefect_alerts.routing import AlertRouting
from tests.hooks.helpers import field_texts, slack_posts, slack_text

# Cooldown off, so a test can tell "the hook sent nothing" from "the pipeline suppressed a repeat".
NO_COOLDOWN = AlertRouting.model_validate({"defaults": {"cooldown": "0s", "repeat_interval": "0s"}})


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A URL whose server accepts TCP connections and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    finally:
        listener.close()


def test_failure_reaches_slack_with_context_and_no_config(
    prefect_server: None, slack: SlackChannel, httpserver: HTTPServer
) -> None:
    @flow(
        name="orders-etl",
        on_failure=[alert_on_failure(destinations=[slack], message="Feeds the 07:00 report")],
    )
    def etl(day: str = "2026-12-06", warehouse_password: str = "pw-0123456789") -> None:
        logging.getLogger("orders").error("warehouse rejected batch 7")
        raise KeyError("customer_id")

    state = etl(return_state=True)
    assert state.is_failed()  # the hook changed nothing about the run
    (post,) = slack_posts(httpserver)
    assert post["blocks"][0]["text"]["text"] == "🔴 ERROR: Flow 'orders-etl' failed: KeyError"
    body = post["attachments"][0]["blocks"][0]["text"]["text"]
    assert body.startswith("Feeds the 07:00 report\n'customer_id'\nSuggested action: A column or key")
    assert "warehouse rejected batch 7" in body
    fields = field_texts(post)
    assert fields["error"] == "KeyError" and fields["cause"] == "Missing column or key"
    assert fields["parameters"] == "day=2026-12-06, warehouse_password=***"
    assert "pw-0123456789" not in slack_text(post)
    assert "event: `flow_failed`" in slack_text(post)


def test_retries_then_failure_sends_one_alert(
    prefect_server: None, slack: SlackChannel, httpserver: HTTPServer
) -> None:
    attempts: list[int] = []

    @task(
        retries=2,
        retry_delay_seconds=0,
        on_failure=[alert_on_failure(routing=NO_COOLDOWN, destinations=[slack])],
    )
    def flaky() -> None:
        attempts.append(1)
        raise ConnectionResetError("reset by peer")

    @flow(
        retries=1,
        retry_delay_seconds=0,
        on_failure=[alert_on_failure(routing=NO_COOLDOWN, destinations=[slack])],
    )
    def nightly() -> None:
        flaky()

    nightly(return_state=True)
    assert len(attempts) == 6  # 2 flow attempts x 3 task attempts
    titles = [post["blocks"][0]["text"]["text"] for post in slack_posts(httpserver)]
    # One alert per task run (each after its last retry), one after the flow's last retry: one flow run, so
    # one incident. The first task alert pages; the second task run's folds silently into the incident, and
    # the flow's failure is its one follow-up.
    assert titles == [
        "🔴 ERROR: Task 'flaky' failed after 3 attempts: ConnectionResetError",
        "🔴 ERROR: Flow 'nightly' failed: ConnectionResetError "
        "(after: Task 'flaky' failed after 3 attempts: ConnectionResetError)",
    ]
    assert field_texts(slack_posts(httpserver)[-1])["attempt"] == "2 of 2"


def test_timeout_is_reported_as_timeout(
    prefect_server: None, slack: SlackChannel, httpserver: HTTPServer
) -> None:
    @flow(name="slow-load", timeout_seconds=0.3, on_failure=[alert_on_failure(destinations=[slack])])
    def slow() -> None:
        time.sleep(2)

    slow(return_state=True)
    (post,) = slack_posts(httpserver)
    assert post["blocks"][0]["text"]["text"].startswith("🔴 ERROR: Flow 'slow-load' timed out after ")
    assert "event: `flow_timeout`" in slack_text(post)
    assert field_texts(post)["cause"] == "Timed out"


def test_completion_after_failure_resolves_with_the_same_dedup_key(
    prefect_server: None, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/ingest", method="POST").respond_with_data("ok")
    webhook = WebhookChannel(httpserver.url_for("/ingest"))
    hooks = {"destinations": [webhook]}

    @flow(
        name="healing", on_failure=[alert_on_failure(**hooks)], on_completion=[alert_on_completion(**hooks)]
    )
    def healing(fail: bool) -> None:
        if fail:
            raise ValueError("bad input")

    healing(True, return_state=True)
    healing(False, return_state=True)
    healing(False, return_state=True)  # nothing is firing any more: no noise
    posts = [post["alert"] for post in slack_posts(httpserver)]
    assert [(p["status"], p["event"]) for p in posts] == [
        ("firing", "flow_failed"),
        ("resolved", "flow_failed"),
    ]
    firing, resolved = posts
    assert firing["dedup_key"] == resolved["dedup_key"]  # what PagerDuty resolves the incident by
    assert resolved["message"].startswith("Recovered: flow run ")
    assert resolved["source"]["flow_run_id"] != firing["source"]["flow_run_id"]


def test_completion_does_not_resolve_another_deployment_or_data_alerts(
    prefect_server: None, httpserver: HTTPServer
) -> None:
    from prefect_alerts import Alert, Source, send_alert

    httpserver.expect_request("/ingest", method="POST").respond_with_data("ok")
    webhook = WebhookChannel(httpserver.url_for("/ingest"))
    # A failure of the same flow under a deployment, and a data-check alert of this flow: neither is healed by
    # a local run completing.
    send_alert(
        Alert(
            title="prod failed",
            event="flow_failed",
            source=Source(flow_name="shared", deployment_name="prod"),
        ),
        destinations=[webhook],
    )
    send_alert(
        Alert(title="drift", event="drift_detected", source=Source(flow_name="shared")),
        destinations=[webhook],
    )

    @flow(name="shared", on_completion=[alert_on_completion(destinations=[webhook])])
    def shared() -> None:
        pass

    shared()
    assert [p["alert"]["status"] for p in slack_posts(httpserver)] == ["firing", "firing"]


def test_cached_completion_makes_no_noise(
    prefect_server: None, slack: SlackChannel, httpserver: HTTPServer
) -> None:
    done = alert_on_completion(
        routing=NO_COOLDOWN, destinations=[slack], notify_success=True, success_message="rows loaded"
    )

    @task(cache_policy=INPUTS, on_completion=[done])
    def load(day: str) -> int:
        return 42

    @flow
    def daily(day: str) -> None:
        load(day)

    daily("2026-12-05")
    daily("2026-12-06")
    assert len(httpserver.log) == 2  # two real completions: two success notes
    daily("2026-12-06")  # the same input again: Cached
    assert len(httpserver.log) == 2
    post = slack_posts(httpserver)[0]
    assert post["blocks"][0]["text"]["text"] == "✅ SUCCESS: Task 'load' completed"
    assert "rows loaded" in slack_text(post)


def test_sla_breach_for_flows_and_slow_tasks(
    prefect_server: None, slack: SlackChannel, httpserver: HTTPServer
) -> None:
    late = sla("0.2s", destinations=[slack])

    @task(on_completion=[sla(0.1, destinations=[slack])])
    def crunch(seconds: float) -> None:
        time.sleep(seconds)

    @flow(name="report", on_completion=[late], on_failure=[late])
    def report(seconds: float) -> None:
        crunch(seconds)

    report(0.01)
    assert httpserver.log == []
    report(0.3)
    first, second = slack_posts(httpserver)
    assert first["blocks"][0]["text"]["text"].startswith("⚠️ WARNING: Task 'crunch' took ")
    assert "event: `task_slow`" in slack_text(first)
    assert second["blocks"][0]["text"]["text"].startswith("⚠️ WARNING: Flow 'report' took ")
    assert "(limit 200ms)" in second["blocks"][0]["text"]["text"]
    assert "event: `sla_violation`" in slack_text(second)
    assert field_texts(second)["limit"] == "200ms"
    with pytest.raises(ValueError, match="not a duration"):
        sla("soon")
    assert sla("1h30m").settings["max_duration"].total_seconds() == 5400


def test_async_flows_with_sync_and_async_hooks(prefect_server: None, httpserver: HTTPServer) -> None:
    for path in ("/sync", "/async", "/sync-flow"):
        httpserver.expect_request(path, method="POST").respond_with_data("ok")

    def channel(path: str) -> SlackChannel:
        return SlackChannel(url=httpserver.url_for(path))

    @flow(name="async-sync-hook", on_failure=[alert_on_failure(destinations=[channel("/sync")])])
    async def with_sync_hook() -> None:
        raise ValueError("from an async flow")

    @flow(name="async-async-hook", on_failure=[alert_on_failure(destinations=[channel("/async")]).as_async()])
    async def with_async_hook() -> None:
        raise ValueError("from an async flow")

    @flow(
        name="sync-async-hook", on_failure=[alert_on_failure(destinations=[channel("/sync-flow")]).as_async()]
    )
    def sync_with_async_hook() -> None:
        raise ValueError("from a sync flow")

    asyncio.run(with_sync_hook(return_state=True))
    asyncio.run(with_async_hook(return_state=True))
    sync_with_async_hook(return_state=True)
    paths = [request.path for request, _ in httpserver.log]
    assert paths == ["/sync", "/async", "/sync-flow"]
    for post in slack_posts(httpserver):
        assert "coroutine" not in slack_text(post)
        assert "ValueError" in post["blocks"][0]["text"]["text"]


def test_async_hook_leaves_the_event_loop_free_and_stays_in_budget(
    prefect_server: None, black_hole: str
) -> None:
    ticks: list[float] = []
    hook = alert_on_failure(
        destinations=[SlackChannel(url=black_hole, read_timeout=5)], budget=0.6
    ).as_async()

    @flow(on_failure=[hook])
    async def doomed() -> None:
        raise ValueError("x")

    async def main() -> float:
        async def ticker() -> None:
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.05)

        ticking = asyncio.create_task(ticker())
        started = time.monotonic()
        await doomed(return_state=True)
        elapsed = time.monotonic() - started
        ticking.cancel()
        return elapsed

    elapsed = asyncio.run(main())
    # The budget plus a flow run's own cost (seconds on a loaded CI machine), well below the 5 s the black hole
    # would hold an unbounded send.
    assert elapsed < 0.6 + 3.5, elapsed
    assert len(ticks) >= 10  # the loop kept serving while delivery waited on the black hole


def test_dead_receiver_is_bounded_by_the_budget_and_queued(
    prefect_server: None, black_hole: str, caplog: pytest.LogCaptureFixture
) -> None:
    @flow(
        on_failure=[
            alert_on_failure(destinations=[SlackChannel(url=black_hole, read_timeout=10)], budget=0.5)
        ]
    )
    def doomed() -> None:
        raise ValueError("x")

    started = time.monotonic()
    doomed(return_state=True)
    assert time.monotonic() - started < 0.5 + 2.0
    assert any(
        "queued" in record.getMessage() and record.levelno == logging.WARNING for record in caplog.records
    )


def test_hostile_text_arrives_escaped(
    prefect_server: None, slack: SlackChannel, httpserver: HTTPServer
) -> None:
    @flow(name="hostile", on_failure=[alert_on_failure(destinations=[slack])])
    def hostile(note: str = "<!here> hi") -> None:
        logging.getLogger("x").error("<!everyone> in a log line")
        raise ValueError("<!channel> <@U024BE7LH> & <https://evil.example|click me>")

    hostile(return_state=True)
    raw = httpserver.log[0][0].get_data(as_text=True)
    text = json.loads(raw)
    dumped = slack_text(text)
    for mention in ("<!channel>", "<!here>", "<!everyone>", "<@U024BE7LH>", "<https://evil.example"):
        assert mention not in dumped
    assert "&lt;!channel&gt;" in dumped and "&lt;!everyone&gt;" in dumped and "&amp;" in dumped


def test_invalid_routing_is_logged_and_the_alert_printed(
    prefect_server: None, tmp_path: Any, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "alerts.yaml"
    config.write_text("routes:\n  - name: pages\n    destinatons: [slack:oncall]\n")

    @flow(
        name="misrouted",
        on_crashed=[alert_on_crashed(routing=config)],
        on_failure=[alert_on_failure(routing=config)],
    )
    def misrouted() -> None:
        raise ValueError("routing is broken")

    assert misrouted(return_state=True).is_failed()
    errors = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.ERROR and "prefect-alerts" in r.getMessage()
    ]
    assert errors and "invalid routing config" in errors[0] and "destinatons" in errors[0]
    assert "printed to the console" in errors[0]
    assert "Flow 'misrouted' failed: ValueError" in capfd.readouterr().err


def test_a_hook_never_raises_into_prefect(prefect_server: None, caplog: pytest.LogCaptureFixture) -> None:
    hook = alert_on_failure(destinations=["console"])
    assert hook(None, None, None) is None  # called wrongly: logged, not raised
    assert any("without a run or state" in r.getMessage() for r in caplog.records)
    assert hook.__name__ == "alert_on_failure" and repr(hook) == "<alert_on_failure hook>"
