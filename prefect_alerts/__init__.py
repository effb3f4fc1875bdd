"""prefect-alerts: tell people at once, and exactly once, when a Prefect pipeline goes wrong.

The public surface is small:

- :class:`Alert` and :class:`Severity`: what to say and how bad it is.
- :func:`send_alert` / :func:`asend_alert`: route, silence, dedupe, queue and deliver an alert; one outcome
  per destination. :func:`flush_outbox` redelivers what is due.
- :func:`deliver` / :func:`adeliver`: send one alert now through the given channels (no routing, no state).
- :func:`notify`: build an alert from a title, a message and named values, and send it.
- :func:`state_error` / :class:`StateError`: the exception, message and traceback of a failed state, safe in
  sync and async hooks (your own hooks; :mod:`prefect_alerts.hooks` has the ready-made ones).
- :mod:`prefect_alerts.channels`: Slack, email, PagerDuty, Discord, generic webhook, console.
"""

from typing import TYPE_CHECKING, Any

from prefect_alerts.alert import Alert, AlertStatus, Link, Severity, Source
from prefect_alerts.delivery import adeliver, deliver
from prefect_alerts.dispatch import DestinationOutcome, SendResult, asend_alert, flush_outbox, send_alert
from prefect_alerts.dispatch.notify import notify
from prefect_alerts.tasks import send_pagerduty_event

if TYPE_CHECKING:
    from prefect_alerts.hooks.state import StateError, state_error

__all__ = [
    "Alert",
    "AlertStatus",
    "DestinationOutcome",
    "Link",
    "SendResult",
    "Severity",
    "Source",
    "StateError",
    "adeliver",
    "asend_alert",
    "deliver",
    "flush_outbox",
    "notify",
    "send_alert",
    "send_pagerduty_event",
    "state_error",
]

__version__ = "0.1.0"

# Imported on first use: `import prefect_alerts` should not load the hooks package.
_LAZY = {"StateError": "prefect_alerts.hooks.state", "state_error": "prefect_alerts.hooks.state"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'prefect_alerts' has no attribute {name!r}")
