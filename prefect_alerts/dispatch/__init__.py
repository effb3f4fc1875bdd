"""The dispatch pipeline: ``send_alert`` runs route, silence, dedupe, outbox, deliver, record.

One module per step, each a small :class:`~prefect_alerts.dispatch.stage.Stage`; ``flush_outbox`` redelivers
what a call left in the outbox; ``prune_outbox``, ``prune_history`` and ``prune_resolved`` delete settled entries, old
history and what resolved alerts left past their keep time. See docs/architecture.md for the table of steps.
"""

from prefect_alerts.dispatch.flush import FlushResult, flush_outbox
from prefect_alerts.dispatch.models import OUTCOME_STATUSES, DestinationOutcome, OutcomeStatus, SendResult
from prefect_alerts.dispatch.pipeline import Pipeline, asend_alert, default_stages, send_alert
from prefect_alerts.dispatch.prune import prune_history, prune_outbox, prune_resolved
from prefect_alerts.dispatch.stage import Dispatch, DispatchState, Notification, Stage
from prefect_alerts.dispatch.state_queries import firing_alerts

__all__ = [
    "OUTCOME_STATUSES",
    "DestinationOutcome",
    "Dispatch",
    "DispatchState",
    "FlushResult",
    "Notification",
    "OutcomeStatus",
    "Pipeline",
    "SendResult",
    "Stage",
    "asend_alert",
    "default_stages",
    "firing_alerts",
    "flush_outbox",
    "prune_history",
    "prune_outbox",
    "prune_resolved",
    "send_alert",
]
