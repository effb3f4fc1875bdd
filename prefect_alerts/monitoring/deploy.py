"""``prefect-alerts deploy``: the monitoring flows as deployments on the current server, and their watchdog.

What it does, each step idempotent (run it again after changing a setting):

1. with a work pool: applies the ``prefect-alerts-aggregator`` and ``prefect-alerts-sla-monitor`` deployments
   (cron from ``every``, the installed package's module path as entrypoint, so any process worker with
   ``prefect-alerts`` installed runs them);
   without one it says how to serve the flows instead (``python flows/aggregator.py``, ``python flows/sla_monitor.py``,
   ``python flows/daily_report.py``);
2. creates or updates the watchdog automation (:mod:`prefect_alerts.monitoring.watchdog`), which posts to the
   fallback destination when the aggregator's heartbeat stops for 3 runs.

Example:
    ```python
    from prefect_alerts.monitoring.deploy import deploy_monitoring

    print(deploy_monitoring("alerts.yaml", work_pool="monitoring"))
    ```
"""

from __future__ import annotations

import os
from datetime import timedelta

from pydantic import BaseModel, Field

from prefect_alerts.channels.base import Channel
from prefect_alerts.monitoring.backstop import BackstopResult
from prefect_alerts.monitoring.watchdog import DEFAULT_MISSED, WatchdogResult
from prefect_alerts.routing import AlertRouting
from prefect_alerts.routing.durations import format_duration

__all__ = [
    "AGGREGATOR_DEPLOYMENT",
    "DAILY_REPORT_CRON",
    "DAILY_REPORT_DEPLOYMENT",
    "SLA_MONITOR_DEPLOYMENT",
    "DeployError",
    "DeployResult",
    "DeployedFlow",
    "cron_every",
    "deploy_monitoring",
]

AGGREGATOR_DEPLOYMENT = "prefect-alerts-aggregator"
SLA_MONITOR_DEPLOYMENT = "prefect-alerts-sla-monitor"
DAILY_REPORT_DEPLOYMENT = "prefect-alerts-daily-report"
DAILY_REPORT_CRON = "0 8 * * *"
DEFAULT_EVERY = timedelta(minutes=5)


class DeployError(ValueError):
    """The deployment cannot be made as asked; the message names the fix."""


class DeployedFlow(BaseModel):
    """One deployment ``deploy`` applied."""

    name: str = Field(description="'<flow name>/<deployment name>'.")
    deployment_id: str
    cron: str
    work_pool: str


class DeployResult(BaseModel):
    """What ``deploy`` did."""

    deployments: list[DeployedFlow] = Field(default_factory=list)
    watchdog: WatchdogResult | None = None
    backstop: BackstopResult | None = None
    notes: list[str] = Field(default_factory=list)

    def __str__(self) -> str:
        lines = [
            f"deployment {flow.name} ({flow.deployment_id}): cron '{flow.cron}' on work pool {flow.work_pool!r}"
            for flow in self.deployments
        ]
        if self.watchdog is not None:
            lines.append(str(self.watchdog))
        if self.backstop is not None:
            lines.append(str(self.backstop))
        return "\n".join(lines + self.notes)


def cron_every(every: timedelta) -> str:
    """The cron expression that runs every ``every``: minutes that divide an hour, or hours that divide a day.

        >>> cron_every(timedelta(minutes=5))
        '*/5 * * * *'

    Raises:
        DeployError: an interval cron cannot express evenly (e.g. 7 minutes).
    """
    seconds = int(every.total_seconds())
    minutes, rest = divmod(seconds, 60)
    if rest == 0 and 1 <= minutes < 60 and 60 % minutes == 0:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    hours, rest = divmod(seconds, 3600)
    if rest == 0 and 1 <= hours <= 24 and 24 % hours == 0:
        return "0 * * * *" if hours == 1 else ("0 0 * * *" if hours == 24 else f"0 */{hours} * * *")
    raise DeployError(
        f"--every {format_duration(every)}: a cron schedule runs evenly only every N minutes where N divides 60 "
        "(1m, 2m, 5m, 10m, 15m, 30m) or every N hours where N divides 24; pick one of those"
    )


def deploy_monitoring(
    routing: AlertRouting | str | None = None,
    *,
    work_pool: str | None = None,
    every: timedelta = DEFAULT_EVERY,
    timezone: str | None = None,
    watchdog: bool = True,
    watchdog_destination: str | Channel | None = None,
    missed: int = DEFAULT_MISSED,
    report_cron: str = DAILY_REPORT_CRON,
    backstop: bool | str | Channel | None = None,
) -> DeployResult:
    """Apply the monitoring deployments and the watchdog automation against ``$PREFECT_API_URL``.

    Args:
        routing: What the deployed aggregator reads (a file path or a routing block name; it becomes the
            deployment's ``routing`` parameter) and where the watchdog's fallback comes from. None: the
            resolution order, on the worker as here.
        work_pool: The work pool whose workers run the flows; None: no deployment is applied (serve the flows
            with ``python flows/aggregator.py`` instead) and only the watchdog is set up.
        every: How often the aggregator runs (default 5 minutes); the watchdog waits ``missed`` times that.
        timezone: The cron's timezone (an IANA name, e.g. ``Europe/Berlin``); default UTC.
        watchdog: Set up the watchdog automation (default True).
        watchdog_destination: Where the watchdog posts instead of the routing's fallback.
        missed: Runs without a heartbeat before the watchdog fires (default 3).
        report_cron: When the daily report runs (default ``0 8 * * *``: 08:00 in ``timezone``), which is also the
            zone the report shows times in.
        backstop: Also install the automation that posts every Crashed or TimedOut flow run
            (:mod:`prefect_alerts.monitoring.backstop`): True for the routing's fallback, or a destination.

    Raises:
        DeployError: no ``PREFECT_API_URL``, an ``every`` cron cannot express, an unknown work pool, or a
            routing given as an object (a deployment parameter must be a path or block name).
        prefect_alerts.monitoring.watchdog.WatchdogError: the watchdog cannot post to the destination.
    """
    from prefect.settings import PREFECT_API_URL

    from prefect_alerts.monitoring.watchdog import ensure_heartbeat_watchdog

    if not (PREFECT_API_URL.value() or os.environ.get("PREFECT_API_URL")):
        raise DeployError(
            "PREFECT_API_URL is not set: deploy talks to a running Prefect server. Start one (`prefect server "
            "start`) and `export PREFECT_API_URL=http://127.0.0.1:4200/api`, or point it at yours"
        )
    cron = cron_every(every)
    result = DeployResult()
    if work_pool is not None:
        if isinstance(routing, AlertRouting):
            raise DeployError(
                "a deployed aggregator reads its routing on the worker: give a routing file path or a saved "
                "routing block name (`prefect-alerts config push alerts.yaml` saves one), not an AlertRouting"
            )
        if routing is not None and os.path.isfile(routing):
            routing = os.path.abspath(routing)
            result.notes.append(
                f"the aggregator reads {routing} on the worker's machine: keep it there, or save it as a block "
                "every worker reads (`prefect-alerts config push "
                + routing
                + "`) and deploy with --routing default"
            )
        result.deployments += _apply_flows(routing, work_pool, cron, timezone, report_cron)
    else:
        result.notes.append(
            "no --work-pool: no deployment applied; serve the flows from a machine that stays up with "
            f"`python flows/aggregator.py` and `python flows/sla_monitor.py` (cron '{cron}') and "
            "`python flows/daily_report.py`, or run deploy again with --work-pool NAME"
        )
    if backstop:
        from prefect_alerts.monitoring.backstop import ensure_backstop

        result.backstop = ensure_backstop(routing, destination=None if backstop is True else backstop)
    if watchdog:
        result.watchdog = ensure_heartbeat_watchdog(
            routing, destination=watchdog_destination, interval=every, missed=missed
        )
    else:
        result.notes.append(
            "no watchdog: a stopped aggregator will not be reported (only `prefect-alerts status` shows it)"
        )
    return result


def _apply_flows(
    routing: str | None, work_pool: str, cron: str, timezone: str | None, report_cron: str
) -> list[DeployedFlow]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.deployments.runner import EntrypointType
    from prefect.exceptions import ObjectNotFound

    from prefect_alerts.monitoring.aggregator import aggregator_flow
    from prefect_alerts.monitoring.daily_report import daily_report_flow
    from prefect_alerts.monitoring.sla_monitor import sla_monitor_flow

    try:
        schedule = CronSchedule(cron=cron, timezone=timezone or "UTC")
        report_schedule = CronSchedule(cron=report_cron, timezone=timezone or "UTC")
    except ValueError:
        raise DeployError(
            f"--timezone {timezone!r} is not an IANA time zone name (e.g. UTC, Europe/Berlin, America/New_York)"
        ) from None
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(work_pool)
        except ObjectNotFound:
            raise DeployError(
                f"work pool {work_pool!r} does not exist on this server: create it with `prefect work-pool "
                f"create {work_pool} --type process` and start a worker with `prefect worker start --pool "
                f"{work_pool}`"
            ) from None
    routing_parameter = {"routing": routing} if routing is not None else {}
    flows = (
        (
            aggregator_flow,
            AGGREGATOR_DEPLOYMENT,
            "prefect-alerts: sweeps for unreported failed/crashed runs, re-raises stale queued alerts, resolves "
            "recoveries, closes storms, flushes the outbox, emits the heartbeat.",
            schedule,
            routing_parameter,
        ),
        (
            sla_monitor_flow,
            SLA_MONITOR_DEPLOYMENT,
            "prefect-alerts: judges the routing's slas: (stuck, late and stale runs, failures, success rate).",
            schedule,
            routing_parameter,
        ),
        (
            daily_report_flow,
            DAILY_REPORT_DEPLOYMENT,
            "prefect-alerts: the last day's runs, errors and alerts as an email with a chart, a Slack summary "
            "and artifacts.",
            report_schedule,
            {**routing_parameter, "timezone_name": timezone or "UTC"},
        ),
    )
    deployed = []
    for monitoring_flow, name, description, flow_schedule, parameters in flows:
        deployment = monitoring_flow.to_deployment(
            name=name,
            schedule=flow_schedule,
            parameters=parameters,
            entrypoint_type=EntrypointType.MODULE_PATH,
            tags=["prefect-alerts"],
            description=description,
        )
        deployment_id = deployment.apply(work_pool_name=work_pool)
        deployed.append(
            DeployedFlow(
                name=f"{monitoring_flow.name}/{name}",
                deployment_id=str(deployment_id),
                cron=flow_schedule.cron,
                work_pool=work_pool,
            )
        )
    return deployed
