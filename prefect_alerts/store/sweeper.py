"""The sweeper's checkpoint and claims: how far it has looked, and what it decided per run and re-raise.

A claim is one ``INSERT ... ON CONFLICT DO NOTHING``: two aggregators (or one re-run over an overlapping
window) racing on the same flow run agree on which one acts, with no read-then-write.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import Engine, delete, func, select

from prefect_alerts.store.prepared import as_datetime
from prefect_alerts.store.schema import sweeper_checkpoints, sweeper_claims
from prefect_alerts.store.upsert import dialect_insert

__all__ = ["SweeperClaim", "SweeperStore"]


class SweeperClaim(BaseModel):
    """One decision of the sweeper."""

    kind: str
    key: str
    claimed_at: datetime
    decision: str
    alert_id: str | None = None
    detail: str | None = None


class SweeperStore:
    """Reads and claims on ``prefect_alerts_sweeper_checkpoints`` and ``prefect_alerts_sweeper_claims``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ------------------------------------------------------------------ checkpoint
    def checkpoint(self, name: str) -> datetime | None:
        """The end of the last window ``name`` swept, or None before its first sweep."""
        query = select(sweeper_checkpoints.c.swept_until).where(sweeper_checkpoints.c.name == name)
        with self.engine.connect() as connection:
            return as_datetime(connection.execute(query).scalar())

    def advance(self, name: str, until: datetime, now: datetime) -> None:
        """Move the checkpoint to ``until`` (never backwards: a late, slower sweep cannot undo a newer one)."""
        statement = dialect_insert(self.engine, sweeper_checkpoints).values(
            name=name, swept_until=until, updated_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=[sweeper_checkpoints.c.name],
            set_={
                "swept_until": func.max(sweeper_checkpoints.c.swept_until, statement.excluded.swept_until)
                if self.engine.dialect.name == "sqlite"
                else func.greatest(sweeper_checkpoints.c.swept_until, statement.excluded.swept_until),
                "updated_at": statement.excluded.updated_at,
            },
        )
        with self.engine.begin() as connection:
            connection.execute(statement)

    # ------------------------------------------------------------------ claims
    def claim(
        self,
        kind: str,
        key: str,
        *,
        now: datetime,
        decision: str,
        alert_id: str | None = None,
        detail: str | None = None,
    ) -> bool:
        """Claim ``key``: True when this call made the claim, False when someone already had."""
        statement = (
            dialect_insert(self.engine, sweeper_claims)
            .values(
                kind=kind,
                key=key,
                claimed_at=now,
                decision=decision,
                alert_id=alert_id,
                detail=(detail or None) and detail[:500],
            )
            .on_conflict_do_nothing(index_elements=[sweeper_claims.c.kind, sweeper_claims.c.key])
            # RETURNING, not rowcount: an INSERT's rowcount is not reliable on every driver (psycopg gives -1).
            .returning(sweeper_claims.c.key)
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).first() is not None

    def take_over(self, kind: str, key: str, *, now: datetime, older_than: datetime) -> bool:
        """Take a claim whose holder never settled it (it died mid-send) and that is older than ``older_than``."""
        statement = (
            sweeper_claims.update()
            .where(
                sweeper_claims.c.kind == kind,
                sweeper_claims.c.key == key,
                sweeper_claims.c.decision == "alerting",
                sweeper_claims.c.claimed_at < older_than,
            )
            .values(claimed_at=now)
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount == 1

    def settle(self, kind: str, key: str, *, decision: str, alert_id: str | None, detail: str | None) -> None:
        """Record what the holder of a claim did with it."""
        statement = (
            sweeper_claims.update()
            .where(sweeper_claims.c.kind == kind, sweeper_claims.c.key == key)
            .values(decision=decision, alert_id=alert_id, detail=(detail or None) and detail[:500])
        )
        with self.engine.begin() as connection:
            connection.execute(statement)

    def release(self, kind: str, key: str) -> None:
        """Give a claim up (acting on it failed): the next sweep tries again."""
        with self.engine.begin() as connection:
            connection.execute(
                delete(sweeper_claims).where(sweeper_claims.c.kind == kind, sweeper_claims.c.key == key)
            )

    def claimed(self, kind: str, keys: set[str]) -> dict[str, SweeperClaim]:
        """The claims among ``keys``, by key."""
        if not keys:
            return {}
        query = select(sweeper_claims).where(
            sweeper_claims.c.kind == kind, sweeper_claims.c.key.in_(sorted(keys))
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return {
            row["key"]: SweeperClaim(**{**row, "claimed_at": as_datetime(row["claimed_at"])}) for row in rows
        }

    def prune(self, before: datetime) -> int:
        """Forget claims older than ``before`` (their runs are long outside every window); how many."""
        with self.engine.begin() as connection:
            return connection.execute(
                delete(sweeper_claims).where(sweeper_claims.c.claimed_at < before)
            ).rowcount
