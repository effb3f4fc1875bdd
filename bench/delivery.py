"""Delivery latency against local receivers, with baselines measured in the same run.

    .venv/bin/python bench/delivery.py [--slack-runs 100] [--email-runs 10]

Slack: the median of N `SlackChannel.send` calls to a local pytest-httpserver receiver, against prefect-slack's
`SlackWebhook.notify` (a new urllib connection per call, plain text only) and a bare `urllib` POST of the same
Block Kit payload. Email: the median of single `EmailChannel.send` deliveries to a local aiosmtpd server, against
a bare `smtplib` send of a comparable message. Every receiver's count is checked. The last line is one JSON
object: our figures under "ours", the baselines' under "baseline", and the ratios.
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import shutil
import smtplib
import socket
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

if "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="prefect-alerts-bench-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the receiver's access log is noise here


def _interleaved_medians_ms(
    actions: dict[str, Callable[[], object]], runs: int, warmup: int = 3
) -> dict[str, float]:
    """Median milliseconds per action, the actions taking turns (one call each per round), so a burst of load
    from another process on a shared machine hits every contender alike instead of one block of runs."""
    for _ in range(warmup):
        for action in actions.values():
            action()
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_slack(runs: int) -> dict[str, float]:
    from prefect_slack import SlackWebhook
    from pytest_httpserver import HTTPServer

    from prefect_alerts import Alert
    from prefect_alerts.channels import SlackChannel

    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/services/T0/B0/bench").respond_with_data("ok")
    server.start()
    try:
        url = server.url_for("/services/T0/B0/bench")
        alert = Alert(
            title="Nightly load failed",
            message="ValueError: column 'amount' has 1,204 nulls",
            severity="error",
            event="flow_failed",
            fields={"rows": 120_000, "null_share": 0.01},
            source={"flow_name": "etl", "flow_run_name": "happy-otter"},
        )
        channel = SlackChannel(url)
        block = SlackWebhook(url=url)
        payload = json.dumps(channel.build_payload(alert)).encode()

        def ours() -> None:
            result = channel.send(alert)
            assert result.ok, result

        def prefect_slack() -> None:
            block.notify("Nightly load failed: ValueError: column 'amount' has 1,204 nulls", _sync=True)

        def bare_urllib() -> None:
            request = urllib.request.Request(url, data=payload, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.read() == b"ok"

        before = len(server.log)
        medians = _interleaved_medians_ms(
            {"ours": ours, "prefect_slack": prefect_slack, "bare_urllib": bare_urllib}, runs
        )
        figures = {
            "slack_send_median_ms": medians["ours"],
            "prefect_slack_notify_median_ms": medians["prefect_slack"],
            "urllib_post_median_ms": medians["bare_urllib"],
        }
        received = len(server.log) - before
        expected = 3 * (runs + 3)
        if received != expected:
            raise SystemExit(f"the Slack receiver got {received} requests, expected {expected}")
        return figures
    finally:
        server.stop()


def bench_email(runs: int) -> dict[str, float]:
    from aiosmtpd.controller import Controller
    from prefect_email import EmailServerCredentials

    from prefect_alerts import Alert
    from prefect_alerts.channels import EmailChannel

    class Counter:
        count = 0

        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            Counter.count += 1
            return "250 OK"

    port = _free_port()
    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        credentials = EmailServerCredentials(smtp_server="127.0.0.1", smtp_type="INSECURE", smtp_port=port)
        channel = EmailChannel(
            credentials=credentials, email_from="alerts@example.com", email_to=["oncall@example.com"]
        )
        alert = Alert(
            title="Nightly load failed",
            message="ValueError: column 'amount' has 1,204 nulls",
            severity="error",
            fields={"rows": 120_000, "null_share": 0.01},
        )

        def ours() -> None:
            result = channel.send(alert)
            assert result.ok, result

        def bare_smtplib() -> None:
            message = EmailMessage(policy=SMTP_POLICY)
            message["Subject"] = "[prefect-alerts] [ERROR] Nightly load failed"
            message["From"], message["To"] = "alerts@example.com", "oncall@example.com"
            message.set_content("ValueError: column 'amount' has 1,204 nulls")
            message.add_alternative("<p>ValueError: column 'amount' has 1,204 nulls</p>", subtype="html")
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                smtp.send_message(message)

        medians = _interleaved_medians_ms({"ours": ours, "smtplib": bare_smtplib}, runs, warmup=1)
        figures = {"email_send_median_ms": medians["ours"], "smtplib_send_median_ms": medians["smtplib"]}
        expected = 2 * (runs + 1)
        if Counter.count != expected:
            raise SystemExit(f"the SMTP receiver got {Counter.count} messages, expected {expected}")
        return figures
    finally:
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slack-runs", type=int, default=100)
    parser.add_argument("--email-runs", type=int, default=10)
    args = parser.parse_args()

    slack = bench_slack(args.slack_runs)
    if args.email_runs <= 0:
        print(json.dumps({"ours": {"slack_send_median_ms": round(slack["slack_send_median_ms"], 4)}}))
        return
    email = bench_email(args.email_runs)
    ours = {
        "slack_send_median_ms": slack["slack_send_median_ms"],
        "email_send_median_ms": email["email_send_median_ms"],
    }
    baseline = {
        "prefect_slack_notify_median_ms": slack["prefect_slack_notify_median_ms"],
        "urllib_post_median_ms": slack["urllib_post_median_ms"],
        "smtplib_send_median_ms": email["smtplib_send_median_ms"],
    }
    ratios = {
        "slack_vs_prefect_slack_notify": ours["slack_send_median_ms"]
        / baseline["prefect_slack_notify_median_ms"],
        "slack_vs_urllib_post": ours["slack_send_median_ms"] / baseline["urllib_post_median_ms"],
        "email_vs_smtplib": ours["email_send_median_ms"] / baseline["smtplib_send_median_ms"],
    }
    print(f"Slack, median of {args.slack_runs} deliveries to a local receiver:")
    print(f"  prefect-alerts SlackChannel.send   {ours['slack_send_median_ms']:7.3f} ms")
    print(f"  prefect-slack SlackWebhook.notify  {baseline['prefect_slack_notify_median_ms']:7.3f} ms")
    print(f"  bare urllib POST                   {baseline['urllib_post_median_ms']:7.3f} ms")
    print(f"  ratio ours / prefect-slack: {ratios['slack_vs_prefect_slack_notify']:.2f}x")
    print(f"Email, median of {args.email_runs} single deliveries to a local SMTP server:")
    print(f"  prefect-alerts EmailChannel.send   {ours['email_send_median_ms']:7.3f} ms")
    print(f"  bare smtplib send_message          {baseline['smtplib_send_median_ms']:7.3f} ms")
    print(f"  ratio ours / smtplib: {ratios['email_vs_smtplib']:.2f}x")
    rounded = {
        key: {k: round(v, 4) for k, v in group.items()}
        for key, group in (("ours", ours), ("baseline", baseline), ("ratios", ratios))
    }
    print(json.dumps(rounded))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
