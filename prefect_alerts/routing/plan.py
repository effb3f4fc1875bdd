"""The compiled form of a routing config: what :meth:`AlertRouting.targets` walks for every alert.

Route settings (cooldown, repeat interval, send_resolved, mentions, names) are resolved against the
defaults once, when the config loads; per alert only the matches run and the targets are built.

Order, for one alert:

1. Each team whose ``match`` selects the alert, in order: its routes, first match wins unless the route says
   ``continue: true``; when none of them matches, the team's default (if it has one).
2. Unless a team already settled it (a team route without ``continue``, or a team default), the global
   routes, first match wins unless ``continue: true``.
3. When nothing matched at all, the global default.

A destination chosen twice gets one target: the first route that chose it decides its settings, and the
mentions of every route that chose it are merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from prefect_alerts.alert import Alert
from prefect_alerts.routing.actions import Action
from prefect_alerts.routing.destinations import reference_key
from prefect_alerts.routing.match import RouteMatch
from prefect_alerts.routing.models import Destination, Route, RouteTarget, RoutingDefaults, Team
from prefect_alerts.routing.storm import StormSettings

__all__ = ["CompiledRoute", "RoutingPlan", "compile_routes"]


class CompiledRoute:
    """One route with its settings resolved: ``(key, destination, settings)`` per destination."""

    __slots__ = ("actions", "continue_", "cooldown", "match", "name", "route_match", "targets")

    def __init__(
        self,
        name: str,
        match: RouteMatch | None,
        destinations: Sequence[Destination],
        *,
        cooldown: timedelta,
        repeat_interval: timedelta | None,
        send_resolved: bool,
        mentions: Sequence[str],
        continue_: bool,
        storm: StormSettings | None = None,
        actions: Sequence[Action] = (),
    ) -> None:
        self.name = name
        self.actions = list(actions)
        self.cooldown = cooldown
        self.route_match = match if match is not None else RouteMatch()
        self.match = None if match is None or match.is_empty() else match.compiled
        self.continue_ = continue_
        storm = storm if storm is not None else _DEFAULT_STORM
        settings = (name, cooldown, repeat_interval, send_resolved, tuple(mentions), storm)
        self.targets = [(reference_key(destination), destination, settings) for destination in destinations]

    @classmethod
    def from_route(
        cls, route: Route, name: str, defaults: RoutingDefaults, storm: StormSettings | None = None
    ) -> CompiledRoute:
        return cls(
            route.name or name,
            route.match,
            route.destinations,
            cooldown=route.cooldown if route.cooldown is not None else defaults.cooldown,
            repeat_interval=(
                route.repeat_interval
                if route.repeat_interval is not None or route.repeat_never
                else defaults.repeat_interval
            ),
            send_resolved=route.send_resolved if route.send_resolved is not None else defaults.send_resolved,
            mentions=route.mentions,
            continue_=route.continue_,
            storm=(storm or _DEFAULT_STORM).merged(route.storm),
            actions=route.actions,
        )

    @classmethod
    def catch_all(
        cls,
        name: str,
        destinations: Sequence[Destination],
        defaults: RoutingDefaults,
        storm: StormSettings | None = None,
    ) -> CompiledRoute:
        return cls(
            name,
            None,
            destinations,
            cooldown=defaults.cooldown,
            repeat_interval=defaults.repeat_interval,
            send_resolved=defaults.send_resolved,
            mentions=(),
            continue_=False,
            storm=storm,
        )


_DEFAULT_STORM = StormSettings()


def compile_routes(
    routes: Sequence[Route], defaults: RoutingDefaults, prefix: str = "", storm: StormSettings | None = None
) -> list[CompiledRoute]:
    """Routes in order, unnamed ones named ``routes[i]`` (``team/routes[i]`` inside a team)."""
    return [
        CompiledRoute.from_route(route, f"{prefix}routes[{i}]", defaults, storm)
        for i, route in enumerate(routes)
    ]


class _CompiledTeam:
    __slots__ = ("default", "match", "name", "route_match", "routes")

    def __init__(self, team: Team, defaults: RoutingDefaults, storm: StormSettings | None = None) -> None:
        self.name = team.name
        self.route_match = team.match
        self.match = team.match.compiled
        self.routes = compile_routes(team.team_routes, defaults, prefix=f"{team.name}/", storm=storm)
        default = team.team_default
        self.default = (
            CompiledRoute.catch_all(f"{team.name}/default", default, defaults, storm) if default else None
        )


def _walk(routes: list[CompiledRoute], alert: Alert, chosen: dict[str, list[Any]]) -> tuple[bool, bool]:
    """Try ``routes`` in order; ``(matched, settled)`` where settled means a match without continue."""
    matched = False
    for route in routes:
        if route.match is None or route.match.matches(alert):
            matched = True
            _add(route, chosen)
            if not route.continue_:
                return True, True
    return matched, False


def _add(route: CompiledRoute, chosen: dict[str, list[Any]]) -> None:
    for key, destination, settings in route.targets:
        existing = chosen.get(key)
        if existing is None:
            chosen[key] = [destination, settings, None]
        elif settings[4]:  # a later route adds its mentions; the first route's other settings stand
            extra = existing[2] if existing[2] is not None else list(existing[1][4])
            extra.extend(mention for mention in settings[4] if mention not in extra)
            existing[2] = extra


def _walk_routes(
    routes: list[CompiledRoute], alert: Alert, matched: list[CompiledRoute]
) -> tuple[bool, bool]:
    """:func:`_walk`, collecting the matched routes themselves (for their actions)."""
    found = False
    for route in routes:
        if route.match is None or route.match.matches(alert):
            found = True
            matched.append(route)
            if not route.continue_:
                return True, True
    return found, False


class RoutingPlan:
    """The compiled routing: teams, global routes, the default."""

    __slots__ = ("default", "has_actions", "routes", "sources", "teams")

    def __init__(
        self,
        routes: Sequence[Route],
        default: Sequence[Destination],
        teams: Sequence[Team],
        defaults: RoutingDefaults,
        storm: StormSettings | None = None,
    ) -> None:
        self.routes = compile_routes(routes, defaults, storm=storm)
        self.default = CompiledRoute.catch_all("default", default, defaults, storm) if default else None
        self.teams = [_CompiledTeam(team, defaults, storm) for team in teams]
        self.sources = (routes, default, teams, defaults, storm)
        self.has_actions = any(route.actions for route in self.routes) or any(
            route.actions for team in self.teams for route in team.routes
        )

    def compiled_from(self, routing: Any) -> bool:
        """True when ``routing`` still holds the very parts this plan was compiled from."""
        routes, default, teams, defaults, storm = self.sources
        return (
            routing.routes is routes
            and routing.default is default
            and routing.teams is teams
            and routing.defaults is defaults
            and routing.storm is storm
        )

    def matched_actions(self, alert: Alert) -> list[tuple[str, timedelta, Action]]:
        """``(route name, route cooldown, action)`` for the actions of the routes ``alert`` matches, in the
        order :meth:`targets` walks them (teams first)."""
        if not self.has_actions:
            return []
        matched: list[CompiledRoute] = []
        settled = False
        for team in self.teams:
            if team.match.matches(alert):
                _, team_settled = _walk_routes(team.routes, alert, matched)
                settled = settled or team_settled or (team.default is not None and not team_settled)
        if not settled:
            _walk_routes(self.routes, alert, matched)
        return [(route.name, route.cooldown, action) for route in matched for action in route.actions]

    def targets(self, alert: Alert) -> list[RouteTarget]:
        chosen: dict[str, list[Any]] = {}
        matched = settled = False
        for team in self.teams:
            if not team.match.matches(alert):
                continue
            team_matched, team_settled = _walk(team.routes, alert, chosen)
            if not team_matched and team.default is not None:
                _add(team.default, chosen)
                team_matched = team_settled = True
            matched = matched or team_matched
            settled = settled or team_settled
        if not settled:
            global_matched, _ = _walk(self.routes, alert, chosen)
            matched = matched or global_matched
        if not matched and self.default is not None:
            _add(self.default, chosen)
        return [
            _target(destination, settings, list(settings[4]) if mentions is None else mentions)
            for destination, settings, mentions in chosen.values()
        ]


_TARGET_FIELDS = frozenset(RouteTarget.model_fields)
_new = object.__new__
_set = object.__setattr__


def _target(destination: Any, settings: tuple[Any, ...], mentions: list[str]) -> RouteTarget:
    # What RouteTarget.model_construct does, without its per-field default handling: about 4x faster, and
    # this runs for every destination of every alert. The values were validated when the config loaded.
    target = _new(RouteTarget)
    _set(
        target,
        "__dict__",
        {
            "destination": destination,
            "route": settings[0],
            "cooldown": settings[1],
            "repeat_interval": settings[2],
            "send_resolved": settings[3],
            "mentions": mentions,
            "storm": settings[5],
        },
    )
    _set(target, "__pydantic_fields_set__", set(_TARGET_FIELDS))
    _set(target, "__pydantic_extra__", None)
    _set(target, "__pydantic_private__", None)
    return target
