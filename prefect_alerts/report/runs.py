"""Reading a window's flow runs from the Prefect API: paged, in a stable order, a few fields of each.

Runs are read as plain JSON (``POST /flow_runs/filter``) and reduced to :class:`RunFacts` at once: parsing
each run into Prefect's full ``FlowRun`` model costs more than the report itself, and nothing here keeps a
run after it is counted, so memory stays flat however many runs a day holds.

Pages follow a keyset, not an offset: each page asks for runs at or before the last time seen, leaving out the
ids already read at exactly that time, so a page costs the same at run 100,000 as at run 1 and a run that ends
while the report reads is neither skipped nor counted twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

__all__ = ["PAGE_SIZE", "RunFacts", "RunReader", "parse_time", "transient_api_error"]

PAGE_SIZE = 200
"""Runs per request: the most the Prefect API returns in one page."""
RETRY_DELAYS = (1.0, 2.0, 4.0)
"""Seconds between tries of a request the API refused for a moment (connection refused, 5xx, 429)."""


def parse_time(value: str | None) -> datetime | None:
    """An API timestamp (``2026-12-07T08:00:00.123456Z``) as an aware datetime; None stays None.

    >>> parse_time("2026-12-07T08:00:00Z").isoformat()
    '2026-12-07T08:00:00+00:00'
    """
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the report needs of one flow run."""

    id: str
    flow_id: str
    state_type: str | None
    state_name: str | None
    message: str | None
    expected_start_time: datetime | None
    start_time: datetime | None
    end_time: datetime | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunFacts:
        state = data.get("state") or {}
        return cls(
            id=str(data["id"]),
            flow_id=str(data["flow_id"]),
            state_type=data.get("state_type"),
            state_name=data.get("state_name"),
            message=state.get("message"),
            expected_start_time=parse_time(data.get("expected_start_time")),
            start_time=parse_time(data.get("start_time")),
            end_time=parse_time(data.get("end_time")),
        )

    @property
    def duration(self) -> float | None:
        """Seconds from start to end; None for a run that never started or has not ended."""
        if self.start_time is None or self.end_time is None:
            return None
        return max(0.0, (self.end_time - self.start_time).total_seconds())


def transient_api_error(exc: BaseException) -> bool:
    """Whether a Prefect API call failed for a moment (refused, timed out, 5xx, 429): worth trying again."""
    import httpx

    status = getattr(getattr(exc, "response", None), "status_code", None)
    return isinstance(exc, (httpx.TransportError, TimeoutError, ConnectionError)) or (
        isinstance(status, int) and (status >= 500 or status == 429)
    )


class RunReader:
    """The report's reads on one sync Prefect client, each retried (1 s, 2 s, 4 s) while the API is briefly down.

    Example:
        ```python
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            for run in RunReader(client).ended_between(since, until):
                print(run.id, run.state_name)
        ```
    """

    def __init__(
        self, client: Any, *, page_size: int = PAGE_SIZE, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.client = client
        self.page_size = page_size
        self.sleep = sleep
        self.requests = 0

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        for delay in (*RETRY_DELAYS, None):
            try:
                self.requests += 1
                response = self.client.request("POST", path, json=body)
                response.raise_for_status()
                return response.json()
            except Exception as exc:
                if delay is None or not transient_api_error(exc):
                    raise
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _keyset(
        self,
        field: Literal["end_time", "expected_start_time"],
        since: datetime,
        until: datetime,
        extra: dict[str, Any] | None = None,
    ) -> Iterator[RunFacts]:
        """Runs whose ``field`` lies in ``[since, until)``, newest first (end time) or oldest first (start)."""
        descending = field == "end_time"
        sort = "END_TIME_DESC" if descending else "EXPECTED_START_TIME_ASC"
        # The API's bounds are inclusive; the window is half-open, so a run at exactly ``until`` belongs to the
        # next window (a run is counted by one day's report, not two).
        low, high = since, until - timedelta(microseconds=1)
        seen_at_edge: set[str] = set()
        while low <= high:
            bounds = {"after_": low.isoformat(), "before_": high.isoformat()}
            flow_runs: dict[str, Any] = {field: bounds, **(extra or {})}
            if seen_at_edge:
                flow_runs["id"] = {"not_any_": sorted(seen_at_edge)}
            page = self._post(
                "/flow_runs/filter", {"flow_runs": flow_runs, "sort": sort, "limit": self.page_size}
            )
            runs = [RunFacts.from_json(item) for item in page]
            yield from runs
            if len(runs) < self.page_size:
                return
            edge = getattr(runs[-1], field)
            assert edge is not None  # the filter asked for runs that have it
            edge_ids = {run.id for run in runs if getattr(run, field) == edge}
            # Runs at exactly the edge time may continue on the next page: read from that time again, without
            # the ones already seen there.
            seen_at_edge = (seen_at_edge | edge_ids) if edge == (high if descending else low) else edge_ids
            if descending:
                high = edge
            else:
                low = edge

    def ended_between(self, since: datetime, until: datetime) -> Iterator[RunFacts]:
        """Every flow run that ended in ``[since, until)``."""
        return self._keyset("end_time", since, until)

    def expected_between_not_ended(self, since: datetime, until: datetime) -> Iterator[RunFacts]:
        """Runs expected to start in ``[since, until)`` that had not ended by ``until``: still scheduled, late,
        running, or ended later. With :meth:`ended_between` they are every run whose lateness the window
        judges."""
        yield from self._keyset("expected_start_time", since, until, {"end_time": {"is_null_": True}})
        yield from self._keyset(
            "expected_start_time", since, until, {"end_time": {"after_": until.isoformat()}}
        )

    def flow_names(self, flow_ids: set[str]) -> dict[str, str]:
        """Names of the given flows, 200 per request."""
        ids = sorted(flow_ids)
        names: dict[str, str] = {}
        for start in range(0, len(ids), self.page_size):
            chunk = ids[start : start + self.page_size]
            page = self._post("/flows/filter", {"flows": {"id": {"any_": chunk}}, "limit": self.page_size})
            names.update({str(item["id"]): item["name"] for item in page})
        return names
