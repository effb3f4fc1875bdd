"""The notification log: what was last notified per dedup key and destination, claimed atomically.

Every decision is one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement, so N processes raising the
same alert at once make exactly one claim: the row's ``claim_id`` says who won. There is never a
read-then-write.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import DateTime, Engine, Integer, and_, bindparam, case, delete, or_, select, update

from prefect_alerts.store.prepared import PreparedStatement, as_datetime
from prefect_alerts.store.retention import delete_in_batches
from prefect_alerts.store.schema import notification_log
from prefect_alerts.store.upsert import dialect_insert

__all__ = ["LogEntry", "NotificationLog", "firing_keys", "utc"]


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for timezone columns; they were written as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class LogEntry(BaseModel):
    """One row of the log, as the claim left it."""

    dedup_key: str
    destination: str
    last_status: Literal["firing", "resolved"]
    last_sent_at: datetime
    last_firing_at: datetime | None
    first_firing_at: datetime | None
    suppressed: int
    repeats_at_claim: int
    claim_id: str
    severity_rank: int = 0
    route: str | None = None


def _entry(row: Any) -> LogEntry:
    return LogEntry(
        dedup_key=row.dedup_key,
        destination=row.destination,
        last_status=row.last_status,
        last_sent_at=utc(row.last_sent_at),
        last_firing_at=utc(row.last_firing_at),
        first_firing_at=utc(row.first_firing_at),
        suppressed=row.suppressed,
        repeats_at_claim=row.repeats_at_claim,
        claim_id=row.claim_id,
        severity_rank=row.severity_rank,
        route=row.route,
    )


_CLAIM_COLUMNS = [
    notification_log.c[name]
    for name in (
        "dedup_key",
        "destination",
        "last_status",
        "last_sent_at",
        "last_firing_at",
        "first_firing_at",
        "suppressed",
        "repeats_at_claim",
        "claim_id",
        "severity_rank",
        "route",
    )
]
"""What a claim reads back."""


def _claimed_entry(row: tuple[Any, ...]) -> LogEntry:
    (dedup_key, destination, status, sent, firing, first, suppressed, repeats, claim_id, rank, route) = row
    # A fresh claim returns one time three times: parse it once.
    last_sent_at = as_datetime(sent)
    last_firing_at = last_sent_at if firing == sent else as_datetime(firing)
    first_firing_at = (
        last_sent_at if first == sent else last_firing_at if first == firing else as_datetime(first)
    )
    # Validated, not model_construct(): pydantic-core's validation is the faster of the two (1.5 vs 3.4 us).
    return LogEntry(
        dedup_key=dedup_key,
        destination=destination,
        last_status=status,
        last_sent_at=last_sent_at,
        last_firing_at=last_firing_at,
        first_firing_at=first_firing_at,
        suppressed=suppressed,
        repeats_at_claim=repeats,
        claim_id=claim_id,
        severity_rank=rank,
        route=route,
    )


def firing_keys() -> Any:
    """A subquery of the dedup keys firing on some destination: what every retention step keeps.

    >>> from sqlalchemy import select
    >>> from prefect_alerts.store.schema import alert_history
    >>> query = select(alert_history.c.id).where(alert_history.c.dedup_key.not_in(firing_keys()))
    """
    return select(notification_log.c.dedup_key).where(notification_log.c.last_status == "firing")


class NotificationLog:
    """Claims and reads of the notification log (``prefect_alerts_notification_log``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._claim: Any = None
        self._resolve: PreparedStatement | None = None

    def claim_firing(
        self,
        *,
        dedup_key: str,
        destination: str,
        claim_id: str,
        now: datetime,
        severity_rank: int = 0,
        cooldown: timedelta,
        repeat_interval: timedelta | None,
        route: str | None,
        flow_name: str | None,
        deployment_name: str | None,
    ) -> tuple[bool, LogEntry]:
        """Claim the right to notify ``destination`` of a firing alert; ``(won, row after the claim)``.

        The claim is won when nothing was notified yet, when the last notice was a resolve and the last firing
        notice is older than ``cooldown`` (a flapping alert stays quiet), or when the alert is still firing and
        the last notice is older than ``max(cooldown, repeat_interval)`` (a reminder). A lost claim counts one
        more suppressed repeat. A still-firing alert that got worse (a higher ``severity_rank`` than the last
        notice) is sent at once: an escalation is news.
        """
        still_firing_wait = cooldown if repeat_interval is None else max(cooldown, repeat_interval)
        params = {
            "dedup_key": dedup_key,
            "destination": destination,
            "now": now,
            "claim_id": claim_id,
            "severity_rank": severity_rank,
            "route": route,
            "flow_name": flow_name,
            "deployment_name": deployment_name,
            "flap_cutoff": now - cooldown,
            # NULL when reminders are off: the comparison is then never true.
            "repeat_cutoff": None if repeat_interval is None else now - still_firing_wait,
        }
        statement = self._claim_statement()
        (row,) = statement.run(params)
        entry = _claimed_entry(row)
        return entry.claim_id == claim_id, entry

    def _claim_statement(self) -> Any:
        # Built once per log: constructing the expression costs more than running it.
        if self._claim is not None:
            return self._claim
        table = notification_log
        now = bindparam("now", type_=DateTime(timezone=True))
        rank = bindparam("severity_rank", type_=Integer)
        wins = or_(
            and_(
                table.c.last_status == "resolved",
                or_(
                    table.c.last_firing_at.is_(None),
                    table.c.last_firing_at <= bindparam("flap_cutoff", type_=DateTime(timezone=True)),
                ),
            ),
            and_(
                table.c.last_status == "firing",
                table.c.last_sent_at <= bindparam("repeat_cutoff", type_=DateTime(timezone=True)),
            ),
            and_(table.c.last_status == "firing", table.c.severity_rank < rank),
        )

        def when_won(value: Any, otherwise: Any) -> Any:
            return case((wins, value), else_=otherwise)

        statement = dialect_insert(self.engine, table).values(
            dedup_key=bindparam("dedup_key"),
            destination=bindparam("destination"),
            last_status="firing",
            last_sent_at=now,
            last_firing_at=now,
            first_firing_at=now,
            suppressed=0,
            repeats_at_claim=0,
            claim_id=bindparam("claim_id"),
            severity_rank=rank,
            route=bindparam("route"),
            flow_name=bindparam("flow_name"),
            deployment_name=bindparam("deployment_name"),
        )
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.dedup_key, table.c.destination],
            set_={
                # first_firing_at is read before last_status changes: every SET sees the old row.
                "first_firing_at": when_won(
                    case((table.c.last_status == "resolved", now), else_=table.c.first_firing_at),
                    table.c.first_firing_at,
                ),
                "repeats_at_claim": when_won(table.c.suppressed, table.c.repeats_at_claim),
                "suppressed": when_won(0, table.c.suppressed + 1),
                "last_status": when_won("firing", table.c.last_status),
                "last_sent_at": when_won(now, table.c.last_sent_at),
                "last_firing_at": when_won(now, table.c.last_firing_at),
                "claim_id": when_won(statement.excluded.claim_id, table.c.claim_id),
                "severity_rank": when_won(rank, table.c.severity_rank),
                "route": when_won(statement.excluded.route, table.c.route),
            },
        ).returning(*_CLAIM_COLUMNS)
        self._claim = PreparedStatement(self.engine, statement)
        return self._claim

    def claim_resolved(
        self, *, dedup_key: str, destination: str, claim_id: str, now: datetime
    ) -> tuple[bool, LogEntry | None]:
        """Mark a firing key resolved; won only when it was firing (a resolve is sent once)."""
        if self._resolve is None:
            table = notification_log
            self._resolve = PreparedStatement(
                self.engine,
                update(table)
                .where(
                    table.c.dedup_key == bindparam("dedup_key"),
                    table.c.destination == bindparam("destination"),
                    table.c.last_status == "firing",
                )
                .values(
                    last_status="resolved",
                    last_sent_at=bindparam("now", type_=DateTime(timezone=True)),
                    claim_id=bindparam("claim_id"),
                    suppressed=0,
                )
                .returning(*_CLAIM_COLUMNS),
            )
        rows = self._resolve.run(
            {"dedup_key": dedup_key, "destination": destination, "claim_id": claim_id, "now": now}
        )
        if rows:
            return True, _claimed_entry(rows[0])
        return False, self.get(dedup_key, destination)

    def release(self, *, dedup_key: str, destination: str, claim_id: str) -> bool:
        """Give a claim back (its delivery went dead): cooldown counts from notices that arrived, so the next
        alert may try again. Only the claim's owner releases it."""
        statement = delete(notification_log).where(
            notification_log.c.dedup_key == dedup_key,
            notification_log.c.destination == destination,
            notification_log.c.claim_id == claim_id,
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount == 1

    def prune_resolved(self, before: datetime, *, batch_size: int = 500, max_rows: int = 50_000) -> int:
        """Delete rows whose last notice was a resolve sent before ``before``; the number deleted.

        A resolved row only serves the flap check (a new firing within the cooldown of the last one stays
        quiet) and "already resolved" reasons; a row still firing is kept whatever its age (its resolve must
        still go out). Transactions of ``batch_size`` rows, at most ``max_rows`` per call.

        Example:
            ```python
            log.prune_resolved(now - timedelta(days=30))
            ```
        """
        table = notification_log
        doomed = select(table.c.dedup_key, table.c.destination).where(
            table.c.last_status == "resolved", table.c.last_sent_at < before
        )
        return delete_in_batches(self.engine, table, doomed, batch_size=batch_size, max_rows=max_rows)

    def get(self, dedup_key: str, destination: str) -> LogEntry | None:
        query = select(notification_log).where(
            notification_log.c.dedup_key == dedup_key, notification_log.c.destination == destination
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else _entry(row)

    def firing(self, *, flow_name: str | None = None, deployment_name: str | None = None) -> list[LogEntry]:
        """Rows still firing, optionally for one flow and/or deployment, oldest first."""
        query = select(notification_log).where(notification_log.c.last_status == "firing")
        if flow_name is not None:
            query = query.where(notification_log.c.flow_name == flow_name)
        if deployment_name is not None:
            query = query.where(notification_log.c.deployment_name == deployment_name)
        query = query.order_by(notification_log.c.last_firing_at)
        with self.engine.connect() as connection:
            return [_entry(row) for row in connection.execute(query)]

    def firing_keys(self, dedup_keys: list[str]) -> set[str]:
        """Which of ``dedup_keys`` are still firing on some destination (a storm's closing count)."""
        found: set[str] = set()
        table = notification_log
        with self.engine.connect() as connection:
            for start in range(0, len(dedup_keys), 500):  # keep each IN list well under SQLite's limit
                chunk = dedup_keys[start : start + 500]
                query = (
                    select(table.c.dedup_key)
                    .where(table.c.dedup_key.in_(chunk), table.c.last_status == "firing")
                    .distinct()
                )
                found.update(row.dedup_key for row in connection.execute(query))
        return found
