"""Wall time a failure hook adds to a failing flow run, ours against a hand-written prefect-slack hook.

    .venv/bin/python bench/hook_overhead.py [--runs 50] [--budget 0.5]

One embedded Prefect server (``prefect_test_harness``, ``PREFECT_HOME`` and the alert store in a temp dir,
``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` set to None). One flow, ``nightly-etl``, with a deployment, fails on
every run after logging an ERROR line; each run is created from the deployment (as a worker would) and executed
in this process, so the hook sees a real ``deployment_id``. The variants take turns, one run each per round, the order rotating by one each round:

- ``no_hook``: the flow alone, the reference the others are measured against;
- ``ours_healthy``: ``alert_on_failure(destinations=[SlackChannel(url=...)])`` to a local Slack receiver,
  with its full context (deployment name read from the API, the cache cleared before each run as in a fresh
  worker process; ERROR log lines; error classification; redacted parameters; the UI link);
- ``ours_dead``: the same hook pointed at a black hole (accepts TCP, never answers), with ``budget=``;
- ``prefect_slack``: a hand-written ``on_failure`` hook calling prefect-slack's ``SlackWebhook(url=...).notify``;
- ``no_hook_deployed`` and ``ours_healthy_deployed``: the first two again with Prefect's flow-run suspension
  observer left on (see below), to show what a deployed run's wall time shows.

Prefect 3.9 watches every deployment run for suspension in a thread that polls every 0.2 s, and a run ends only
when that thread notices, so a deployment run's wall time moves in 0.2 s steps: a hook that finishes before the
next step adds nothing visible, one that crosses it adds 200 ms. That hides a 20 ms cost either way, so the
main variants run with the observer replaced by a no-op (the hook and everything else unchanged), and the
``_deployed`` pair measures the stepped wall time users see.

"Added" is a run's wall time minus the matching no-hook run of the same round. Every run raises an exception
type of its own, so each alert has its own dedup key and no cooldown suppresses it; the receiver's request
count per variant must equal the runs (warm-up included), and every black-hole alert must be left queued in
the outbox. The last line is one JSON object: our figures under "ours", prefect-slack's under "baseline", the
ratios, the goals and the receivers' counts.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import itertools
import json
import logging
import math
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

_BENCH_HOME = tempfile.mkdtemp(prefix="prefect-alerts-bench-hooks-")
atexit.register(shutil.rmtree, _BENCH_HOME, ignore_errors=True)
os.environ["PREFECT_HOME"] = _BENCH_HOME
os.environ["PREFECT_ALERTS_DATABASE_URL"] = f"sqlite:///{_BENCH_HOME}/alerts.db"  # a fresh store
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_API_KEY", None)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the receiver's access log is noise here

HEALTHY_GOAL_MS = 20.0
"""Goal: our hook adds less than this (p50) to a failing run when Slack answers."""
DEAD_MARGIN_S = 0.5
"""Goal: with a dead receiver, our hook adds at most the budget plus this (p95)."""
WARMUP_ROUNDS = 3
VARIANTS = (
    "no_hook",
    "ours_healthy",
    "ours_dead",
    "prefect_slack",
    "no_hook_deployed",
    "ours_healthy_deployed",
)
"""One run each per round (the order rotates by one each round); ``_deployed`` variants keep Prefect's
suspension observer."""
REFERENCE = {name: "no_hook_deployed" if name.endswith("_deployed") else "no_hook" for name in VARIANTS}


class BlackHole:
    """A TCP server that accepts every connection and never answers (a hung Slack edge or proxy).

    Connections are accepted (so the backlog never fills and the client waits for a reply, not a connect) and
    kept open until :meth:`close`.
    """

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="bench-black-hole", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/services/T0/B0/dead"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.accepted.append(connection)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        for connection in self.accepted:
            connection.close()


def _percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _error_type(sequence: int) -> type[Exception]:
    # A type of its own per run gives each alert its own dedup key (the key covers the error type), so the
    # notification log never suppresses a repeat; ConnectionError keeps the classification realistic.
    return type(f"WarehouseUnreachable{sequence}", (ConnectionError,), {})


def _check_full_context(body: str) -> None:
    """Our alert must carry what the benchmark claims to pay for, and no secret parameter."""
    wanted = {
        "the deployment name read from the API": "(nightly)",
        "the run's ERROR log line": "load of 2026-12-06",
        "a suggested action": "Suggested action",
        "the run link": "127.0.0.1:4200/runs/flow-run/",
    }
    missing = [what for what, text in wanted.items() if text not in body]
    if missing:
        raise SystemExit(f"our Slack message lacks {', '.join(missing)}: {body[:400]}")
    if "hunter2" in body:
        raise SystemExit("our Slack message shows the warehouse_password parameter unredacted")


@contextlib.contextmanager
def _suspension_observer_switch() -> Iterator[dict[str, bool]]:
    """Lets each run choose whether Prefect's flow-run suspension observer runs (``switch["on"]``)."""
    import prefect.flow_engine as flow_engine

    original = flow_engine.observe_flow_run_suspension
    switch = {"on": True}

    def observe(*args: Any, **kwargs: Any) -> contextlib.AbstractContextManager[None]:
        return original(*args, **kwargs) if switch["on"] else contextlib.nullcontext()

    flow_engine.observe_flow_run_suspension = observe  # type: ignore[assignment]
    try:
        yield switch
    finally:
        flow_engine.observe_flow_run_suspension = original


def run_bench(runs: int, budget: float) -> dict[str, Any]:
    """Runs every variant ``runs`` times (after warm-up), interleaved; checks every receiver's count."""
    from prefect import flow, get_run_logger
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, PREFECT_UI_URL, temporary_settings
    from prefect.testing.utilities import prefect_test_harness
    from prefect_slack import SlackWebhook
    from pytest_httpserver import HTTPServer

    from prefect_alerts.channels import SlackChannel
    from prefect_alerts.dispatch import DispatchState
    from prefect_alerts.hooks import alert_on_failure
    from prefect_alerts.hooks.context import clear_deployment_cache

    receiver = HTTPServer(host="127.0.0.1", port=0)
    paths = {
        "ours_healthy": "/services/T0/B0/ours",
        "ours_healthy_deployed": "/services/T0/B0/ours-deployed",
        "prefect_slack": "/services/T0/B0/baseline",
    }
    for path in paths.values():
        receiver.expect_request(path).respond_with_data("ok")
    receiver.start()
    black_hole = BlackHole()
    hook_seconds: dict[str, list[float]] = {name: [] for name in VARIANTS if "no_hook" not in name}

    def timed(name: str, hook: Callable[..., None]) -> Callable[..., None]:
        # Times the hook itself too: a direct figure beside the run-to-run difference, which is noisier.
        def hook_timed(flow: Any, flow_run: Any, state: Any) -> None:
            started = time.perf_counter()
            try:
                hook(flow, flow_run, state)
            finally:
                hook_seconds[name].append(time.perf_counter() - started)

        hook_timed.__name__ = f"{name}_hook"
        return hook_timed

    def prefect_slack_hook(flow: Any, flow_run: Any, state: Any) -> None:
        # What a user writes today: a one-line message, no deployment, logs or advice.
        SlackWebhook(url=receiver.url_for(paths["prefect_slack"])).notify(
            f"Flow {flow.name} run {flow_run.name} failed: {state.message}"
        )

    @flow(name="nightly-etl")
    def nightly_etl(day: str, sequence: int, warehouse_password: str = "hunter2-not-real") -> None:
        get_run_logger().error("load of %s: warehouse.internal:5432 refused the connection", day)
        raise _error_type(sequence)(f"connection refused: warehouse.internal:5432 (loading {day})")

    def ours(path: str) -> Callable[..., None]:
        return alert_on_failure(destinations=[SlackChannel(url=receiver.url_for(path))])

    hooks: dict[str, Callable[..., None]] = {
        "ours_healthy": ours(paths["ours_healthy"]),
        "ours_dead": alert_on_failure(destinations=[SlackChannel(url=black_hole.url)], budget=budget),
        "prefect_slack": prefect_slack_hook,
        "ours_healthy_deployed": ours(paths["ours_healthy_deployed"]),
    }
    flows = {
        name: nightly_etl.with_options(on_failure=[timed(name, hooks[name])])
        if name in hooks
        else nightly_etl
        for name in VARIANTS
    }
    sequence = itertools.count()
    run_seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}

    try:
        with (
            prefect_test_harness(server_startup_timeout=120),
            # No heartbeat: prefect 3.9 defaults it to 180 s, and joining its thread costs every run about 1 s.
            # The UI URL: alerts carry the run's link.
            temporary_settings(
                {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None, PREFECT_UI_URL: "http://127.0.0.1:4200"}
            ),
            _suspension_observer_switch() as observer,
        ):
            with get_client(sync_client=True) as client:
                flow_id = client.create_flow(nightly_etl)
                deployment_id = client.create_deployment(flow_id=flow_id, name="nightly")

            def one_run(name: str) -> float:
                with get_client(sync_client=True) as client:  # outside the timing: the worker's part
                    flow_run = client.create_flow_run_from_deployment(
                        deployment_id, parameters={"day": "2026-12-06", "sequence": next(sequence)}
                    )
                clear_deployment_cache()  # each run in a fresh worker process reads the deployment again
                observer["on"] = name.endswith("_deployed")
                started = time.perf_counter()
                state = run_flow(flows[name], flow_run=flow_run, return_type="state")
                elapsed = time.perf_counter() - started
                if not state.is_failed():
                    raise SystemExit(f"{name}: the flow run ended {state.name}, expected Failed")
                return elapsed

            for _ in range(WARMUP_ROUNDS):
                for name in VARIANTS:
                    one_run(name)
            for values in hook_seconds.values():
                values.clear()
            for round_number in range(runs):
                # Each round starts one variant later, so none always follows the slow black-hole run.
                shift = round_number % len(VARIANTS)
                for name in VARIANTS[shift:] + VARIANTS[:shift]:
                    run_seconds[name].append(one_run(name))
            outbox = DispatchState.default().outbox.counts()
            last_ours_body = next(
                request.get_data(as_text=True)
                for request, _ in reversed(receiver.log)
                if request.path == paths["ours_healthy"]
            )
    finally:
        receiver.stop()
        black_hole.close()

    total = runs + WARMUP_ROUNDS
    received = {
        name: sum(1 for request, _ in receiver.log if request.path == path) for name, path in paths.items()
    }
    counts: dict[str, Any] = {
        "runs_per_variant": total,
        **{f"{name}_requests": count for name, count in received.items()},
        "black_hole_connections": len(black_hole.accepted),
        "outbox": dict(outbox),
    }
    for name, count in received.items():
        if count != total:
            raise SystemExit(f"the {name} receiver got {count} requests, expected {total}")
    _check_full_context(last_ours_body)
    if len(black_hole.accepted) < total:
        raise SystemExit(f"the black hole saw {len(black_hole.accepted)} connections, expected >= {total}")
    queued = sum(count for status, count in outbox.items() if status in ("pending", "delivering"))
    if queued != total or outbox.get("delivered") != 2 * total:
        raise SystemExit(
            f"outbox {outbox}: expected {total} black-hole alerts queued and {2 * total} delivered"
        )
    return {"run_seconds": run_seconds, "hook_seconds": hook_seconds, "counts": counts}


def summarise(measured: dict[str, Any], budget: float) -> dict[str, Any]:
    """p50/p95 added and hook milliseconds per variant, the ratios against prefect-slack and the goals."""
    run_seconds: dict[str, list[float]] = measured["run_seconds"]
    hook_seconds: dict[str, list[float]] = measured["hook_seconds"]

    def figures(name: str) -> dict[str, float]:
        reference = run_seconds[REFERENCE[name]]
        added = [(run - alone) * 1000 for run, alone in zip(run_seconds[name], reference, strict=True)]
        hook = [seconds * 1000 for seconds in hook_seconds[name]]
        return {
            "added_p50_ms": statistics.median(added),
            "added_p95_ms": _percentile(added, 0.95),
            "added_max_ms": max(added),
            "hook_p50_ms": statistics.median(hook),
            "hook_p95_ms": _percentile(hook, 0.95),
            "run_p50_ms": statistics.median(run_seconds[name]) * 1000,
        }

    def reference(name: str) -> dict[str, float]:
        return {
            "run_p50_ms": statistics.median(run_seconds[name]) * 1000,
            "run_p95_ms": _percentile(run_seconds[name], 0.95) * 1000,
        }

    ours = {
        "healthy": figures("ours_healthy"),
        "dead": figures("ours_dead"),
        "healthy_deployed": figures("ours_healthy_deployed"),
        "budget_s": budget,
    }
    baseline = {
        "prefect_slack": figures("prefect_slack"),
        "no_hook": reference("no_hook"),
        "no_hook_deployed": reference("no_hook_deployed"),
    }

    def ratio(key: str) -> float | None:
        mine, theirs = ours["healthy"][key], baseline["prefect_slack"][key]
        return mine / theirs if mine > 0 and theirs > 0 else None  # noise-level differences have no ratio

    ratios = {
        "healthy_added_p50_vs_prefect_slack": ratio("added_p50_ms"),
        "healthy_hook_p50_vs_prefect_slack": ratio("hook_p50_ms"),
    }
    dead_bound_ms = (budget + DEAD_MARGIN_S) * 1000
    goals = {
        "healthy_p50_added_under_ms": HEALTHY_GOAL_MS,
        "healthy_met": ours["healthy"]["added_p50_ms"] < HEALTHY_GOAL_MS,
        "dead_p95_added_at_most_ms": dead_bound_ms,
        "dead_met": ours["dead"]["added_p95_ms"] <= dead_bound_ms,
    }
    return {
        "ours": ours,
        "baseline": baseline,
        "ratios": ratios,
        "goals": goals,
        "counts": measured["counts"],
    }


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="measured rounds (after 3 warm-up rounds)")
    parser.add_argument(
        "--budget", type=float, default=0.5, help="delivery budget of the dead-receiver hook, s"
    )
    args = parser.parse_args()
    if args.runs < 1 or args.budget <= 0:
        parser.error("--runs must be at least 1 and --budget above 0, e.g. --runs 50 --budget 0.5")

    result = summarise(run_bench(args.runs, args.budget), args.budget)
    ours, baseline, goals, ratios = result["ours"], result["baseline"], result["goals"], result["ratios"]
    print(f"Failing flow run from a deployment, {args.runs} interleaved rounds; added = run - no-hook run:")
    print(f"  no hook: run p50 {baseline['no_hook']['run_p50_ms']:.1f} ms")
    for label, row in (
        ("prefect-alerts, healthy Slack", ours["healthy"]),
        (f"prefect-alerts, black hole (budget {args.budget:g} s)", ours["dead"]),
        ("prefect-slack SlackWebhook.notify", baseline["prefect_slack"]),
        ("prefect-alerts, healthy, suspension observer on", ours["healthy_deployed"]),
    ):
        print(
            f"  {label}: added p50 {row['added_p50_ms']:.1f} ms, p95 {row['added_p95_ms']:.1f} ms; "
            f"hook itself p50 {row['hook_p50_ms']:.1f} ms, p95 {row['hook_p95_ms']:.1f} ms"
        )
    for key, value in ratios.items():
        print(f"  {key}: {'n/a (a difference at noise level)' if value is None else f'{value:.2f}x'}")
    print(
        f"  goals: healthy p50 added < {HEALTHY_GOAL_MS:g} ms: {'met' if goals['healthy_met'] else 'MISSED'}; "
        f"dead p95 added <= budget + {DEAD_MARGIN_S:g} s: {'met' if goals['dead_met'] else 'MISSED'}"
    )
    print(json.dumps(_rounded(result)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
