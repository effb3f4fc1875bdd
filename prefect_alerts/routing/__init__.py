"""Routing: which destinations an alert goes to, with what cooldown, repeat interval and mentions.

Load a config with :meth:`AlertRouting.from_file`, :meth:`AlertRouting.from_block`, :meth:`AlertRouting.load`
(the resolution order) or :meth:`AlertRouting.model_validate`; :func:`resolve_routing` turns any ``routing=``
argument into one. The file format and every default are in docs/configuration.md.
"""

from prefect_alerts.routing.config import CONFIG_ENV, AlertRouting
from prefect_alerts.routing.durations import parse_duration
from prefect_alerts.routing.errors import RoutingError
from prefect_alerts.routing.match import RouteMatch, SeverityRule
from prefect_alerts.routing.models import Destination, Route, RouteTarget, RoutingDefaults, Team
from prefect_alerts.routing.resolve import ROUTING_TTL_ENV, clear_routing_cache, resolve_routing

__all__ = [
    "CONFIG_ENV",
    "ROUTING_TTL_ENV",
    "AlertRouting",
    "Destination",
    "Route",
    "RouteMatch",
    "RouteTarget",
    "RoutingDefaults",
    "RoutingError",
    "SeverityRule",
    "Team",
    "clear_routing_cache",
    "parse_duration",
    "resolve_routing",
]
