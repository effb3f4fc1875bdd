"""Serve the monitoring flows from this machine, for teams without a work pool: ``python deployments/serve.py``.

It creates (or updates) the deployments ``prefect-alerts-aggregator`` and ``prefect-alerts-sla-monitor`` on the
server at ``$PREFECT_API_URL`` and runs their scheduled runs in this process until you stop it (Ctrl-C). Keep it
running under a process manager (systemd, supervisord, a container with a restart policy): if it stops, the
watchdog automation (``prefect-alerts deploy``) reports the missing heartbeat.

    python deployments/serve.py                        # every 5 minutes, UTC, the routing resolution order
    python deployments/serve.py --routing alerts.yaml --every 10m --timezone Europe/Berlin
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


def build_deployments(routing: str | None, every: str, timezone: str | None) -> list[Any]:
    """The three monitoring deployments, scheduled as ``prefect-alerts deploy`` schedules them."""
    from prefect.client.schemas.schedules import CronSchedule

    from prefect_alerts.monitoring import aggregator_flow, daily_report_flow, sla_monitor_flow
    from prefect_alerts.monitoring.deploy import (
        AGGREGATOR_DEPLOYMENT,
        DAILY_REPORT_CRON,
        DAILY_REPORT_DEPLOYMENT,
        SLA_MONITOR_DEPLOYMENT,
        cron_every,
    )
    from prefect_alerts.routing import parse_duration

    schedule = CronSchedule(cron=cron_every(parse_duration(every)), timezone=timezone or "UTC")
    parameters = {"routing": routing} if routing else {}
    return [
        aggregator_flow.to_deployment(
            name=AGGREGATOR_DEPLOYMENT, schedule=schedule, parameters=parameters, tags=["prefect-alerts"]
        ),
        sla_monitor_flow.to_deployment(
            name=SLA_MONITOR_DEPLOYMENT, schedule=schedule, parameters=parameters, tags=["prefect-alerts"]
        ),
        daily_report_flow.to_deployment(
            name=DAILY_REPORT_DEPLOYMENT,
            schedule=CronSchedule(cron=DAILY_REPORT_CRON, timezone=timezone or "UTC"),
            parameters={**parameters, "timezone_name": timezone or "UTC"},
            tags=["prefect-alerts"],
        ),
    ]


def main(argv: Sequence[str] | None = None) -> None:
    from prefect import serve

    parser = argparse.ArgumentParser(
        description="Serve the prefect-alerts monitoring flows from this machine."
    )
    parser.add_argument(
        "--routing", default=None, help="routing file or block name (default: resolution order)"
    )
    parser.add_argument("--every", default="5m", help="how often they run (default 5m)")
    parser.add_argument("--timezone", default=None, help="the schedules' IANA time zone (default UTC)")
    args = parser.parse_args(argv)
    serve(*build_deployments(args.routing, args.every, args.timezone))


if __name__ == "__main__":
    main()
