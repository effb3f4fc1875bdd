"""Incidents: one per flow run and destination, claimed atomically by the run's first alert there.

The first alert of a run to a destination opens the incident (it pages); every later alert of the same run to
that destination joins it. One ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` per alert and destination,
so a task hook and a flow hook firing at once on two threads (or a check task and the flow's hook in two
processes) agree on which one opened it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import Boolean, DateTime, Engine, Integer, bindparam, case, or_, select

from prefect_alerts.store.notifications import firing_keys
from prefect_alerts.store.prepared import PreparedStatement, as_datetime
from prefect_alerts.store.retention import delete_in_batches
from prefect_alerts.store.schema import incidents
from prefect_alerts.store.upsert import dialect_insert

__all__ = ["IncidentClaim", "IncidentStore"]


class IncidentClaim(BaseModel):
    """The incident after one alert joined (or opened) it."""

    incident_key: str
    opened_by: str
    title: str
    severity_rank: int
    previous_rank: int
    alerts: int
    opened_at: datetime

    def opened_by_alert(self, alert_id: str) -> bool:
        return self.opened_by == alert_id

    @property
    def escalated(self) -> bool:
        """The alert that just joined is worse than every earlier one."""
        return self.severity_rank > self.previous_rank


_RETURNED = ("incident_key", "opened_by", "title", "severity_rank", "previous_rank", "alerts", "opened_at")


class IncidentStore:
    """Claims on ``prefect_alerts_incidents`` (through prepared statements: shares a dispatch's transaction)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._join: PreparedStatement | None = None

    def join(
        self,
        *,
        flow_run_id: str,
        destination: str,
        alert_id: str,
        dedup_key: str,
        title: str,
        severity_rank: int,
        now: datetime,
        run_failed: bool = False,
        flow_name: str | None = None,
        deployment_name: str | None = None,
    ) -> IncidentClaim:
        """Open the run's incident at ``destination`` or join the open one; the claim says which.

        ``run_failed``: this alert is a task or flow failure (the run's recovery then resolves the incident).
        """
        (row,) = self._statement().run(
            {
                "flow_run_id": flow_run_id,
                "destination": destination,
                "incident_key": dedup_key,
                "opened_by": alert_id,
                "title": title[:500],
                "rank": severity_rank,
                "now": now,
                "run_failed": run_failed,
                "flow_name": flow_name,
                "deployment_name": deployment_name,
            }
        )
        values = dict(zip(_RETURNED, row, strict=True))
        values["opened_at"] = as_datetime(values["opened_at"])
        return IncidentClaim(**values)

    def _statement(self) -> PreparedStatement:
        if self._join is not None:
            return self._join
        table = incidents
        now = bindparam("now", type_=DateTime(timezone=True))
        rank = bindparam("rank", type_=Integer)
        statement = dialect_insert(self.engine, table).values(
            flow_run_id=bindparam("flow_run_id"),
            destination=bindparam("destination"),
            incident_key=bindparam("incident_key"),
            opened_by=bindparam("opened_by"),
            title=bindparam("title"),
            severity_rank=rank,
            previous_rank=rank,
            alerts=1,
            run_failed=bindparam("run_failed", type_=Boolean),
            flow_name=bindparam("flow_name"),
            deployment_name=bindparam("deployment_name"),
            opened_at=now,
            updated_at=now,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.flow_run_id, table.c.destination],
            set_={
                # Every SET reads the row as it was: previous_rank is the rank before this alert.
                "previous_rank": table.c.severity_rank,
                "severity_rank": case((rank > table.c.severity_rank, rank), else_=table.c.severity_rank),
                "alerts": table.c.alerts + 1,
                "run_failed": or_(table.c.run_failed, statement.excluded.run_failed),
                "updated_at": now,
            },
        ).returning(*(table.c[name] for name in _RETURNED))
        self._join = PreparedStatement(self.engine, statement)
        return self._join

    def prune(self, before: datetime, *, batch_size: int = 500, max_rows: int = 50_000) -> int:
        """Delete incidents last updated before ``before`` whose key is not firing anywhere any more; the
        number deleted. An incident whose key still fires stays whatever its age: the run's recovery resolves
        it through :meth:`failed_run_keys`.

        Example:
            ```python
            incidents.prune(now - timedelta(days=30))
            ```
        """
        table = incidents
        doomed = select(table.c.flow_run_id, table.c.destination).where(
            table.c.updated_at < before, table.c.incident_key.not_in(firing_keys())
        )
        return delete_in_batches(self.engine, table, doomed, batch_size=batch_size, max_rows=max_rows)

    def failed_run_keys(self, *, flow_name: str | None, deployment_name: str | None) -> set[str]:
        """Incident keys of this flow/deployment whose run failed: a recovery resolves them (the run's first
        alert may be a failed check, which a completion would otherwise leave firing)."""
        table = incidents
        query = select(table.c.incident_key).where(table.c.run_failed.is_(True)).distinct()
        query = query.where(
            table.c.flow_name.is_(None) if flow_name is None else table.c.flow_name == flow_name,
            table.c.deployment_name.is_(None)
            if deployment_name is None
            else table.c.deployment_name == deployment_name,
        )
        with self.engine.connect() as connection:
            return {row.incident_key for row in connection.execute(query)}

    def openers(self, flow_run_id: str, destination_prefix: str) -> dict[str, str]:
        """``{destination: alert id}`` of this run's claims whose destination starts with the prefix: which
        alert opened each (``action:`` rows are the actions, run once per incident by that alert)."""
        table = incidents
        query = select(table.c.destination, table.c.opened_by).where(
            table.c.flow_run_id == flow_run_id,
            table.c.destination.startswith(destination_prefix, autoescape=True),
        )
        with self.engine.connect() as connection:
            return {row.destination: row.opened_by for row in connection.execute(query)}
