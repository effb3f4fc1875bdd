"""prefect-alerts: tell people at once, and exactly once, when a Prefect pipeline goes wrong.

The public surface is small:

- :class:`Alert` and :class:`Severity`: what to say and how bad it is.
- :func:`send_alert` / :func:`asend_alert`: route, silence, dedupe, queue and deliver an alert; one outcome
  per destination. :func:`flush_outbox` redelivers what is due.
- :func:`deliver` / :func:`adeliver`: send one alert now through the given channels (no routing, no state).
- :func:`notify`: build an alert from a title, a message and named values, and send it.
- :mod:`prefect_alerts.channels`: Slack, email, PagerDuty, Discord, generic webhook, console.
"""

from prefect_alerts.alert import Alert, AlertStatus, Link, Severity, Source
from prefect_alerts.delivery import adeliver, deliver
from prefect_alerts.dispatch import DestinationOutcome, SendResult, asend_alert, flush_outbox, send_alert
from prefect_alerts.dispatch.notify import notify
from prefect_alerts.tasks import send_pagerduty_event

__all__ = [
    "Alert",
    "AlertStatus",
    "DestinationOutcome",
    "Link",
    "SendResult",
    "Severity",
    "Source",
    "adeliver",
    "asend_alert",
    "deliver",
    "flush_outbox",
    "notify",
    "send_alert",
    "send_pagerduty_event",
]

__version__ = "0.1.0"
