"""Re-raising alerts a dead worker left queued, against a real Prefect server and real HTTP receivers.

The "worker" sends with its own store (``worker_store``, a SQLite file) and then "dies": the aggregator uses
another store (the ``state`` fixture), so the worker's outbox entry is not there and only the server's events
tell it the alert is still queued. Each test reads events only from its own start (``requeue_lookback``), as
the session's server holds every other test's alert events too, and injects ``now`` instead of waiting.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from prefect import flow
from pytest_httpserver import HTTPServer

from prefect_alerts import Alert, send_alert
from prefect_alerts.blocks import AlertWebhook
from prefect_alerts.channels import SlackChannel
from prefect_alerts.delivery import source_from_context
from prefect_alerts.dispatch import DispatchState, flush_outbox
from prefect_alerts.dispatch.events import emit_outcome
from prefect_alerts.dispatch.stage import new_id
from prefect_alerts.monitoring.requeue import RequeueResult, reraise_stale_queued
from prefect_alerts.routing import AlertRouting
from prefect_alerts.routing.sweeper import SweeperSettings
from prefect_alerts.store import get_engine
from tests.alert_events import poll_alert_events

pytestmark = pytest.mark.usefixtures("prefect_server")

ROUTING = AlertRouting.model_validate({"defaults": {"cooldown": "0s"}, "default": ["console"]})


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def webhook_block(httpserver: HTTPServer, path: str, *, up: bool) -> str:
    """A saved ``AlertWebhook`` block posting to ``path``, answering 503 (down) or 200; its reference."""
    name = f"requeue-{uuid.uuid4().hex[:8]}"
    AlertWebhook(url=httpserver.url_for(path)).save(name, overwrite=True)
    set_receiver(httpserver, path, up=up)
    return f"webhook:{name}"


def set_receiver(httpserver: HTTPServer, path: str, *, up: bool) -> None:
    httpserver.clear_all_handlers()
    if up:
        httpserver.expect_request(path, method="POST").respond_with_data("ok")
    else:
        httpserver.expect_request(path, method="POST").respond_with_data("unavailable", status=503)


def accepted(httpserver: HTTPServer, path: str) -> list[dict]:
    """The bodies the receiver accepted (200) at ``path``."""
    return [
        json.loads(request.get_data())
        for request, response in httpserver.log
        if request.path == path and response.status_code == 200
    ]


def settings_since(started: datetime, now: datetime) -> SweeperSettings:
    """Look back only to this test's start (queued_stale stays the default 10 minutes)."""
    return SweeperSettings(requeue_lookback=now - started)


def alert_events(alert_id: str, until_names: set[str]) -> list[str]:
    """The event names on ``prefect-alerts.alert.<alert_id>`` (``queued``, ``reraised``...), polled until
    ``until_names`` are all there."""

    def names(events: list) -> list[str]:
        return [event.event.removeprefix("prefect-alerts.alert.") for event in events]

    return names(poll_alert_events(alert_id=alert_id, until=lambda events: until_names <= set(names(events))))


def queue_on(
    state: DispatchState, destination: str | SlackChannel, title: str = "Nightly load failed"
) -> tuple[str, datetime]:
    """Send an alert that ends queued (the receiver answers 503), and wait for its event: its send id and the
    next attempt the worker announced (staleness counts from it)."""
    result = send_alert(
        Alert(title=title, severity="error", event="flow_failed"),
        destinations=[destination],
        state=state,
        budget=2.0,
    )
    (outcome,) = result.outcomes
    assert outcome.status == "queued" and outcome.next_attempt_at is not None, result
    alert_events(result.alert_id, {"queued"})
    return result.alert_id, outcome.next_attempt_at


def reraised_ids(result: RequeueResult) -> list[str]:
    return [reraise.alert_id for reraise in result.reraised]


@pytest.fixture
def worker(worker_store: str) -> DispatchState:
    """The worker's store: its outbox dies with it."""
    return DispatchState(get_engine(worker_store))


def test_an_alert_queued_on_a_dead_worker_is_reraised_once(
    httpserver: HTTPServer, state: DispatchState, worker: DispatchState, tmp_path: Path
) -> None:
    started = utc_now() - timedelta(seconds=1)
    reference = webhook_block(httpserver, "/ops", up=False)

    @flow(name="requeue-worker-flow")
    def nightly_load() -> tuple[str, str, datetime]:
        source = source_from_context()
        result = send_alert(
            Alert(title="Nightly load failed", severity="error", event="flow_failed", source=source),
            destinations=[reference],
            state=worker,
            budget=2.0,
        )
        (outcome,) = result.outcomes
        assert outcome.status == "queued" and outcome.next_attempt_at is not None, result
        return result.alert_id, result.alert.dedup_key, outcome.next_attempt_at

    alert_id, dedup_key, due = nightly_load()
    alert_events(alert_id, {"queued"})
    set_receiver(httpserver, "/ops", up=True)  # the service is back; the worker that would retry is not

    now = due + timedelta(minutes=11)  # 11 minutes after the retry the worker announced, and nothing since
    result = reraise_stale_queued(ROUTING, now, state=state, settings=settings_since(started, now))

    assert not result.errors, result
    (reraise,) = [r for r in result.reraised if r.alert_id == alert_id]
    assert (reraise.destination, reraise.sent_to, reraise.status) == (reference, reference, "delivered")
    (body,) = accepted(httpserver, "/ops")
    assert body["alert"]["title"] == "Nightly load failed"
    assert body["alert"]["dedup_key"] == dedup_key  # same key: PagerDuty would not open a second incident
    note = body["alert"]["fields"]["re-raised"]
    assert "on a worker that stopped reporting; its delivery was never confirmed" in note
    assert note.startswith("queued at ") and " UTC " in note
    assert str(result).startswith(f"{len(result.reraised)} re-raised, ")

    # Again at once, before the reraised event has landed: the claim says it was done.
    again = reraise_stale_queued(ROUTING, now, state=state, settings=settings_since(started, now))
    assert alert_id not in reraised_ids(again)
    assert again.already_reraised >= 1

    # Once the event has landed, even an aggregator with no claims (another store) leaves it alone.
    alert_events(alert_id, {"queued", "reraised"})
    other = DispatchState(get_engine(f"sqlite:///{tmp_path}/other-aggregator.db"))
    third = reraise_stale_queued(ROUTING, now, state=other, settings=settings_since(started, now))
    assert alert_id not in reraised_ids(third)
    assert len(accepted(httpserver, "/ops")) == 1


def test_an_alert_in_the_local_outbox_is_left_to_flush(httpserver: HTTPServer, state: DispatchState) -> None:
    started = utc_now() - timedelta(seconds=1)
    reference = webhook_block(httpserver, "/local", up=False)
    alert_id, due = queue_on(state, reference)  # this machine's own store: flush_outbox retries it
    set_receiver(httpserver, "/local", up=True)

    now = due + timedelta(minutes=11)
    result = reraise_stale_queued(ROUTING, now, state=state, settings=settings_since(started, now))

    assert alert_id not in reraised_ids(result)
    assert result.skipped_local >= 1
    assert accepted(httpserver, "/local") == []
    # Still waiting here for the local flush (delivering if its attempt outlived the send's budget).
    waiting = [
        entry.alert_id for entry in state.outbox.entries() if entry.status in ("pending", "delivering")
    ]
    assert waiting == [alert_id]


def test_a_queued_alert_not_yet_stale_waits(
    httpserver: HTTPServer, state: DispatchState, worker: DispatchState
) -> None:
    started = utc_now() - timedelta(seconds=1)
    reference = webhook_block(httpserver, "/soon", up=False)
    alert_id, due = queue_on(worker, reference)
    set_receiver(httpserver, "/soon", up=True)

    now = due + timedelta(minutes=5)
    result = reraise_stale_queued(ROUTING, now, state=state, settings=settings_since(started, now))

    assert alert_id not in reraised_ids(result)
    assert result.still_waiting >= 1
    assert accepted(httpserver, "/soon") == []


def test_staleness_counts_from_the_announced_next_attempt(
    httpserver: HTTPServer, state: DispatchState
) -> None:
    # The outbox backs off up to an hour: a worker that said "next try in 30 min" is not dead at 11 min.
    started = utc_now() - timedelta(seconds=1)
    reference = webhook_block(httpserver, "/later", up=True)
    alert_id = new_id()
    emit_outcome(
        Alert(title="Backfill failed", severity="error", event="flow_failed"),
        alert_id,
        "queued",
        [reference],
        {reference: "503 from the service"},
        next_attempt_at={reference: utc_now() + timedelta(minutes=30)},
    )
    alert_events(alert_id, {"queued"})

    now = utc_now() + timedelta(minutes=11)
    waiting = reraise_stale_queued(ROUTING, now, state=state, settings=settings_since(started, now))
    assert alert_id not in reraised_ids(waiting)
    assert waiting.still_waiting >= 1

    later = utc_now() + timedelta(minutes=41)
    result = reraise_stale_queued(ROUTING, later, state=state, settings=settings_since(started, later))
    assert [r.status for r in result.reraised if r.alert_id == alert_id] == ["delivered"]
    assert [body["alert"]["title"] for body in accepted(httpserver, "/later")] == ["Backfill failed"]


def test_a_queued_alert_later_delivered_is_not_reraised(
    httpserver: HTTPServer, state: DispatchState, worker: DispatchState
) -> None:
    started = utc_now() - timedelta(seconds=1)
    reference = webhook_block(httpserver, "/flushed", up=False)
    alert_id, due = queue_on(worker, reference)
    set_receiver(httpserver, "/flushed", up=True)
    flushed = flush_outbox(now=due + timedelta(minutes=1), state=worker)  # the worker lived after all
    assert flushed.delivered == 1, flushed
    alert_events(alert_id, {"queued", "delivered"})

    now = due + timedelta(minutes=11)
    result = reraise_stale_queued(ROUTING, now, state=state, settings=settings_since(started, now))

    assert alert_id not in reraised_ids(result)
    assert len(accepted(httpserver, "/flushed")) == 1


def test_a_channel_object_destination_goes_to_the_fallback(
    httpserver: HTTPServer, state: DispatchState, worker: DispatchState
) -> None:
    # A channel object lives in the dead worker's memory: the event names it by key only.
    started = utc_now() - timedelta(seconds=1)
    httpserver.expect_request("/slack", method="POST").respond_with_data("unavailable", status=503)
    slack = SlackChannel(url=httpserver.url_for("/slack"))
    alert_id, due = queue_on(worker, slack)
    fallback = webhook_block(httpserver, "/fallback", up=True)
    routing = ROUTING.model_copy(update={"fallback": fallback})

    now = due + timedelta(minutes=11)
    result = reraise_stale_queued(routing, now, state=state, settings=settings_since(started, now))

    (reraise,) = [r for r in result.reraised if r.alert_id == alert_id]
    assert reraise.destination.startswith("slack#")
    assert (reraise.sent_to, reraise.status) == (fallback, "delivered")
    (body,) = accepted(httpserver, "/fallback")
    note = body["alert"]["fields"]["re-raised"]
    assert f"it was meant for {reraise.destination}" in note and "went to the fallback" in note


def test_a_queued_event_without_the_alert_is_reraised_from_its_summary(
    httpserver: HTTPServer, state: DispatchState
) -> None:
    # A worker on an older version (or an alert too large for an event) leaves only the summary.
    from prefect.events import emit_event

    started = utc_now() - timedelta(seconds=1)
    reference = webhook_block(httpserver, "/summary", up=True)
    alert_id = new_id()
    emit_event(
        event="prefect-alerts.alert.queued",
        resource={"prefect.resource.id": f"prefect-alerts.alert.{alert_id}"},
        payload={
            "alert_id": alert_id,
            "dedup_key": "k-123",
            "event": "flow_failed",
            "severity": "critical",
            "status": "firing",
            "title": "Payments export failed",
            "destinations": [reference],
            "reasons": {},
            "flow_name": "payments-export",
        },
    )
    alert_events(alert_id, {"queued"})

    now = utc_now() + timedelta(minutes=11)
    result = reraise_stale_queued(ROUTING, now, state=state, settings=settings_since(started, now))

    assert [r.status for r in result.reraised if r.alert_id == alert_id] == ["delivered"]
    (body,) = accepted(httpserver, "/summary")
    alert = body["alert"]
    assert (alert["title"], alert["severity"], alert["dedup_key"]) == (
        "Payments export failed",
        "critical",
        "k-123",
    )
    assert alert["source"]["flow_name"] == "payments-export"
    assert "only its summary was recorded" in alert["fields"]["re-raised"]
