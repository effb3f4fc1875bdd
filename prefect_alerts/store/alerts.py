"""Alert history and silences as stored rows: the dispatch pipeline's record of what it did."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, insert, or_, select, update

from prefect_alerts.store.notifications import firing_keys, utc
from prefect_alerts.store.retention import delete_in_batches
from prefect_alerts.store.schema import alert_history, silences

__all__ = ["AlertHistory", "HistoryEntry", "SilenceRow", "SilenceStore"]


class HistoryEntry(BaseModel):
    """One alert the pipeline handled."""

    id: str
    dedup_key: str
    event: str
    severity: str
    status: str
    title: str
    flow_name: str | None
    deployment_name: str | None
    flow_run_id: str | None
    task_run_id: str | None
    destinations: list[str]
    outcomes: list[dict[str, Any]]
    created_at: datetime
    alert: dict[str, Any]


class AlertHistory:
    """Writes and reads of ``prefect_alerts_alert_history``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, entry: HistoryEntry) -> None:
        with self.engine.begin() as connection:
            connection.execute(insert(alert_history).values(**entry.model_dump()))

    def alerts_by_id(self, alert_ids: set[str]) -> dict[str, dict[str, Any]]:
        """The alert each of these sends (``send_alert`` calls) handled, by alert id."""
        return self._column_by_id(alert_ids, "alert")

    def outcomes_by_id(self, alert_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
        """The outcomes of each of these sends, by alert id."""
        return self._column_by_id(alert_ids, "outcomes")

    def flow_runs_with_alerts(self, flow_run_ids: set[str]) -> set[str]:
        """Those of these flow runs that some alert concerned (whatever its outcome): they were reported."""
        if not flow_run_ids:
            return set()
        query = (
            select(alert_history.c.flow_run_id)
            .where(alert_history.c.flow_run_id.in_(sorted(flow_run_ids)))
            .distinct()
        )
        with self.engine.connect() as connection:
            return {row[0] for row in connection.execute(query)}

    def prune(self, before: datetime, *, batch_size: int = 500, max_rows: int = 50_000) -> int:
        """Delete history rows created before ``before``; the number deleted. The rows of a dedup key still
        firing somewhere stay whatever their age: its resolve looks up where its last firing alert went (or
        was folded), and ``firing_alerts`` the alert a folded send handled.

        Example:
            ```python
            history.prune(now - timedelta(days=30))
            ```
        """
        doomed = select(alert_history.c.id).where(
            alert_history.c.created_at < before, alert_history.c.dedup_key.not_in(firing_keys())
        )
        return delete_in_batches(self.engine, alert_history, doomed, batch_size=batch_size, max_rows=max_rows)

    def _column_by_id(self, alert_ids: set[str], column: str) -> dict[str, Any]:
        if not alert_ids:
            return {}
        query = select(alert_history.c.id, alert_history.c[column]).where(
            alert_history.c.id.in_(sorted(alert_ids))
        )
        with self.engine.connect() as connection:
            return {row[0]: row[1] for row in connection.execute(query)}

    def recent(
        self,
        *,
        flow_run_id: str | None = None,
        dedup_key: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        flow: str | None = None,
        event: str | None = None,
        severities: set[str] | None = None,
    ) -> list[HistoryEntry]:
        """The newest entries first, optionally for one flow run, one dedup key, since a time, flows and events
        matching globs (``etl-*``), or some severities."""
        query = select(alert_history)
        if flow_run_id is not None:
            query = query.where(alert_history.c.flow_run_id == flow_run_id)
        if dedup_key is not None:
            query = query.where(alert_history.c.dedup_key == dedup_key)
        if since is not None:
            query = query.where(alert_history.c.created_at >= since)
        if flow is not None:
            query = query.where(alert_history.c.flow_name.like(_like(flow), escape="\\"))
        if event is not None:
            query = query.where(alert_history.c.event.like(_like(event), escape="\\"))
        if severities is not None:
            query = query.where(alert_history.c.severity.in_(sorted(severities)))
        query = query.order_by(alert_history.c.created_at.desc()).limit(limit)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [HistoryEntry(**{**row._mapping, "created_at": utc(row.created_at)}) for row in rows]


def _like(glob: str) -> str:
    """A glob (``etl-*``, ``load_?``) as a SQL LIKE pattern, ``%`` and ``_`` taken literally."""
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


class SilenceRow(BaseModel):
    id: int
    matchers: dict[str, Any]
    starts_at: datetime
    ends_at: datetime
    author: str
    comment: str
    created_at: datetime
    expired_at: datetime | None


def _silence(row: Any) -> SilenceRow:
    values = dict(row._mapping)
    for name in ("starts_at", "ends_at", "created_at", "expired_at"):
        values[name] = utc(values[name])
    return SilenceRow(**values)


SILENCE_CACHE_SECONDS = 1.0
"""How long one process reuses the silences it read (a silence added elsewhere applies within this time;
one added or expired in this process applies at once)."""
_SILENCE_CACHE: dict[str, tuple[float, list[SilenceRow]]] = {}
_SILENCE_LOCK = threading.Lock()


class SilenceStore:
    """Writes and reads of ``prefect_alerts_silences``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache_key = str(engine.url)

    def _invalidate(self) -> None:
        with _SILENCE_LOCK:
            _SILENCE_CACHE.pop(self._cache_key, None)

    def in_force(self, now: datetime) -> list[SilenceRow]:
        """Silences in force at ``now``, from a per-process cache of at most ``SILENCE_CACHE_SECONDS``.

        The pipeline asks this for every alert. The cache holds the silences not expired by hand (the 1,000
        that end last), and ``now`` filters them, so an injected clock sees what a real one would.
        """
        started = time.monotonic()
        with _SILENCE_LOCK:
            cached = _SILENCE_CACHE.get(self._cache_key)
        if cached is None or started - cached[0] > SILENCE_CACHE_SECONDS:
            query = (
                select(silences)
                .where(silences.c.expired_at.is_(None))
                .order_by(silences.c.ends_at.desc())
                .limit(1000)
            )
            with self.engine.connect() as connection:
                rows = [_silence(row) for row in connection.execute(query)]
            cached = (started, rows)
            with _SILENCE_LOCK:
                _SILENCE_CACHE[self._cache_key] = cached
        return [row for row in cached[1] if row.starts_at <= now < row.ends_at]

    def add(
        self,
        *,
        matchers: dict[str, Any],
        starts_at: datetime,
        ends_at: datetime,
        author: str,
        comment: str,
        now: datetime,
    ) -> SilenceRow:
        statement = (
            insert(silences)
            .values(
                matchers=matchers,
                starts_at=starts_at,
                ends_at=ends_at,
                author=author,
                comment=comment,
                created_at=now,
            )
            .returning(*silences.c)
        )
        with self.engine.begin() as connection:
            row = _silence(connection.execute(statement).one())
        self._invalidate()
        return row

    def active(self, now: datetime) -> list[SilenceRow]:
        """Silences in force at ``now``: started, not ended, not expired by hand."""
        query = (
            select(silences)
            .where(
                silences.c.starts_at <= now,
                silences.c.ends_at > now,
                or_(silences.c.expired_at.is_(None), silences.c.expired_at > now),
            )
            .order_by(silences.c.id)
        )
        with self.engine.connect() as connection:
            return [_silence(row) for row in connection.execute(query)]

    def all(self, *, limit: int = 1000) -> list[SilenceRow]:
        query = select(silences).order_by(silences.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [_silence(row) for row in connection.execute(query)]

    def get(self, silence_id: int) -> SilenceRow | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(silences).where(silences.c.id == silence_id)).first()
        return None if row is None else _silence(row)

    def expire(self, silence_id: int, now: datetime) -> bool:
        """End a silence now; False when it does not exist or had already ended."""
        statement = (
            update(silences)
            .where(silences.c.id == silence_id, silences.c.expired_at.is_(None), silences.c.ends_at > now)
            .values(expired_at=now)
        )
        with self.engine.begin() as connection:
            expired = connection.execute(statement).rowcount == 1
        self._invalidate()
        return expired
