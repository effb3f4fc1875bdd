"""The demo's steps, run in the process :func:`prefect_alerts.demo.launch` prepared (see the package docs).

Each step prints what it does, runs, and checks how many messages each stand-in received against what the
routing says it should have; a difference is reported at the end and makes the exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prefect_alerts.demo.pipeline import EXPECTED_FAILURES, ROUTING
from prefect_alerts.demo.receivers import Receivers, save_blocks
from prefect_alerts.demo.report import Expected, check_counts, received_text, write_output

__all__ = ["main"]

SLA_LATER = timedelta(minutes=45)
"""How much later than now the SLA monitor is told it is: past the rule's 30 minutes without waiting for them."""
SWEEP_LATER = timedelta(minutes=2)
"""The aggregator sweeps windows that closed a minute ago: it is told it is 2 minutes later."""


class _HideExpectedFailures(logging.Filter):
    """Prefect logs each flow exception with its traceback, and the final state; the demo's failures are on
    purpose, so the console shows the alerts instead. Anything else (a real bug) still prints in full."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        error = record.exc_info[1] if record.exc_info else None
        expected_error = error is not None and (
            str(error) in EXPECTED_FAILURES or type(error).__name__ in ("TimeoutError", "FlowRunTimeoutError")
        )
        expected_state = text.startswith("Finished in state") and (
            "TimedOut" in text or any(failure in text for failure in EXPECTED_FAILURES)
        )
        expected_timeout = "exceeded timeout" in text
        return not (expected_error or expected_state or expected_timeout)


def _quiet_expected_failures() -> None:
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in logging.root.manager.loggerDict)]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, PrefectConsoleHandler):
                handler.addFilter(_HideExpectedFailures())


def _server_without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


@contextlib.contextmanager
def _prefect(external: str | None) -> Iterator[None]:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    # A flow run's heartbeat thread costs about a second per run; the demo runs a dozen.
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        if external:
            yield
            return
        from prefect.testing.utilities import prefect_test_harness

        with prefect_test_harness(server_startup_timeout=120):
            yield


class Demo:
    """The steps, in order, sharing the stand-ins and the list of problems."""

    def __init__(self, receivers: Receivers, external: str | None, output: Path) -> None:
        self.receivers = receivers
        self.external = external
        self.output = output
        self.problems: list[str] = []
        self.routing = str(ROUTING)
        self.started = datetime.now(timezone.utc)
        self.written: list[Path] = []

    def step(self, title: str, expected: Expected, run: Callable[[], Any]) -> Any:
        print(f"\n== {title} ==\n", flush=True)
        before = self.receivers.counts()
        value = run()
        self.problems.extend(check_counts(title.split(":")[0], before, self.receivers.counts(), expected))
        return value

    # ------------------------------------------------------------------ the nights
    def normal_night(self) -> None:
        from prefect_alerts.demo.pipeline import churn_pipeline

        result = churn_pipeline(day="2026-11-23")
        for line in result["checks"]:
            print(f"  {line}")
        print(f"  model {result['metrics']}, {result['flagged']} customers flagged; nothing was sent")

    def drifting_night(self) -> None:
        from prefect_alerts.demo.pipeline import churn_pipeline

        result = churn_pipeline(day="2026-11-24", scenario="drift")
        for line in result["checks"]:
            print(f"  {line}")

    def failures(self) -> None:
        from prefect_alerts.demo.pipeline import churn_features, churn_pipeline

        print(
            "(Each panel is the console destination of route 'pages'; PagerDuty and Slack get the same alert.)"
        )
        print("-- churn-pipeline (a sync flow) fails: the CRM export is missing")
        churn_pipeline(day="2026-11-25", scenario="broken_export", return_state=True)
        print("-- churn-features (an async flow) fails: the feature store is down")
        asyncio.run(churn_features(return_state=True))

    def timeout(self) -> None:
        from prefect_alerts.demo.pipeline import SCORING_TIMEOUT_SECONDS, churn_scoring

        print(f"-- churn-scoring runs past its timeout_seconds={SCORING_TIMEOUT_SECONDS:g}")
        state = churn_scoring(return_state=True)
        print(f"  final state: {state.name}")

    def sla_breach(self) -> str:
        from prefect_alerts.demo.pipeline import start_stuck_run
        from prefect_alerts.monitoring import sla_monitor_flow

        run_id = start_stuck_run("2026-11-25")
        print("-- a worker starts churn-pipeline and hangs; the SLA is time_to_completion 30m (alerts.yaml)")
        print(
            f"-- sla_monitor_flow(now=now + {int(SLA_LATER.total_seconds() // 60)} minutes): no waiting for real"
        )
        result = sla_monitor_flow(routing=self.routing, now=datetime.now(timezone.utc) + SLA_LATER)
        print(f"  {result}")
        return run_id

    def crash_and_sweep(self, stuck_run_id: str) -> None:
        from prefect_alerts.demo.pipeline import crash_run

        crash_run(stuck_run_id)
        print("-- the kernel kills the hung run (out of memory): Crashed, and no hook ever ran")
        print("-- the aggregator sweeps the runs that ended, finds one nobody reported, and alerts it:")
        self.aggregate()

    def recovery(self) -> None:
        from prefect_alerts.demo.pipeline import churn_features, churn_pipeline, churn_scoring
        from prefect_alerts.monitoring import sla_monitor_flow

        print(
            "-- churn-pipeline, churn-features and churn-scoring run again and complete: their alerts resolve"
        )
        churn_pipeline(day="2026-11-26")
        asyncio.run(churn_features(fail=False))
        churn_scoring(slow=False)
        print("-- the SLA monitor's next pass:")
        print(f"  {sla_monitor_flow(routing=self.routing, now=datetime.now(timezone.utc) + SLA_LATER)}")
        print("-- the aggregator's next pass resolves what is still firing and flushes the outbox:")
        self.aggregate()

    def aggregate(self) -> None:
        from prefect_alerts.monitoring.aggregator import AggregatorError, aggregator_flow, run_aggregator
        from prefect_alerts.routing import AlertRouting
        from prefect_alerts.routing.sweeper import SweeperSettings

        now = datetime.now(timezone.utc) + SWEEP_LATER
        if self.external:
            # On a shared server the sweep and the re-raise would judge every team's runs and queued alerts
            # (and record them as handled); the heartbeat would tell that server's watchdog an aggregator ran.
            routing = AlertRouting.from_file(ROUTING)
            routing = routing.model_copy(update={"sweeper": SweeperSettings(enabled=False)})
            result = run_aggregator(routing, now, heartbeat=False)
        else:
            try:
                result = aggregator_flow(routing=self.routing, now=now)
            except AggregatorError as exc:
                self.problems.append(f"aggregator: {exc}")
                return
        for line in str(result).splitlines():
            print(f"  {line}")
        self.problems.extend(f"aggregator {step}: {problem}" for step, problem in result.problems.items())

    def send_alert_everywhere(self) -> list[str]:
        """``send_alert`` from code: one alert of each severity to every channel, then the critical resolved."""
        from prefect_alerts import Alert, Severity, send_alert
        from prefect_alerts.channels import DiscordChannel

        # A reference ("discord:demo") would post to discord.com; a channel object can point at the stand-in.
        discord = DiscordChannel.from_block("demo", endpoint=self.receivers.url_for("/api/webhooks"))
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
                f"{label:<9} delivered to {', '.join(delivered) or 'none'}"
                + "".join(f"; {o}" for o in others)
            )
        return lines

    # ------------------------------------------------------------------ all of it
    def run(self) -> None:
        pages = {"pagerduty": 1, "slack": 1}
        self.step(
            "1. A normal night: churn-pipeline passes every check, and nothing is sent", {}, self.normal_night
        )
        self.step(
            "2. Drift: a price change shifts the data; quality, drift and model checks alert the data team "
            "(route 'data': email and Slack)",
            {"email": 3, "slack": 3},
            self.drifting_night,
        )
        # 2 pages to PagerDuty and Slack; 2 tickets from the team's own hook to the webhook.
        self.step(
            "3. Failures: with_alerts pages the on-call (route 'pages')",
            {"pagerduty": 2, "slack": 2, "webhook": 2},
            self.failures,
        )
        self.step("4. A timeout: the scoring flow overruns", pages, self.timeout)
        stuck = self.step("5. An SLA breach: a run is stuck", pages, self.sla_breach)
        if self.external:
            from prefect_alerts.demo.pipeline import cancel_run

            # A crash nobody reported would be found by that server's own aggregator, and page its on-call.
            cancel_run(stuck)
            print(
                "\n(On a shared server the demo does not sweep: it cancels its stuck run instead of crashing it.)"
            )
        else:
            self.step("6. What no hook sees: the aggregator", pages, lambda: self.crash_and_sweep(stuck))
        self.step(
            "7. Recovery: every alert still firing resolves (PagerDuty closes the incidents)",
            {"pagerduty": 4 if self.external else 5, "slack": 4 if self.external else 5},
            self.recovery,
        )
        outcomes = self.step(
            "8. send_alert(..., destinations=[every channel]) from code",
            {kind: 6 for kind in ("slack", "pagerduty", "discord", "webhook", "email")},
            self.send_alert_everywhere,
        )
        print("\nOutcomes, per alert:")
        for line in outcomes:
            print(f"  {line}")
        self.step(
            "9. The daily report: the demo's runs, errors and alerts (route 'reports': email and Slack)",
            {"email": 1, "slack": 1},
            self.daily_report,
        )

    def daily_report(self) -> None:
        from prefect_alerts.report import build_daily_report, send_daily_report

        # The demo's own window: from its start to a minute from now (the last runs just ended).
        report = build_daily_report(
            self.started - timedelta(minutes=1), datetime.now(timezone.utc) + timedelta(minutes=1)
        )
        print(report.render_text())
        result = send_daily_report(report, routing=self.routing)
        print("\n" + "\n".join(f"  {outcome}" for outcome in result.outcomes))
        self.output.mkdir(parents=True, exist_ok=True)
        html, chart = self.output / "daily-report.html", self.output / "daily-report.png"
        html.write_text(report.render_html(), encoding="utf-8")
        chart.write_bytes(report.chart_png())
        self.written += [html, chart]


def main(argv: list[str] | None = None) -> int:
    """Run every step; 0 when every stand-in received what it should have."""
    parser = argparse.ArgumentParser(prog="prefect-alerts demo")
    parser.add_argument("--output", type=Path, default=Path("demo-output"))
    args = parser.parse_args(argv)
    from prefect_alerts.demo import STARTED_ENV

    started = float(os.environ.get(STARTED_ENV) or time.time())  # the command's start, set by launch()
    # The console channel writes to stderr: keep stdout in step with it when the output is piped to a file.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    external = os.environ.get("PREFECT_API_URL", "").strip() or None
    with Receivers() as receivers:
        if external:
            print(
                f"Using the Prefect server at PREFECT_API_URL ({_server_without_credentials(external)}): the demo "
                "saves (overwrites) blocks named demo and demo-smtp there and runs flows named churn-*, whose runs "
                "and alert events stay in its history; it does not sweep there or emit the aggregator's heartbeat "
                "(both concern every team's runs). Unset PREFECT_API_URL for an embedded server of its own."
            )
        else:
            print(
                "Starting an embedded Prefect server and local stand-ins for Slack, PagerDuty, email... (~10 s)"
            )
        with _prefect(external):
            blocks = save_blocks(receivers)
            print(f"Saved blocks pointing at the stand-ins: {', '.join(blocks)}")
            _quiet_expected_failures()
            demo = Demo(receivers, external, args.output)
            demo.run()
        text = received_text(receivers)
        print(f"\n{text}")
        written = [*demo.written, *write_output(args.output, receivers, text)]
    print(f"\nWrote {', '.join(str(path) for path in written)}.")
    print(f"Demo took {time.time() - started:.0f} s.")
    if demo.problems:
        print("\nSome stand-ins did not receive what they should have:", file=sys.stderr)
        for problem in demo.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print("Every alert reached every destination it was routed to. Next: prefect-alerts setup-blocks --help")
    return 0
