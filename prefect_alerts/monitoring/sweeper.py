"""The sweeper: alert on flow runs that failed or crashed and that nothing reported.

Hooks run inside the flow's process, so a run killed by the kernel (SIGKILL, out of memory) or one whose
infrastructure never started (an image pull failure: Pending to Crashed) has no hook to tell anyone. The
sweeper asks the Prefect API instead:

- runs are selected by state type alone (FAILED, which covers TimedOut, and CRASHED) over closed
  ``end_time`` windows: ``[checkpoint - overlap, now - close_delay]`` (the first sweep looks back
  ``first_lookback``), read 200 per page; a run that crashed before it ran has ``start_time == end_time``
  and is selected like any other;
- a run is skipped when it was already reported (:mod:`prefect_alerts.monitoring.reported`: an alert for its
  id in the history or the server's events), when a failed or crashed parent flow run speaks for it (a
  subflow), or when a sweep already claimed it (``INSERT ... ON CONFLICT DO NOTHING``: two aggregators, or an
  overlapping window, alert once);
- every other run gets one alert built as a hook would build it (error, deployment, failed tasks, run link),
  saying it was found by the sweeper, and goes through :func:`~prefect_alerts.dispatch.send_alert` like any
  other alert (routes, silences, dedupe, storms).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, Literal

from pydantic import BaseModel, Field

from prefect_alerts.alert import Alert
from prefect_alerts.channels.base import get_logger, redact
from prefect_alerts.dispatch.models import DestinationOutcome
from prefect_alerts.dispatch.stage import DispatchState
from prefect_alerts.monitoring.reported import reported_runs
from prefect_alerts.routing import AlertRouting
from prefect_alerts.routing.sweeper import SweeperSettings
from prefect_alerts.store.sweeper import SweeperStore

__all__ = ["SweepResult", "SweptRun", "sweep_unreported_runs", "sweeper_alert"]

logger = get_logger("prefect_alerts.monitoring")

CHECKPOINT = "runs"
RUN_CLAIM = "run"
MAX_PAGES = 50
"""Pages of runs read per sweep at most (10,000 runs): ``max_runs`` is the limit that matters."""
STALE_CLAIM = timedelta(minutes=10)
"""A claim still 'alerting' after this long belongs to a sweep that died mid-send: take it over."""
KEEP_CLAIMS = timedelta(days=7)
EVENTS_GRACE = timedelta(minutes=1)

Decision = Literal["alerted", "reported", "covered_by_parent", "already_swept", "failed"]


class SweptRun(BaseModel):
    """What the sweeper decided for one run it selected."""

    flow_run_id: str
    flow_run_name: str | None = None
    flow_name: str | None = None
    state_name: str
    end_time: datetime | None = None
    decision: Decision
    alert_id: str | None = Field(default=None, description="The alert sent for it (decision 'alerted').")
    outcomes: list[DestinationOutcome] = Field(default_factory=list)
    detail: str | None = None


class SweepResult(BaseModel):
    """One sweep: the window it looked at and what it did with each run there."""

    window_start: datetime | None = None
    window_end: datetime | None = None
    runs: list[SweptRun] = Field(default_factory=list)
    capped: bool = Field(
        default=False, description="More runs than max_runs: the rest wait for the next sweep."
    )
    checkpoint: datetime | None = Field(
        default=None, description="Where the next window starts (less overlap)."
    )
    note: str | None = None

    def decided(self, decision: Decision) -> list[SweptRun]:
        return [run for run in self.runs if run.decision == decision]

    @property
    def alerted(self) -> list[SweptRun]:
        return self.decided("alerted")

    def __str__(self) -> str:
        if self.window_start is None or self.window_end is None:
            return f"sweep skipped: {self.note}"
        counts = {decision: len(self.decided(decision)) for decision in Decision.__args__}  # type: ignore[attr-defined]
        text = (
            f"swept {len(self.runs)} failed/crashed runs that ended {self.window_start:%Y-%m-%d %H:%M:%S} to "
            f"{self.window_end:%H:%M:%S} UTC: {counts['alerted']} alerted (no alert had been sent), "
            f"{counts['reported']} already reported, {counts['covered_by_parent']} covered by their parent run, "
            f"{counts['already_swept']} swept before"
        )
        if counts["failed"]:
            text += f", {counts['failed']} could not be alerted (tried again next sweep)"
        if self.capped:
            text += "; more runs than max_runs, the rest wait for the next sweep"
        return text


def sweep_unreported_runs(routing: AlertRouting, now: datetime, *, state: DispatchState) -> SweepResult:
    """Alert once on every failed or crashed flow run in the next closed window that nothing reported.

    Args:
        routing: Where the alerts go, and the ``sweeper:`` settings (:class:`SweeperSettings`).
        now: The time windows close by (tests and backfills inject it).
        state: The store: the history it reads, the checkpoint and claims it writes.

    Raises:
        Exception: the Prefect API could not be read; the checkpoint stays, so the next sweep covers the window.

    Example:
        ```python
        from datetime import datetime, timezone
        from prefect_alerts.dispatch import DispatchState
        from prefect_alerts.monitoring.sweeper import sweep_unreported_runs
        from prefect_alerts.routing import resolve_routing

        result = sweep_unreported_runs(resolve_routing(None), datetime.now(timezone.utc), state=DispatchState.default())
        print(result)  # "swept 3 failed/crashed runs ...: 1 alerted (no alert had been sent), 2 already reported, ..."
        ```
    """
    settings = routing.sweeper
    store = SweeperStore(state.engine)
    window_end = now - settings.close_delay
    checkpoint = store.checkpoint(CHECKPOINT)
    window_start = checkpoint - settings.overlap if checkpoint else now - settings.first_lookback
    if window_start >= window_end:
        return SweepResult(
            note=f"the next window closes at {window_start + settings.close_delay:%H:%M:%S} UTC"
        )
    result = SweepResult(window_start=window_start, window_end=window_end)
    runs = _bad_runs(window_start, window_end, settings)
    if len(runs) > settings.max_runs:
        runs, result.capped = runs[: settings.max_runs], True
    claims = store.claimed(RUN_CLAIM, {str(run.id) for run in runs})
    fresh = []
    for run in runs:
        claim = claims.get(str(run.id))
        if claim is None or (claim.decision == "alerting" and now - claim.claimed_at > STALE_CLAIM):
            fresh.append(run)
        else:
            result.runs.append(
                _swept(run, "already_swept", detail=f"{claim.decision} at {claim.claimed_at:%H:%M}")
            )
    if fresh:
        since = min(run.start_time or run.end_time for run in fresh)
        reported = reported_runs(
            [str(run.id) for run in fresh], since=since, until=now + EVENTS_GRACE, state=state
        )
        flow_names: dict[Any, str] = {}
        for run in fresh:
            result.runs.append(_decide(run, reported, routing, now, state, store, flow_names))
    failed_ends = [run.end_time for run in result.decided("failed") if run.end_time is not None]
    if failed_ends:  # keep the failed runs inside the next window; their claims were released
        result.checkpoint = min(failed_ends)
    elif result.capped:
        result.checkpoint = max(run.end_time for run in runs)
    else:
        result.checkpoint = window_end
    store.advance(CHECKPOINT, result.checkpoint, now)
    store.prune(now - KEEP_CLAIMS)
    return result


def _bad_runs(start: datetime, end: datetime, settings: SweeperSettings) -> list[Any]:
    """FAILED and CRASHED runs whose end_time is in the window, oldest first, each once."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterEndTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    run_filter = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.FAILED, StateType.CRASHED])),
        end_time=FlowRunFilterEndTime(after_=start, before_=end),
    )
    runs: dict[Any, Any] = {}
    with get_client(sync_client=True) as client:
        for page in range(MAX_PAGES):
            batch = client.read_flow_runs(
                flow_run_filter=run_filter,
                sort=FlowRunSort.END_TIME_DESC,
                limit=settings.page_size,
                offset=page * settings.page_size,
            )
            for run in batch:
                runs.setdefault(run.id, run)
            if len(batch) < settings.page_size:
                break
        else:
            logger.warning(
                "sweeper: more than %d runs in one window; the oldest wait", MAX_PAGES * settings.page_size
            )
    return sorted(runs.values(), key=lambda run: (run.end_time, str(run.id)))


def _swept(run: Any, decision: Decision, **values: Any) -> SweptRun:
    return SweptRun(
        flow_run_id=str(run.id),
        flow_run_name=run.name,
        state_name=run.state.name if run.state else "",
        end_time=run.end_time,
        decision=decision,
        **values,
    )


def _decide(
    run: Any,
    reported: set[str],
    routing: AlertRouting,
    now: datetime,
    state: DispatchState,
    store: SweeperStore,
    flow_names: dict[Any, str],
) -> SweptRun:
    run_id = str(run.id)
    if run_id in reported:
        store.claim(RUN_CLAIM, run_id, now=now, decision="reported")
        return _swept(run, "reported")
    parent = _failed_parent(run)
    if parent is not None:
        detail = f"its parent run '{parent.name}' ended {parent.state.name}: that run's alert speaks for it"
        store.claim(RUN_CLAIM, run_id, now=now, decision="covered_by_parent", detail=detail)
        return _swept(run, "covered_by_parent", detail=detail)
    if not store.claim(RUN_CLAIM, run_id, now=now, decision="alerting") and not store.take_over(
        RUN_CLAIM, run_id, now=now, older_than=now - STALE_CLAIM
    ):
        return _swept(run, "already_swept", detail="another sweep took it")
    from prefect_alerts.dispatch import send_alert

    try:
        flow_name = flow_names.get(run.flow_id) or _flow_name(run)
        flow_names[run.flow_id] = flow_name
        sent = send_alert(sweeper_alert(run, flow_name), routing, state=state)
    except Exception as exc:  # let the next sweep try again rather than lose the run
        store.release(RUN_CLAIM, run_id)
        detail = f"{type(exc).__name__}: {redact(str(exc))[:300]}"
        logger.error("sweeper: could not alert on flow run %s: %s", run.name, detail)
        return _swept(run, "failed", detail=detail)
    store.settle(RUN_CLAIM, run_id, decision="alerted", alert_id=sent.alert_id, detail=sent.alert.title)
    return _swept(run, "alerted", flow_name=flow_name, alert_id=sent.alert_id, outcomes=sent.outcomes)


def _failed_parent(run: Any) -> Any:
    """The failed or crashed flow run this subflow ran in, if any (its alert covers the subflow)."""
    if not getattr(run, "parent_task_run_id", None):
        return None
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            parent_task = client.read_task_run(run.parent_task_run_id)
            if parent_task.flow_run_id is None:
                return None
            parent = client.read_flow_run(parent_task.flow_run_id)
    except Exception as exc:  # unknown parent: alert on the subflow rather than stay silent
        logger.debug("sweeper: could not read the parent of %s: %s", run.name, exc)
        return None
    parent_state = parent.state
    if parent_state is not None and (parent_state.is_failed() or parent_state.is_crashed()):
        return parent
    return None


def _flow_name(run: Any) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow(run.flow_id).name


def _never_ran(run: Any) -> bool:
    return not run.run_count or run.start_time is None or run.start_time == run.end_time


def sweeper_alert(run: Any, flow_name: str) -> Alert:
    """The alert for a failed or crashed run nothing reported, built as its own hook would have built it.

    Example:
        ```python
        from prefect.client.orchestration import get_client
        from prefect_alerts.monitoring.sweeper import sweeper_alert

        with get_client(sync_client=True) as client:
            run = client.read_flow_run("0f9c...")
        print(sweeper_alert(run, "nightly").title)  # "Flow 'nightly' crashed"
        ```
    """
    from prefect_alerts.hooks.build import alert_from_facts, event_for_state, flow_facts
    from prefect_alerts.hooks.classify import INFRASTRUCTURE, classify_error

    retries = getattr(getattr(run, "empirical_policy", None), "retries", None)
    facts = flow_facts(SimpleNamespace(name=flow_name, retries=retries), run, run.state)
    never_ran = _never_ran(run)
    if never_ran:
        facts.duration = None  # a zero duration says nothing; "it never started" says more
    event = event_for_state(run.state)
    if run.state.is_crashed():
        lead = (
            "Found by the prefect-alerts sweeper: this run crashed and no alert was recorded for it, so its "
            "process most likely died before any hook could run (killed, out of memory, or its infrastructure "
            "failed)."
        )
    else:
        lead = (
            f"Found by the prefect-alerts sweeper: this run ended {run.state.name} and no alert was recorded "
            "for it (the flow has no alert hook, or its hook could not run)."
        )
    error_class = None
    if never_ran:
        lead += " It never started running."
        if run.state.is_crashed() and facts.error is not None:
            # A crash before the flow ran is its infrastructure, unless the message says it was memory.
            found = classify_error(facts.error)
            error_class = found if found is not None and found.name == "out_of_memory" else INFRASTRUCTURE
    return alert_from_facts(
        facts, event, message=lead, fields={"found by": "prefect-alerts sweeper"}, error_class=error_class
    )
