"""Counting runs into the report's numbers as they stream past, keeping none of them.

Memory grows with the number of flows, buckets and distinct errors (each capped), plus eight bytes per run that
started (its duration, kept so that p50 and p95 are exact rather than estimated).
"""

from __future__ import annotations

import math
import re
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prefect_alerts.report.model import ErrorRow, FlowRow, TimeBucket
from prefect_alerts.report.runs import RunFacts

__all__ = ["MAX_DISTINCT_ERRORS", "RunTally", "error_signature", "final_state", "percentile"]

MAX_DISTINCT_ERRORS = 1000
"""Distinct error signatures kept; later new ones are counted as "other errors" (a day of unique messages
would otherwise grow without bound)."""
ERROR_MESSAGE_LIMIT = 300

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
_HEX = re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b", re.IGNORECASE)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_RUN_PREFIX = re.compile(
    r"^(flow run encountered an exception|task run encountered an exception)[:.]?\s*", re.I
)


def final_state(state_type: str | None, state_name: str | None) -> str | None:
    """The report's final state for a run, or None for a run that has not finished.

    >>> final_state("FAILED", "TimedOut"), final_state("FAILED", "Failed"), final_state("RUNNING", "Running")
    ('timed_out', 'failed', None)
    """
    if state_type == "COMPLETED":
        return "completed"
    if state_type == "FAILED":
        return "timed_out" if state_name == "TimedOut" else "failed"
    if state_type == "CRASHED":
        return "crashed"
    if state_type == "CANCELLED":
        return "cancelled"
    return None


def error_signature(message: str) -> str:
    """What two error messages share once ids, numbers and quoted values are set aside.

    >>> error_signature("ValueError: 12 nulls in 'amount'") == error_signature("ValueError: 7 nulls in 'price'")
    True
    """
    text = message.strip().splitlines()[0] if message.strip() else ""
    text = _RUN_PREFIX.sub("", text)
    text = _UUID.sub("<id>", text)
    text = _HEX.sub("<hex>", text)
    text = _QUOTED.sub("<value>", text)
    return _NUMBER.sub("<n>", text)[:ERROR_MESSAGE_LIMIT].lower()


def percentile(sorted_values: array, fraction: float) -> float | None:
    """The nearest-rank percentile of already sorted values (no interpolation: a value that happened).

    >>> percentile(array("d", [1.0, 2.0, 3.0, 4.0]), 0.5)
    2.0
    """
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class _FlowCounts:
    counts: dict[str, int] = field(default_factory=dict)
    late: int = 0
    durations: array = field(default_factory=lambda: array("d"))


@dataclass
class _BucketCounts:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    timed: int = 0
    longest: float | None = None


@dataclass
class _ErrorCounts:
    message: str
    count: int
    flows: list[str]
    last_seen: datetime


class RunTally:
    """Adds up runs one at a time; :meth:`flow_rows`, :meth:`buckets`, :meth:`errors` read the result."""

    def __init__(self, since: datetime, until: datetime, *, late_after: timedelta) -> None:
        self.since, self.until, self.late_after = since, until, late_after
        self.bucket_size = timedelta(hours=1) if until - since <= timedelta(days=2) else timedelta(days=1)
        self.totals: dict[str, int] = {}
        self.late = 0
        self.unfinished_ended = 0  # runs with an end time but no final state (e.g. a retry under way)
        self._flows: dict[str, _FlowCounts] = {}
        self._buckets: dict[int, _BucketCounts] = {}
        self._errors: dict[str, _ErrorCounts] = {}
        self.other_errors = 0

    # ------------------------------------------------------------------ adding
    def add_ended(self, run: RunFacts) -> None:
        """A run that ended in the window."""
        state = final_state(run.state_type, run.state_name)
        if state is None:
            self.unfinished_ended += 1
            self.add_lateness(run)
            return
        flow = self._flows.setdefault(run.flow_id, _FlowCounts())
        flow.counts[state] = flow.counts.get(state, 0) + 1
        self.totals[state] = self.totals.get(state, 0) + 1
        duration = run.duration
        if duration is not None:
            flow.durations.append(duration)
        assert run.end_time is not None
        index = int((run.end_time - self.since) / self.bucket_size)
        bucket = self._buckets.setdefault(index, _BucketCounts())
        bucket.counts[state] = bucket.counts.get(state, 0) + 1
        if duration is not None:
            bucket.seconds += duration
            bucket.timed += 1
            bucket.longest = duration if bucket.longest is None else max(bucket.longest, duration)
        if state in ("failed", "timed_out", "crashed") and run.message:
            self._add_error(run.message, run.flow_id, run.end_time)
        self.add_lateness(run)

    def add_lateness(self, run: RunFacts) -> None:
        """Count ``run`` as late if it was expected in the window and started more than ``late_after`` after
        that (a run that never started: if it ended, or is still waiting at the window's end, that late)."""
        expected = run.expected_start_time
        if expected is None or not (self.since <= expected < self.until):
            return
        began = run.start_time or run.end_time or self.until
        if began - expected > self.late_after:
            self.late += 1
            self._flows.setdefault(run.flow_id, _FlowCounts()).late += 1

    def _add_error(self, message: str, flow_id: str, when: datetime) -> None:
        signature = error_signature(message)
        if not signature:
            return
        seen = self._errors.get(signature)
        if seen is None:
            if len(self._errors) >= MAX_DISTINCT_ERRORS:
                self.other_errors += 1
                return
            first_line = message.strip().splitlines()[0]
            self._errors[signature] = _ErrorCounts(first_line[:ERROR_MESSAGE_LIMIT], 1, [flow_id], when)
            return
        seen.count += 1
        if flow_id not in seen.flows and len(seen.flows) < 3:
            seen.flows.append(flow_id)
        seen.last_seen = max(seen.last_seen, when)

    # ------------------------------------------------------------------ reading
    @property
    def flow_ids(self) -> set[str]:
        return set(self._flows) | {flow for error in self._errors.values() for flow in error.flows}

    def flow_rows(self, names: dict[str, str]) -> list[FlowRow]:
        """One row per flow, most problems first, then most runs, then by name."""
        rows = []
        for flow_id, flow in self._flows.items():
            counts = flow.counts
            total = sum(counts.values())
            durations = array("d", sorted(flow.durations))
            rows.append(
                FlowRow(
                    flow_name=names.get(flow_id, f"flow {flow_id}"),
                    total_runs=total,
                    late=flow.late,
                    success_rate=counts.get("completed", 0) / total if total else None,
                    p50_seconds=percentile(durations, 0.5),
                    p95_seconds=percentile(durations, 0.95),
                    max_seconds=durations[-1] if durations else None,
                    **counts,
                )
            )
        return sorted(rows, key=lambda row: (-row.problems, -row.total_runs, row.flow_name))

    def buckets(self) -> list[TimeBucket]:
        """Every bucket of the window, empty ones included (a chart's gaps are information)."""
        count = math.ceil((self.until - self.since) / self.bucket_size)
        result = []
        for index in range(count):
            bucket = self._buckets.get(index, _BucketCounts())
            result.append(
                TimeBucket(
                    start=self.since + index * self.bucket_size,
                    mean_seconds=bucket.seconds / bucket.timed if bucket.timed else None,
                    max_seconds=bucket.longest,
                    **bucket.counts,
                )
            )
        return result

    def errors(self, names: dict[str, str], limit: int = 5) -> list[ErrorRow]:
        """The ``limit`` most frequent error signatures."""
        ranked = sorted(self._errors.values(), key=lambda error: (-error.count, -error.last_seen.timestamp()))
        return [
            ErrorRow(
                message=error.message,
                count=error.count,
                flows=[names.get(flow, f"flow {flow}") for flow in error.flows],
                last_seen=error.last_seen,
            )
            for error in ranked[:limit]
        ]
