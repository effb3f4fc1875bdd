"""The hook object every factory returns: callable as a flow or task state hook, sync or async.

An :class:`AlertHook` never raises into Prefect and never hangs the run: its work runs under a hard deadline
(the delivery budget plus the bounded API reads), problems are logged through the run's logger, and an alert
that cannot go through the pipeline (an invalid routing config, a bug) is still printed to the console.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from prefect_alerts.alert import Alert, Severity, Source
from prefect_alerts.channels.base import Channel, get_logger, redact
from prefect_alerts.hooks.context import API_TIMEOUT, bounded
from prefect_alerts.hooks.logs import install_log_capture

__all__ = ["AlertHook", "AsyncAlertHook", "HookCall", "HookOptions", "fired_in_run"]

DEFAULT_BUDGET = 3.0
"""Seconds delivery may take inside a hook when neither the hook nor the routing says otherwise."""

_logger = get_logger("prefect_alerts.hooks")


class HookOptions(BaseModel):
    """What every factory takes: where alerts go and how they read.

    Attributes:
        routing: An ``AlertRouting``, a routing file path, or a saved routing block name; None: the resolution
            order (``$PREFECT_ALERTS_CONFIG``, the ``alert-routing/default`` block, the console).
        destinations: A direct route instead: references (``"slack:oncall"``) or channel objects.
        severity: Overrides the event's default severity.
        title: Overrides the generated title.
        message: A line that leads the body ("The 03:00 load feeds the morning report").
        tags: Added to the run's tags.
        fields: Added after the run's own fields.
        budget: Seconds delivery may take inside the hook (default: the routing's, 3 s).
        api: Read the deployment name and remote failed tasks from the Prefect API (bounded in time).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    routing: Any = None
    destinations: Sequence[str | Channel] | None = None
    severity: Severity | None = None
    title: str | None = None
    message: str | None = None
    tags: tuple[str, ...] = ()
    fields: dict[str, Any] = Field(default_factory=dict)
    budget: float | None = Field(default=None, gt=0)
    api: bool = True

    @field_validator("destinations", mode="before")
    @classmethod
    def _destination_list(cls, value: Any) -> Any:
        if isinstance(value, (str, Channel)):
            return [value]
        return list(value) if value is not None else None

    @field_validator("budget", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        return value.total_seconds() if isinstance(value, timedelta) else value

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_tuple(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else tuple(value or ())

    @property
    def deadline(self) -> float:
        """The longest a hook may take: delivery budget plus two bounded API reads plus a margin."""
        return (self.budget or DEFAULT_BUDGET) + 2 * API_TIMEOUT + 1.0

    def alert_options(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "title": self.title,
            "message": self.message,
            "tags": self.tags,
            "fields": self.fields,
        }


@dataclass
class HookCall:
    """One call of a hook: the flow or task, its run, the state, and the run's logger."""

    kind: Literal["flow", "task"]
    obj: Any
    run: Any
    state: Any
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger]

    @property
    def flow_run_id(self) -> str | None:
        run_id = self.run.id if self.kind == "flow" else getattr(self.run, "flow_run_id", None)
        return str(run_id) if run_id else None

    @property
    def name(self) -> str:
        return str(getattr(self.obj, "name", None) or self.kind)


# Dedup keys each flow run's hooks sent, so a completion hook in the same run does not resolve them.
_FIRED: OrderedDict[str, set[str]] = OrderedDict()
_FIRED_LOCK = threading.Lock()
_FIRED_MAX = 500


def _remember_fired(flow_run_id: str | None, dedup_key: str) -> None:
    if not flow_run_id:
        return
    with _FIRED_LOCK:
        keys = _FIRED.setdefault(flow_run_id, set())
        keys.add(dedup_key)
        _FIRED.move_to_end(flow_run_id)
        while len(_FIRED) > _FIRED_MAX:
            _FIRED.popitem(last=False)


def fired_in_run(flow_run_id: object) -> set[str]:
    """The dedup keys the hooks sent firing alerts for during this flow run (in this process)."""
    with _FIRED_LOCK:
        return set(_FIRED.get(str(flow_run_id), ()))


def _run_logger(kind: str, obj: Any, run: Any) -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    # get_run_logger() fails in on_crashed and outside a run context; these work with the hook's arguments.
    try:
        from prefect.logging.loggers import flow_run_logger, task_run_logger

        if kind == "flow":
            return flow_run_logger(run, obj)
        return task_run_logger(run, obj)
    except Exception:
        return _logger


def _is_task(obj: Any) -> bool:
    try:
        from prefect.tasks import Task
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, Task)


Handler = Callable[["AlertHook", HookCall], None]


class AlertHook:
    """A state hook for flows and tasks (sync). Prefect calls it as ``hook(flow, flow_run, state)`` or
    ``hook(task, task_run, state)``, positionally or by keyword; it returns None.

    ``hook.as_async()`` is the same hook as an ``async`` function, for async flows whose event loop should
    not wait on delivery (``with_alerts`` picks it for async flows and tasks).
    """

    def __init__(self, name: str, handler: Handler, options: HookOptions, **settings: Any) -> None:
        self.__name__ = name
        self.__qualname__ = name
        self.handler = handler
        self.options = options
        self.settings = settings
        install_log_capture()  # ERROR lines must be captured from the start of the run

    def __repr__(self) -> str:
        return f"<{self.__name__} hook>"

    def __call__(
        self,
        flow: Any = None,
        flow_run: Any = None,
        state: Any = None,
        *,
        task: Any = None,
        task_run: Any = None,
    ) -> None:
        call = self._call(flow, flow_run, state, task, task_run)
        if call is None:
            return
        finished = bounded(lambda: self._run(call) or True, self.options.deadline, False)
        if not finished:  # delivery goes on in its daemon thread; what it does not finish stays in the outbox
            call.logger.warning(
                "prefect-alerts: hook %s gave up waiting after %.0f s", self.__name__, self.options.deadline
            )

    def _call(self, flow: Any, flow_run: Any, state: Any, task: Any, task_run: Any) -> HookCall | None:
        try:
            if task is not None or task_run is not None:
                obj, run, kind = task, task_run, "task"
            elif _is_task(flow):
                obj, run, kind = flow, flow_run, "task"
            else:
                obj, run, kind = flow, flow_run, "flow"
            if run is None or state is None:
                _logger.error(
                    "%s was called without a run or state; attach it as a flow or task state hook, "
                    "e.g. @flow(on_failure=[%s()])",
                    self.__name__,
                    self.__name__,
                )
                return None
            return HookCall(kind=kind, obj=obj, run=run, state=state, logger=_run_logger(kind, obj, run))
        except Exception as exc:
            _logger.error("%s could not read its arguments: %s", self.__name__, exc)
            return None

    def _run(self, call: HookCall) -> None:
        try:
            self.handler(self, call)
        except Exception as exc:
            call.logger.error(
                "prefect-alerts: hook %s failed: %s: %s", self.__name__, type(exc).__name__, redact(str(exc))
            )

    def as_async(self) -> AsyncAlertHook:
        """The same hook as a coroutine function (delivery runs in a worker thread)."""
        return AsyncAlertHook(self)

    # sending -------------------------------------------------------------------------------------------
    def send(self, call: HookCall, alert: Alert) -> None:
        """Send ``alert`` through the pipeline; on a routing error or a bug, log it and print the alert."""
        from prefect_alerts.dispatch import send_alert
        from prefect_alerts.routing import RoutingError

        options = self.options
        title = alert.title[:120]
        try:
            result = send_alert(
                alert, routing=options.routing, destinations=options.destinations, budget=options.budget
            )
        except RoutingError as exc:
            call.logger.error(
                "prefect-alerts: %s; alert %r was printed to the console only (fix the config, then "
                "`prefect-alerts config check`)",
                redact(str(exc)),
                title,
            )
            _console(alert)
            return
        except Exception as exc:
            call.logger.error(
                "prefect-alerts: could not send alert %r (%s: %s); printed to the console instead",
                title,
                type(exc).__name__,
                redact(str(exc)),
            )
            _console(alert)
            return
        if not alert.is_resolved:
            _remember_fired(call.flow_run_id, alert.dedup_key)
        summary = "; ".join(str(outcome) for outcome in result.outcomes)
        if any(outcome.status == "dead" for outcome in result.outcomes):
            call.logger.error("prefect-alerts: alert %r: %s", title, summary)
        elif any(outcome.status == "queued" for outcome in result.outcomes):
            call.logger.warning("prefect-alerts: alert %r: %s", title, summary)
        else:
            call.logger.info("prefect-alerts: alert %r: %s", title, summary)

    def fallback_alert(self, call: HookCall, event: str, severity: Severity | None = None) -> Alert:
        """A minimal alert from the hook's arguments alone, for when building the full one failed."""
        state_name = str(getattr(call.state, "name", "") or "finished")
        source = (
            Source(
                flow_name=call.name,
                flow_run_id=str(call.run.id),
                flow_run_name=getattr(call.run, "name", None),
            )
            if call.kind == "flow"
            else Source(
                task_name=call.name,
                task_run_id=str(call.run.id),
                task_run_name=getattr(call.run, "name", None),
            )
        )
        return Alert(
            title=f"{call.kind.capitalize()} '{call.name}' {state_name}",
            message=redact(str(getattr(call.state, "message", "") or "")),
            severity=severity or self.options.severity or Severity.ERROR,
            event=event,
            source=source,
        )


def _console(alert: Alert) -> None:
    from prefect_alerts.channels.console import ConsoleChannel
    from prefect_alerts.delivery import deliver

    try:
        deliver(alert, ConsoleChannel(log=True))
    except Exception:  # the last resort must not raise either
        _logger.error("prefect-alerts: could not print alert %r", alert.title[:120])


class AsyncAlertHook:
    """An :class:`AlertHook` as a coroutine function: awaiting it runs the hook in a worker thread, so the
    event loop keeps serving other flows while the alert is delivered."""

    def __init__(self, hook: AlertHook) -> None:
        self.hook = hook
        self.__name__ = hook.__name__
        self.__qualname__ = hook.__name__

    def __repr__(self) -> str:
        return f"<async {self.__name__} hook>"

    async def __call__(
        self,
        flow: Any = None,
        flow_run: Any = None,
        state: Any = None,
        *,
        task: Any = None,
        task_run: Any = None,
    ) -> None:
        call = self.hook._call(flow, flow_run, state, task, task_run)
        if call is None:
            return
        try:
            await asyncio.wait_for(asyncio.to_thread(self.hook._run, call), self.hook.options.deadline)
        except (
            Exception
        ) as exc:  # the deadline passed: the delivery goes on in its thread, or the outbox has it
            call.logger.warning(
                "prefect-alerts: hook %s gave up waiting: %s", self.__name__, type(exc).__name__
            )

    def as_async(self) -> AsyncAlertHook:
        return self

    @property
    def options(self) -> HookOptions:
        return self.hook.options
