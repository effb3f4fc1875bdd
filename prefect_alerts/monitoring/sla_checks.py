"""Judging SLA rules against the Prefect API: which runs, flows and deployments are outside their limits now.

One function per rule type, each returning the violations it sees at ``now`` (an injected clock: tests and
backfills cannot wait on the server's own Late marking). Runs are read paged (200 a page, a stable sort) and
bounded; API calls that fail for a moment are retried with backoff (:class:`SlaApi`), then raise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from prefect_alerts.report.runs import transient_api_error
from prefect_alerts.routing.durations import format_duration
from prefect_alerts.routing.sla import (
    FrequencySla,
    LatenessSla,
    MaxFailuresSla,
    SlaRule,
    SuccessRateSla,
    TimeToCompletionSla,
)

__all__ = ["SlaApi", "Violation", "judge_rule"]

PAGE_SIZE = 200
MAX_PAGES = 25  # 5,000 runs per query: a rule that matches more is too broad to page on
LATE_LOOKBACK = timedelta(days=7)  # scheduled runs older than this are a paused deployment's leftovers
RETRY_DELAYS = (1.0, 2.0, 4.0)
T = TypeVar("T")


@dataclass
class Violation:
    """One rule broken by one subject (a run, a flow or a deployment), as seen at ``now``."""

    rule: SlaRule
    subject: str  # run:<id>, flow:<name> or deployment:<flow>/<name>
    flow_name: str
    deployment_name: str | None
    observed: str
    detail: str
    flow_run: Any = None

    @property
    def key(self) -> str:
        return f"{self.rule.key}:{self.subject}"

    @property
    def scope(self) -> str:
        if self.deployment_name:
            return f"{self.flow_name}/{self.deployment_name}"
        return self.flow_name


class SlaApi:
    """The reads the SLA rules need, on one client, each retried (1 s, 2 s, 4 s) when the API is briefly down."""

    def __init__(self, client: Any, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.sleep = sleep
        self._flow_names: dict[Any, str] = {}
        self._deployments: list[Any] | None = None
        self._deployment_names: dict[Any, str] | None = None
        self._flows: list[Any] | None = None

    def call(self, read: Callable[[], T]) -> T:
        for delay in (*RETRY_DELAYS, None):
            try:
                return read()
            except Exception as exc:
                if delay is None or not transient_api_error(exc):
                    raise
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ names
    def flow_name(self, flow_id: Any) -> str:
        if flow_id not in self._flow_names and self._flows is None:
            self.flows()  # one paged read names every flow, rather than one read per deployment or run
        if flow_id not in self._flow_names:  # a flow created since
            self._flow_names[flow_id] = self.call(lambda: self.client.read_flow(flow_id)).name
        return self._flow_names[flow_id]

    def deployments(self) -> list[Any]:
        if self._deployments is None:
            self._deployments = list(self.pages(self.client.read_deployments))
        return self._deployments

    def deployment_name(self, deployment_id: Any) -> str | None:
        if deployment_id is None:
            return None
        if self._deployment_names is None:
            self._deployment_names = {deployment.id: deployment.name for deployment in self.deployments()}
        return self._deployment_names.get(deployment_id)

    def flows(self) -> list[Any]:
        if self._flows is None:
            self._flows = list(self.pages(self.client.read_flows))
            self._flow_names.update({flow.id: flow.name for flow in self._flows})
        return self._flows

    # ------------------------------------------------------------------ runs
    def pages(self, read: Callable[..., list[Any]], **arguments: Any) -> Iterator[Any]:
        """Every item ``read`` returns, 200 a page, each page retried; at most ``MAX_PAGES`` pages."""
        for page in range(MAX_PAGES):
            batch = self.call(lambda page=page: read(limit=PAGE_SIZE, offset=page * PAGE_SIZE, **arguments))
            yield from batch
            if len(batch) < PAGE_SIZE:
                return

    def runs(self, run_filter: Any, sort: Any, **filters: Any) -> Iterator[Any]:
        return self.pages(self.client.read_flow_runs, flow_run_filter=run_filter, sort=sort, **filters)

    def count(self, run_filter: Any, **filters: Any) -> int:
        return int(self.call(lambda: self.client.count_flow_runs(flow_run_filter=run_filter, **filters)))


# ---------------------------------------------------------------------- subjects
@dataclass(frozen=True)
class _Subject:
    """What a flow-level rule is judged per: one deployment, or one flow (all its runs)."""

    subject: str
    flow_name: str
    deployment_name: str | None
    created: datetime | None
    filters: dict[str, Any]

    @property
    def label(self) -> str:
        """``etl/nightly`` or ``etl``: the subject as the alert names it."""
        return self.subject.split(":", 1)[1]


def _subjects(rule: SlaRule, api: SlaApi) -> list[_Subject]:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowFilter, FlowFilterId

    if rule.per_deployment:
        found = []
        for deployment in api.deployments():
            flow_name = api.flow_name(deployment.flow_id)
            if rule.covers(flow_name, deployment.name):
                found.append(
                    _Subject(
                        f"deployment:{flow_name}/{deployment.name}",
                        flow_name,
                        deployment.name,
                        deployment.created,
                        {"deployment_filter": DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))},
                    )
                )
        return found
    return [
        _Subject(
            f"flow:{flow.name}",
            flow.name,
            None,
            flow.created,
            {"flow_filter": FlowFilter(id=FlowFilterId(any_=[flow.id]))},
        )
        for flow in api.flows()
        if rule.covers(flow.name)
    ]


def _run_scope(run: Any, api: SlaApi) -> tuple[str, str | None]:
    return api.flow_name(run.flow_id), api.deployment_name(run.deployment_id)


# ---------------------------------------------------------------------- the rules
def _time_to_completion(rule: TimeToCompletionSla, now: datetime, api: SlaApi) -> list[Violation]:
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    run_filter = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING])),
        start_time=FlowRunFilterStartTime(before_=now - rule.duration),
    )
    found = []
    for run in api.runs(run_filter, FlowRunSort.START_TIME_ASC):
        flow_name, deployment_name = _run_scope(run, api)
        if run.start_time is None or not rule.covers(flow_name, deployment_name):
            continue
        running = now - run.start_time
        found.append(
            Violation(
                rule,
                f"run:{run.id}",
                flow_name,
                deployment_name,
                observed=f"running for {_elapsed(running)}",
                detail=f"Run '{run.name}' has been running for {_elapsed(running)} (limit "
                f"{format_duration(rule.duration)}): it may be stuck, waiting on a lock, or far slower than usual.",
                flow_run=run,
            )
        )
    return found


def _lateness(rule: LatenessSla, now: datetime, api: SlaApi) -> list[Violation]:
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    run_filter = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED, StateType.PENDING])),
        expected_start_time=FlowRunFilterExpectedStartTime(
            after_=now - LATE_LOOKBACK, before_=now - rule.within
        ),
    )
    found = []
    for run in api.runs(run_filter, FlowRunSort.EXPECTED_START_TIME_ASC):
        if run.start_time is not None or (run.state and run.state.name == "AwaitingRetry") or run.run_count:
            continue  # started before, or a retry waiting its delay: not a late start
        flow_name, deployment_name = _run_scope(run, api)
        if not rule.covers(flow_name, deployment_name) or run.expected_start_time is None:
            continue
        late = now - run.expected_start_time
        found.append(
            Violation(
                rule,
                f"run:{run.id}",
                flow_name,
                deployment_name,
                observed=f"{_elapsed(late)} late",
                detail=f"Run '{run.name}' was scheduled for {run.expected_start_time:%Y-%m-%d %H:%M} UTC and has not "
                f"started {_elapsed(late)} later (limit {format_duration(rule.within)}): is a worker "
                "polling its work pool, and is the pool or its concurrency limit full?",
                flow_run=run,
            )
        )
    return found


def _frequency(rule: FrequencySla, now: datetime, api: SlaApi) -> list[Violation]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    completed = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.COMPLETED]))
    )
    found = []
    for subject in _subjects(rule, api):
        latest = api.call(
            lambda subject=subject: api.client.read_flow_runs(
                flow_run_filter=completed, sort=FlowRunSort.END_TIME_DESC, limit=1, **subject.filters
            )
        )
        last_end = latest[0].end_time if latest and latest[0].end_time else None
        since = last_end or subject.created
        if since is None or now - since <= rule.stale_after:
            continue  # fresh, or too new to have had a run
        age = _elapsed(now - since)
        if last_end is None:
            observed, detail = (
                f"no Completed run in {age}",
                f"{subject.label} has had no Completed run since it was created {age} ago "
                f"(limit {format_duration(rule.stale_after)}).",
            )
        else:
            observed, detail = (
                f"last Completed run {age} ago",
                f"The last Completed run of {subject.label} ended {last_end:%Y-%m-%d %H:%M} UTC, "
                f"{age} ago (limit {format_duration(rule.stale_after)}): whatever it produces is stale.",
            )
        found.append(
            Violation(
                rule,
                subject.subject,
                subject.flow_name,
                subject.deployment_name,
                observed,
                detail,
                flow_run=latest[0] if latest else None,
            )
        )
    return found


def _finished_counts(subject: _Subject, since: datetime, now: datetime, api: SlaApi) -> tuple[int, int]:
    """(failed or crashed, finished) runs of ``subject`` that ended in ``[since, now]``."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterEndTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    def counted(types: list[StateType]) -> int:
        run_filter = FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=types)),
            end_time=FlowRunFilterEndTime(after_=since, before_=now),
        )
        return api.count(run_filter, **subject.filters)

    failed = counted([StateType.FAILED, StateType.CRASHED])
    finished = failed + counted([StateType.COMPLETED])
    return failed, finished


def _max_failures(rule: MaxFailuresSla, now: datetime, api: SlaApi) -> list[Violation]:
    found = []
    for subject in _subjects(rule, api):
        failed, _ = _finished_counts(subject, now - rule.window, now, api)
        if failed <= rule.max_failures:
            continue
        window = format_duration(rule.window)
        found.append(
            Violation(
                rule,
                subject.subject,
                subject.flow_name,
                subject.deployment_name,
                observed=f"{failed} failed runs in {window}",
                detail=f"{subject.label} had {failed} failed or crashed runs in the last {window} "
                f"(at most {rule.max_failures} allowed).",
            )
        )
    return found


def _success_rate(rule: SuccessRateSla, now: datetime, api: SlaApi) -> list[Violation]:
    found = []
    for subject in _subjects(rule, api):
        failed, finished = _finished_counts(subject, now - rule.window, now, api)
        if finished < rule.min_runs:
            continue
        rate = (finished - failed) / finished
        if rate >= rule.min_success_rate:
            continue
        window = format_duration(rule.window)
        found.append(
            Violation(
                rule,
                subject.subject,
                subject.flow_name,
                subject.deployment_name,
                observed=f"{rate:.0%} success ({finished - failed} of {finished})",
                detail=f"{subject.label} completed {finished - failed} of its {finished} finished "
                f"runs in the last {window}: {rate:.1%}, below {rule.min_success_rate:.0%}.",
            )
        )
    return found


_JUDGES: dict[str, Callable[[Any, datetime, SlaApi], list[Violation]]] = {
    "time_to_completion": _time_to_completion,
    "lateness": _lateness,
    "frequency": _frequency,
    "max_failures": _max_failures,
    "success_rate": _success_rate,
}


def judge_rule(rule: SlaRule, now: datetime, api: SlaApi) -> list[Violation]:
    """The violations of ``rule`` at ``now``. Raises when the API stays unavailable after the retries."""
    return _JUDGES[rule.type](rule, now, api)  # type: ignore[attr-defined]


def _elapsed(value: timedelta) -> str:
    """``2h 05m``, ``30m``, ``2d 3h``, ``45s``: minutes are enough to say how long something is overdue."""
    seconds = max(int(value.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s"
    days, rest = divmod(seconds // 60, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d" + (f" {hours}h" if hours else "")
    if hours:
        return f"{hours}h" + (f" {minutes:02d}m" if minutes else "")
    return f"{minutes}m"
