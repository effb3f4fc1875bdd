"""``AlertRouting``: the whole routing config, and loading it from a file, a block, or the resolution order."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from prefect_alerts.alert import Alert
from prefect_alerts.channels.base import Channel
from prefect_alerts.routing.destinations import normalize_destination
from prefect_alerts.routing.errors import RoutingError, routing_error
from prefect_alerts.routing.models import (
    Destination,
    Route,
    RouteTarget,
    RoutingDefaults,
    Team,
    targets_for,
)

__all__ = ["CONFIG_ENV", "DEFAULT_BLOCK_NAME", "AlertRouting", "load_file_data"]

CONFIG_ENV = "PREFECT_ALERTS_CONFIG"
"""The environment variable naming the routing file every process uses when none is given."""
DEFAULT_BLOCK_NAME = "default"
_ENV_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SUFFIXES = (".yaml", ".yml", ".json")


def substitute_env(text: str, source: str) -> str:
    """Replace ``${VAR}`` with the variable's value (``$$`` is a literal ``$``).

    Raises:
        RoutingError: a variable is not set (named, with the file).
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        value = os.environ.get(name)
        if value is None:
            raise RoutingError(
                f"invalid routing config ({source}): ${{{name}}} is used but the environment variable {name} "
                "is not set; set it (e.g. export {name}=slack:data-team) or write the value in the file".replace(
                    "{name}", name
                )
            )
        return value

    return _ENV_VAR.sub(replace, text)


def load_file_data(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed content of a YAML or JSON routing file, with ``${VAR}`` substituted."""
    file = Path(path).expanduser()
    if file.suffix.lower() not in _SUFFIXES:
        raise RoutingError(f"routing file {str(file)!r} must end in .yaml, .yml or .json")
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RoutingError(f"routing file {str(file)!r} does not exist; check the path") from None
    except OSError as exc:
        raise RoutingError(f"routing file {str(file)!r} cannot be read: {exc.strerror}") from None
    text = substitute_env(text, str(file))
    try:
        if file.suffix.lower() == ".json":
            data = json.loads(text) if text.strip() else {}
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # yaml.YAMLError / json.JSONDecodeError carry the line and column
        raise RoutingError(
            f"routing file {str(file)!r} is not valid {file.suffix[1:].upper()}: {exc}"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RoutingError(
            f"routing file {str(file)!r} must hold a mapping (defaults, routes, default, ...), "
            f"got a {type(data).__name__}"
        )
    return data


def _plain(value: Any) -> Any:
    """Model data as the file writes it: durations in seconds, nothing else changed."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class AlertRouting(BaseModel):
    """Where alerts go: routes tried in order, a default route, defaults, teams and a fallback.

    Example:
        ```python
        from prefect_alerts.routing import AlertRouting

        routing = AlertRouting.model_validate(
            {
                "defaults": {"cooldown": "1h", "repeat_interval": "4h"},
                "fallback": "slack:ops-alerts",
                "routes": [
                    {"name": "pages", "match": {"severity": ">=error", "tags": ["prod"]},
                     "destinations": ["pagerduty:oncall", "slack:oncall"], "continue": True},
                ],
                "default": ["slack:ops-alerts"],
            }
        )
        ```
    Or from a file (``AlertRouting.from_file("alerts.yaml")``), a saved block (``AlertRouting.from_block()``),
    or the resolution order (``AlertRouting.load()``). See docs/configuration.md.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    defaults: RoutingDefaults = Field(default_factory=RoutingDefaults)
    fallback: Destination | None = Field(default=None, description="Where dead-letter and system notices go.")
    routes: list[Route] = Field(default_factory=list)
    default: list[Destination] = Field(default_factory=lambda: ["console"])
    teams: list[Team] = Field(default_factory=list)

    _route_names: list[str] = PrivateAttr(default_factory=list)
    _team_routes: list[list[tuple[str, Route]]] = PrivateAttr(default_factory=list)

    @field_validator("fallback", mode="before")
    @classmethod
    def _check_fallback(cls, value: Any) -> Any:
        return None if value is None else normalize_destination(value)

    @field_validator("default", mode="before")
    @classmethod
    def _check_default(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, (str, Channel)):
            value = [value]
        return [normalize_destination(item) for item in value]

    def model_post_init(self, __context: Any) -> None:
        base = (__context or {}).get("base_dir") if isinstance(__context, dict) else None
        self._route_names = [route.name or f"routes[{index}]" for index, route in enumerate(self.routes)]
        self._team_routes = []
        for team in self.teams:
            routes = list(team.routes)
            default = team.default
            if team.file or team.block:
                other = (
                    AlertRouting.from_file(
                        Path(base or ".") / team.file if not Path(team.file).is_absolute() else team.file
                    )
                    if team.file
                    else AlertRouting.from_block(team.block or DEFAULT_BLOCK_NAME)
                )
                routes += other.routes
                if default is None and "default" in other.model_fields_set:
                    default = other.default
                team.default = default
            self._team_routes.append(
                [
                    (f"{team.name}/{route.name or f'routes[{index}]'}", route)
                    for index, route in enumerate(routes)
                ]
            )

    # ---------------------------------------------------------------- decisions
    def targets(self, alert: Alert) -> list[RouteTarget]:
        """The destinations ``alert`` goes to, one :class:`RouteTarget` each, in route order."""
        routes: list[tuple[str, Route]] = []
        default: tuple[str, list[Destination]] = ("default", self.default)
        for team, team_routes in zip(self.teams, self._team_routes, strict=True):
            if team.match.matches(alert):
                routes += team_routes
                # The team's default ends the search when none of its routes matched.
                if team.default is not None and not any(
                    route.match.matches(alert) for _, route in team_routes
                ):
                    return targets_for(alert, [], (f"{team.name}/default", team.default), self.defaults)
                break
        routes += list(zip(self._route_names, self.routes, strict=True))
        return targets_for(alert, routes, default, self.defaults)

    # ---------------------------------------------------------------- construction
    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> AlertRouting:  # type: ignore[override]
        """Validate a mapping (the file's structure); errors become one :class:`RoutingError`."""
        if isinstance(obj, AlertRouting):
            return obj
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise routing_error(exc, "mapping") from None

    @classmethod
    def direct(
        cls, destinations: Sequence[Destination], *, defaults: RoutingDefaults | None = None
    ) -> AlertRouting:
        """A config of one route, named ``direct``, to ``destinations`` (what ``destinations=[...]`` means)."""
        if isinstance(destinations, (str, Channel)):
            destinations = [destinations]
        if not destinations:
            raise RoutingError(
                "destinations is empty; give at least one, e.g. ['slack:oncall'] or ['console']"
            )
        data: dict[str, Any] = {
            "routes": [{"name": "direct", "destinations": list(destinations)}],
            "default": [],
        }
        if defaults is not None:
            data["defaults"] = defaults
        return cls.model_validate(data)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> AlertRouting:
        """Load a YAML or JSON file (``${VAR}`` substituted)."""
        data = load_file_data(path)
        try:
            return super().model_validate(data, context={"base_dir": str(Path(path).expanduser().parent)})
        except ValidationError as exc:
            raise routing_error(exc, str(path)) from None

    @classmethod
    def from_block(cls, name: str = DEFAULT_BLOCK_NAME) -> AlertRouting:
        """Load the saved ``alert-routing`` block ``name``."""
        from prefect_alerts.routing.block import load_routing_block

        data = load_routing_block(name)
        try:
            return super().model_validate(data)
        except ValidationError as exc:
            raise routing_error(exc, f"block alert-routing/{name}") from None

    @classmethod
    def load(cls) -> AlertRouting:
        """The resolution order: ``$PREFECT_ALERTS_CONFIG``, else the ``alert-routing/default`` block, else
        the console only."""
        from prefect_alerts.routing.resolve import resolve_routing

        return resolve_routing(None)

    def save_block(self, name: str = DEFAULT_BLOCK_NAME) -> None:
        """Save this config as the ``alert-routing`` block ``name`` (overwriting), for every worker to share.

        Raises:
            RoutingError: a destination is a Channel object (a block holds references only).
        """
        from prefect_alerts.routing.block import save_routing_block

        save_routing_block(self.to_data(), name)

    def to_data(self) -> dict[str, Any]:
        """The config as the file structure (durations in seconds); refuses Channel objects."""

        def reference(value: Any, where: str) -> str:
            if not isinstance(value, str):
                raise RoutingError(f"{where}: a Channel object cannot be saved in a block; use a reference")
            return value

        data = _plain(self.model_dump(by_alias=True, exclude={"teams"}))
        data["fallback"] = None if self.fallback is None else reference(self.fallback, "fallback")
        data["default"] = [reference(item, "default") for item in self.default]
        for index, route in enumerate(self.routes):
            data["routes"][index]["destinations"] = [
                reference(item, f"routes[{index}].destinations") for item in route.destinations
            ]
            data["routes"][index].pop("repeat_interval_set", None)
            if not route.repeat_interval_set:
                data["routes"][index].pop("repeat_interval", None)
        data["teams"] = [_plain(team.model_dump(exclude_none=True, by_alias=True)) for team in self.teams]
        return data

    # ---------------------------------------------------------------- showing
    def describe(self) -> str:
        """The resolved routes as text (what ``prefect-alerts config check`` prints)."""
        from prefect_alerts.dispatch.dedupe import format_duration

        def names(destinations: Sequence[Destination]) -> str:
            return ", ".join(d if isinstance(d, str) else repr(d) for d in destinations) or "(nothing)"

        def repeat(value: Any) -> str:
            return "never" if value is None else format_duration(value)

        defaults = self.defaults
        lines = [
            f"defaults: cooldown {format_duration(defaults.cooldown)}, repeat_interval {repeat(defaults.repeat_interval)}, "
            f"send_resolved {str(defaults.send_resolved).lower()}, budget {format_duration(defaults.budget)}, "
            f"max_attempts {defaults.max_attempts}, max_age {format_duration(defaults.max_age)}",
        ]
        for team, team_routes in zip(self.teams, self._team_routes, strict=True):
            lines.append(f"team {team.name} (when {team.match.describe()}), tried first:")
            for name, route in team_routes:
                lines.append(f"  {self._route_line(name, route, repeat)}")
            if team.default is not None:
                lines.append(f"  no team route matched -> {names(team.default)}")
        for index, (name, route) in enumerate(zip(self._route_names, self.routes, strict=True)):
            lines.append(f"{index + 1}. {self._route_line(name, route, repeat)}")
        lines.append(f"default (no route matched) -> {names(self.default)}")
        lines.append(
            f"fallback (dead letters, system notices) -> {names([self.fallback]) if self.fallback else '(none)'}"
        )
        return "\n".join(lines)

    def _route_line(self, name: str, route: Route, repeat: Any) -> str:
        from prefect_alerts.dispatch.dedupe import format_duration

        extras = []
        if route.cooldown is not None:
            extras.append(f"cooldown {format_duration(route.cooldown)}")
        if route.repeat_interval_set:
            extras.append(f"repeat_interval {repeat(route.repeat_interval)}")
        if route.send_resolved is not None:
            extras.append(f"send_resolved {str(route.send_resolved).lower()}")
        if route.mentions:
            extras.append("mentions " + " ".join(route.mentions))
        extras.append("then continue" if route.continue_ else "stop")
        destinations = ", ".join(d if isinstance(d, str) else repr(d) for d in route.destinations)
        return f"{name}: when {route.match.describe()} -> {destinations} ({'; '.join(extras)})"

    def check_destinations(self) -> list[str]:
        """Load every referenced block once; the problems found (empty when all exist)."""
        from prefect_alerts.channels.registry import channel_from_ref

        seen: list[str] = []
        everything: list[Destination] = [*self.default, *(d for r in self.routes for d in r.destinations)]
        for team in self.teams:
            everything += [*(team.default or []), *(d for r in team.routes for d in r.destinations)]
        if self.fallback is not None:
            everything.append(self.fallback)
        problems = []
        for destination in everything:
            if not isinstance(destination, str) or destination in seen:
                continue
            seen.append(destination)
            try:
                channel_from_ref(destination)
            except Exception as exc:
                problems.append(f"{destination}: {exc}")
        return problems
