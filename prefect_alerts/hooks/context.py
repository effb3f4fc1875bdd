"""Facts about a run that the hook arguments do not carry: the deployment's name, failed task runs, the UI link.

Every read from the Prefect API is bounded in time (a hook must never hang the run) and works in sync hooks
on async flows (the sync client, never a coroutine). Deployment names are cached per deployment id.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

__all__ = [
    "API_TIMEOUT",
    "api_failed_task_runs",
    "bounded",
    "clear_deployment_cache",
    "deployment_name",
    "run_duration",
    "run_url",
]

T = TypeVar("T")

API_TIMEOUT = 2.0
"""Seconds one API read may take inside a hook before the alert goes out without that fact."""

_DEPLOYMENTS: dict[str, str | None] = {}
_DEPLOYMENTS_LOCK = threading.Lock()
_DEPLOYMENTS_MAX = 1000


def bounded(fn: Callable[[], T], timeout: float, default: T) -> T:
    """``fn()`` in a daemon thread (with this context's settings), or ``default`` when it takes longer than
    ``timeout`` seconds or raises."""
    box: list[T] = []
    context = contextvars.copy_context()  # the thread must see the same Prefect settings (API URL)

    def target() -> None:
        with contextlib.suppress(Exception):
            box.append(context.run(fn))

    thread = threading.Thread(target=target, name="prefect-alerts-context", daemon=True)
    thread.start()
    thread.join(timeout)
    return box[0] if box else default


def clear_deployment_cache() -> None:
    """Forget the deployment names read so far (a renamed deployment is then read again)."""
    with _DEPLOYMENTS_LOCK:
        _DEPLOYMENTS.clear()


def deployment_name(deployment_id: object, *, timeout: float = API_TIMEOUT) -> str | None:
    """The name of the deployment with this id (read once per process), or None when it cannot be read.

    Example:
        ```python
        from prefect_alerts.hooks.context import deployment_name

        def hook(flow, flow_run, state):
            print(deployment_name(flow_run.deployment_id))  # "nightly"
        ```
    """
    if not deployment_id:
        return None
    key = str(deployment_id)
    with _DEPLOYMENTS_LOCK:
        if key in _DEPLOYMENTS:
            return _DEPLOYMENTS[key]

    def read() -> str | None:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            return client.read_deployment(deployment_id).name  # type: ignore[arg-type]

    name = bounded(read, timeout, None)
    if name is not None:
        with _DEPLOYMENTS_LOCK:
            if len(_DEPLOYMENTS) >= _DEPLOYMENTS_MAX:
                _DEPLOYMENTS.clear()
            _DEPLOYMENTS[key] = name
    return name


def api_failed_task_runs(flow_run_id: object, *, timeout: float = API_TIMEOUT, limit: int = 20) -> list[str]:
    """``["load-3a1 (Failed)"]``: the flow run's failed or crashed task runs as the API knows them.

    The server records task run states from events, a moment after they happen: the in-process record
    (:mod:`prefect_alerts.hooks.logs`) is the first source; this one covers tasks that ran elsewhere.
    """
    if not flow_run_id:
        return []

    def read() -> list[str]:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import (
            FlowRunFilter,
            FlowRunFilterId,
            TaskRunFilter,
            TaskRunFilterState,
            TaskRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType

        with get_client(sync_client=True) as client:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),  # type: ignore[list-item]
                task_run_filter=TaskRunFilter(
                    state=TaskRunFilterState(
                        type=TaskRunFilterStateType(any_=[StateType.FAILED, StateType.CRASHED])
                    )
                ),
                limit=limit,
            )
        return [f"{run.name} ({run.state_name or 'Failed'})" for run in runs]

    return bounded(read, timeout, [])


def run_duration(run: Any, state: Any) -> timedelta | None:
    """How long the run took: from its start to the final state (the run object a hook gets is not updated
    with its end time), else what the server recorded."""
    start = getattr(run, "start_time", None)
    end = getattr(state, "timestamp", None) or getattr(run, "end_time", None)
    if isinstance(start, datetime) and isinstance(end, datetime):
        try:
            duration = end - start
        except TypeError:  # naive vs aware
            duration = None
        if duration is not None and duration >= timedelta(0):
            return duration
    total = getattr(run, "total_run_time", None)
    if isinstance(total, timedelta) and total > timedelta(0):
        return total
    return None


def run_url(run: Any) -> str | None:
    """The run's page in the Prefect UI when ``PREFECT_UI_URL`` is set, else None."""
    try:
        from prefect.utilities.urls import url_for

        url = url_for(run)
    except Exception:
        return None
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None
