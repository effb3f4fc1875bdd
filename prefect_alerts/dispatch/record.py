"""Step 6, record: the alert history row and one Prefect event per outcome."""

from __future__ import annotations

from collections import defaultdict
from typing import ClassVar

from prefect_alerts.dispatch.events import emit_outcome
from prefect_alerts.dispatch.stage import Dispatch
from prefect_alerts.store.alerts import HistoryEntry

__all__ = ["RecordStage"]


class RecordStage:
    """Writes what happened to the alert history and emits ``prefect-alerts.alert.<outcome>`` events."""

    name: ClassVar[str] = "record"

    def __init__(self, *, emit_events: bool = True) -> None:
        self.emit_events = emit_events

    def run(self, dispatch: Dispatch) -> None:
        alert = dispatch.alert
        outcomes = [n.outcome for n in dispatch.notifications if n.outcome is not None]
        dispatch.state.history.add(
            HistoryEntry(
                id=dispatch.alert_id,
                dedup_key=alert.dedup_key,
                event=alert.event,
                severity=alert.severity.value,
                status=alert.status.value,
                title=alert.title[:500],
                flow_name=alert.source.flow_name,
                deployment_name=alert.source.deployment_name,
                flow_run_id=alert.source.flow_run_id,
                task_run_id=alert.source.task_run_id,
                destinations=[outcome.destination for outcome in outcomes],
                outcomes=[outcome.model_dump(mode="json", exclude_none=True) for outcome in outcomes],
                created_at=dispatch.now,
                alert=dispatch.record(alert),
            )
        )
        if not self.emit_events:
            return
        by_status: dict[str, list[str]] = defaultdict(list)
        for outcome in outcomes:
            by_status[outcome.status].append(outcome.destination)
        reasons = {outcome.destination: outcome.reason for outcome in outcomes}
        # Known when an attempt was rescheduled; a delivery still running past the budget has none yet.
        due = {outcome.destination: outcome.next_attempt_at for outcome in outcomes}
        for status, destinations in by_status.items():
            emit_outcome(alert, dispatch.alert_id, status, destinations, reasons, next_attempt_at=due)
