"""The SLA monitor flow, for ``prefect.yaml`` entrypoints: ``flows/sla_monitor.py:sla_monitor_flow``.

Its logic lives in the library (``prefect_alerts.monitoring.sla_monitor``, also a valid entrypoint after a
plain ``pip install``). Run this file to serve it every 5 minutes from this machine.
"""

from prefect_alerts.monitoring.sla_monitor import sla_monitor_flow

__all__ = ["sla_monitor_flow"]

if __name__ == "__main__":
    sla_monitor_flow.serve(name="prefect-alerts-sla-monitor", cron="*/5 * * * *")
