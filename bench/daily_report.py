"""The daily report over N seeded runs on a real Prefect server, against the naive way, in the same run.

    .venv/bin/python bench/daily_report.py [--runs 10000] [--flows 50] [--task-runs 0]

Seeds N flow runs that ended within one day (every final state, some late, some with errors) straight into an
embedded Prefect server's database (tests/seed_runs.py), then measures:
- ``ours``: ``build_daily_report(since, until)`` (plain-JSON pages on a keyset, counted as they arrive);
- ``baseline``: the naive way: every run of the window read through the client's ``read_flow_runs`` (full
  models, offset pages of 200, all kept in a list), then each run's task runs read one request per run, and
  the same numbers computed from the list.

Both must agree on the totals. Time is wall-clock; peak memory is Python's allocations (tracemalloc) during the
call. The last line is one JSON object: ``ours`` and ``baseline``, each with ``seconds`` and ``peak_mib``, and
the ratios.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

if "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="prefect-alerts-bench-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)
os.environ.pop("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", None)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SINCE = datetime(2026, 12, 6, 8, tzinfo=timezone.utc)
UNTIL = SINCE + timedelta(days=1)
STATES = ["Completed"] * 90 + ["Failed"] * 4 + ["TimedOut"] * 2 + ["Crashed"] * 2 + ["Cancelled"] * 2
ERRORS = [
    "ValueError: column 'amount' has {n} nulls",
    "KeyError: 'customer_{n}'",
    "TimeoutError: warehouse did not answer in {n} s",
]


def seed(runs: int, flows: int) -> None:
    from tests.seed_runs import SeedRun, create_flow, insert_runs

    rng = random.Random(7)
    flow_ids = [create_flow(f"bench-flow-{index:03d}") for index in range(flows)]
    batch: list[Any] = []
    for index in range(runs):
        state = rng.choice(STATES)
        end = SINCE + timedelta(seconds=rng.uniform(0, 86_399))
        message = rng.choice(ERRORS).format(n=rng.randrange(1000)) if state != "Completed" else None
        late = timedelta(minutes=rng.choice([0, 0, 0, 0, 2]))
        batch.append(
            SeedRun.finished(
                flow_ids[index % flows], state, end, rng.uniform(1, 600), late=late, message=message
            )
        )
        if len(batch) == 5000:
            insert_runs(batch)
            batch = []
    insert_runs(batch)


def measure(work: Callable[[], Any]) -> tuple[Any, float, float]:
    tracemalloc.start()
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def ours() -> dict[str, Any]:
    from prefect_alerts.report import build_daily_report

    report = build_daily_report(SINCE, UNTIL)
    return {
        "total": report.total_runs,
        "completed": report.completed,
        "late": report.late,
        "flows": len(report.flows),
    }


def baseline() -> dict[str, Any]:
    """Read every run (full models, offset pages), then each one's task runs, then count."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterId,
        FlowRunFilter,
        FlowRunFilterEndTime,
        FlowRunFilterId,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        window = FlowRunFilter(
            end_time=FlowRunFilterEndTime(after_=SINCE, before_=UNTIL - timedelta(microseconds=1))
        )
        runs: list[Any] = []
        while True:
            page = client.read_flow_runs(
                flow_run_filter=window, sort=FlowRunSort.END_TIME_DESC, limit=200, offset=len(runs)
            )
            runs += page
            if len(page) < 200:
                break
        task_runs = {
            run.id: client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
            for run in runs
        }
        flow_ids = list({run.flow_id for run in runs})
        names = {
            flow.id: flow.name
            for flow in client.read_flows(flow_filter=FlowFilter(id=FlowFilterId(any_=flow_ids)))
        }
    by_flow: dict[str, list[float]] = {}
    completed = late = 0
    for run in runs:
        completed += run.state_type.value == "COMPLETED"
        if (
            run.start_time
            and run.expected_start_time
            and run.start_time - run.expected_start_time > timedelta(seconds=15)
        ):
            late += 1
        if run.start_time and run.end_time:
            by_flow.setdefault(names[run.flow_id], []).append((run.end_time - run.start_time).total_seconds())
    _ = {name: statistics.quantiles(values, n=20) for name, values in by_flow.items() if len(values) > 1}
    assert len(task_runs) == len(runs)
    return {"total": len(runs), "completed": completed, "late": late, "flows": len(by_flow)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--flows", type=int, default=50)
    parser.add_argument("--skip-baseline", action="store_true", help="only ours (e.g. at 100,000 runs)")
    args = parser.parse_args()

    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        started = time.perf_counter()
        seed(args.runs, args.flows)
        print(f"seeded {args.runs:,} runs of {args.flows} flows in {time.perf_counter() - started:.1f} s")
        ours()  # warm the server's caches and the client's imports for both
        mine, mine_seconds, mine_mib = measure(ours)
        print(f"ours:     {mine_seconds:7.2f} s, peak {mine_mib:7.1f} MiB, {mine}")
        result: dict[str, Any] = {
            "runs": args.runs,
            "ours": {"seconds": round(mine_seconds, 3), "peak_mib": round(mine_mib, 2)},
        }
        if not args.skip_baseline:
            theirs, base_seconds, base_mib = measure(baseline)
            print(f"baseline: {base_seconds:7.2f} s, peak {base_mib:7.1f} MiB, {theirs}")
            # Lateness: the baseline sees only runs that ended in the window; ours also the ones still waiting.
            assert (mine["total"], mine["completed"]) == (theirs["total"], theirs["completed"]), (
                mine,
                theirs,
            )
            result["baseline"] = {"seconds": round(base_seconds, 3), "peak_mib": round(base_mib, 2)}
            result["speedup"] = round(base_seconds / mine_seconds, 2)
            result["memory_ratio"] = round(mine_mib / base_mib, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
