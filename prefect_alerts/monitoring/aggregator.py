"""``aggregator_flow``: the monitoring flow that watches what hooks cannot, every 5 minutes.

One run does, in order, each step isolated so one failing step never stops the others or the heartbeat:

1. sweep: alert on failed/crashed runs nothing reported (:mod:`prefect_alerts.monitoring.sweeper`);
2. re-raise alerts a dead worker left queued (:mod:`prefect_alerts.monitoring.requeue`);
3. resolve alerts whose flow or deployment has since completed (:mod:`prefect_alerts.monitoring.recovery`);
4. close storms that went quiet (:func:`~prefect_alerts.dispatch.storm_close.close_storms`);
5. flush the outbox (:func:`~prefect_alerts.dispatch.flush_outbox`), then delete its settled entries past
   their keep time (:func:`~prefect_alerts.dispatch.prune_outbox`: 7 days delivered, 30 days dead) and the
   alert history past 30 days (:func:`~prefect_alerts.dispatch.prune_history`), with what resolved alerts left
   behind: notification-log rows, incidents, storm members, SLA violations
   (:func:`~prefect_alerts.dispatch.prune_resolved`);
6. emit ``prefect-alerts.aggregator.heartbeat`` (``prefect-alerts status`` and the deploy automation watch it).

A run whose step failed still emits its heartbeat (naming the problem), then ends Failed so the UI shows it.

Example:
    ```python
    from prefect_alerts.monitoring import aggregator_flow

    aggregator_flow.serve(name="prefect-alerts-aggregator", cron="*/5 * * * *")
    ```
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from prefect import flow
from pydantic import BaseModel, Field

from prefect_alerts.channels.base import redact, run_logger
from prefect_alerts.dispatch.flush import FlushResult
from prefect_alerts.dispatch.models import SendResult
from prefect_alerts.dispatch.stage import DispatchState
from prefect_alerts.monitoring.recovery import RecoveryResult
from prefect_alerts.monitoring.requeue import RequeueResult
from prefect_alerts.monitoring.sweeper import SweepResult
from prefect_alerts.routing import AlertRouting
from prefect_alerts.status import HEARTBEAT_EVENT

__all__ = ["AggregatorError", "AggregatorResult", "aggregator_flow", "run_aggregator"]

FLOW_NAME = "prefect-alerts-aggregator"
T = TypeVar("T")


class AggregatorError(RuntimeError):
    """One or more of the aggregator's steps failed (the others ran; the message names each problem)."""


class AggregatorResult(BaseModel):
    """What one aggregator run did, step by step."""

    now: datetime
    sweep: SweepResult | None = None
    requeue: RequeueResult | None = None
    recovery: RecoveryResult | None = None
    storms_closed: list[SendResult] = Field(default_factory=list)
    flush: FlushResult | None = None
    pruned: int | None = Field(
        default=None, description="Settled outbox entries deleted (past their keep time)."
    )
    history_pruned: int | None = Field(
        default=None, description="Alert history rows deleted (past keep_history)."
    )
    resolved_pruned: int | None = Field(
        default=None,
        description="Rows resolved alerts left (notification log, incidents, storm members, SLA violations) "
        "deleted past keep_history.",
    )
    problems: dict[str, str] = Field(default_factory=dict, description="Step name -> what went wrong.")
    heartbeat_sent: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def heartbeat_payload(self) -> dict[str, Any]:
        """What the heartbeat event carries: counts a dashboard or automation can read, and the problems."""
        return {
            "now": self.now.isoformat(),
            "swept_runs": len(self.sweep.runs) if self.sweep else None,
            "alerted_runs": len(self.sweep.alerted) if self.sweep else None,
            "reraised": len(self.requeue.reraised) if self.requeue else None,
            "resolved": len(self.recovery.resolved) if self.recovery else None,
            "storms_closed": len(self.storms_closed),
            "outbox_delivered": self.flush.delivered if self.flush else None,
            "outbox_dead": self.flush.dead if self.flush else None,
            "outbox_pruned": self.pruned,
            "history_pruned": self.history_pruned,
            "resolved_pruned": self.resolved_pruned,
            "problems": dict(self.problems),
        }

    def __str__(self) -> str:
        lines = [
            f"sweep: {self.sweep}" if self.sweep else None,
            f"re-raise: {self.requeue}" if self.requeue else None,
            f"recovery: {self.recovery}" if self.recovery else None,
            f"storms: {len(self.storms_closed)} closed",
            f"outbox: {self.flush}" if self.flush else None,
            f"outbox: {self.pruned} settled entries past their keep time deleted" if self.pruned else None,
            f"history: {self.history_pruned} alerts past keep_history deleted"
            if self.history_pruned
            else None,
            f"resolved: {self.resolved_pruned} rows resolved alerts left past keep_history deleted"
            if self.resolved_pruned
            else None,
            *(f"PROBLEM {step}: {problem}" for step, problem in self.problems.items()),
        ]
        return "\n".join(line for line in lines if line)


def _step(result: AggregatorResult, name: str, run: Callable[[], T]) -> T | None:
    try:
        return run()
    except Exception as exc:  # one broken step must not stop the others, nor the heartbeat
        result.problems[name] = f"{type(exc).__name__}: {redact(str(exc))[:500]}"
        run_logger("prefect_alerts.monitoring").exception("aggregator step %s failed", name)
        return None


def run_aggregator(
    routing: AlertRouting | str | None = None,
    now: datetime | None = None,
    *,
    state: DispatchState | None = None,
    heartbeat: bool = True,
) -> AggregatorResult:
    """Every step of the aggregator, without the flow around it (tests, scripts, another scheduler).

    Args:
        routing: An ``AlertRouting``, a routing file path, or a routing block name; None: the resolution order.
        now: The time the steps judge by (default: now, UTC).
        state: The store (default: ``PREFECT_ALERTS_DATABASE_URL``, else SQLite under ``PREFECT_HOME``).
        heartbeat: Emit the heartbeat event (the flow does; a one-off script may not want to).
    """
    from prefect_alerts.dispatch.flush import flush_outbox
    from prefect_alerts.dispatch.prune import prune_history, prune_outbox, prune_resolved
    from prefect_alerts.dispatch.storm_close import close_storms
    from prefect_alerts.monitoring.recovery import resolve_recovered
    from prefect_alerts.monitoring.requeue import reraise_stale_queued
    from prefect_alerts.monitoring.sweeper import sweep_unreported_runs
    from prefect_alerts.routing import resolve_routing

    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    result = AggregatorResult(now=now)
    state = state or DispatchState.default()
    resolved = _step(result, "routing", lambda: resolve_routing(routing))  # type: ignore[arg-type]
    if resolved is not None:
        settings = resolved.sweeper
        if settings.enabled:
            result.sweep = _step(result, "sweep", lambda: sweep_unreported_runs(resolved, now, state=state))
            result.requeue = _step(
                result, "requeue", lambda: reraise_stale_queued(resolved, now, state=state, settings=settings)
            )
        result.recovery = _step(result, "recovery", lambda: resolve_recovered(resolved, now, state=state))
        result.storms_closed = _step(result, "storms", lambda: close_storms(resolved, now, state=state)) or []
    result.flush = _step(result, "outbox", lambda: flush_outbox(now=now, routing=resolved, state=state))
    if resolved is not None:  # the keep times are the routing's: without it nothing is deleted
        result.pruned = _step(result, "prune", lambda: prune_outbox(resolved, now=now, state=state))
        result.history_pruned = _step(
            result, "prune history", lambda: prune_history(resolved, now=now, state=state)
        )
        result.resolved_pruned = _step(
            result, "prune resolved", lambda: prune_resolved(resolved, now=now, state=state)
        )
    for name, problem in partial_problems(result).items():
        result.problems.setdefault(name, problem)
    if heartbeat:
        result.heartbeat_sent = bool(_step(result, "heartbeat", lambda: _emit_heartbeat(result)))
    return result


def partial_problems(result: AggregatorResult) -> dict[str, str]:
    """Steps that went on past a partial failure (a run it could not alert on, one flow's runs unreadable):
    step name -> the first few errors, so the run still ends Failed and the heartbeat names them."""
    found: dict[str, list[str]] = {
        "sweep": [f"run {run.flow_run_id}: {run.detail}" for run in result.sweep.decided("failed")]
        if result.sweep
        else [],
        "requeue": list(result.requeue.errors) if result.requeue else [],
        "recovery": list(result.recovery.errors) if result.recovery else [],
    }
    return {
        name: "; ".join(errors[:3]) + (f" (and {len(errors) - 3} more)" if len(errors) > 3 else "")
        for name, errors in found.items()
        if errors
    }


def _emit_heartbeat(result: AggregatorResult) -> bool:
    from prefect.events import emit_event

    event = emit_event(
        event=HEARTBEAT_EVENT,
        resource={"prefect.resource.id": "prefect-alerts.aggregator", "prefect.resource.name": FLOW_NAME},
        payload=result.heartbeat_payload(),
    )
    return event is not None


@flow(name=FLOW_NAME, log_prints=False, validate_parameters=True)
def aggregator_flow(
    routing: str | AlertRouting | None = None, now: datetime | None = None
) -> AggregatorResult:
    """Sweep for unreported failed/crashed runs, re-raise stale queued alerts, resolve recovered flows, close
    storms, flush the outbox and emit the heartbeat. Deploy it every 5 minutes.

    Args:
        routing: A routing file path or a saved ``alert-routing`` block name (an ``AlertRouting`` too, when
            called from Python); None: ``$PREFECT_ALERTS_CONFIG``, else the ``alert-routing/default`` block,
            else the console only.
        now: The time to judge by (tests and backfills); default: now.

    Raises:
        AggregatorError: after the heartbeat, when a step failed (the run shows Failed with each problem).

    Example:
        ```python
        from prefect_alerts.monitoring import aggregator_flow

        aggregator_flow()  # one pass; or .serve(name="prefect-alerts-aggregator", cron="*/5 * * * *")
        ```
    """
    logger = run_logger("prefect_alerts.monitoring")
    result = run_aggregator(routing, now)
    for line in str(result).splitlines():
        logger.info("%s", line)
    if result.problems:
        raise AggregatorError(
            "aggregator steps failed: "
            + "; ".join(f"{step}: {text}" for step, text in result.problems.items())
        )
    return result
