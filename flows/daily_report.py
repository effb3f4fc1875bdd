"""The daily report flow, for ``prefect.yaml`` entrypoints: ``flows/daily_report.py:daily_report_flow``.

Its logic lives in the library (``prefect_alerts.monitoring.daily_report``, also a valid entrypoint after a
plain ``pip install``). Run this file to serve it at 08:00 UTC every day from this machine.
"""

from prefect_alerts.monitoring.daily_report import daily_report_flow

__all__ = ["daily_report_flow"]

if __name__ == "__main__":
    daily_report_flow.serve(name="prefect-alerts-daily-report", cron="0 8 * * *")
