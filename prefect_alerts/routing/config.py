"""``AlertRouting``: the whole routing config, and where it comes from (a file, a block, a dict)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, field_validator

from prefect_alerts.alert import Alert
from prefect_alerts.channels.base import Channel
from prefect_alerts.routing.actions import Action
from prefect_alerts.routing.base import ConfigModel
from prefect_alerts.routing.destinations import check_references, normalize_destination, reference_key
from prefect_alerts.routing.durations import format_duration
from prefect_alerts.routing.errors import RoutingError, routing_error
from prefect_alerts.routing.models import (
    Destination,
    Route,
    RouteTarget,
    RoutingDefaults,
    Team,
    destination_list,
)
from prefect_alerts.routing.plan import RoutingPlan
from prefect_alerts.routing.sla import Sla
from prefect_alerts.routing.storm import StormSettings
from prefect_alerts.routing.sweeper import SweeperSettings

__all__ = ["AlertRouting", "Sources"]


class Sources:
    """What a loaded config was read from, so the cache knows when to read it again."""

    __slots__ = ("blocks", "env", "files")

    def __init__(self, context: dict[str, Any] | None = None) -> None:
        context = context or {}
        self.files: dict[str, tuple[int, int]] = dict(context.get("files", {}))
        self.env: dict[str, str] = dict(context.get("env", {}))
        self.blocks: set[str] = set(context.get("blocks", set()))


class AlertRouting(ConfigModel):
    """Where alerts go: routes matched in order, a default route, a fallback for system notices, teams.

    Build it from a YAML or JSON file, a saved ``alert-routing`` block, or a dict; all give equal objects.
    Treat it as read-only once built (it is shared through the per-process cache).

    Example:
        ```python
        from prefect_alerts import Alert
        from prefect_alerts.routing import AlertRouting

        routing = AlertRouting.model_validate({
            "routes": [{"name": "pages", "match": {"severity": ">=error"}, "destinations": ["console"]}],
            "default": ["console"],
        })
        [t.route for t in routing.targets(Alert(title="Load failed", severity="error"))]  # ['pages']
        ```
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    defaults: RoutingDefaults = Field(default_factory=RoutingDefaults)
    fallback: Destination | None = Field(default=None, description="Where dead-letter and system notices go.")
    routes: list[Route] = Field(default_factory=list)
    default: list[Destination] = Field(
        default_factory=lambda: ["console"], description="When no route matched."
    )
    teams: list[Team] = Field(default_factory=list)
    storm: StormSettings = Field(
        default_factory=StormSettings,
        description="Storm folding for every route (a route's own storm: overrides the keys it gives).",
    )
    sweeper: SweeperSettings = Field(
        default_factory=SweeperSettings,
        description="How the aggregator finds runs that ended badly with no alert, and stale queued alerts.",
    )
    slas: list[Sla] = Field(
        default_factory=list, description="What the SLA monitor holds flows and deployments to."
    )

    _plan: RoutingPlan | None = PrivateAttr(default=None)
    _sources: Sources = PrivateAttr(default_factory=Sources)

    # ------------------------------------------------------------------ validation
    @classmethod
    def model_validate(cls, obj: Any, *args: Any, context: Any = None, **kwargs: Any) -> AlertRouting:  # type: ignore[override]
        """Validate a config mapping; every problem is one :class:`RoutingError` naming the field and the fix."""
        if isinstance(obj, AlertRouting):
            return obj
        if not isinstance(obj, dict):
            raise RoutingError(
                "a routing config is a mapping with keys defaults, fallback, routes, default, teams, storm, "
                "sweeper, slas; "
                f"got {type(obj).__name__}"
            )
        context = context if isinstance(context, dict) else {}
        source = context.get("source", "AlertRouting.model_validate")
        try:
            routing = super().model_validate(obj, *args, context=context, **kwargs)
        except ValidationError as exc:
            raise routing_error(exc, source, cls) from None
        routing._sources = Sources(context)
        return routing

    @field_validator("fallback", mode="before")
    @classmethod
    def _check_fallback(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            if len(value) != 1:
                raise ValueError("fallback is one destination, e.g. slack:ops-alerts")
            value = value[0]
        names = info.context.setdefault("bare_names", {}) if isinstance(info.context, dict) else None
        return normalize_destination(value, names)

    @field_validator("default", mode="before")
    @classmethod
    def _check_default(cls, value: Any, info: ValidationInfo) -> Any:
        # `default: []` is allowed: alerts no route takes go nowhere (and are reported as suppressed).
        return [] if value is None else destination_list(value, info)

    @field_validator("teams")
    @classmethod
    def _unique_teams(cls, teams: list[Team]) -> list[Team]:
        names = [team.name for team in teams]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"team names must be unique; {', '.join(map(repr, duplicates))} is given twice")
        return teams

    def model_post_init(self, __context: Any) -> None:
        self._plan = self._compile()

    def _compile(self) -> RoutingPlan:
        return RoutingPlan(self.routes, self.default, self.teams, self.defaults, self.storm)

    # ------------------------------------------------------------------ routing
    def actions(self, alert: Alert) -> list[tuple[str, timedelta, Action]]:
        """``(route, cooldown, action)`` for every action of the routes ``alert`` matches (none: ``[]``).

        >>> routing = AlertRouting(routes=[{"match": {"event": "drift_detected"}, "destinations": ["console"],
        ...     "actions": [{"run_deployment": "retrain/nightly"}]}])
        >>> [action.key for _, _, action in routing.actions(Alert(title="x", event="drift_detected"))]
        ['action:run_deployment:retrain/nightly']
        """
        plan = self.__pydantic_private__["_plan"]  # type: ignore[index]
        if plan is None or not plan.compiled_from(self):
            plan = self._plan = self._compile()
        return plan.matched_actions(alert)

    def targets(self, alert: Alert) -> list[RouteTarget]:
        """The destinations for ``alert``, one :class:`RouteTarget` each, with their route's settings.

        Teams whose match selects the alert first, then the global routes (first match wins unless a route
        says ``continue: true``), else the default route. Costs a few microseconds: the globs are compiled.

            >>> routing = AlertRouting(routes=[{"match": {"tags": "prod"}, "destinations": ["console"]}], default=[])
            >>> [t.route for t in routing.targets(Alert(title="x", tags=["prod"]))]
            ['routes[0]']
        """
        plan = self.__pydantic_private__["_plan"]  # type: ignore[index]  # fast: no __getattr__
        if plan is None or not plan.compiled_from(self):  # model_copy(update=...) replaced a part
            plan = self._plan = self._compile()
        return plan.targets(alert)

    @classmethod
    def direct(
        cls,
        destinations: Sequence[Destination] | Destination,
        *,
        defaults: RoutingDefaults | None = None,
        storm: StormSettings | None = None,
    ) -> AlertRouting:
        """A routing that sends every alert to ``destinations``: one route named ``direct``, no default.

        >>> AlertRouting.direct(["console"]).targets(Alert(title="x"))[0].route
        'direct'
        """
        if isinstance(destinations, (str, Channel)):
            destinations = [destinations]
        destinations = list(destinations)
        if not destinations:
            raise RoutingError("destinations=[] routes nowhere; give at least one, e.g. ['slack:oncall']")
        return cls.model_validate(
            {
                "defaults": defaults or RoutingDefaults(),
                "routes": [{"name": "direct", "destinations": destinations}],
                "default": [],
                "storm": storm or StormSettings(),
            },
            context={"source": "destinations=[...]"},
        )

    # ------------------------------------------------------------------ loading and saving
    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> AlertRouting:
        """Read a YAML (``.yaml``/``.yml``) or JSON (``.json``) routing file, ``${ENV_VAR}`` substituted.

        Team ``file:`` paths are relative to this file.

        Example:
            ```python
            from prefect_alerts.routing import AlertRouting

            routing = AlertRouting.from_file("alerts.yaml")
            print(routing.describe())
            ```

        Raises:
            RoutingError: the file is missing, a variable is unset, or the config is invalid.
        """
        from prefect_alerts.routing.files import read_config_file

        file = Path(path).expanduser()
        context: dict[str, Any] = {
            "base_dir": str(file.resolve().parent),
            "source": f"routing file {str(file)!r}",
        }
        data = read_config_file(file, context)
        return cls.model_validate(data, context=context)

    @classmethod
    def from_block(cls, name: str = "default") -> AlertRouting:
        """Read the routing saved in the ``alert-routing`` block ``name``.

        Example:
            ```python
            from prefect_alerts.routing import AlertRouting

            AlertRouting.from_file("alerts.yaml").save_block("default")
            routing = AlertRouting.from_block("default")
            ```

        Raises:
            RoutingError: no such block (the message says how to create it), the server is unreachable, or
                the saved config is invalid.
        """
        from prefect_alerts.routing.blocks import BLOCK_TYPE_SLUG, _block_name, require_block_config

        config = require_block_config(name)
        context: dict[str, Any] = {"source": f"block {BLOCK_TYPE_SLUG}/{_block_name(name)}"}
        context.setdefault("blocks", set()).add(_block_name(name))
        return cls.model_validate(config, context=context)

    @classmethod
    def load(cls, routing: AlertRouting | str | os.PathLike[str] | None = None) -> AlertRouting:
        """The routing by the resolution order (cached per process); see :func:`resolve_routing`.

        >>> isinstance(AlertRouting.load(AlertRouting()), AlertRouting)
        True
        """
        from prefect_alerts.routing.resolve import resolve_routing

        return resolve_routing(routing)

    def to_config(self) -> dict[str, Any]:
        """The config as JSON-safe data (what the block stores); :meth:`model_validate` reads it back.

        Raises:
            RoutingError: a destination is a Channel object, which a block or file cannot hold.
        """
        return _config_of(self)

    def save_block(self, name: str = "default") -> None:
        """Save this routing as the ``alert-routing`` block ``name`` (overwriting it); every worker then reads it.

        Example:
            ```python
            from prefect_alerts.routing import AlertRouting

            AlertRouting.from_file("alerts.yaml").save_block("default")
            ```
        """
        from prefect_alerts.routing.blocks import save_block_config
        from prefect_alerts.routing.resolve import forget_block

        save_block_config(self.to_config(), name)
        forget_block(name)

    # ------------------------------------------------------------------ inspection
    def destinations(self) -> list[tuple[str, Destination]]:
        """Every configured destination with where it is configured: ``("routes[0] (pages)", "slack:oncall")``."""
        found: list[tuple[str, Destination]] = []
        if self.fallback is not None:
            found.append(("fallback", self.fallback))
        for i, route in enumerate(self.routes):
            where = f"routes[{i}]" + (f" ({route.name})" if route.name else "")
            found.extend((where, destination) for destination in route.destinations)
        found.extend(("default", destination) for destination in self.default)
        for t, team in enumerate(self.teams):
            for i, route in enumerate(team.team_routes):
                where = f"teams[{t}] ({team.name}) routes[{i}]"
                found.extend((where, destination) for destination in route.destinations)
            for destination in team.team_default or []:
                found.append((f"teams[{t}] ({team.name}) default", destination))
        return found

    def check_destinations(self) -> list[str]:
        """Problems with the blocks behind the destinations (one server request): an empty list when all exist.

        ``prefect-alerts config check`` prints these. Loading never checks them (a block may be created
        later); a missing block otherwise shows when an alert first goes there.
        """
        return check_references(self.destinations())

    def describe(self) -> str:
        """A listing of the resolved routes, as ``prefect-alerts config check`` prints it (no server call)."""
        from prefect_alerts.routing.describe import describe_routing

        return describe_routing(self)


def _plain(value: Any, where: str) -> Any:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, Channel):
        raise RoutingError(
            f"{where}: the Channel object {reference_key(value)!r} cannot be saved in a block or file; use a "
            "reference to a saved block instead, e.g. 'slack:oncall'"
        )
    if isinstance(value, dict):
        return {key: _plain(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    return value


def _route_config(route: Route, where: str) -> dict[str, Any]:
    data = route.model_dump(
        by_alias=True, exclude_defaults=True, exclude={"match", "destinations", "storm", "actions"}
    )
    match = route.match.model_dump(exclude_none=True)
    if match:
        data["match"] = match
    if route.actions:
        data["actions"] = [
            {action.kind: action.model_dump(exclude={"kind"}, exclude_defaults=True)}
            for action in route.actions
        ]
    if route.storm is not None:  # only the keys the route gave: the others follow the top-level storm
        data["storm"] = route.storm.model_dump(exclude_unset=True)
    data["destinations"] = list(route.destinations)
    if route.repeat_never:
        data["repeat_interval"] = "never"
    return _plain(data, where)


def _config_of(routing: AlertRouting) -> dict[str, Any]:
    data: dict[str, Any] = {}
    defaults = routing.defaults.model_dump(exclude_defaults=True)
    if "repeat_interval" in defaults and defaults["repeat_interval"] is None:
        defaults["repeat_interval"] = "never"
    if defaults:
        data["defaults"] = _plain(defaults, "defaults")
    if routing.fallback is not None:
        data["fallback"] = _plain(routing.fallback, "fallback")
    storm = routing.storm.model_dump(exclude_defaults=True)
    if storm:
        data["storm"] = _plain(storm, "storm")
    if routing.routes:
        data["routes"] = [_route_config(route, f"routes[{i}]") for i, route in enumerate(routing.routes)]
    if routing.default != ["console"]:
        data["default"] = _plain(list(routing.default), "default")
    if routing.teams:
        teams = []
        for t, team in enumerate(routing.teams):
            item: dict[str, Any] = {"name": team.name, "match": team.match.model_dump(exclude_none=True)}
            if team.routes is not None:
                item["routes"] = [
                    _route_config(r, f"teams[{t}].routes[{i}]") for i, r in enumerate(team.routes)
                ]
            for key in ("file", "block"):
                if getattr(team, key) is not None:
                    item[key] = getattr(team, key)
            if team.default is not None:
                item["default"] = _plain(list(team.default), f"teams[{t}].default")
            teams.append(item)
        data["teams"] = teams
    return data
