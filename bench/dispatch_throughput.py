"""Decisions per second through route, silence, dedupe and outbox on SQLite, against a bare-sqlite3 baseline.

    .venv/bin/python bench/dispatch_throughput.py [--repeated 100000] [--keys 1000] [--distinct 10000] [--rounds 3]

Two workloads, each on a fresh SQLite file in WAL mode:
- ``repeated``: N alerts over K dedup keys (a failing fleet: mostly suppressed by cooldown);
- ``distinct``: M alerts with M keys (every one claimed and written to the outbox).

Ours runs the real pipeline steps (route, silence, dedupe, outbox) with one routing config of three routes;
delivery is left out (it is the network's time, measured by bench/delivery.py). The baseline is the least any
durable dedupe must do, measured in the same run: one ``INSERT ... ON CONFLICT`` per alert with the standard
``sqlite3`` module and a commit each, plus an outbox insert for the claimed ones. The last line is one JSON
object with our figures under ``ours``, the baseline's under ``baseline``, and the counts of claimed
(outbox) entries of both, which must agree.

Each workload runs ``--rounds`` times (ours, then the baseline, each round on fresh files) and the figures are
the median round's, with every round's rate listed under ``rounds``: on a shared two-core machine one run
varies by +-10 %, more than most changes worth measuring.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

if "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="prefect-alerts-bench-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOAL_PER_SECOND = 5000


def _alerts(count: int, keys: int) -> list:
    from prefect_alerts import Alert
    from prefect_alerts.alert import Source

    flows = [f"etl-{index % 50}" for index in range(keys)]
    return [
        Alert(
            title=f"Flow etl failed ({index % keys})",
            severity="error" if (index % keys) % 3 else "critical",
            event="flow_failed",
            tags=["prod"],
            source=Source(flow_name=flows[index % keys], deployment_name="nightly"),
            dedup_key=f"key-{index % keys}",
        )
        for index in range(count)
    ]


def run_ours(alerts: list, folder: Path) -> dict[str, float]:
    from prefect_alerts.dispatch import Dispatch, DispatchState, Pipeline
    from prefect_alerts.dispatch.dedupe import DedupeStage
    from prefect_alerts.dispatch.outbox import OutboxStage
    from prefect_alerts.dispatch.route import RouteStage
    from prefect_alerts.dispatch.silence import SilenceStage
    from prefect_alerts.routing import AlertRouting
    from prefect_alerts.silences import add_silence
    from prefect_alerts.store import get_engine

    routing = AlertRouting.model_validate(
        {
            "routes": [
                {
                    "name": "pages",
                    "match": {"severity": ">=critical", "tags": ["prod"]},
                    "destinations": ["console"],
                    "continue": True,
                },
                {
                    "name": "data",
                    "match": {"event": ["data_*", "drift_detected"]},
                    "destinations": ["console"],
                },
                {"name": "etl", "match": {"flow": "etl-*"}, "destinations": ["webhook:etl"]},
            ],
            "default": ["console"],
        }
    )
    state = DispatchState(get_engine(f"sqlite:///{folder}/ours.db"))
    add_silence({"flow": "ml-*"}, "1h", "bench", "a silence that never matches", state=state)
    pipeline = Pipeline([RouteStage(), SilenceStage(), DedupeStage(), OutboxStage()])
    started = time.perf_counter()
    for alert in alerts:
        pipeline.run(Dispatch(alert=alert, routing=routing, state=state))
    elapsed = time.perf_counter() - started
    claimed = sum(state.outbox.counts().values())
    return {"seconds": round(elapsed, 3), "per_second": round(len(alerts) / elapsed), "claimed": claimed}


def run_baseline(alerts: list, folder: Path) -> dict[str, float]:
    connection = sqlite3.connect(folder / "baseline.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE log (key TEXT, destination TEXT, sent_at REAL, claim TEXT, PRIMARY KEY (key, destination))"
    )
    connection.execute("CREATE TABLE outbox (id TEXT PRIMARY KEY, key TEXT, destination TEXT, alert TEXT)")
    cooldown = 3600.0
    started = time.perf_counter()
    now = time.time()
    for alert in alerts:
        destinations = ["console", "webhook:etl"] if alert.severity.value == "critical" else ["webhook:etl"]
        for destination in destinations:
            claim = uuid.uuid4().hex
            connection.execute("BEGIN")
            row = connection.execute(
                "INSERT INTO log VALUES (?, ?, ?, ?) ON CONFLICT (key, destination) DO UPDATE SET "
                "sent_at = CASE WHEN sent_at <= ? THEN excluded.sent_at ELSE sent_at END, "
                "claim = CASE WHEN sent_at <= ? THEN excluded.claim ELSE claim END RETURNING claim",
                (alert.dedup_key, destination, now, claim, now - cooldown, now - cooldown),
            ).fetchone()
            if row[0] == claim:
                connection.execute(
                    "INSERT INTO outbox VALUES (?, ?, ?, ?)",
                    (claim, alert.dedup_key, destination, alert.model_dump_json()),
                )
            connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    claimed = connection.execute("SELECT count(*) FROM outbox").fetchone()[0]
    connection.close()
    return {"seconds": round(elapsed, 3), "per_second": round(len(alerts) / elapsed), "claimed": claimed}


def _median_round(rounds: list[dict[str, float]]) -> dict[str, float]:
    """The round with the median rate, plus every round's rate (claimed counts must agree across rounds)."""
    if len({round_["claimed"] for round_ in rounds}) != 1:
        raise SystemExit(f"rounds claimed different counts: {[round_['claimed'] for round_ in rounds]}")
    ordered = sorted(rounds, key=lambda round_: round_["per_second"])
    return {**ordered[len(ordered) // 2], "rounds": [round_["per_second"] for round_ in rounds]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeated", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=1_000)
    parser.add_argument("--distinct", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each workload; the median is reported")
    args = parser.parse_args()

    ours: dict[str, dict[str, float]] = {}
    baseline: dict[str, dict[str, float]] = {}
    for name, count, keys in (
        ("repeated", args.repeated, args.keys),
        ("distinct", args.distinct, args.distinct),
    ):
        alerts = _alerts(count, keys)
        ours_rounds: list[dict[str, float]] = []
        baseline_rounds: list[dict[str, float]] = []
        for _ in range(max(1, args.rounds)):
            with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
                ours_rounds.append(run_ours(alerts, Path(folder)))
                baseline_rounds.append(run_baseline(alerts, Path(folder)))
        ours[name] = _median_round(ours_rounds)
        baseline[name] = _median_round(baseline_rounds)
        ratio = ours[name]["per_second"] / baseline[name]["per_second"]
        goal = "meets" if ours[name]["per_second"] >= GOAL_PER_SECOND else "MISSES"
        print(
            f"{name}: {count:,} alerts over {keys:,} keys, median of {len(ours_rounds)}: ours "
            f"{ours[name]['per_second']:,.0f}/s (rounds {', '.join(f'{r:,.0f}' for r in ours[name]['rounds'])}; "
            f"{ours[name]['seconds']} s, {ours[name]['claimed']:,} claimed), baseline sqlite3 "
            f"{baseline[name]['per_second']:,.0f}/s ({baseline[name]['claimed']:,} claimed); ours/baseline "
            f"{ratio:.2f}; {goal} the goal of {GOAL_PER_SECOND:,}/s"
        )
    print(
        json.dumps(
            {
                "ours": ours,
                "baseline": baseline,
                "goal_per_second": GOAL_PER_SECOND,
                "counts": {
                    name: {
                        "ours_claimed": ours[name]["claimed"],
                        "baseline_claimed": baseline[name]["claimed"],
                    }
                    for name in ours
                },
            }
        )
    )


if __name__ == "__main__":
    main()
