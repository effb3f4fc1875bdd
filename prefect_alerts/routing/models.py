"""The parts of a routing config: defaults, routes, a route's chosen targets, and teams."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from prefect_alerts.channels.base import Channel
from prefect_alerts.routing.actions import Action, parse_actions
from prefect_alerts.routing.base import ConfigModel
from prefect_alerts.routing.destinations import normalize_destination, reference_key
from prefect_alerts.routing.durations import NEVER, parse_duration
from prefect_alerts.routing.match import RouteMatch
from prefect_alerts.routing.storm import StormSettings

__all__ = ["Destination", "Route", "RouteTarget", "RoutingDefaults", "Team", "TeamRoutes"]

Destination = str | Channel
"""A channel reference (``"slack:oncall"``, ``"console"``) or a :class:`~prefect_alerts.channels.Channel`."""


def _duration(value: Any) -> Any:
    if value is None or isinstance(value, timedelta):
        return value
    return parse_duration(value)


def is_never(value: Any) -> bool:
    """``never``/``none``/``off`` (and YAML's ``off``/``no``, which arrive as False) switch reminders off."""
    return value is False or (isinstance(value, str) and value.strip().lower() in NEVER)


def _duration_or_never(value: Any) -> Any:
    """A duration, or None for ``never`` (reminders off, entries kept for ever)."""
    return None if value is None or is_never(value) else _duration(value)


def destination_list(value: Any, info: ValidationInfo, *, empty_ok: bool = True) -> Any:
    """Validate a list of destinations (a single one is accepted), remembering bare-name look-ups."""
    if value is None:
        return None
    if isinstance(value, (str, Channel)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError(
            f"expected a list of destinations, e.g. [slack:oncall, pagerduty:oncall]; got {value!r}"
        )
    if not value and not empty_ok:
        raise ValueError("needs at least one destination, e.g. [slack:oncall]")
    names = info.context.setdefault("bare_names", {}) if isinstance(info.context, dict) else None
    result: list[Destination] = []
    for position, item in enumerate(value):
        try:
            destination = normalize_destination(item, names)
        except ValueError as exc:
            where = f"item {position}: " if len(value) > 1 else ""
            raise ValueError(f"{where}{exc}") from None
        if destination not in result:
            result.append(destination)
    return result


def _mentions(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list of mentions, e.g. ['<!here>', 'U0123ABC']; got {value!r}")
    for item in value:
        if not isinstance(item, str) or not item.strip() or any(ch in item for ch in "\r\n"):
            raise ValueError(
                f"each mention is one line of text such as '<!here>' or 'U0123ABC', got {item!r}"
            )
    return list(dict.fromkeys(item.strip() for item in value))


class RoutingDefaults(ConfigModel):
    """What every route uses unless it says otherwise, and the delivery limits of the pipeline.

    Example:
        ```python
        from prefect_alerts.routing import RoutingDefaults

        RoutingDefaults(cooldown="30m", repeat_interval="never").repeat_interval  # None
        ```
    """

    model_config = ConfigDict(extra="forbid")

    cooldown: timedelta = Field(
        default=timedelta(hours=1),
        description="After a notice, repeats of the same dedup key to the same destination are suppressed.",
    )
    repeat_interval: timedelta | None = Field(
        default=timedelta(hours=4),
        description="A still-firing alert is re-notified at most this often; never (None) turns reminders off.",
    )
    send_resolved: bool = Field(default=True, description="Send the all-clear where the firing alert went.")
    budget: timedelta = Field(
        default=timedelta(seconds=3),
        description="How long delivery may take inside one send_alert call (a hook); the rest is queued.",
    )
    max_attempts: int = Field(default=10, ge=1, description="Delivery attempts before a dead letter.")
    max_age: timedelta = Field(
        default=timedelta(hours=24), description="Age at which an undelivered notification is dead."
    )
    keep_delivered: timedelta | None = Field(
        default=timedelta(days=7),
        description="The aggregator deletes delivered outbox entries older than this (never: keep them all). "
        "An entry a still-firing alert's resolve needs, and each destination's newest, are kept.",
    )
    keep_dead: timedelta | None = Field(
        default=timedelta(days=30),
        description="The aggregator deletes dead letters older than this (never: keep them all); until then "
        "`prefect-alerts outbox --status dead` shows them.",
    )
    keep_history: timedelta | None = Field(
        default=timedelta(days=30),
        description="The aggregator deletes alert history older than this (never: keep it all), and the "
        "notification-log rows, incidents, storm members and SLA violations alerts resolved that long ago "
        "left; what a dedup key still firing needs stays.",
    )

    @field_validator("cooldown", "budget", "max_age", mode="before")
    @classmethod
    def _check_durations(cls, value: Any) -> Any:
        return _duration(value)

    @field_validator("repeat_interval", "keep_delivered", "keep_dead", "keep_history", mode="before")
    @classmethod
    def _check_duration_or_never(cls, value: Any) -> Any:
        return _duration_or_never(value)

    @field_validator("keep_delivered", "keep_dead", "keep_history")
    @classmethod
    def _positive_keep(cls, value: timedelta | None, info: Any) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError(
                f"{info.field_name} must be longer than 0s, e.g. 7d, or never to keep every entry"
            )
        return value

    @field_validator("max_age")
    @classmethod
    def _positive_age(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("max_age must be longer than 0s, e.g. 24h")
        return value


class Route(ConfigModel):
    """One route: what it matches, where those alerts go, and overrides of the defaults.

    Example:
        ```python
        from prefect_alerts.routing import Route

        Route(name="pages", match={"severity": ">=error"}, destinations=["pagerduty:oncall"], cooldown="30m")
        ```
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)

    name: str | None = Field(default=None, description="Shown in results; default routes[i].")
    match: RouteMatch = Field(default_factory=RouteMatch, description="Empty: every alert.")
    destinations: list[Destination] = Field(description="Where the matched alerts go.")
    cooldown: timedelta | None = Field(default=None, description="Overrides defaults.cooldown.")
    repeat_interval: timedelta | None = Field(
        default=None, description="Overrides defaults.repeat_interval; 'never' turns reminders off."
    )
    send_resolved: bool | None = Field(default=None, description="Overrides defaults.send_resolved.")
    mentions: list[str] = Field(default_factory=list, description="Slack mentions: '<!here>', 'U0123ABC'.")
    continue_: bool = Field(default=False, alias="continue", description="Keep matching later routes.")
    storm: StormSettings | None = Field(
        default=None, description="Overrides the keys it gives of the top-level storm settings."
    )
    actions: list[Action] = Field(
        default_factory=list, description="Run a deployment, pause a schedule: see routing/actions.py."
    )

    _repeat_never: bool = PrivateAttr(default=False)

    @field_validator("name", mode="before")
    @classmethod
    def _check_name(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"a route name is non-empty text such as 'pages', got {value!r}")
        return value.strip() if isinstance(value, str) else value

    @field_validator("destinations", mode="before")
    @classmethod
    def _check_destinations(cls, value: Any, info: ValidationInfo) -> Any:
        return destination_list(value, info, empty_ok=False)

    @field_validator("cooldown", mode="before")
    @classmethod
    def _check_cooldown(cls, value: Any) -> Any:
        return _duration(value)

    @field_validator("repeat_interval", mode="before")
    @classmethod
    def _check_repeat(cls, value: Any) -> Any:
        return _duration_or_never(value)

    @field_validator("mentions", mode="before")
    @classmethod
    def _check_mentions(cls, value: Any) -> Any:
        return _mentions(value)

    @field_validator("actions", mode="before")
    @classmethod
    def _check_actions(cls, value: Any) -> Any:
        return parse_actions(value)

    def model_post_init(self, __context: Any) -> None:
        # "repeat_interval: never" (None, given) differs from "not given" (the default applies).
        self._repeat_never = "repeat_interval" in self.model_fields_set and self.repeat_interval is None

    @property
    def repeat_never(self) -> bool:
        """True when this route turned reminders off (``repeat_interval: never``)."""
        return self._repeat_never

    def __eq__(self, other: object) -> bool:
        result = super().__eq__(other)
        return result if result is not True else self._repeat_never == other._repeat_never  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]


class RouteTarget(ConfigModel):
    """One destination chosen for one alert, with the settings of the route that chose it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    destination: Destination
    """The normalised reference (``"slack:oncall"``, ``"console"``) or the Channel object as configured."""
    route: str
    """The route's name; ``"default"`` for the default route, ``"direct"`` for ``destinations=[...]``."""
    cooldown: timedelta
    repeat_interval: timedelta | None
    send_resolved: bool
    mentions: list[str] = Field(default_factory=list)
    storm: StormSettings = Field(default_factory=StormSettings)
    """The route's storm settings (the top-level ``storm:`` with the route's overrides)."""

    @property
    def key(self) -> str:
        """A stable string id of the destination: the reference, or ``kind:name`` of a Channel object."""
        return reference_key(self.destination)


class TeamRoutes(ConfigModel):
    """What a team's own routing file or block holds: its routes and, optionally, its default."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    routes: list[Route] = Field(default_factory=list)
    default: list[Destination] | None = None

    @field_validator("default", mode="before")
    @classmethod
    def _check_default(cls, value: Any, info: ValidationInfo) -> Any:
        return destination_list(value, info)


class Team(ConfigModel):
    """A team's own routes, tried before the global ones for the alerts its ``match`` selects.

    The routes come inline (``routes:``), from the team's own routing file (``file:``, relative to the file
    that names it) or from a saved ``alert-routing`` block (``block:``). When none of them match, the team's
    ``default`` applies if it has one; otherwise the global routes and default do.

    Example:
        ```python
        from prefect_alerts.routing import Team

        Team(name="data", match={"tags": ["team-data"]}, default=["email:data-team"])
        ```
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(description="The team's name, shown in route names: data/routes[0].")
    match: RouteMatch = Field(description="Selects the team's alerts (tags, flow, deployment...).")
    routes: list[Route] | None = Field(default=None, description="The team's routes, inline.")
    file: str | None = Field(default=None, description="A routing file with the team's routes and default.")
    block: str | None = Field(default=None, description="A saved alert-routing block with them.")
    default: list[Destination] | None = Field(
        default=None, description="When none of the team's routes match."
    )

    _loaded: TeamRoutes = PrivateAttr(default_factory=TeamRoutes)

    @field_validator("name", mode="before")
    @classmethod
    def _check_name(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"a team name is non-empty text such as 'data', got {value!r}")
        return value.strip()

    @field_validator("match")
    @classmethod
    def _selector(cls, value: RouteMatch) -> RouteMatch:
        if value.is_empty():
            raise ValueError("a team needs a match that selects its alerts, e.g. {tags: [team-data]}")
        return value

    @field_validator("default", mode="before")
    @classmethod
    def _check_default(cls, value: Any, info: ValidationInfo) -> Any:
        return destination_list(value, info)

    @field_validator("file", mode="before")
    @classmethod
    def _absolute_file(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ValueError(
                f"file is the path of the team's routing file, e.g. teams/data.yaml; got {value!r}"
            )
        from prefect_alerts.routing.files import resolve_relative

        return resolve_relative(value.strip(), info.context)

    @model_validator(mode="after")
    def _load_sources(self, info: ValidationInfo) -> Team:
        given = [key for key in ("routes", "file", "block") if getattr(self, key) is not None]
        if len(given) > 1:
            raise ValueError(
                f"team {self.name!r} gives {' and '.join(given)}; give only one of routes, file or block"
            )
        if not given and self.default is None:
            raise ValueError(f"team {self.name!r} routes nothing; give routes, file or block, and/or default")
        context = info.context if isinstance(info.context, dict) else {}
        if self.file is not None:
            from prefect_alerts.routing.files import load_team_file

            self._loaded = load_team_file(self.file, context)
        elif self.block is not None:
            from prefect_alerts.routing.blocks import load_team_block

            self._loaded = load_team_block(self.block, context)
        else:
            self._loaded = TeamRoutes.model_construct(routes=list(self.routes or []), default=None)
        return self

    @property
    def team_routes(self) -> list[Route]:
        """The team's routes, from wherever they came."""
        return self._loaded.routes

    @property
    def team_default(self) -> list[Destination] | None:
        """The team's default: its own ``default:``, else the one in its file or block, else None."""
        return self.default if self.default is not None else self._loaded.default
