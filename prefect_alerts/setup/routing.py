"""The default routing ``setup-blocks`` saves (``alert-routing/default``) from what was configured.

Routes, in order (each only when it has a destination):

- ``setup-blocks/every-alert``: Discord and the generic webhook get every alert (``continue``: the routes
  below still apply);
- ``setup-blocks/daily-report``: the daily report (event ``daily_report``) to the info Slack and email, each
  rendering it its own way;
- ``setup-blocks/critical``: severity error and critical to PagerDuty, the critical Slack and email;
- ``setup-blocks/warning``: warning to the warning Slack;
- ``setup-blocks/info``: info and success to the info Slack.

A route's Slack is its own webhook (``NAME-critical``...) or else the shared one (``NAME``). The fallback (dead
letters, the aggregator's watchdog) is a Slack destination: the shared one, else warning, critical, info;
without Slack, email, Discord or the webhook. The default route (alerts no route takes) is the fallback.

A saved routing block is replaced only when it is one this module wrote (every route named
``setup-blocks/...`` and nothing but routes, default and fallback): one a person customised is kept, and the
output says how to replace it (``--overwrite-routing``) or leave routing alone (``--no-routing``).
"""

from __future__ import annotations

from typing import Any

from prefect_alerts.routing import AlertRouting
from prefect_alerts.setup.plan import SetupPlan
from prefect_alerts.setup.save import PlannedBlock

__all__ = ["ROUTE_NAMES", "customised", "default_routing", "planned_routing"]

ROUTE_NAMES = {
    "every-alert": "setup-blocks/every-alert",
    "daily-report": "setup-blocks/daily-report",
    "critical": "setup-blocks/critical",
    "warning": "setup-blocks/warning",
    "info": "setup-blocks/info",
}
"""The names of the routes this module writes; a block whose routes all have one of these is its own."""

_GENERATED_KEYS = frozenset({"routes", "default", "fallback"})
_ROUTE_KEYS = frozenset({"name", "match", "destinations", "continue"})


def _present(*refs: str | None) -> list[str]:
    return list(dict.fromkeys(ref for ref in refs if ref))


def default_routing(plan: SetupPlan) -> AlertRouting | None:
    """The routing for what the plan configures, or None when it configures no destination.

    >>> routing = default_routing(SetupPlan(name="ops", slack_url="https://h.example/x", pagerduty_routing_key="R" * 32))
    >>> [(route.name, route.destinations) for route in routing.routes][1]
    ('setup-blocks/critical', ['pagerduty:ops', 'slack:ops'])
    """
    name = plan.name
    kinds = set(plan.kinds())
    email = f"email:{name}" if "email" in kinds else None
    pagerduty = f"pagerduty:{name}" if "pagerduty" in kinds else None
    discord = f"discord:{name}" if "discord" in kinds else None
    webhook = f"webhook:{name}" if "webhook" in kinds else None
    slack = {route: plan.slack_for(route) for route in ("critical", "warning", "info")}
    shared = f"slack:{name}" if plan.slack_url is not None else None

    routes: list[dict[str, Any]] = []

    def add(key: str, destinations: list[str], match: dict[str, Any] | None = None, **extra: Any) -> None:
        if destinations:
            route: dict[str, Any] = {"name": ROUTE_NAMES[key]}
            if match:
                route["match"] = match
            routes.append({**route, "destinations": destinations, **extra})

    add("every-alert", _present(discord, webhook), continue_=True)
    add("daily-report", _present(slack["info"], email), {"event": "daily_report"})
    add("critical", _present(pagerduty, slack["critical"], email), {"severity": ">=error"})
    add("warning", _present(slack["warning"]), {"severity": "warning"})
    add("info", _present(slack["info"]), {"severity": ["info", "success"]})
    fallback = next(
        iter(_present(shared, slack["warning"], slack["critical"], slack["info"], email, discord, webhook)),
        None,
    )
    if not routes and fallback is None:
        return None
    for route in routes:
        if route.pop("continue_", False):
            route["continue"] = True
    config: dict[str, Any] = {"routes": routes, "default": [fallback] if fallback else []}
    if fallback:
        config["fallback"] = fallback
    return AlertRouting.model_validate(config, context={"source": "setup-blocks' default routing"})


def _block_names(config: dict[str, Any]) -> set[str]:
    """The block names a routing config's destinations point at (``ops-critical`` for ``slack:ops-critical``)."""
    refs = [config.get("fallback"), *(config.get("default") or [])]
    refs += [ref for route in config.get("routes") or [] for ref in route.get("destinations") or []]
    return {ref.partition(":")[2] for ref in refs if isinstance(ref, str) and ":" in ref}


def customised(saved: dict[str, Any], name: str | None = None) -> str | None:
    """Why a saved routing block is not one ``setup-blocks`` wrote for ``name`` (so it is kept), or None.

    A routing written for another ``--name`` (another team's blocks) counts as not ours either.

    >>> customised({"config": {"routes": [{"name": "pages", "destinations": ["console"]}]}})
    "its route 'pages' is not one setup-blocks writes"
    """
    config = saved.get("config")
    if not isinstance(config, dict):
        return "it holds no routing config"
    extra = sorted(set(config) - _GENERATED_KEYS)
    if extra:
        return f"it has {', '.join(extra)}, which setup-blocks never writes"
    generated = set(ROUTE_NAMES.values())
    for route in config.get("routes") or []:
        if not isinstance(route, dict) or route.get("name") not in generated:
            label = route.get("name") if isinstance(route, dict) else None
            return (
                f"its route {label!r} is not one setup-blocks writes" if label else "it has an unnamed route"
            )
        if set(route) - _ROUTE_KEYS:
            return f"its route {route['name']!r} has {', '.join(sorted(set(route) - _ROUTE_KEYS))}"
    ours = {name, *(f"{name}-{route}" for route in ("critical", "warning", "info"))}
    others = sorted(_block_names(config) - ours) if name is not None else []
    if others:
        return f"it routes to blocks of another --name ({', '.join(others)})"
    return None


def planned_routing(plan: SetupPlan) -> tuple[PlannedBlock, AlertRouting] | None:
    """The routing block to save (None with ``--no-routing`` or when nothing is configured), and its routing."""
    from prefect_alerts.blocks import AlertRoutingBlock

    if plan.routing_block is None:
        return None
    routing = default_routing(plan)
    if routing is None:
        return None
    block = AlertRoutingBlock(config=routing.to_config())

    def keep_if(saved: dict[str, Any]) -> str | None:
        reason = customised(saved, plan.name)
        if reason is None:
            return None
        return f"{reason}; pass --overwrite-routing to replace it, or --no-routing to leave routing alone"

    planned = PlannedBlock(
        slug="alert-routing",
        name=plan.routing_block,
        block=block,
        keep_if=None if plan.overwrite_routing else keep_if,
    )
    return planned, routing
