"""A readable listing of a routing config, with every route's resolved settings (``config check`` prints it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from prefect_alerts.routing.destinations import reference_key
from prefect_alerts.routing.durations import format_duration
from prefect_alerts.routing.plan import CompiledRoute, RoutingPlan
from prefect_alerts.routing.storm import StormSettings

if TYPE_CHECKING:
    from prefect_alerts.routing.config import AlertRouting

__all__ = ["NamedRoute", "describe_routing", "named_routes"]


def _settings(route: CompiledRoute) -> str:
    if not route.targets:
        return ""
    _, cooldown, repeat, send_resolved, mentions, storm = route.targets[0][2]
    parts = [
        f"cooldown {format_duration(cooldown)}",
        f"repeat {format_duration(repeat)}",
        f"send_resolved {str(send_resolved).lower()}",
    ]
    if mentions:
        parts.append("mentions " + " ".join(mentions))
    if route.continue_:
        parts.append("continue")
    parts.append(_storm(storm))
    return ", ".join(parts)


def _storm(storm: StormSettings) -> str:
    if not storm.enabled:
        return "storm off"
    text = (
        f"storm after {storm.threshold} in {format_duration(storm.window)} "
        f"(summary every {format_duration(storm.group_interval)}"
    )
    return text + (f", by {' '.join(storm.group_by)})" if storm.group_by else ")")


def _route_lines(routes: list[CompiledRoute], indent: str) -> list[str]:
    lines = []
    for number, route in enumerate(routes, start=1):
        match = route.route_match.describe()
        lines.append(f"{indent}{number}. {route.name}: {match}")
        lines.append(f"{indent}     -> {', '.join(key for key, _, _ in route.targets)}")
        lines.append(f"{indent}     {_settings(route)}")
    return lines


def describe_routing(routing: AlertRouting) -> str:
    """Each route with its match, destinations and resolved settings; the default, fallback and teams."""
    plan = RoutingPlan(routing.routes, routing.default, routing.teams, routing.defaults, routing.storm)
    d = routing.defaults
    lines = [
        f"defaults: cooldown {format_duration(d.cooldown)}, repeat_interval {format_duration(d.repeat_interval)}, "
        f"send_resolved {str(d.send_resolved).lower()}, budget {format_duration(d.budget)}, "
        f"max_attempts {d.max_attempts}, max_age {format_duration(d.max_age)}",
        f"kept: delivered outbox entries {format_duration(d.keep_delivered)}, dead letters "
        f"{format_duration(d.keep_dead)}, alert history and resolved keys {format_duration(d.keep_history)} (the aggregator "
        "deletes older ones)",
        "fallback: "
        + (
            reference_key(routing.fallback)
            if routing.fallback is not None
            else "(none: notices are only logged)"
        ),
    ]
    if plan.teams:
        lines.append("teams (tried before the global routes for the alerts they select):")
        for team, source in zip(plan.teams, routing.teams, strict=True):
            origin = (
                f" (routes from {source.file})"
                if source.file
                else f" (routes from block alert-routing/{source.block})"
                if source.block
                else ""
            )
            lines.append(f"  {team.name}: {team.route_match.describe()}{origin}")
            lines.extend(_route_lines(team.routes, "    "))
            if team.default is not None:
                lines.append(f"    default: {', '.join(key for key, _, _ in team.default.targets)}")
            else:
                lines.append("    default: (none: the global routes apply)")
    if plan.routes:
        lines.append("routes (first match wins unless the route says continue):")
        lines.extend(_route_lines(plan.routes, "  "))
    else:
        lines.append("routes: (none)")
    if plan.default is not None:
        lines.append(
            f"default (when no route matched): {', '.join(key for key, _, _ in plan.default.targets)}"
        )
        lines.append(f"     {_settings(plan.default)}")
    else:
        lines.append("default: (none: alerts no route takes are not sent)")
    if routing.slas:
        lines.append("slas (judged by the SLA monitor; violations are sla_violation alerts):")
        lines += [f"  - {rule.title} ({rule.severity.value})" for rule in routing.slas]
    return "\n".join(lines)


@dataclass(frozen=True)
class NamedRoute:
    """A compiled route and when it applies: its match, or, for a default, the alerts no route took."""

    route: CompiledRoute
    when: str

    @property
    def name(self) -> str:
        return self.route.name

    @property
    def destination_keys(self) -> list[str]:
        return [key for key, _, _ in self.route.targets]


def named_routes(routing: AlertRouting) -> list[NamedRoute]:
    """Every route by the name results show, in the order they are tried: each team's routes and default,
    the global routes, then the global default (named ``default``). Unnamed routes are ``routes[i]``
    (``team/routes[i]`` in a team).

        >>> from prefect_alerts.routing import AlertRouting
        >>> routing = AlertRouting(routes=[{"name": "pages", "destinations": ["console"]}])
        >>> [(named.name, named.when, named.destination_keys) for named in named_routes(routing)]
        [('pages', 'every alert', ['console']), ('default', 'alerts no route matched', ['console'])]
    """
    plan = RoutingPlan(routing.routes, routing.default, routing.teams, routing.defaults, routing.storm)
    found: list[NamedRoute] = []
    for team in plan.teams:
        found.extend(
            NamedRoute(route, f"team {team.name}: {route.route_match.describe()}") for route in team.routes
        )
        if team.default is not None:
            found.append(NamedRoute(team.default, f"team {team.name}: alerts no team route matched"))
    found.extend(NamedRoute(route, route.route_match.describe()) for route in plan.routes)
    if plan.default is not None:
        found.append(NamedRoute(plan.default, "alerts no route matched"))
    return found
