"""Read the exception, message and traceback out of a Prefect state, safely in sync and async hooks.

``state.result(raise_on_failure=False)`` dispatches on the run context: in a sync hook on an async flow it
returns an un-awaited coroutine ("coroutine object State.aresult ..." ends up in the alert). :func:`state_error`
reads the exception from the state's data directly and never returns a coroutine, in prefect 3.8 and 3.9.
"""

from __future__ import annotations

import asyncio
import os
import traceback
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from prefect_alerts.hooks.redaction import redact_text

__all__ = ["StateError", "state_error", "state_result"]

TRACEBACK_LINES = 8
"""How many traceback lines an alert carries by default: enough for the failing frames, not a wall of text."""

_PREFECT_DIR = os.sep + os.path.join("site-packages", "prefect") + os.sep
_ASYNCIO_DIR = os.sep + "asyncio" + os.sep


class StateError(BaseModel):
    """What went wrong in a failed, crashed or cancelled state.

    Attributes:
        exception: The exception object when the run kept it (not serialized).
        type: The exception class name (``"ValueError"``); Prefect's ``FailedRun``/``CrashedRun``/
            ``CancelledRun`` when the state carries only a message.
        module: The exception class's module (``"builtins"``, ``"psycopg.errors"``).
        message: The exception message, or the state message when the exception has none (secrets masked).
        traceback: The last lines of the traceback (Prefect's own frames dropped), most recent last.
        state_name: ``"Failed"``, ``"TimedOut"``, ``"Crashed"``, ``"Cancelled"``...
        state_message: Prefect's message on the state.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    exception: BaseException | None = Field(default=None, exclude=True, repr=False)
    type: str
    module: str | None = None
    message: str = ""
    traceback: list[str] = Field(default_factory=list)
    state_name: str = ""
    state_message: str | None = None

    @property
    def summary(self) -> str:
        """``ValueError: bad row 12`` (just the type when there is no message)."""
        return f"{self.type}: {self.message}" if self.message else self.type


def _close(value: Any) -> None:
    if asyncio.iscoroutine(value):
        value.close()  # never leave "coroutine was never awaited" behind


def _from_data(state: Any) -> Any:
    """The state's payload without going through ``state.result()`` (which may return a coroutine)."""
    data = getattr(state, "data", None)
    if data is None or isinstance(data, BaseException):
        return data
    try:
        from prefect._internal.result_records import ResultRecord, ResultRecordMetadata
    except ImportError:  # pragma: no cover - the module moved
        ResultRecord = ResultRecordMetadata = ()  # type: ignore[assignment,misc]
    if ResultRecord and isinstance(data, ResultRecord):
        return data.result
    if ResultRecordMetadata and isinstance(data, ResultRecordMetadata):
        return _NOT_LOADED
    return data


_NOT_LOADED = object()


def _load_exception(state: Any) -> BaseException | None:
    # The result lives in storage: ask Prefect synchronously (``_sync=True`` works in 3.8 and 3.9).
    try:
        from prefect.states import get_state_exception

        value = get_state_exception(state, _sync=True)
    except Exception:
        return None
    if asyncio.iscoroutine(value):
        _close(value)
        return None
    return value if isinstance(value, BaseException) else None


def _short_path(path: str) -> str:
    """``etl/load.py`` rather than ``/home/worker/app/etl/load.py``: relative to the working directory or to
    site-packages when it is under one."""
    marker = os.sep + "site-packages" + os.sep
    if marker in path:
        return path.split(marker, 1)[1]
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return relative if not relative.startswith("..") else path


def _traceback_lines(exc: BaseException, limit: int) -> list[str]:
    tb = exc.__traceback__
    if tb is None or limit <= 0:
        return []
    frames = [
        frame
        for frame in traceback.extract_tb(tb)
        if _PREFECT_DIR not in frame.filename and _ASYNCIO_DIR not in frame.filename
    ] or list(traceback.extract_tb(tb))[-1:]
    lines: list[str] = []
    for frame in frames:
        lines.append(f"{_short_path(frame.filename)}:{frame.lineno} in {frame.name}")
        if frame.line:
            lines.append(f"  {frame.line.strip()}")
    lines.append(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    return [redact_text(line, limit=300) for line in lines[-limit:]]


def state_error(state: Any, *, traceback_lines: int = TRACEBACK_LINES) -> StateError | None:
    """The error in ``state``, or None when the state is not failed, crashed or cancelled.

    Safe in sync hooks, async hooks, and sync hooks on async flows: it never returns a coroutine and never
    raises. Secrets in the message and traceback (registered secrets, passwords in URLs) are masked.

    Example:
        ```python
        from prefect import flow
        from prefect_alerts.hooks import state_error

        def my_hook(flow, flow_run, state):
            error = state_error(state)
            if error is not None:
                print(error.summary)        # "ValueError: bad row 12"
                print(error.traceback[-3:])  # the last frames

        @flow(on_failure=[my_hook])
        def etl():
            raise ValueError("bad row 12")
        ```
    """
    try:
        if not (state.is_failed() or state.is_crashed() or state.is_cancelled() or state.is_cancelling()):
            return None
    except Exception:
        return None
    state_name = str(getattr(state, "name", "") or "")
    state_message = getattr(state, "message", None)
    try:
        payload = _from_data(state)
        if payload is _NOT_LOADED:
            payload = _load_exception(state)
    except Exception:
        payload = None
    _close(payload)
    exc = payload if isinstance(payload, BaseException) else None
    if exc is None:
        wrapper = "CrashedRun" if state.is_crashed() else "FailedRun" if state.is_failed() else "CancelledRun"
        message = payload if isinstance(payload, str) and payload else (state_message or "")
        return StateError(
            type=wrapper,
            module="prefect.exceptions",
            message=redact_text(message, limit=2000),
            state_name=state_name,
            state_message=state_message,
        )
    message = str(exc) or (state_message or "")
    return StateError(
        exception=exc,
        type=type(exc).__name__,
        module=type(exc).__module__,
        message=redact_text(message, limit=2000),
        traceback=_traceback_lines(exc, traceback_lines),
        state_name=state_name,
        state_message=state_message,
    )


_MISSING = object()


def state_result(state: Any, default: Any = None) -> Any:
    """The return value a completed state carries, or ``default`` when it is not available in this process.

    Like ``state.result()``, but safe in sync hooks on async flows (never a coroutine) and never raising.

        >>> from prefect.states import Completed
        >>> state_result(Completed(data=3))
        3
    """
    try:
        payload = _from_data(state)
    except Exception:
        return default
    if payload is _NOT_LOADED:
        try:
            payload = state.result(raise_on_failure=False, _sync=True)
        except Exception:
            return default
        if asyncio.iscoroutine(payload):
            _close(payload)
            return default
    return payload
