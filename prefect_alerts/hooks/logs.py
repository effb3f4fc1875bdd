"""The last ERROR log lines of each run, captured in this process.

Prefect sends run logs to the server in batches, so by the time a failure hook runs the server may not have
them yet. A small handler on the root logger keeps the last ERROR lines per flow run (bounded: a fixed number
of lines per run and of runs), and notes which task runs finished in a failed state, so a flow's alert can say
which tasks failed without waiting for the server.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone

from prefect_alerts.hooks.redaction import redact_text

__all__ = ["LINES_PER_RUN", "MAX_RUNS", "RunLogBuffer", "install_log_capture", "log_buffer"]

LINES_PER_RUN = 20
"""ERROR lines kept per flow run (the oldest are dropped first)."""
MAX_RUNS = 200
"""Flow runs remembered at once (the least recently logged are forgotten first)."""
LINE_LIMIT = 300
"""Characters kept of one log line."""

# The engine's own ERROR lines repeat what the alert already says (the exception, the final state).
_ENGINE_PREFIXES = (
    "Finished in state ",
    "Encountered exception during execution",
    "Task run failed with ",
    "Crash detected!",
    "An error was encountered while running hook",
    "Flow run exceeded timeout",
    "Task run exceeded timeout",
)
_ENGINE_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
_NOT_FAILED = ("Completed", "Cached", "Running", "Pending", "NotReady", "Scheduled")


@dataclass(frozen=True)
class LogLine:
    """One captured ERROR line."""

    time: datetime
    level: str
    logger: str
    message: str
    task_run_id: str | None = None

    def __str__(self) -> str:
        level = "" if self.level == "ERROR" else f" {self.level}"
        return f"{self.time:%H:%M:%S}{level} {self.message}"


@dataclass
class _Run:
    lines: deque[LogLine]
    failed_tasks: dict[str, str] = field(default_factory=dict)  # task run id or name -> "name (State)"


class RunLogBuffer(logging.Handler):
    """A logging handler that keeps the last ERROR lines of each flow run, and its failed task runs."""

    def __init__(self, lines_per_run: int = LINES_PER_RUN, max_runs: int = MAX_RUNS) -> None:
        super().__init__(level=logging.ERROR)
        self.lines_per_run = lines_per_run
        self.max_runs = max_runs
        self._runs: OrderedDict[str, _Run] = OrderedDict()
        self._lock_runs = threading.Lock()

    # logging.Handler API ---------------------------------------------------------------------------------
    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # a log handler must never break the code that logs
            self._capture(record)

    def handleError(self, record: logging.LogRecord) -> None:
        pass

    # capture -------------------------------------------------------------------------------------------
    def _capture(self, record: logging.LogRecord) -> None:
        run_id = getattr(record, "flow_run_id", None) or _context_flow_run_id()
        if not run_id:
            return
        message = record.getMessage()
        task_run_id = getattr(record, "task_run_id", None)
        engine = record.name in _ENGINE_LOGGERS and message.startswith(_ENGINE_PREFIXES)
        with self._lock_runs:
            run = self._run(str(run_id))
            if engine:
                if record.name == "prefect.task_runs" and message.startswith("Finished in state "):
                    state_name = message[len("Finished in state ") :].split("(", 1)[0].strip()
                    task_name = getattr(record, "task_run_name", None) or "task"
                    key = str(task_run_id or task_name)
                    if state_name and state_name not in _NOT_FAILED:
                        run.failed_tasks[key] = f"{task_name} ({state_name})"
                    else:  # a retried task that finally passed, or a completed one
                        run.failed_tasks.pop(key, None)
                return
            first_line = message.strip().splitlines()[0] if message.strip() else ""
            run.lines.append(
                LogLine(
                    time=datetime.fromtimestamp(record.created, tz=timezone.utc),
                    level=record.levelname,
                    logger=record.name,
                    message=redact_text(first_line, limit=LINE_LIMIT),
                    task_run_id=str(task_run_id) if task_run_id else None,
                )
            )

    def _run(self, run_id: str) -> _Run:
        run = self._runs.get(run_id)
        if run is None:
            run = _Run(lines=deque(maxlen=self.lines_per_run))
            self._runs[run_id] = run
            while len(self._runs) > self.max_runs:
                self._runs.popitem(last=False)
        else:
            self._runs.move_to_end(run_id)
        return run

    # reading -------------------------------------------------------------------------------------------
    def lines(self, flow_run_id: object, *, task_run_id: object = None, limit: int = 5) -> list[LogLine]:
        """The last ``limit`` ERROR lines of a flow run (only those of one task run when given)."""
        with self._lock_runs:
            run = self._runs.get(str(flow_run_id))
            if run is None:
                return []
            lines = list(run.lines)
        if task_run_id is not None:
            lines = [line for line in lines if line.task_run_id == str(task_run_id)]
        return lines[-limit:] if limit > 0 else []

    def failed_tasks(self, flow_run_id: object) -> list[str]:
        """``["load-3a1 (Failed)", ...]``: task runs of the flow run that finished in a failed state here."""
        with self._lock_runs:
            run = self._runs.get(str(flow_run_id))
            return list(run.failed_tasks.values()) if run is not None else []

    def forget(self, flow_run_id: object) -> None:
        with self._lock_runs:
            self._runs.pop(str(flow_run_id), None)


def _context_flow_run_id() -> str | None:
    # Records from plain loggers (a library's logging.getLogger(__name__)) carry no run id: use the context.
    try:
        from prefect.context import FlowRunContext
    except ImportError:  # pragma: no cover
        return None
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return None
    return str(context.flow_run.id)


_BUFFER = RunLogBuffer()
_INSTALL_LOCK = threading.Lock()


def log_buffer() -> RunLogBuffer:
    """The process-wide buffer the hooks read (installed on the root logger by :func:`install_log_capture`)."""
    return _BUFFER


def install_log_capture() -> RunLogBuffer:
    """Attach the buffer to the root logger (idempotent); every hook factory calls it when it is created.

    Example:
        ```python
        from prefect_alerts.hooks.logs import install_log_capture

        buffer = install_log_capture()
        # ... after a run: buffer.lines(flow_run.id)
        ```
    """
    root = logging.getLogger()
    if _BUFFER not in root.handlers:
        with _INSTALL_LOCK:
            if _BUFFER not in root.handlers:
                root.addHandler(_BUFFER)
    return _BUFFER
