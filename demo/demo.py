"""End-to-end demo, no credentials needed: `make demo`.

Starts local stand-ins for Slack, PagerDuty, Discord, a webhook receiver and an SMTP server (demo/sinks.py),
starts an embedded Prefect server, saves the blocks a real user would save (all named "demo", pointing at the
stand-ins), and then uses prefect-alerts the way a pipeline would:

1. flows with `with_alerts(routing="demo/alerts.yaml")`: a sync flow and an async flow fail and page the on-call;
   a sync hook of our own (on both, so also on the async flow) files a ticket with `state_error(state)`; the sync
   flow's next run completes and resolves its alert;
2. the check tasks on a bad batch, routed to the data team;
3. `send_alert(..., destinations=[...])` from code, one alert of each severity through every channel;

and finally prints what each stand-in received, as a person would read it (demo/report.py).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Keep the demo off the user's ~/.prefect and their server; a heartbeat would cost a second per flow run.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="prefect-alerts-demo-")
atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
os.environ.pop("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", None)
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_ALERTS_CONFIG", None)
DEMO_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(DEMO_DIR.parent))

from report import Expected, check_counts, print_received  # noqa: E402
from sinks import Sinks, save_blocks  # noqa: E402

ROUTING = DEMO_DIR / "alerts.yaml"

# What the two failing flows raise; the test checks each reaches the sinks. The mention stays inert in Slack.
ORDERS_FAILURE = "column 'amount' has 1,204 nulls in batch 2026-11-25 <@U123>"
FEATURES_FAILURE = "feature store features.internal:6379 refused the connection"
EXPECTED_FAILURES = {ORDERS_FAILURE, FEATURES_FAILURE}


class _HideExpectedFailures(logging.Filter):
    """Prefect logs each flow exception with its traceback, and the final Failed state; the demo's two
    failures are on purpose, so the console shows the alerts instead. Anything else (a real bug) still prints
    in full."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        error = record.exc_info[1] if record.exc_info else None
        expected_exception = text.startswith("Encountered exception during execution") and (
            str(error) in EXPECTED_FAILURES
        )
        expected_state = text.startswith("Finished in state Failed") and any(
            failure in text for failure in EXPECTED_FAILURES
        )
        return not (expected_exception or expected_state)


def _quiet_expected_failures() -> None:
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in logging.root.manager.loggerDict)]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, PrefectConsoleHandler):
                handler.addFilter(_HideExpectedFailures())


def open_ticket(flow: Any, flow_run: Any, state: Any) -> None:
    """A hook of your own: file a ticket in the team's tracker (here: the webhook stand-in).

    Sync, and also attached to an async flow: `state_error` is safe there, where
    `state.result(raise_on_failure=False)` would hand back an un-awaited coroutine.
    """
    from prefect_alerts import Alert, Source, send_alert, state_error

    error = state_error(state)
    if error is None:
        return
    ticket = Alert(
        title=f"Ticket: {flow.name} failed with {error.type}",
        message=error.message,
        severity="warning",
        event="ticket_opened",
        error_type=error.type,
        fields={"state": error.state_name, "traceback": "\n".join(error.traceback)},
        source=Source(flow_name=flow.name, flow_run_id=str(flow_run.id), flow_run_name=flow_run.name),
        tags=["demo", "ticket"],
    )
    send_alert(ticket, destinations=["webhook:demo"])


def run_flows() -> None:
    """Two flows fail (one sync, one async) and page through the routing file; the sync one then recovers."""
    from prefect import flow

    from prefect_alerts.hooks import with_alerts

    @with_alerts(routing=ROUTING)
    @flow(name="nightly-orders", on_failure=[open_ticket])
    def nightly_orders(fail: bool = True) -> int:
        if fail:
            raise ValueError(ORDERS_FAILURE)
        return 1204

    @with_alerts(routing=ROUTING)
    @flow(name="refresh-features", on_failure=[open_ticket])
    async def refresh_features() -> int:
        await asyncio.sleep(0)
        raise ConnectionError(FEATURES_FAILURE)

    print("(Each panel is the console destination of route 'pages'; PagerDuty and Slack get the same alert.)")
    print("-- nightly-orders (a sync flow) fails:")
    nightly_orders(return_state=True)
    print("-- refresh-features (an async flow) fails:")
    asyncio.run(refresh_features(return_state=True))
    print("-- nightly-orders runs again and completes, which resolves its alert:")
    nightly_orders(fail=False)


def run_checks() -> list[str]:
    """The volume, quality and drift checks on a bad batch, alerting through the same routing file."""
    from prefect import flow

    @flow(name="orders-checks")
    def orders_checks() -> list[str]:
        import numpy as np
        import pandas as pd

        from prefect_alerts.checks import InRange, check_data_quality, check_data_volume, detect_drift

        rng = np.random.default_rng(7)
        reference = pd.DataFrame(
            {"amount": rng.normal(100, 10, 5000), "country": rng.choice(["DE", "FR", "US"], 5000)}
        )
        current = pd.DataFrame(
            {
                "amount": rng.normal(112, 10, 4000),
                "country": rng.choice(["DE", "FR", "US", "<!channel>"], 4000),
            }
        )
        results = [
            check_data_volume(current, history=[5000, 5100, 4950, 5020, 4980, 5010, 4990], check_name="orders",
                              record=False, routing=ROUTING),
            check_data_quality(current, [InRange("amount", 0, 130, mostly=0.99)],
                               allowed_values={"country": ["DE", "FR", "US"]}, check_name="orders",
                               routing=ROUTING),
            detect_drift(reference, current, check_name="orders", routing=ROUTING),
        ]  # fmt: skip
        return [f"{type(result).__name__}: {result.summary}" for result in results]

    return orders_checks()


def run_send_alert(sinks: Sinks) -> list[str]:
    """`send_alert` from code: one alert of each severity to every channel, then the critical one resolved."""
    from prefect_alerts import Alert, Severity, send_alert
    from prefect_alerts.channels import DiscordChannel

    # A reference ("discord:demo") would post to discord.com; a channel object can point at the stand-in.
    discord = DiscordChannel.from_block("demo", endpoint=sinks.http.url_for("/api/webhooks"))
    everywhere = ["slack:demo", "email:demo", "pagerduty:demo", discord, "webhook:demo", "console"]
    examples = [
        Alert(title="Nightly load started", message="Loading 1 partition from s3://lake/sales/2026-11-25.",
              severity=Severity.INFO),
        Alert(title="Backfill finished", message="1,204 partitions written.", severity=Severity.SUCCESS,
              fields={"partitions": 1204, "took_s": 812.4}),
        Alert(title="Row count 38% below its 14-day median",
              message="Today's batch has 61,940 rows; the median of the last 14 runs is 99,870.",
              severity=Severity.WARNING, fields={"rows": 61940, "median": 99870, "robust_z": -3.4}),
        Alert(title="Orders export failed",
              message="3 of 12 files were rejected by the partner's SFTP. <!channel> stays inert.",
              severity=Severity.ERROR, fields={"files_rejected": 3, "null_share": float("nan")}),
        Alert(title="Model AUC fell from 0.91 to 0.74",
              message="The churn model degraded by 18.7%, past the 10% limit. Predictions are still served.",
              severity=Severity.CRITICAL, fields={"auc": 0.74, "baseline_auc": 0.91}),
    ]  # fmt: skip
    lines: list[str] = []
    for alert in [*examples, examples[-1].resolved("AUC back at 0.90 after retraining.")]:
        result = send_alert(
            alert.model_copy(update={"event": "demo", "tags": ["demo"]}), destinations=everywhere
        )
        label = "resolved" if alert.status == "resolved" else alert.severity.value
        delivered = [outcome.destination for outcome in result.outcomes if outcome.ok]
        others = [str(outcome) for outcome in result.outcomes if not outcome.ok]
        lines.append(
            f"{label:<9} delivered to {', '.join(delivered) or 'none'}" + "".join(f"; {o}" for o in others)
        )
    return lines


def _section(
    title: str, sinks: Sinks, run: Callable[[], Any], expected: Expected, problems: list[str]
) -> Any:
    print(f"\n== {title} ==\n", flush=True)
    before = sinks.counts()
    value = run()
    problems.extend(check_counts(title, before, sinks.counts(), expected))
    return value


def main() -> int:
    """Run the whole demo; 0 when every stand-in received what it should have."""
    from prefect.testing.utilities import prefect_test_harness

    started = time.perf_counter()
    # The console channel writes to stderr: keep stdout in step with it when the output is piped to a file.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    problems: list[str] = []
    with Sinks() as sinks:
        print(
            "Starting an embedded Prefect server and local stand-ins for Slack, PagerDuty, email... (~10 s)"
        )
        with prefect_test_harness(server_startup_timeout=120):
            save_blocks(sinks)
            _quiet_expected_failures()
            _section(
                "1. Flows with with_alerts(routing='demo/alerts.yaml'): two failures, one recovery",
                sinks,
                run_flows,
                # 2 pages + 1 resolve to PagerDuty and Slack; 2 tickets from our own hook to the webhook.
                {"pagerduty": 3, "slack": 3, "webhook": 2},
                problems,
            )
            summaries = _section(
                "2. Check tasks on a bad batch (route 'data': email and Slack; artifacts in the UI)",
                sinks,
                run_checks,
                {"email": 3, "slack": 3},
                problems,
            )
            for line in summaries:
                print(f"  {line}")
            outcomes = _section(
                "3. send_alert(..., destinations=[every channel]) from code",
                sinks,
                lambda: run_send_alert(sinks),
                {kind: 6 for kind in ("slack", "pagerduty", "discord", "webhook", "email")},
                problems,
            )
            print("\nOutcomes, per alert:")
            for line in outcomes:
                print(f"  {line}")
        print_received(sinks)
    print(f"\nDemo took {time.perf_counter() - started:.0f} s.")
    if problems:
        print("\nSome stand-ins did not receive what they should have:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(
        "Every alert reached every destination it was routed to. Next: python blocks/setup_blocks.py --help"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
