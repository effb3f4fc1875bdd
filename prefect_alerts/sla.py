"""SLA rules for the SLA monitor, named and shaped like Prefect Cloud's SLA objects.

Put them in the routing file's ``slas:`` list, or in ``AlertRouting(slas=[...])`` from Python; the
``prefect-alerts-sla-monitor`` deployment (:func:`prefect_alerts.monitoring.sla_monitor_flow`) judges them every
few minutes and raises ``sla_violation`` alerts that resolve when the flow is back within the limit.

Example:
    ```python
    from prefect_alerts.routing import AlertRouting
    from prefect_alerts.sla import FrequencySla, LatenessSla, TimeToCompletionSla

    routing = AlertRouting(
        slas=[
            TimeToCompletionSla(deployment="*/nightly", duration="1h"),
            LatenessSla(flow="etl-*", within="10m"),
            FrequencySla(deployment="reports/daily", stale_after="1d"),
        ],
        default=["slack:ops-alerts"],
    )
    ```
"""

from prefect_alerts.routing.sla import (
    FrequencySla,
    LatenessSla,
    MaxFailuresSla,
    Sla,
    SlaRule,
    SuccessRateSla,
    TimeToCompletionSla,
)

__all__ = [
    "FrequencySla",
    "LatenessSla",
    "MaxFailuresSla",
    "Sla",
    "SlaRule",
    "SuccessRateSla",
    "TimeToCompletionSla",
]
