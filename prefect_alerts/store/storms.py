"""Storm groups, storms and their members: the shared counters behind storm folding.

Every counted alert is one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` on its group's row, so N
processes (or machines on one PostgreSQL) counting at once agree on the order: exactly one of them opens the
storm and exactly one claims each summary update. There is never a read-then-write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import DateTime, Engine, Integer, and_, bindparam, case, insert, null, or_, select, update

from prefect_alerts.store.notifications import firing_keys
from prefect_alerts.store.prepared import PreparedStatement, as_datetime
from prefect_alerts.store.retention import delete_in_batches
from prefect_alerts.store.schema import storm_groups, storm_members, storms
from prefect_alerts.store.upsert import dialect_insert

__all__ = ["StormMember", "StormRecord", "StormStore", "StormTick"]


class StormTick(BaseModel):
    """What counting one alert in its group said."""

    count: int = Field(description="Alerts of the group in the current window, this one included.")
    window_started_at: datetime
    storm_id: str | None = Field(description="The storm this alert belongs to; None: send it one by one.")
    new_storm: bool = Field(description="This alert opened the storm.")
    summary_due: bool = Field(description="This alert claimed the storm's next summary.")


class StormMember(BaseModel):
    """One alert counted in a storm group."""

    alert_id: str
    dedup_key: str
    storm_id: str | None
    created_at: datetime
    severity_rank: int
    event: str
    title: str
    flow_name: str | None = None
    flow_run_id: str | None = None
    error: str | None = None
    link: str | None = None


class StormRecord(BaseModel):
    """One storm: its group, where its summaries went, whether the aggregator closed it."""

    id: str
    group_key: str
    route: str
    labels: dict[str, str]
    since: datetime
    started_at: datetime
    destinations: list[dict[str, Any]]
    window: timedelta
    closed_at: datetime | None = None


_MEMBER_NAMES = tuple(name for name in StormMember.model_fields)


def _member(row: Sequence[Any]) -> StormMember:
    values = dict(zip(_MEMBER_NAMES, row, strict=True))
    values["created_at"] = as_datetime(values["created_at"])
    return StormMember(**values)


def _record(row: Any) -> StormRecord:
    return StormRecord(
        id=row.id,
        group_key=row.group_key,
        route=row.route,
        labels=row.labels or {},
        since=as_datetime(row.since),
        started_at=as_datetime(row.started_at),
        destinations=row.destinations or [],
        window=timedelta(seconds=row.window_seconds),
        closed_at=as_datetime(row.closed_at),
    )


class StormStore:
    """Counting, members and storms (``prefect_alerts_storm_groups``, ``_storm_members``, ``_storms``).

    Every write goes through prepared statements, so the storm step shares the dispatch's transaction.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._tick: PreparedStatement | None = None
        self._add_member: PreparedStatement | None = None
        self._open: PreparedStatement | None = None
        self._members: PreparedStatement | None = None
        self._last_member: PreparedStatement | None = None

    # ------------------------------------------------------------------ counting
    def tick(
        self,
        *,
        group_key: str,
        route: str,
        labels: Mapping[str, str],
        alert_id: str,
        now: datetime,
        threshold: int,
        window: timedelta,
        group_interval: timedelta,
    ) -> StormTick:
        """Count one alert in its group; say whether it is folded, opened the storm, or owes a summary.

        Rules (every SET reads the row as it was before this alert):

        - a storm is *active* while it has one and its last alert is younger than ``window``: the alert is
          folded into it; a summary is due when the last one is ``group_interval`` old;
        - otherwise, within ``window`` of the group's first alert the count goes up, and the alert that makes
          it pass ``threshold`` opens a storm (and owes its first summary);
        - otherwise a new window starts with this alert.
        """
        statement = self._tick_statement()
        (row,) = statement.run(
            {
                "group_key": group_key,
                "route": route,
                "labels": dict(labels),
                "alert_id": alert_id,
                "now": now,
                "window_start": now - window,
                "interval_start": now - group_interval,
                "threshold": threshold,
            }
        )
        count, window_started_at, storm_id, summary_claim = row
        return StormTick(
            count=count,
            window_started_at=as_datetime(window_started_at),
            storm_id=storm_id,
            new_storm=storm_id == alert_id,
            summary_due=storm_id is not None and summary_claim == alert_id,
        )

    def _tick_statement(self) -> PreparedStatement:
        if self._tick is not None:
            return self._tick
        table = storm_groups
        now = bindparam("now", type_=DateTime(timezone=True))
        window_start = bindparam("window_start", type_=DateTime(timezone=True))
        interval_start = bindparam("interval_start", type_=DateTime(timezone=True))
        threshold = bindparam("threshold", type_=Integer)
        active = and_(table.c.storm_id.is_not(None), table.c.last_seen_at > window_start)
        in_window = table.c.window_started_at > window_start
        continuing = or_(active, in_window)
        opens = and_(~active, in_window, table.c.alert_count + 1 > threshold)
        summary = or_(
            and_(
                active,
                or_(table.c.last_summary_at.is_(None), table.c.last_summary_at <= interval_start),
            ),
            opens,
        )
        statement = dialect_insert(self.engine, table).values(
            group_key=bindparam("group_key"),
            route=bindparam("route"),
            labels=bindparam("labels", type_=table.c.labels.type),
            window_started_at=now,
            alert_count=1,
            last_seen_at=now,
            storm_id=null(),
            last_summary_at=null(),
            summary_claim=null(),
        )
        alert_id = bindparam("alert_id")
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.group_key],
            set_={
                "alert_count": case((continuing, table.c.alert_count + 1), else_=1),
                "window_started_at": case((continuing, table.c.window_started_at), else_=now),
                "storm_id": case((active, table.c.storm_id), (opens, alert_id)),  # else NULL: no storm
                "summary_claim": case((summary, alert_id), else_=table.c.summary_claim),
                "last_summary_at": case((summary, now), else_=table.c.last_summary_at),
                "last_seen_at": now,
                "labels": statement.excluded.labels,
            },
        ).returning(table.c.alert_count, table.c.window_started_at, table.c.storm_id, table.c.summary_claim)
        self._tick = PreparedStatement(self.engine, statement)
        return self._tick

    # ------------------------------------------------------------------ members
    def add_member(self, group_key: str, member: StormMember) -> None:
        """Record one counted alert of ``group_key`` (what the summaries list)."""
        if self._add_member is None:
            columns = {name: bindparam(name) for name in ("group_key", *_MEMBER_NAMES)}
            columns["created_at"] = bindparam("created_at", type_=DateTime(timezone=True))
            self._add_member = PreparedStatement(self.engine, insert(storm_members).values(**columns))
        self._add_member.run_many([{"group_key": group_key, **member.model_dump()}])

    def members(self, group_key: str, since: datetime, *, limit: int = 5000) -> list[StormMember]:
        """The group's alerts counted since ``since``, oldest first (at most ``limit``)."""
        if self._members is None:
            table = storm_members
            self._members = PreparedStatement(
                self.engine,
                select(*(table.c[name] for name in _MEMBER_NAMES))
                .where(
                    table.c.group_key == bindparam("group_key"),
                    table.c.created_at >= bindparam("since", type_=DateTime(timezone=True)),
                )
                .order_by(table.c.created_at, table.c.id)
                .limit(bindparam("limit", type_=Integer)),
            )
        rows = self._members.run({"group_key": group_key, "since": since, "limit": limit})
        return [_member(row) for row in rows]

    def last_member(self, dedup_key: str) -> StormMember | None:
        """The latest counted alert with ``dedup_key`` in any group (was its firing folded?)."""
        if self._last_member is None:
            table = storm_members
            self._last_member = PreparedStatement(
                self.engine,
                select(*(table.c[name] for name in _MEMBER_NAMES))
                .where(table.c.dedup_key == bindparam("dedup_key"))
                .order_by(table.c.created_at.desc(), table.c.id.desc())
                .limit(1),
            )
        rows = self._last_member.run({"dedup_key": dedup_key})
        return _member(rows[0]) if rows else None

    # ------------------------------------------------------------------ storms
    def open_storm(self, record: StormRecord) -> None:
        """Write down a storm that was just opened (its id is the opening alert's id)."""
        if self._open is None:
            names = ("id", "group_key", "route", "labels", "destinations", "window_seconds")
            columns: dict[str, Any] = {name: bindparam(name) for name in names}
            for name in ("since", "started_at"):
                columns[name] = bindparam(name, type_=DateTime(timezone=True))
            columns["labels"] = bindparam("labels", type_=storms.c.labels.type)
            columns["destinations"] = bindparam("destinations", type_=storms.c.destinations.type)
            self._open = PreparedStatement(self.engine, insert(storms).values(**columns))
        data = record.model_dump(exclude={"window", "closed_at"})
        data["window_seconds"] = record.window.total_seconds()
        self._open.run_many([data])

    def open_storms(self) -> list[StormRecord]:
        """Storms the aggregator has not closed yet, oldest first."""
        query = select(storms).where(storms.c.closed_at.is_(None)).order_by(storms.c.started_at)
        with self.engine.connect() as connection:
            return [_record(row) for row in connection.execute(query)]

    def get_storm(self, storm_id: str) -> StormRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(storms).where(storms.c.id == storm_id)).first()
        return None if row is None else _record(row)

    def last_seen(self, group_key: str) -> tuple[datetime | None, str | None]:
        """``(last alert counted, storm in progress)`` of a group."""
        query = select(storm_groups.c.last_seen_at, storm_groups.c.storm_id).where(
            storm_groups.c.group_key == group_key
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return (None, None) if row is None else (as_datetime(row.last_seen_at), row.storm_id)

    def close(self, storm_id: str, now: datetime) -> bool:
        """Mark a storm closed; True for the one caller that closed it (two aggregators close it once)."""
        statement = (
            update(storms).where(storms.c.id == storm_id, storms.c.closed_at.is_(None)).values(closed_at=now)
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount == 1

    def prune(self, before: datetime, *, batch_size: int = 500, max_rows: int = 50_000) -> int:
        """Delete counted alerts from before ``before`` that no open storm needs and whose key no longer fires,
        then the closed storms (closed before ``before``) no kept member names; the number of rows deleted.

        Kept whatever their age: the members of a storm still open (its closing summary counts them) and the
        latest members of a key still firing (its resolve asks whether the firing was folded).

        Example:
            ```python
            storm_store.prune(now - timedelta(days=30))
            ```
        """
        members = storm_members
        open_storms = select(storms.c.id).where(storms.c.closed_at.is_(None))
        doomed_members = select(members.c.id).where(
            members.c.created_at < before,
            or_(members.c.storm_id.is_(None), members.c.storm_id.not_in(open_storms)),
            members.c.dedup_key.not_in(firing_keys()),
        )
        deleted = delete_in_batches(
            self.engine, members, doomed_members, batch_size=batch_size, max_rows=max_rows
        )
        named = select(members.c.storm_id).where(members.c.storm_id.is_not(None))
        doomed_storms = select(storms.c.id).where(storms.c.closed_at < before, storms.c.id.not_in(named))
        return deleted + delete_in_batches(
            self.engine, storms, doomed_storms, batch_size=batch_size, max_rows=max_rows
        )

    def reopen(self, storm_id: str) -> None:
        """Undo :meth:`close` (the closing summary could not even be queued): the next run tries again."""
        with self.engine.begin() as connection:
            connection.execute(update(storms).where(storms.c.id == storm_id).values(closed_at=None))
