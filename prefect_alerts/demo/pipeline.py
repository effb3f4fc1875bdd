"""The demo's sample ML pipeline: a churn model's nightly run, with prefect-alerts attached the way a team would.

- ``churn-pipeline`` (sync): ingest the day's customers, check their quality, detect drift against the
  reference month, train and evaluate a model (checked against the production model's metrics), predict.
  ``with_alerts`` pages when it fails; ``open_ticket`` (a sync hook of the team's own) files a ticket.
- ``churn-features`` (async): refresh the online feature store; the same two hooks.
- ``churn-scoring`` (sync, ``timeout_seconds``): score the customer base for the CRM export.
- :func:`start_stuck_run` / :func:`crash_run`: a run a worker started and never finished, then killed by the
  kernel: what the SLA monitor and the aggregator see without any hook running.

Everything is real: the data is generated (seeded) with numpy and pandas, the model is a least-squares linear
scorer fitted on the day's training split, its AUC is measured on the held-out split.
"""

from __future__ import annotations

import time
import zlib
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from prefect import flow, task

from prefect_alerts.hooks import with_alerts

__all__ = [
    "EXPECTED_FAILURES",
    "ROUTING",
    "cancel_run",
    "churn_features",
    "churn_pipeline",
    "churn_scoring",
    "crash_run",
    "open_ticket",
    "start_stuck_run",
]

ROUTING = Path(__file__).with_name("alerts.yaml")
"""The demo's routing file (package data)."""

Scenario = Literal["ok", "drift", "broken_export"]

# What the failing flows raise; the demo's test checks each reaches the receivers. The mention stays inert.
EXPORT_FAILURE = "the CRM export s3://lake/crm/2026-11-25/customers.parquet does not exist <@U123>"
FEATURES_FAILURE = "feature store features.internal:6379 refused the connection"
SCORING_TIMEOUT_SECONDS = 1.0
SCORING_WORK_SECONDS = 3.0
EXPECTED_FAILURES = {EXPORT_FAILURE, FEATURES_FAILURE}

PLANS = ["basic", "pro", "team"]
FEATURES = ["tenure_months", "monthly_spend", "support_tickets"]
PRODUCTION_METRICS = {"auc": 0.92, "accuracy": 0.88}
"""The metrics of the model in production, as its last training run recorded them."""


def customers(day: str, scenario: Scenario = "ok", rows: int = 4000) -> pd.DataFrame:
    """One day of customers with a churn label (seeded by the day: the same day gives the same data).

    Drift: after a price change, spend is up, a new plan appears (and a garbage value from a broken form), and
    churn depends on support tickets far less than it used to, which the model cannot know.
    """
    rng = np.random.default_rng(zlib.crc32(day.encode()))
    tenure = rng.gamma(2.0, 12.0, rows)
    spend = rng.normal(60.0, 15.0, rows).clip(5, None)
    tickets = rng.poisson(1.5, rows).astype(float)
    plan = rng.choice(PLANS, rows, p=[0.5, 0.35, 0.15])
    ticket_weight, noise = 0.9, 0.8
    if scenario == "drift":
        spend = spend * 1.35
        plan = np.where(rng.random(rows) < 0.2, "enterprise-trial", plan)
        plan[:3] = "<!channel>"  # untrusted text in the data: escaped in Slack, never a ping
        ticket_weight, noise = 0.1, 2.5
    logit = (
        -0.06 * tenure + ticket_weight * (tickets - 1.5) + 0.02 * (spend - 60) + rng.normal(0, noise, rows)
    )
    return pd.DataFrame(
        {
            "customer_id": np.arange(rows) + 1_000_000,
            "tenure_months": tenure.round(1),
            "monthly_spend": spend.round(2),
            "support_tickets": tickets,
            "plan": plan,
            "churned": (logit > 0).astype(int),
        }
    )


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    # The Mann-Whitney form of the ROC AUC: the chance a churner scores above a stayer.
    ranks = pd.Series(scores).rank().to_numpy()
    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@task
def ingest(day: str, scenario: Scenario) -> pd.DataFrame:
    if scenario == "broken_export":
        raise FileNotFoundError(EXPORT_FAILURE)
    return customers(day, scenario)


@task
def train_and_evaluate(frame: pd.DataFrame) -> tuple[np.ndarray, dict[str, float]]:
    """Fit on the first 70% (least squares on standardised features), evaluate on the rest."""
    x = frame[FEATURES].to_numpy(dtype=float)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    x = np.column_stack([np.ones(len(x)), x])
    y = frame["churned"].to_numpy()
    split = int(len(frame) * 0.7)
    weights, *_ = np.linalg.lstsq(x[:split], y[:split], rcond=None)
    scores = x[split:] @ weights
    accuracy = float(((scores > 0.5).astype(int) == y[split:]).mean())
    return weights, {"auc": round(_auc(y[split:], scores), 3), "accuracy": round(accuracy, 3)}


@task
def predict(frame: pd.DataFrame, weights: np.ndarray) -> int:
    """Customers the model flags as likely to churn (what the CRM export would hold)."""
    x = frame[FEATURES].to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(x)), (x - x.mean(axis=0)) / x.std(axis=0)])
    return int(((x @ weights) > 0.5).sum())


def open_ticket(flow: Any, flow_run: Any, state: Any) -> None:
    """A hook of the team's own: file a ticket in their tracker (here: the webhook stand-in).

    Sync, and also attached to an async flow: ``state_error`` is safe there, where
    ``state.result(raise_on_failure=False)`` would hand back an un-awaited coroutine.
    """
    from prefect_alerts import Alert, Source, send_alert, state_error

    error = state_error(state)
    if error is None:
        return
    ticket = Alert(
        title=f"Ticket: {flow.name} failed with {error.type}",
        message=error.message,
        severity="warning",
        event="ticket_opened",
        error_type=error.type,
        fields={"state": error.state_name, "traceback": "\n".join(error.traceback)},
        source=Source(flow_name=flow.name, flow_run_id=str(flow_run.id), flow_run_name=flow_run.name),
        tags=["demo", "ticket"],
    )
    send_alert(ticket, destinations=["webhook:demo"])


@with_alerts(routing=str(ROUTING))
@flow(name="churn-pipeline", on_failure=[open_ticket])
def churn_pipeline(day: str, scenario: Scenario = "ok") -> dict[str, Any]:
    """Ingest, data quality, drift, train/evaluate, predict: the nightly run of the churn model."""
    from prefect_alerts.checks import InRange, check_data_quality, check_model_performance, detect_drift

    routing = str(ROUTING)
    frame = ingest(day, scenario)
    quality = check_data_quality(
        frame,
        [InRange("monthly_spend", 0, 500, mostly=0.99), InRange("tenure_months", 0, 240)],
        not_null=["customer_id", "monthly_spend"],
        unique=["customer_id"],
        allowed_values={"plan": PLANS},
        check_name="churn-customers",
        routing=routing,
    )
    drift = detect_drift(
        customers("reference")[[*FEATURES, "plan"]],
        frame[[*FEATURES, "plan"]],
        check_name="churn-customers",
        routing=routing,
    )
    weights, metrics = train_and_evaluate(frame)
    performance = check_model_performance(
        metrics, baseline_metrics=PRODUCTION_METRICS, check_name="churn-model", routing=routing, record=False
    )
    flagged = predict(frame, weights)
    return {
        "checks": [f"{type(r).__name__}: {r.summary}" for r in (quality, drift, performance)],
        "metrics": metrics,
        "flagged": flagged,
    }


@with_alerts(routing=str(ROUTING))
@flow(name="churn-features", on_failure=[open_ticket])
async def churn_features(fail: bool = True) -> int:
    """Refresh the online feature store (async: the store's client is)."""
    import asyncio

    await asyncio.sleep(0)
    if fail:
        raise ConnectionError(FEATURES_FAILURE)
    return 4000


@with_alerts(routing=str(ROUTING))
@flow(name="churn-scoring", timeout_seconds=SCORING_TIMEOUT_SECONDS)
def churn_scoring(slow: bool = True) -> int:
    """Score every customer for the CRM export; on a slow day the feature service makes it overrun."""
    deadline = time.monotonic() + (SCORING_WORK_SECONDS if slow else 0.05)
    while time.monotonic() < deadline:  # short sleeps: the flow's timeout interrupts between them
        time.sleep(0.05)
    return 4000


def start_stuck_run(day: str) -> str:
    """A ``churn-pipeline`` run a worker set Running and then hung in (its pod stopped making progress)."""
    from prefect import get_client
    from prefect.states import Pending, Running

    with get_client(sync_client=True) as client:
        run = client.create_flow_run(
            churn_pipeline, parameters={"day": day}, name=f"churn-pipeline-{day}-stuck", state=Pending()
        )
        client.set_flow_run_state(run.id, Running())
    return str(run.id)


def crash_run(flow_run_id: str) -> None:
    """The kernel kills the stuck run's process (out of memory): Crashed, and no hook ever runs."""
    from prefect import get_client
    from prefect.states import Crashed

    message = "Flow run infrastructure exited with non-zero status code -9 (SIGKILL: out of memory)."
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run_id, Crashed(message=message), force=True)


def cancel_run(flow_run_id: str) -> None:
    """End the stuck run as Cancelled (on a shared server, where the demo leaves no run hanging or crashed)."""
    from prefect import get_client
    from prefect.states import Cancelled

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(
            flow_run_id, Cancelled(message="Cancelled by prefect-alerts demo."), force=True
        )
