"""Routing: which destinations an alert goes to, and with which cooldown, reminders and mentions.

- :class:`AlertRouting`: the config (defaults, fallback, routes, default, teams), from a YAML/JSON file
  (``${ENV_VAR}`` substituted), a saved ``alert-routing`` block or a dict; ``targets(alert)`` picks the
  destinations.
- :func:`resolve_routing`: what a ``routing=`` argument means (an object, a file, a block name, or None for the
  resolution order: ``$PREFECT_ALERTS_CONFIG``, the ``alert-routing/default`` block, the console), cached per
  process.
- :class:`RoutingError`: every config problem, naming the field and the fix.

See docs/configuration.md for the file format.

Example:
    ```python
    from prefect_alerts import Alert
    from prefect_alerts.routing import AlertRouting

    routing = AlertRouting.from_file("alerts.yaml")
    for target in routing.targets(Alert(title="Load failed", severity="error", event="flow_failed")):
        print(target.key, target.route, target.cooldown)
    ```
"""

from prefect_alerts.routing.config import AlertRouting
from prefect_alerts.routing.durations import format_duration, parse_duration
from prefect_alerts.routing.errors import RoutingError
from prefect_alerts.routing.match import RouteMatch
from prefect_alerts.routing.models import Destination, Route, RouteTarget, RoutingDefaults, Team
from prefect_alerts.routing.resolve import (
    CONFIG_ENV,
    ROUTING_TTL_ENV,
    TTL_ENV,
    clear_routing_cache,
    resolve_routing,
)

__all__ = [
    "CONFIG_ENV",
    "ROUTING_TTL_ENV",
    "TTL_ENV",
    "AlertRouting",
    "Destination",
    "Route",
    "RouteMatch",
    "RouteTarget",
    "RoutingDefaults",
    "RoutingError",
    "Team",
    "clear_routing_cache",
    "format_duration",
    "parse_duration",
    "resolve_routing",
]
