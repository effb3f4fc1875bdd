"""The outbox: deliveries not yet confirmed, with their schedule, lease and dead letters.

An entry is written *before* the first attempt, leased to the process delivering it, and marked ``delivered``
only after the channel said so. Any process can take over an entry whose lease ran out (its owner died) or
whose ``next_attempt_at`` has come: a lease is taken with a conditional ``UPDATE`` whose row count says who
won, so two flushes never deliver one entry twice at the same time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Engine, and_, bindparam, func, insert, or_, select, update

from prefect_alerts.store.notifications import utc
from prefect_alerts.store.prepared import PreparedStatement, json_text
from prefect_alerts.store.retention import delete_in_batches
from prefect_alerts.store.schema import notification_log, outbox

__all__ = ["NewDelivery", "Outbox", "OutboxEntry", "OutboxStatus"]

OutboxStatus = Literal["pending", "delivering", "delivered", "dead"]
_ERROR_LIMIT = 2000


class OutboxEntry(BaseModel):
    """One delivery of one alert to one destination."""

    id: str
    alert_id: str
    dedup_key: str
    destination: str
    reference: str | None
    channel_spec: dict[str, Any] | None
    mentions: list[str] | None
    route: str | None
    alert: dict[str, Any]
    status: OutboxStatus
    attempts: int
    max_attempts: int
    next_attempt_at: datetime
    expires_at: datetime
    lease_owner: str | None
    lease_until: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None

    def __repr__(self) -> str:  # channel_spec may hold a webhook URL: never print it
        return (
            f"OutboxEntry(id={self.id!r}, destination={self.destination!r}, status={self.status!r}, "
            f"attempts={self.attempts})"
        )

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """One destination of a send, as :meth:`Outbox.add_many` writes it (a plain record: the hot path skips
    validation; the pipeline built every value)."""

    entry_id: str
    destination: str
    reference: str | None
    channel_spec: dict[str, Any] | None
    mentions: list[str] | None
    route: str | None

    def __repr__(self) -> str:  # channel_spec may hold a webhook URL: never print it
        return f"NewDelivery(entry_id={self.entry_id!r}, destination={self.destination!r})"


_SHARED_COLUMNS = ("alert_id", "dedup_key", "alert", "status", "attempts", "max_attempts")
_OWN_COLUMNS = ("id", "destination", "reference", "channel_spec", "mentions", "route")
_NOW_COLUMNS = ("next_attempt_at", "created_at", "updated_at")
"""A new entry is due, created and updated at once: one bound ``now`` (processed once)."""


def _entry(row: Any) -> OutboxEntry:
    values = dict(row._mapping)
    for name in ("next_attempt_at", "expires_at", "lease_until", "created_at", "updated_at", "delivered_at"):
        values[name] = utc(values[name])
    return OutboxEntry(**values)


class Outbox:
    """Reads and writes of ``prefect_alerts_outbox``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert: PreparedStatement | None = None

    def add(
        self,
        *,
        entry_id: str,
        alert_id: str,
        dedup_key: str,
        destination: str,
        reference: str | None,
        channel_spec: dict[str, Any] | None,
        mentions: list[str] | None,
        route: str | None,
        alert: dict[str, Any],
        max_attempts: int,
        expires_at: datetime,
        now: datetime,
        lease_owner: str,
        lease_until: datetime,
    ) -> None:
        """Write a new entry, already leased to ``lease_owner`` (it is about to make the first attempt)."""
        delivery = NewDelivery(entry_id, destination, reference, channel_spec, mentions, route)
        self.add_many(
            [delivery],
            alert_id=alert_id,
            dedup_key=dedup_key,
            alert=alert,
            max_attempts=max_attempts,
            expires_at=expires_at,
            now=now,
            lease_owner=lease_owner,
            lease_until=lease_until,
        )

    def add_many(
        self,
        deliveries: Sequence[NewDelivery],
        *,
        alert_id: str,
        dedup_key: str,
        alert: dict[str, Any],
        max_attempts: int,
        expires_at: datetime,
        now: datetime,
        lease_owner: str,
        lease_until: datetime,
    ) -> None:
        """Write one entry per delivery of one send (one alert), all leased to ``lease_owner``.

        The values the entries share (the alert's JSON, its times, the lease) are serialised once and the rows
        go in one ``executemany``: a send to three destinations costs one JSON encoding, not three.

        Example:
            ```python
            outbox.add_many(
                [NewDelivery("e1", "slack:ops", "slack:ops", None, None, "etl")],
                alert_id="a1", dedup_key="k", alert=alert.to_record(), max_attempts=10,
                expires_at=now + timedelta(days=1), now=now, lease_owner=process_token(),
                lease_until=now + timedelta(minutes=2),
            )
            ```
        """
        if not deliveries:
            return
        statement = self._insert_statement()
        # SQLite keeps JSON as text: encode the alert once, fast; PostgreSQL's driver wants the data itself.
        encoded = self.engine.dialect.name == "sqlite"
        shared = statement.process(
            {
                "alert_id": alert_id,
                "dedup_key": dedup_key,
                **({} if encoded else {"alert": alert}),
                "status": "delivering",
                "attempts": 0,
                "max_attempts": max_attempts,
                "now": now,
                "expires_at": expires_at,
                "lease_owner": lease_owner,
                "lease_until": lease_until,
            }
        )
        if encoded:
            shared["alert"] = json_text(alert)
        rows = [
            {
                "id": delivery.entry_id,
                "destination": delivery.destination,
                "reference": delivery.reference,
                "channel_spec": delivery.channel_spec,
                "mentions": delivery.mentions,
                "route": delivery.route,
            }
            for delivery in deliveries
        ]
        statement.run_many(rows, shared)

    def _insert_statement(self) -> PreparedStatement:
        # Compiled once: every claimed alert writes its entries through it.
        if self._insert is None:
            columns: dict[str, Any] = {
                name: bindparam(name, type_=outbox.c[name].type)
                for name in (*_SHARED_COLUMNS, *_OWN_COLUMNS, "expires_at", "lease_owner", "lease_until")
            }
            now = bindparam("now", type_=outbox.c.created_at.type)
            columns.update({name: now for name in _NOW_COLUMNS})
            self._insert = PreparedStatement(self.engine, insert(outbox).values(columns))
        return self._insert

    def due(self, now: datetime, limit: int = 200) -> list[OutboxEntry]:
        """Entries a flush may take: pending and due, or delivering with an expired lease (a dead owner)."""
        query = (
            select(outbox)
            .where(
                or_(
                    and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now),
                    and_(outbox.c.status == "delivering", outbox.c.lease_until < now),
                )
            )
            .order_by(outbox.c.next_attempt_at, outbox.c.created_at)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [_entry(row) for row in connection.execute(query)]

    def lease(self, entry_id: str, *, owner: str, now: datetime, until: datetime) -> bool:
        """Take the entry for one attempt; False when another process holds it or it is settled."""
        statement = (
            update(outbox)
            .where(
                outbox.c.id == entry_id,
                or_(
                    and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now),
                    and_(outbox.c.status == "delivering", outbox.c.lease_until < now),
                ),
            )
            .values(status="delivering", lease_owner=owner, lease_until=until, updated_at=now)
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount == 1

    def _settle(self, entry_id: str, owner: str, attempts: int, values: dict[str, Any]) -> bool:
        # Only the lease holder settles: a process whose lease ran out must not overwrite a newer attempt.
        statement = (
            update(outbox)
            .where(outbox.c.id == entry_id, outbox.c.lease_owner == owner, outbox.c.status == "delivering")
            .values(
                {"attempts": outbox.c.attempts + attempts, **values, "lease_owner": None, "lease_until": None}
            )
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount == 1

    def mark_delivered(self, entry_id: str, *, owner: str, now: datetime, attempts: int) -> bool:
        """Settle as delivered (only after the channel said so); ``attempts`` made under this lease."""
        values = {"status": "delivered", "delivered_at": now, "updated_at": now, "last_error": None}
        return self._settle(entry_id, owner, attempts, values)

    def reschedule(
        self, entry_id: str, *, owner: str, now: datetime, at: datetime, error: str, attempts: int
    ) -> bool:
        """Release the lease and schedule the next attempt at ``at`` (Retry-After or backoff)."""
        values = {
            "status": "pending",
            "next_attempt_at": at,
            "updated_at": now,
            "last_error": error[:_ERROR_LIMIT],
        }
        return self._settle(entry_id, owner, attempts, values)

    def mark_dead(self, entry_id: str, *, owner: str, now: datetime, error: str, attempts: int) -> bool:
        """Dead letter: kept with its reason, never attempted again."""
        values = {"status": "dead", "updated_at": now, "last_error": error[:_ERROR_LIMIT]}
        return self._settle(entry_id, owner, attempts, values)

    def get(self, entry_id: str) -> OutboxEntry | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(outbox).where(outbox.c.id == entry_id)).first()
        return None if row is None else _entry(row)

    def entries(
        self, *, status: OutboxStatus | None = None, dedup_key: str | None = None, limit: int = 1000
    ) -> list[OutboxEntry]:
        """Entries, newest first, optionally by status and dedup key (for the CLI and tests)."""
        query = select(outbox)
        if status is not None:
            query = query.where(outbox.c.status == status)
        if dedup_key is not None:
            query = query.where(outbox.c.dedup_key == dedup_key)
        query = query.order_by(outbox.c.created_at.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [_entry(row) for row in connection.execute(query)]

    def alerts_by_send(self, alert_ids: set[str]) -> dict[str, dict[str, Any]]:
        """The alert each of these sends (``send_alert`` calls) queued, by send id."""
        if not alert_ids:
            return {}
        query = select(outbox.c.alert_id, outbox.c.alert).where(outbox.c.alert_id.in_(sorted(alert_ids)))
        with self.engine.connect() as connection:
            return {row.alert_id: row.alert for row in connection.execute(query)}

    def destinations_by_send(self, alert_ids: set[str]) -> set[tuple[str, str]]:
        """``(send id, destination)`` of every entry these sends wrote here, whatever its status.

        The aggregator leaves those to this store's ``flush_outbox`` instead of re-raising them.

            >>> outbox.destinations_by_send({"a1"})  # doctest: +SKIP
            {('a1', 'slack:oncall')}
        """
        found: set[tuple[str, str]] = set()
        ids = sorted(alert_ids)
        for start in range(0, len(ids), 500):  # bounded IN lists (SQLite's variable limit)
            query = select(outbox.c.alert_id, outbox.c.destination).where(
                outbox.c.alert_id.in_(ids[start : start + 500])
            )
            with self.engine.connect() as connection:
                found.update((row.alert_id, row.destination) for row in connection.execute(query))
        return found

    def last_route(self, destination: str) -> tuple[str | None, dict[str, Any] | None] | None:
        """``(reference, channel_spec)`` of the newest entry for ``destination``: how a later process reaches
        it again; None when this store never queued for it."""
        query = (
            select(outbox.c.reference, outbox.c.channel_spec)
            .where(outbox.c.destination == destination)
            .order_by(outbox.c.created_at.desc())
            .limit(1)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else (row.reference, row.channel_spec)

    def prune(
        self,
        *,
        delivered_before: datetime | None,
        dead_before: datetime | None,
        batch_size: int = 500,
        max_rows: int = 50_000,
    ) -> int:
        """Delete delivered entries last updated before ``delivered_before`` and dead ones before
        ``dead_before`` (None: keep that status); the number deleted.

        Kept whatever their age: an entry whose send is a still-firing claim in the notification log (its
        resolve is built from the alert it holds) and each destination's newest entry (how a later process
        reaches that destination again). Deletes go in transactions of ``batch_size`` rows so a hook's claim
        never waits long, at most ``max_rows`` per call (the next call goes on).

        Example:
            ```python
            outbox.prune(delivered_before=now - timedelta(days=7), dead_before=now - timedelta(days=30))
            ```
        """
        settled = []
        if delivered_before is not None:
            settled.append(and_(outbox.c.status == "delivered", outbox.c.updated_at < delivered_before))
        if dead_before is not None:
            settled.append(and_(outbox.c.status == "dead", outbox.c.updated_at < dead_before))
        if not settled:
            return 0
        rank = (
            func.row_number()
            .over(
                partition_by=outbox.c.destination, order_by=(outbox.c.created_at.desc(), outbox.c.id.desc())
            )
            .label("rank")
        )
        ranked = select(outbox.c.id, rank).subquery()
        with self.engine.connect() as connection:
            newest = [row.id for row in connection.execute(select(ranked.c.id).where(ranked.c.rank == 1))]
        firing_claims = select(notification_log.c.claim_id).where(notification_log.c.last_status == "firing")
        doomed = select(outbox.c.id).where(
            or_(*settled), outbox.c.alert_id.not_in(firing_claims), outbox.c.id.not_in(newest)
        )
        return delete_in_batches(self.engine, outbox, doomed, batch_size=batch_size, max_rows=max_rows)

    def counts(self) -> dict[str, int]:
        """How many entries are in each status."""
        query = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        with self.engine.connect() as connection:
            return {status: count for status, count in connection.execute(query)}
