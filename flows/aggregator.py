"""The aggregator flow, for ``prefect.yaml`` entrypoints: ``flows/aggregator.py:aggregator_flow``.

Its logic lives in the library (``prefect_alerts.monitoring.aggregator``, also a valid entrypoint after a
plain ``pip install``). Run this file to serve it every 5 minutes from this machine.
"""

from prefect_alerts.monitoring.aggregator import aggregator_flow

__all__ = ["aggregator_flow"]

if __name__ == "__main__":
    aggregator_flow.serve(name="prefect-alerts-aggregator", cron="*/5 * * * *")
