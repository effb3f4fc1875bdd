"""Re-raise alerts a dead worker left queued (issue 13).

A queued alert waits in its worker's outbox; if the worker dies with its local SQLite, nobody retries it. Every
``queued`` outcome is also a Prefect event carrying the alert (:mod:`prefect_alerts.dispatch.events`), so the
aggregator takes the latest ``prefect-alerts.alert.*`` event per (alert, destination) over ``requeue_lookback``
and re-raises those still ``queued`` ``queued_stale`` after the event (or after the next attempt it announced):

- an entry in this machine's outbox is left to ``flush_outbox`` (on a shared store, all are);
- each re-raise is claimed (sweeper claims, kind ``queued``): two aggregators or sweeps act once;
- it goes to that one destination through silence, outbox, deliver and record only: a redelivery of a
  notification already claimed skips dedupe, cooldown, incident and storm (on a shared store dedupe would
  suppress it); a channel object's key cannot be rebuilt from an event, so that alert goes to the fallback;
- a ``prefect-alerts.alert.reraised`` event on the old alert id settles it for every later sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, Field

from prefect_alerts.alert import Alert, Source
from prefect_alerts.channels.base import get_logger, redact
from prefect_alerts.dispatch.deliver import DeliverStage
from prefect_alerts.dispatch.events import EVENT_PREFIX, emit_outcome
from prefect_alerts.dispatch.models import OutcomeStatus
from prefect_alerts.dispatch.outbox import OutboxStage
from prefect_alerts.dispatch.pipeline import Pipeline, send_alert
from prefect_alerts.dispatch.record import RecordStage
from prefect_alerts.dispatch.route import RouteStage
from prefect_alerts.dispatch.silence import SilenceStage
from prefect_alerts.dispatch.stage import DispatchState
from prefect_alerts.routing import AlertRouting
from prefect_alerts.routing.sweeper import SweeperSettings
from prefect_alerts.store.sweeper import SweeperStore

__all__ = ["QUEUED_CLAIM", "RequeueResult", "Reraise", "is_reference", "reraise_stale_queued"]

logger = get_logger("prefect_alerts.monitoring")

QUEUED_CLAIM = "queued"
PAGE_SIZE = 50
"""Events per page: the server refuses more."""
MAX_PAGES = 200
"""Pages read per sweep at most (10,000 events); the rest wait for the next sweep, which is logged."""
FUTURE_MARGIN = timedelta(minutes=1)
"""Events are read up to this long after ``now``: a worker's clock may run a little ahead."""
STALE_CLAIM = timedelta(minutes=10)
"""A claim still 'alerting' after this long belongs to a sweep that died mid-send: take it over."""

# Redelivery of a notification already claimed: no route decision beyond the one destination, no dedupe,
# incident or storm; silences still apply (a person muted it on purpose), as for follow-ups.
_PIPELINE = Pipeline([RouteStage(), SilenceStage(), OutboxStage(), DeliverStage(), RecordStage()])


class Reraise(BaseModel):
    """One alert the aggregator re-raised."""

    alert_id: str = Field(description="The send id of the alert that was left queued.")
    destination: str = Field(description="Where it was queued.")
    new_alert_id: str = Field(description="The send id of the re-raise.")
    sent_to: str = Field(description="Where the re-raise went: the destination, or the fallback.")
    status: OutcomeStatus
    reason: str | None = None

    def __str__(self) -> str:
        text = (
            f"{self.alert_id[:8]} at {self.destination}: re-raised as {self.new_alert_id[:8]}, {self.status}"
        )
        if self.sent_to != self.destination:
            text += f" on {self.sent_to}"
        return text + (f" ({self.reason})" if self.reason else "")


class RequeueResult(BaseModel):
    """What one pass of :func:`reraise_stale_queued` did."""

    reraised: list[Reraise] = Field(default_factory=list)
    still_waiting: int = Field(default=0, description="Queued, not stale yet.")
    skipped_local: int = Field(default=0, description="In this machine's outbox: flush_outbox retries them.")
    already_reraised: int = Field(default=0, description="Claimed by an earlier sweep or another aggregator.")
    events_read: int = 0
    complete: bool = Field(default=True, description="False when the page bound stopped the read early.")
    errors: list[str] = Field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"{len(self.reraised)} re-raised, {self.still_waiting} still waiting, "
            f"{self.skipped_local} left to the local outbox, {self.already_reraised} already re-raised"
        )
        if not self.complete:
            text += f" (stopped after {self.events_read} events)"
        if self.errors:
            text += f"; {len(self.errors)} errors: " + "; ".join(self.errors[:3])
        return text


@dataclass
class _Last:
    """The latest event for one (alert id, destination)."""

    alert_id: str
    destination: str
    status: str
    occurred: datetime
    payload: dict[str, Any]
    first_queued: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.alert_id} {self.destination}"

    def waiting_since(self) -> datetime:
        """The event's time, or the next attempt it announced when later (the worker retries then)."""
        try:
            when = datetime.fromisoformat((self.payload.get("next_attempt_at") or {})[self.destination])
        except (KeyError, TypeError, ValueError, AttributeError):
            return self.occurred
        return max(self.occurred, when if when.tzinfo else when.replace(tzinfo=timezone.utc))


def reraise_stale_queued(
    routing: AlertRouting, now: datetime, *, state: DispatchState, settings: SweeperSettings
) -> RequeueResult:
    """Re-raise the alerts whose last event is ``queued`` and that nothing settled within ``queued_stale``.

    Never raises for one bad event or one failed re-raise: each is an entry in ``errors``.

    Args:
        routing: Its defaults (budget, retries) and fallback apply to the re-raises.
        now: The time to judge staleness by (tests inject it).
        state: This machine's store: its outbox (entries it retries itself) and the sweeper claims.
        settings: ``queued_stale`` and ``requeue_lookback`` (usually ``routing.sweeper``).

    Example:
        ```python
        from datetime import datetime, timezone
        from prefect_alerts.dispatch import DispatchState

        result = reraise_stale_queued(routing, datetime.now(timezone.utc), state=DispatchState.default(),
                                      settings=routing.sweeper)
        print(result)  # "1 re-raised, 0 still waiting, 2 left to the local outbox, 0 already re-raised"
        ```
    """
    result = RequeueResult()
    try:
        events = _read_events(now - settings.requeue_lookback, now + FUTURE_MARGIN, result)
    except Exception as exc:  # the next sweep tries again; guessing would re-raise delivered alerts
        result.errors.append(redact(f"could not read the alert events: {type(exc).__name__}: {exc}"))
        return result
    stale: list[_Last] = []
    for last in _latest(events, result).values():
        if last.status != "queued":
            continue
        if now - last.waiting_since() < settings.queued_stale:
            result.still_waiting += 1
        else:
            stale.append(last)
    if not stale:
        return result
    store = SweeperStore(state.engine)
    try:
        local = state.outbox.destinations_by_send({last.alert_id for last in stale})
    except Exception as exc:
        result.errors.append(redact(f"could not read this store: {type(exc).__name__}: {exc}"))
        return result
    for last in stale:
        if (last.alert_id, last.destination) in local:
            result.skipped_local += 1
            continue
        try:  # one INSERT ... ON CONFLICT DO NOTHING (or a dead sweep's claim taken over): one sender
            claimed = store.claim(QUEUED_CLAIM, last.key, now=now, decision="alerting") or store.take_over(
                QUEUED_CLAIM, last.key, now=now, older_than=now - STALE_CLAIM
            )
            if not claimed:
                result.already_reraised += 1
                continue
        except Exception as exc:
            result.errors.append(redact(f"{last.key}: could not claim: {type(exc).__name__}: {exc}"))
            continue
        try:
            reraise = _reraise(last, routing, now, state)
        except Exception as exc:
            result.errors.append(redact(f"{last.key}: could not re-raise: {type(exc).__name__}: {exc}"))
            try:  # the next sweep tries again
                store.release(QUEUED_CLAIM, last.key)
            except Exception:
                logger.exception("could not release the re-raise claim %s", last.key)
            continue
        result.reraised.append(reraise)
        try:
            detail = str(reraise)
            store.settle(
                QUEUED_CLAIM, last.key, decision="reraised", alert_id=reraise.new_alert_id, detail=detail
            )
        except Exception as exc:  # the claim stays 'alerting': a later sweep may send once more
            result.errors.append(redact(f"{last.key}: re-raised, but the claim was not settled: {exc}"))
    return result


def _read_events(since: datetime, until: datetime, result: RequeueResult) -> list[Any]:
    """Every alert event that occurred in ``[since, until]``, at most :data:`MAX_PAGES` pages."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

    event_filter = EventFilter(
        event=EventNameFilter(prefix=[EVENT_PREFIX]), occurred=EventOccurredFilter(since=since, until=until)
    )
    events: list[Any] = []
    with get_client(sync_client=True) as client:
        page = client.read_events(filter=event_filter, limit=PAGE_SIZE)
        for number in range(1, MAX_PAGES + 1):
            events.extend(page.events)
            if not page.next_page:
                break
            if number == MAX_PAGES:
                result.complete = False
                logger.warning(
                    "re-raise: stopped after %d pages (%d alert events); the rest wait for the next sweep",
                    MAX_PAGES,
                    len(events),
                )
                break
            page = client.read_events_page(str(page.next_page))
    result.events_read = len(events)
    return events


def _latest(events: list[Any], result: RequeueResult) -> dict[tuple[str, str], _Last]:
    """The latest event per (alert id, destination); on a tie a settling event wins over ``queued``."""
    latest: dict[tuple[str, str], _Last] = {}
    for event in events:
        try:
            payload = dict(event.payload or {})
            status = event.event.removeprefix(EVENT_PREFIX)
            alert_id = str(payload.get("alert_id") or event.resource.id.removeprefix(EVENT_PREFIX))
            occurred: datetime = event.occurred
            for destination in payload.get("destinations") or []:
                pair = (alert_id, str(destination))
                last = latest.get(pair)
                first = last.first_queued if last else None
                if status == "queued":
                    first = occurred if first is None else min(first, occurred)
                if last is None or (occurred, status != "queued") > (last.occurred, last.status != "queued"):
                    latest[pair] = _Last(alert_id, str(destination), status, occurred, payload, first)
                else:
                    last.first_queued = first
        except Exception as exc:  # one malformed event must not hide the others
            result.errors.append(redact(f"event {getattr(event, 'id', '?')}: {type(exc).__name__}: {exc}"))
    return latest


def is_reference(destination: str) -> bool:
    """True for a channel reference any process can load, not the key of an in-process channel object.

    >>> is_reference("slack:ops-alerts"), is_reference("slack#1a2b3c4d5e"), is_reference("webhook")
    (True, False, False)
    """
    from prefect_alerts.channels.registry import CHANNEL_KINDS

    kind, sep, name = destination.partition(":")
    if kind == "console" and not sep:
        return True
    return kind in CHANNEL_KINDS and bool(sep and name.strip()) and "#" not in name


def _when(moment: datetime, now: datetime) -> str:
    moment = moment.astimezone(timezone.utc)
    same_day = moment.date() == now.astimezone(timezone.utc).date()
    return f"{moment:%H:%M} UTC" if same_day else f"{moment:%Y-%m-%d %H:%M} UTC"


def _summary_alert(payload: dict[str, Any]) -> Alert:
    """The alert from an event's summary, when it carries no record (an older worker, or too large)."""
    source_keys = ("flow_name", "deployment_name", "flow_run_id", "task_run_id")
    return Alert(
        title=payload.get("title") or "An alert left queued on a worker that stopped reporting",
        severity=payload.get("severity") or "error",
        event=payload.get("event") or "notification",
        status=payload.get("status") or "firing",
        dedup_key=payload.get("dedup_key") or "",
        source=Source(**{key: payload.get(key) for key in source_keys}),
    )


def _reraise(last: _Last, routing: AlertRouting, now: datetime, state: DispatchState) -> Reraise:
    record = last.payload.get("alert")
    note = (
        f"queued at {_when(last.first_queued or last.occurred, now)} on a worker that stopped reporting; "
        "its delivery was never confirmed"
    )
    if isinstance(record, dict):
        alert = Alert.from_record(record)
    else:  # better its headline than nothing
        alert = _summary_alert(last.payload)
        note += "; only its summary was recorded, so the message and details are missing"
    target: Any = last.destination
    if not is_reference(last.destination):
        target = routing.fallback or "console"
        note += (
            f"; it was meant for {last.destination}, a channel object only that worker could build, "
            "so it went to the fallback"
        )
    alert = alert.model_copy(update={"fields": {**alert.fields, "re-raised": note}})
    clock: Callable[[], datetime] = lambda: now  # noqa: E731  (the injected time, as flush_outbox does)
    sent = send_alert(alert, routing, [target], state=state, clock=clock, pipeline=_PIPELINE)
    outcome = sent.outcomes[0]
    # Settles the old alert at this destination, so the next sweep (any aggregator) leaves it alone.
    reason = f"re-raised as alert {sent.alert_id}: {outcome}"
    emit_outcome(alert, last.alert_id, "reraised", [last.destination], {last.destination: reason})
    return Reraise(
        alert_id=last.alert_id,
        destination=last.destination,
        new_alert_id=sent.alert_id,
        sent_to=outcome.destination,
        status=outcome.status,
        reason=outcome.reason,
    )
