"""The one small shape every step of the pipeline has (Alertmanager's ``Stage``).

A :class:`Dispatch` carries one alert through the steps: the notifications chosen for it (one per destination)
and, for each, an outcome once a step settles it. A step looks only at the notifications still pending and
either settles some (suppressed, folded, delivered, queued, dead) or leaves them for the next step. A step is
tested alone by building a Dispatch by hand with an injected clock.
"""

from __future__ import annotations

import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from prefect_alerts.alert import Alert
from prefect_alerts.dispatch.models import DestinationOutcome, OutcomeStatus
from prefect_alerts.store.alerts import AlertHistory, SilenceStore
from prefect_alerts.store.engine import get_engine
from prefect_alerts.store.incidents import IncidentStore
from prefect_alerts.store.notifications import NotificationLog
from prefect_alerts.store.outbox import Outbox
from prefect_alerts.store.storms import StormStore

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from prefect_alerts.channels.base import Channel
    from prefect_alerts.routing import AlertRouting, RouteTarget

__all__ = ["Clock", "Dispatch", "DispatchState", "Notification", "Stage", "new_id", "utc_now"]

Clock = Callable[[], datetime]
"""Returns the current time (UTC, aware). Tests inject their own."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    """A unique id of 32 hex digits, laid out as a UUID version 7: the first 48 bits are the time in
    milliseconds, the other 74 random, with no ``UUID`` object built.

    Ids made later sort later, so the store's outbox and history indexes grow at their end instead of
    taking every new id at a random page: a send writes fewer pages, and keeps that pace as the store grows.
    The random bits come from a generator of our own, seeded from ``os.urandom`` and seeded again in a forked
    child: no system call per id, and a user's ``random.seed(42)`` in every worker cannot make two workers'
    ids collide.

        >>> uuid.UUID(new_id()).version
        7
        >>> first = new_id(); time.sleep(0.002); first < new_id()
        True
    """
    bits = _random_bits(74)
    millis = time.time_ns() // 1_000_000
    return "%032x" % (millis << 80 | _VERSION_7 | (bits >> 62) << 64 | _VARIANT | bits & _LOW_62_BITS)


_ID_RANDOM = random.Random(os.urandom(32))
_random_bits = _ID_RANDOM.getrandbits
_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62
_LOW_62_BITS = (1 << 62) - 1
os.register_at_fork(after_in_child=lambda: _ID_RANDOM.seed(os.urandom(32)))


_PROCESS_TOKEN = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def process_token() -> str:
    """Who holds an outbox lease: host, pid and a random part (a pid is reused after a restart)."""
    return _PROCESS_TOKEN


@dataclass
class DispatchState:
    """The store the steps read and write: notification log, outbox, history, silences, storms and incidents
    on one engine."""

    engine: Engine

    def __post_init__(self) -> None:
        self.log = NotificationLog(self.engine)
        self.outbox = Outbox(self.engine)
        self.history = AlertHistory(self.engine)
        self.silences = SilenceStore(self.engine)
        self.storms = StormStore(self.engine)
        self.incidents = IncidentStore(self.engine)

    @classmethod
    def default(cls, url: str | None = None) -> DispatchState:
        """The state at ``url``, else ``PREFECT_ALERTS_DATABASE_URL``, else SQLite under ``PREFECT_HOME``."""
        return cls(get_engine(url))


@dataclass
class Notification:
    """One alert on its way to one destination."""

    target: RouteTarget
    destination: str
    """The destination's key (what the notification log, the outbox and outcomes name)."""
    alert: Alert
    """The alert this destination gets (a reminder carries its repeat count)."""
    outcome: DestinationOutcome | None = None
    outbox_id: str | None = None
    attempts: int = 0
    channel: Channel | None = None


@dataclass
class Dispatch:
    """One alert going through the pipeline."""

    alert: Alert
    routing: AlertRouting
    state: DispatchState
    clock: Clock = utc_now
    budget: float = 3.0
    alert_id: str = field(default_factory=new_id)
    notifications: list[Notification] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    notes: list[str] = field(default_factory=list)
    """Problems a step met and worked around (logged, never raised)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Room for later steps (storm and incident folding) to pass data along."""
    records: dict[int, tuple[Alert, dict[str, Any]]] = field(default_factory=dict, repr=False)
    """``to_record()`` of the alerts this dispatch stored, by object: see :meth:`record`."""

    def __post_init__(self) -> None:
        self.now = self.clock()

    @property
    def deadline(self) -> float:
        """``time.monotonic()`` value by which delivery must have returned."""
        return self.started + self.budget

    def record(self, alert: Alert) -> dict[str, Any]:
        """``alert.to_record()``, made once per alert object in this dispatch: the outbox and the history
        both store it. The steps never change an alert in place (a reminder is a copy), so it stays true."""
        cached = self.records.get(id(alert))
        if cached is None or cached[0] is not alert:  # the pair keeps the alert alive: its id is not reused
            cached = self.records[id(alert)] = (alert, alert.to_record())
        return cached[1]

    def pending(self) -> list[Notification]:
        """Notifications no step has settled yet."""
        return [notification for notification in self.notifications if notification.outcome is None]

    def settle(
        self,
        notification: Notification,
        status: OutcomeStatus,
        reason: str | None = None,
        *,
        next_attempt_at: datetime | None = None,
    ) -> None:
        notification.outcome = DestinationOutcome(
            destination=notification.destination,
            status=status,
            reason=reason,
            attempts=notification.attempts,
            route=notification.target.route,
            outbox_id=notification.outbox_id,
            next_attempt_at=next_attempt_at,
        )


class Stage(Protocol):
    """One step of the pipeline: look at ``dispatch.pending()``, settle some, leave the rest."""

    name: str

    def run(self, dispatch: Dispatch) -> None: ...
