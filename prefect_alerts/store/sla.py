"""The SLA monitor's open violations: what it announced, so it resolves each once the subject is back in limits.

Example:
    ```python
    from prefect_alerts.store import get_engine
    from prefect_alerts.store.sla import SlaStore

    [violation.key for violation in SlaStore(get_engine()).open()]
    ```
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, select, update

from prefect_alerts.store.prepared import as_datetime
from prefect_alerts.store.retention import delete_in_batches
from prefect_alerts.store.schema import sla_violations
from prefect_alerts.store.upsert import dialect_insert

__all__ = ["OpenViolation", "SlaStore"]


class OpenViolation(BaseModel):
    """One violation announced and not yet resolved."""

    key: str
    rule_key: str
    subject: str
    opened_at: datetime
    last_sent_at: datetime
    alert: dict[str, Any]


class SlaStore:
    """Reads and writes of ``prefect_alerts_sla_violations``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open(self) -> list[OpenViolation]:
        """Every violation not yet resolved, oldest first."""
        query = (
            select(sla_violations)
            .where(sla_violations.c.closed_at.is_(None))
            .order_by(sla_violations.c.opened_at, sla_violations.c.key)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            OpenViolation(
                key=row["key"],
                rule_key=row["rule_key"],
                subject=row["subject"],
                opened_at=as_datetime(row["opened_at"]),
                last_sent_at=as_datetime(row["last_sent_at"]),
                alert=row["alert"],
            )
            for row in rows
        ]

    def opened(self, key: str, *, rule_key: str, subject: str, alert: dict[str, Any], now: datetime) -> bool:
        """Open ``key`` (or reopen it after it was resolved); True when this call opened it, False when it was
        already open (another monitor run got there first: the caller does not announce it again)."""
        statement = dialect_insert(self.engine, sla_violations).values(
            key=key,
            rule_key=rule_key,
            subject=subject,
            opened_at=now,
            last_sent_at=now,
            closed_at=None,
            alert=alert,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[sla_violations.c.key],
            set_={
                "opened_at": statement.excluded.opened_at,
                "last_sent_at": statement.excluded.last_sent_at,
                "closed_at": None,
                "alert": statement.excluded.alert,
            },
            where=sla_violations.c.closed_at.is_not(None),  # only a closed row reopens
        ).returning(sla_violations.c.key)
        with self.engine.begin() as connection:
            return connection.execute(statement).first() is not None

    def sent(self, key: str, *, alert: dict[str, Any], now: datetime) -> None:
        """A reminder of an open violation went out: remember when, and what it said."""
        with self.engine.begin() as connection:
            connection.execute(
                update(sla_violations)
                .where(sla_violations.c.key == key)
                .values(last_sent_at=now, alert=alert)
            )

    def close(self, key: str, now: datetime) -> bool:
        """Mark ``key`` resolved; True for the one caller that closed it."""
        statement = (
            update(sla_violations)
            .where(sla_violations.c.key == key, sla_violations.c.closed_at.is_(None))
            .values(closed_at=now)
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount == 1

    def prune(self, before: datetime, *, batch_size: int = 500, max_rows: int = 50_000) -> int:
        """Delete violations resolved (closed) before ``before``; the number deleted. A later violation of the
        same subject opens a new row, as a closed one would have reopened.

        Example:
            ```python
            SlaStore(engine).prune(now - timedelta(days=30))
            ```
        """
        table = sla_violations
        doomed = select(table.c.key).where(table.c.closed_at < before)
        return delete_in_batches(self.engine, table, doomed, batch_size=batch_size, max_rows=max_rows)

    def reopen(self, key: str) -> None:
        """Undo a close whose resolve could not be sent: the next run tries again."""
        with self.engine.begin() as connection:
            connection.execute(
                update(sla_violations).where(sla_violations.c.key == key).values(closed_at=None)
            )
