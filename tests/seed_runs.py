"""Seed flow runs with chosen states and times straight into the Prefect server's database.

The API stamps every state with the server's clock, so a run that ended yesterday at 09:00 cannot be made
through it; the report's tests and benchmark need exactly that. Rows go in through Prefect's own ORM tables
(the run, and its current state with its message), in the database the running server reads
(``PREFECT_API_DATABASE_CONNECTION_URL``, which ``prefect_test_harness`` points at its temporary SQLite file).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["SeedRun", "create_flow", "insert_runs", "seeded"]

_STATE_TYPES = {
    "Completed": "COMPLETED",
    "Failed": "FAILED",
    "TimedOut": "FAILED",
    "Crashed": "CRASHED",
    "Cancelled": "CANCELLED",
    "Running": "RUNNING",
    "Scheduled": "SCHEDULED",
    "Late": "SCHEDULED",
    "Pending": "PENDING",
    "AwaitingRetry": "SCHEDULED",
}


@dataclass
class SeedRun:
    """One run: its flow, current state name (``TimedOut``, ``Late``, ...) and times."""

    flow_id: uuid.UUID
    state: str
    expected_start_time: datetime
    start_time: datetime | None = None
    end_time: datetime | None = None
    message: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @classmethod
    def finished(
        cls,
        flow_id: uuid.UUID,
        state: str,
        end: datetime,
        seconds: float,
        *,
        late: timedelta = timedelta(0),
        message: str | None = None,
    ) -> SeedRun:
        """A run that started ``seconds`` before ``end``, ``late`` after its scheduled time."""
        start = end - timedelta(seconds=seconds)
        return cls(flow_id, state, start - late, start, end, message)


def create_flow(name: str) -> uuid.UUID:
    """The id of the flow named ``name`` (created through the API)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.create_flow_from_name(name)


async def _insert(runs: list[SeedRun], batch: int) -> None:
    import sqlalchemy as sa
    from prefect.server.database import provide_database_interface

    db = provide_database_interface()
    flow_run, state_table = db.FlowRun.__table__, db.FlowRunState.__table__
    async with db.session_context(begin_transaction=True) as session:
        for start in range(0, len(runs), batch):
            chunk = runs[start : start + batch]
            state_ids = {run.id: uuid.uuid4() for run in chunk}
            await session.execute(
                sa.insert(flow_run),
                [
                    {
                        "id": run.id,
                        "name": f"seeded-{run.id.hex[:8]}",
                        "flow_id": run.flow_id,
                        "state_type": _STATE_TYPES[run.state],
                        "state_name": run.state,
                        "state_timestamp": run.end_time or run.start_time or run.expected_start_time,
                        "expected_start_time": run.expected_start_time,
                        "start_time": run.start_time,
                        "end_time": run.end_time,
                        "total_run_time": (run.end_time - run.start_time)
                        if run.end_time and run.start_time
                        else timedelta(0),
                        "run_count": 1 if run.start_time else 0,
                    }
                    for run in chunk
                ],
            )
            await session.execute(
                sa.insert(state_table),
                [
                    {
                        "id": state_ids[run.id],
                        "flow_run_id": run.id,
                        "type": _STATE_TYPES[run.state],
                        "name": run.state,
                        "message": run.message,
                        "timestamp": run.end_time or run.start_time or run.expected_start_time,
                    }
                    for run in chunk
                ],
            )
            current = (
                sa.select(state_table.c.id)
                .where(state_table.c.flow_run_id == flow_run.c.id)
                .scalar_subquery()
            )
            await session.execute(
                sa.update(flow_run)
                .where(flow_run.c.id.in_([run.id for run in chunk]))
                .values(state_id=current)
            )


def insert_runs(runs: Iterable[SeedRun], *, batch: int = 1000) -> int:
    """Insert ``runs``; returns how many."""
    listed = list(runs)
    asyncio.run(_insert(listed, batch))
    return len(listed)


def seeded(flow_id: uuid.UUID, states: dict[str, int], end: datetime, step: timedelta) -> list[SeedRun]:
    """``states`` counts of finished runs of one flow, ending ``step`` apart before ``end``, each 30 s long."""
    runs = []
    when = end
    for state, count in states.items():
        for _ in range(count):
            when -= step
            runs.append(SeedRun.finished(flow_id, state, when, 30.0))
    return runs
