"""The routing config: defaults, routes, teams, the default route and the fallback destination."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from prefect_alerts.alert import Alert
from prefect_alerts.channels.base import Channel
from prefect_alerts.routing.destinations import normalize_destination
from prefect_alerts.routing.durations import NEVER, parse_duration
from prefect_alerts.routing.errors import routing_error
from prefect_alerts.routing.match import RouteMatch

__all__ = ["Destination", "Route", "RouteTarget", "RoutingDefaults", "Team"]

Destination = str | Channel
"""A channel reference (``"slack:oncall"``, ``"console"``) or a :class:`~prefect_alerts.channels.Channel`."""


def _duration(value: Any) -> Any:
    if value is None or isinstance(value, timedelta):
        return value
    return parse_duration(value)


def _optional_duration(value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.strip().lower() in NEVER):
        return None
    return _duration(value)


def _destinations(value: Any) -> Any:
    if value is None:
        return value
    if isinstance(value, (str, Channel)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError("destinations must be a list of references, e.g. [slack:oncall, pagerduty:oncall]")
    return [normalize_destination(item) for item in value]


class RoutingDefaults(BaseModel):
    """What every route uses unless it says otherwise."""

    model_config = ConfigDict(extra="forbid")

    cooldown: timedelta = Field(
        default=timedelta(hours=1),
        description="After a notice, repeats of the same dedup key to the same destination are suppressed this long.",
    )
    repeat_interval: timedelta | None = Field(
        default=timedelta(hours=4),
        description="A still-firing alert is re-notified (a reminder) at most this often; 'never' turns it off.",
    )
    send_resolved: bool = Field(default=True, description="Send the all-clear where the alert went.")
    budget: timedelta = Field(
        default=timedelta(seconds=3),
        description="How long delivery may take inside one send_alert call (a hook); the rest is queued.",
    )
    max_attempts: int = Field(default=10, ge=1, description="Delivery attempts before a dead letter.")
    max_age: timedelta = Field(
        default=timedelta(hours=24), description="Age at which an undelivered alert is dead."
    )

    @field_validator("cooldown", "budget", "max_age", mode="before")
    @classmethod
    def _check_durations(cls, value: Any) -> Any:
        return _duration(value)

    @field_validator("repeat_interval", mode="before")
    @classmethod
    def _check_repeat(cls, value: Any) -> Any:
        return _optional_duration(value)


class Route(BaseModel):
    """One route: a match, its destinations, and overrides of the defaults."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)

    name: str | None = None
    match: RouteMatch = Field(default_factory=RouteMatch)
    destinations: list[Destination] = Field(min_length=1)
    cooldown: timedelta | None = None
    repeat_interval: timedelta | None = None
    repeat_interval_set: bool = Field(default=False, exclude=True, repr=False)
    send_resolved: bool | None = None
    mentions: list[str] = Field(default_factory=list)
    continue_: bool = Field(default=False, alias="continue")

    @field_validator("destinations", mode="before")
    @classmethod
    def _check_destinations(cls, value: Any) -> Any:
        return _destinations(value)

    @field_validator("cooldown", mode="before")
    @classmethod
    def _check_cooldown(cls, value: Any) -> Any:
        return _duration(value)

    @field_validator("repeat_interval", mode="before")
    @classmethod
    def _check_repeat(cls, value: Any) -> Any:
        return _optional_duration(value)

    @field_validator("mentions", mode="before")
    @classmethod
    def _mentions_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def model_post_init(self, __context: Any) -> None:
        # "repeat_interval: never" (None) must differ from "not given" (use the default).
        self.repeat_interval_set = "repeat_interval" in self.model_fields_set


class RouteTarget(BaseModel):
    """One destination chosen for one alert, with the settings of the route that chose it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    destination: Destination
    route: str
    cooldown: timedelta
    repeat_interval: timedelta | None
    send_resolved: bool
    mentions: list[str] = Field(default_factory=list)


class Team(BaseModel):
    """A team's own routes, tried before the global ones for the alerts its ``match`` selects.

    The routes come inline (``routes:``), from the team's own routing file (``file:``, relative to the main
    file) or from a saved routing block (``block:``); the team's ``default`` applies when none of its routes
    match (otherwise the global routes and default do).
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str
    match: RouteMatch
    routes: list[Route] = Field(default_factory=list)
    default: list[Destination] | None = None
    file: str | None = None
    block: str | None = None

    @field_validator("default", mode="before")
    @classmethod
    def _check_default(cls, value: Any) -> Any:
        return _destinations(value)

    @field_validator("match")
    @classmethod
    def _selector(cls, value: RouteMatch) -> RouteMatch:
        if value.is_empty():
            raise ValueError("a team needs a match that selects its alerts, e.g. {tags: [team-data]}")
        return value


def validate_model(
    model: type[BaseModel], data: Any, *, source: str, context: dict[str, Any] | None = None
) -> Any:
    """``model.model_validate(data)`` with pydantic's errors turned into one :class:`RoutingError`."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise routing_error(exc, source) from None


def resolve_route_settings(route: Route, defaults: RoutingDefaults, name: str) -> dict[str, Any]:
    return {
        "route": name,
        "cooldown": route.cooldown if route.cooldown is not None else defaults.cooldown,
        "repeat_interval": route.repeat_interval if route.repeat_interval_set else defaults.repeat_interval,
        "send_resolved": route.send_resolved if route.send_resolved is not None else defaults.send_resolved,
        "mentions": list(route.mentions),
    }


def targets_for(
    alert: Alert,
    routes: Sequence[tuple[str, Route]],
    default: tuple[str, list[Destination]],
    defaults: RoutingDefaults,
) -> list[RouteTarget]:
    """First match wins unless it says continue; no match: the default. One target per destination."""
    chosen: dict[Any, RouteTarget] = {}

    def add(destination: Destination, settings: dict[str, Any]) -> None:
        key = destination if isinstance(destination, str) else id(destination)
        existing = chosen.get(key)
        if existing is None:  # built per alert on the hot path: the settings are already validated
            chosen[key] = RouteTarget.model_construct(
                destination=destination, **{**settings, "mentions": list(settings["mentions"])}
            )
        else:  # a later route adds its mentions; the first route's other settings stand
            existing.mentions = list(dict.fromkeys([*existing.mentions, *settings["mentions"]]))

    matched = False
    for name, route in routes:
        if route.match.matches(alert):
            matched = True
            settings = resolve_route_settings(route, defaults, name)
            for destination in route.destinations:
                add(destination, settings)
            if not route.continue_:
                break
    if not matched:
        name, destinations = default
        settings = {
            "route": name,
            "cooldown": defaults.cooldown,
            "repeat_interval": defaults.repeat_interval,
            "send_resolved": defaults.send_resolved,
            "mentions": [],
        }
        for destination in destinations:
            add(destination, settings)
    return list(chosen.values())
