"""``prefect-alerts status``: is the alerting itself healthy? The watcher's last heartbeat, the outbox, storms,
and where alerts go (the routing in force: its source, routes and destinations) and are recorded (the store).

The aggregator flow emits ``prefect-alerts.aggregator.heartbeat`` on every run. A heartbeat older than
``max_age`` (default 15 minutes: three 5-minute runs) means nothing is sweeping for crashed runs, flushing the
outbox or closing storms, which is itself an alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, Field

from prefect_alerts.routing.resolve import RoutingSource, routing_source

__all__ = [
    "HEARTBEAT_EVENT",
    "RouteInfo",
    "RoutingStatus",
    "StoreLocation",
    "SystemStatus",
    "last_heartbeat",
    "routing_status",
    "store_location",
    "system_status",
]

HEARTBEAT_EVENT = "prefect-alerts.aggregator.heartbeat"
"""What the aggregator flow emits on every run."""

DEFAULT_MAX_AGE = timedelta(minutes=15)
HEARTBEAT_LOOKBACK = timedelta(days=7)


class Heartbeat(BaseModel):
    """The aggregator's last heartbeat event."""

    occurred: datetime
    payload: dict[str, Any] = Field(default_factory=dict)


class RouteInfo(BaseModel):
    """One route as status shows it: its name, what it matches, where it sends."""

    name: str
    match: str = Field(
        description="When it applies: 'severity >=error, tags prod', 'every alert', 'alerts no route matched'."
    )
    destinations: list[str]


class RoutingStatus(BaseModel):
    """The routing in force: where it was read from, its routes, and what is wrong with it."""

    source: RoutingSource
    routes: list[RouteInfo] = Field(default_factory=list, description="In the order they are tried.")
    fallback: str | None = None
    slas: int = Field(default=0, description="SLA rules the SLA monitor judges.")
    error: str | None = Field(default=None, description="Why the routing could not be loaded.")
    problems: list[str] = Field(
        default_factory=list, description="Destinations whose saved block is missing (or unknowable)."
    )

    @property
    def destinations(self) -> list[str]:
        """Every destination a route sends to, once each, in order."""
        found = [destination for route in self.routes for destination in route.destinations]
        return list(dict.fromkeys(found))


class StoreLocation(BaseModel):
    """Where the outbox, history, silences and claims are kept. Never holds a password."""

    backend: str = Field(description="sqlite, postgresql, ...")
    url: str = Field(description="The database URL with any password shown as ***.")
    path: str | None = Field(default=None, description="The SQLite file, for SQLite.")
    configured_by: str = Field(description="$PREFECT_ALERTS_DATABASE_URL, or the default under PREFECT_HOME.")

    def __str__(self) -> str:
        where = f"SQLite file {self.path}" if self.path else self.url
        return f"{where} ({self.configured_by})"


class SystemStatus(BaseModel):
    """What ``prefect-alerts status`` reports."""

    now: datetime
    heartbeat: Heartbeat | None = Field(description="None: no heartbeat in the last 7 days (or no server).")
    heartbeat_error: str | None = Field(default=None, description="Why the server could not be asked.")
    max_age: timedelta
    outbox: dict[str, int] = Field(default_factory=dict, description="Entries per status.")
    open_storms: int = 0
    active_silences: int = 0
    routing: RoutingStatus | None = Field(default=None, description="None: not asked for.")
    store: StoreLocation | None = None

    @property
    def heartbeat_age(self) -> timedelta | None:
        return None if self.heartbeat is None else self.now - self.heartbeat.occurred

    @property
    def healthy(self) -> bool:
        """A fresh heartbeat, no dead letter, and a routing that loads with every destination's block saved."""
        age = self.heartbeat_age
        routing_ok = self.routing is None or (self.routing.error is None and not self.routing.problems)
        return age is not None and age <= self.max_age and not self.outbox.get("dead") and routing_ok

    def render(self) -> str:
        """Lines a person reads at 3 a.m.: what is wrong first, then the numbers."""
        from prefect_alerts.dispatch.dedupe import format_duration

        lines: list[str] = []
        age = self.heartbeat_age
        if self.heartbeat is None:
            why = f" ({self.heartbeat_error})" if self.heartbeat_error else ""
            lines.append(
                f"PROBLEM aggregator: no heartbeat in the last 7 days{why}. Run it every 5 minutes, e.g. "
                "prefect_alerts.monitoring.aggregator_flow.serve(name='prefect-alerts-aggregator', "
                "cron='*/5 * * * *')"
            )
        elif age is not None and age > self.max_age:
            lines.append(
                f"PROBLEM aggregator: last heartbeat {format_duration(age)} ago (at "
                f"{self.heartbeat.occurred:%Y-%m-%d %H:%M UTC}), older than {format_duration(self.max_age)}: "
                "is its deployment paused or its work pool without a worker?"
            )
        else:
            assert self.heartbeat is not None and age is not None
            lines.append(
                f"ok      aggregator: last heartbeat {format_duration(age)} ago "
                f"({self.heartbeat.occurred:%H:%M:%S UTC})"
            )
        dead = self.outbox.get("dead", 0)
        waiting = self.outbox.get("pending", 0) + self.outbox.get("delivering", 0)
        if dead:
            lines.append(
                f"PROBLEM outbox: {dead} dead letter{'s' if dead != 1 else ''}; see prefect-alerts outbox --dead"
            )
        lines.append(
            f"{'info   ' if waiting else 'ok     '} outbox: {waiting} waiting for delivery, "
            f"{self.outbox.get('delivered', 0)} delivered, {dead} dead"
        )
        lines.append(f"info    storms open: {self.open_storms}; silences active: {self.active_silences}")
        if self.routing is not None:
            lines.extend(_routing_lines(self.routing))
        if self.store is not None:
            lines.append(f"info    store: {self.store}")
        return "\n".join(lines)


def _routing_lines(routing: RoutingStatus) -> list[str]:
    if routing.error is not None:
        return [f"PROBLEM routing: {routing.source}: {routing.error}"]
    console_only = routing.source.kind == "console"
    lines = [f"{'warning' if console_only else 'ok     '} routing: {routing.source}"]
    for route in routing.routes:
        sends = ", ".join(route.destinations) or "(nowhere)"
        lines.append(f"          route {route.name}: {route.match} -> {sends}")
    lines.append(f"          fallback -> {routing.fallback or '(none: notices are only logged)'}")
    if routing.slas:
        lines.append(f"          {routing.slas} SLA rule{'s' if routing.slas != 1 else ''}")
    lines.extend(f"PROBLEM destination {problem}" for problem in routing.problems)
    return lines


def _has_api() -> bool:
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def last_heartbeat(now: datetime | None = None) -> Heartbeat | None:
    """The aggregator's newest heartbeat event on the Prefect server in the last 7 days, or None.

    Raises:
        Exception: the server cannot be reached (the caller says so).
    """
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

    now = now or datetime.now(timezone.utc)
    event_filter = EventFilter(
        event=EventNameFilter(name=[HEARTBEAT_EVENT]),
        occurred=EventOccurredFilter(since=now - HEARTBEAT_LOOKBACK, until=now + timedelta(minutes=1)),
    )
    with get_client(sync_client=True) as client:
        page = client.read_events(filter=event_filter, limit=1)  # newest first (the filter's default order)
    if not page.events:
        return None
    event = page.events[0]
    return Heartbeat(occurred=event.occurred, payload=dict(event.payload or {}))


def routing_status(routing: Any = None, *, check_blocks: bool = True) -> RoutingStatus:
    """The routing ``routing`` means (a file path, a block name, an ``AlertRouting``; None: the resolution
    order), where it came from, its routes, and (``check_blocks``: one server request) the destinations whose
    block is missing. A routing that cannot be loaded is reported in ``error``, never raised.

    Example:
        ```python
        from prefect_alerts.status import routing_status

        status = routing_status("alerts.yaml")
        print(status.source, [route.name for route in status.routes], status.problems)
        ```
    """
    from prefect_alerts.routing import RoutingError, resolve_routing
    from prefect_alerts.routing.describe import named_routes
    from prefect_alerts.routing.destinations import reference_key

    try:
        source = routing_source(routing)
    except RoutingError as exc:  # a malformed block name
        return RoutingStatus(source=RoutingSource(kind="console"), error=str(exc))
    try:
        resolved = resolve_routing(routing)
    except RoutingError as exc:
        return RoutingStatus(source=source, error=str(exc))
    source = routing_source(routing)  # resolving may have found (or failed to read) the default block
    routes = [
        RouteInfo(name=named.name, match=named.when, destinations=named.destination_keys)
        for named in named_routes(resolved)
    ]
    return RoutingStatus(
        source=source,
        routes=routes,
        fallback=reference_key(resolved.fallback) if resolved.fallback is not None else None,
        slas=len(resolved.slas),
        # Checking the blocks asks the server: without PREFECT_API_URL that would be an empty temporary one.
        problems=resolved.check_destinations() if check_blocks and _has_api() else [],
    )


def store_location(engine: Any = None) -> StoreLocation:
    """Where the store is (``engine``: a SQLAlchemy engine or a URL; None: the configured one): the database
    URL with its password hidden, and the file for SQLite.

        >>> store_location("postgresql+psycopg://ana:s3cret@db:5432/alerts").url
        'postgresql+psycopg://ana:***@db:5432/alerts'
        >>> store_location("sqlite:////var/lib/alerts.db").path
        '/var/lib/alerts.db'
    """
    import os

    from sqlalchemy import make_url

    from prefect_alerts.store.engine import DATABASE_URL_ENV, database_url

    if engine is None:
        url = make_url(database_url())
    else:
        url = make_url(engine) if isinstance(engine, str) else engine.url
    backend = url.get_backend_name()
    database = url.database
    path = database if backend == "sqlite" and database and database != ":memory:" else None
    configured = os.environ.get(DATABASE_URL_ENV, "").strip()
    if configured and make_url(configured) == url:
        configured_by = f"${DATABASE_URL_ENV}"
    elif not configured and url == make_url(database_url()):
        configured_by = f"the default: no ${DATABASE_URL_ENV}, so SQLite under PREFECT_HOME"
    else:
        configured_by = "given by the caller"
    return StoreLocation(
        backend=backend,
        url=url.render_as_string(hide_password=True),
        path=path,
        configured_by=configured_by,
    )


def system_status(
    now: datetime | None = None,
    *,
    max_age: timedelta = DEFAULT_MAX_AGE,
    state: Any = None,
    routing: Any = None,
    check_routing: bool = True,
) -> SystemStatus:
    """The alerting system's health: the aggregator's heartbeat, the outbox, open storms, active silences,
    the routing in force (``routing``: a file, a block name, or None for the resolution order; its routes,
    destinations and missing blocks, unless ``check_routing=False``) and where the store is.

    Example:
        ```python
        from prefect_alerts.status import system_status

        status = system_status(routing="alerts.yaml")
        print(status.render())
        if not status.healthy:
            raise SystemExit(1)
        ```
    """
    from prefect_alerts.dispatch import DispatchState

    now = now or datetime.now(timezone.utc)
    state = state or DispatchState.default()
    from prefect.settings import PREFECT_API_URL

    heartbeat: Heartbeat | None = None
    error: str | None = None
    api_url = PREFECT_API_URL.value()
    try:
        if not api_url:
            # Asking would start Prefect's empty temporary server, which has no heartbeat to find.
            error = "PREFECT_API_URL is not set: point it at the server the aggregator reports to"
        else:
            heartbeat = last_heartbeat(now)
    except Exception as exc:  # no server: say so, still report the local store
        error = f"the Prefect API could not be read: {type(exc).__name__}"
    return SystemStatus(
        now=now,
        heartbeat=heartbeat,
        heartbeat_error=error,
        max_age=max_age,
        outbox=state.outbox.counts(),
        open_storms=len(state.storms.open_storms()),
        active_silences=len(state.silences.active(now)),
        routing=routing_status(routing) if check_routing else None,
        store=store_location(state.engine),
    )
