"""Many processes, one store: exactly one notification; a SIGKILLed sender loses nothing."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.receivers import received_dict

WORKERS = 8
ROUNDS = 3


def _raise_same_alert(url: str, hook: str, barrier, errors, worker: int) -> None:  # type: ignore[no-untyped-def]
    os.environ["PREFECT_ALERTS_DATABASE_URL"] = url
    from prefect_alerts import Alert, send_alert
    from prefect_alerts.channels import SlackChannel

    slack = SlackChannel(url=hook)
    for round_ in range(ROUNDS):
        barrier.wait(timeout=60)
        try:
            send_alert(
                Alert(
                    title=f"Load failed (round {round_})",
                    severity="error",
                    event="flow_failed",
                    error_type=f"E{round_}",
                ),
                destinations=[slack],
            )
        except Exception as exc:  # every failure, "database is locked" above all, fails the test
            errors.put(f"worker {worker} round {round_}: {type(exc).__name__}: {exc}")


def test_eight_processes_raise_the_same_alert_one_delivery_per_round(
    httpserver: HTTPServer, dispatch_url: str
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    errors = context.Queue()
    workers = [
        context.Process(
            target=_raise_same_alert, args=(dispatch_url, httpserver.url_for("/hook"), barrier, errors, index)
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
    titles = sorted(received_dict(httpserver, index)["text"] for index in range(len(httpserver.log)))
    assert len(titles) == ROUNDS, titles
    assert [f"round {r}" in title for r, title in enumerate(titles)] == [True] * ROUNDS


_SENDER = textwrap.dedent(
    """
    import os, sys
    from prefect_alerts import Alert, send_alert
    from prefect_alerts.channels import PagerDutyChannel

    channel = PagerDutyChannel(routing_key="R" * 32, events_url=sys.argv[1])
    send_alert(Alert(title="Warehouse down", severity="critical", event="flow_crashed"), destinations=[channel], budget=5)
    print("sender finished", flush=True)  # never reached: the receiver kills us mid-request
    """
)

_FLUSHER = textwrap.dedent(
    """
    from datetime import datetime, timedelta, timezone
    from prefect_alerts import flush_outbox

    result = flush_outbox(now=datetime.now(timezone.utc) + timedelta(minutes=5))
    print(result)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_after_the_receiver_got_it_loses_nothing_and_keeps_the_dedup_key(
    httpserver: HTTPServer, dispatch_url: str, tmp_path: Path
) -> None:
    sender_pid: list[int] = []
    seen: list[Request] = []

    def kill_sender(request: Request) -> Response:
        seen.append(request)
        if len(seen) == 1:  # the first request: the sender dies before it can record success
            os.kill(sender_pid[0], signal.SIGKILL)
            time.sleep(0.2)
        return Response('{"status":"success","dedup_key":"x"}', status=202)

    httpserver.expect_request("/v2/enqueue").respond_with_handler(kill_sender)
    env = {**os.environ, "PREFECT_ALERTS_DATABASE_URL": dispatch_url}
    script = tmp_path / "sender.py"
    script.write_text(_SENDER)
    sender = subprocess.Popen(
        [sys.executable, str(script), httpserver.url_for("/v2/enqueue")],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    sender_pid.append(sender.pid)
    output, _ = sender.communicate(timeout=60)
    assert sender.returncode == -signal.SIGKILL
    assert "sender finished" not in output
    assert len(seen) == 1

    flusher = tmp_path / "flusher.py"
    flusher.write_text(_FLUSHER)
    first = subprocess.run(
        [sys.executable, str(flusher)], env=env, capture_output=True, text=True, timeout=60
    )
    assert first.returncode == 0, first.stderr
    assert "1 delivered" in first.stdout
    second = subprocess.run(
        [sys.executable, str(flusher)], env=env, capture_output=True, text=True, timeout=60
    )
    assert "0 delivered" in second.stdout
    assert len(seen) == 2
    keys = [json.loads(request.get_data(as_text=True))["dedup_key"] for request in seen]
    assert keys[0] == keys[1]
