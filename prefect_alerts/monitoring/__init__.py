"""The monitoring flows: deploy them once and the alerting watches what hooks cannot.

- :func:`aggregator_flow` (every 5 minutes): sweeps for runs that failed or crashed with no alert (SIGKILL,
  OOM, image pull failures), re-raises alerts a dead worker left queued, resolves alerts whose flow has since
  completed, closes storms, flushes the outbox, and emits its heartbeat.
- :func:`sla_monitor_flow` (every 5 minutes): the routing's ``slas:`` (stuck, late and stale runs, too many
  failures, a low success rate) as ``sla_violation`` alerts that resolve when back within limits.
- :func:`daily_report_flow` (08:00 daily): the last day's runs, errors and alerts as an email with a chart, a
  Slack summary and Prefect artifacts (:mod:`prefect_alerts.report`).

Imports are lazy: ``import prefect_alerts.monitoring`` does not import Prefect's flow machinery.

Example:
    ```python
    from prefect_alerts.monitoring import aggregator_flow

    aggregator_flow.serve(name="prefect-alerts-aggregator", cron="*/5 * * * *")
    ```
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prefect_alerts.monitoring.aggregator import AggregatorResult, aggregator_flow
    from prefect_alerts.monitoring.daily_report import daily_report_flow
    from prefect_alerts.monitoring.sla_monitor import SlaMonitorResult, sla_monitor_flow

__all__ = ["AggregatorResult", "SlaMonitorResult", "aggregator_flow", "daily_report_flow", "sla_monitor_flow"]

_LAZY = {
    "AggregatorResult": "prefect_alerts.monitoring.aggregator",
    "aggregator_flow": "prefect_alerts.monitoring.aggregator",
    "daily_report_flow": "prefect_alerts.monitoring.daily_report",
    "SlaMonitorResult": "prefect_alerts.monitoring.sla_monitor",
    "sla_monitor_flow": "prefect_alerts.monitoring.sla_monitor",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'prefect_alerts.monitoring' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
