"""Storm settings: when many alerts of one group fire at once, one summary goes out instead of each alert.

The routing file's top-level ``storm:`` section sets them for every route; a route's own ``storm:`` overrides
only the keys it gives. As in Alertmanager, the default group is the route: every firing alert a route takes
counts towards one storm; ``group_by`` splits a route's alerts into groups by flow, deployment, work pool,
event, severity or the tags with a prefix.

Example:
    ```yaml
    storm: {threshold: 10, window: 5m, group_interval: 5m, group_by: []}
    routes:
      - name: etl
        match: {flow: "etl-*"}
        destinations: [slack:etl]
        storm: {group_by: [flow]}      # one storm per flow on this route
      - name: pages
        match: {severity: ">=critical"}
        destinations: [pagerduty:oncall]
        storm: {enabled: false}        # every page is sent
    ```
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from prefect_alerts.alert import Alert
from prefect_alerts.routing.base import ConfigModel
from prefect_alerts.routing.durations import parse_duration

__all__ = ["GROUP_BY_KEYS", "StormSettings", "storm_group"]

GROUP_BY_KEYS = ("flow", "deployment", "work_pool", "event", "severity")
"""What ``group_by`` may name, besides ``tag:<prefix>``."""


class StormSettings(ConfigModel):
    """When more than ``threshold`` alerts of one group fire within ``window``, the next ones are folded.

    The first ``threshold`` alerts are sent one by one; the next one opens a storm and sends one
    ``alert_storm`` summary (counts, flows, first errors, run links) to the route's destinations; every further
    alert of the group is recorded as "folded into storm X". While the storm lasts the summary is sent again at
    most every ``group_interval``, with the new counts. A storm is over when its group had no alert for one
    ``window``; the aggregator then sends the closing summary. Resolved alerts are never folded.

    Example:
        ```python
        from prefect_alerts.routing.storm import StormSettings

        StormSettings(threshold=20, window="10m").window  # timedelta(seconds=600)
        ```
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="false: every alert is sent one by one.")
    threshold: int = Field(
        default=10, ge=1, description="Alerts of one group sent one by one within a window before a storm."
    )
    window: timedelta = Field(
        default=timedelta(minutes=5), description="How close together alerts count as one storm."
    )
    group_interval: timedelta = Field(
        default=timedelta(minutes=5), description="How often, at most, a storm's summary is sent again."
    )
    group_by: list[str] = Field(
        default_factory=list,
        description="Empty: one group per route. Else any of flow, deployment, work_pool, event, severity, "
        "tag:<prefix>.",
    )

    @field_validator("window", "group_interval", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return value if isinstance(value, timedelta) else parse_duration(value)

    @field_validator("window", "group_interval")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than 0s, e.g. 5m")
        return value

    @field_validator("group_by", mode="before")
    @classmethod
    def _group_by(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"group_by is a list such as [flow] or [deployment, 'tag:team-']; got {value!r}")
        keys: list[str] = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"each group_by key is text such as 'flow', got {item!r}")
            key = item.strip()
            if key.startswith("tag:") and key[4:].strip():
                key = "tag:" + key[4:].strip()
            elif key not in GROUP_BY_KEYS:
                allowed = ", ".join([*GROUP_BY_KEYS, "tag:<prefix>"])
                raise ValueError(f"unknown group_by key {item!r}; use any of: {allowed}")
            if key not in keys:
                keys.append(key)
        return keys

    def merged(self, override: StormSettings | None) -> StormSettings:
        """These settings with the keys ``override`` was given (a route's ``storm:``) replaced."""
        if override is None or not override.model_fields_set:
            return self
        return self.model_copy(update={key: getattr(override, key) for key in override.model_fields_set})


def _label(alert: Alert, key: str) -> str:
    source = alert.source
    if key == "flow":
        return source.flow_name or ""
    if key == "deployment":
        return source.deployment_name or ""
    if key == "work_pool":
        return source.work_pool_name or ""
    if key == "event":
        return alert.event
    if key == "severity":
        return alert.severity.value
    prefix = key[4:]
    return ",".join(sorted(tag for tag in alert.tags if tag.startswith(prefix)))


def storm_group(
    alert: Alert, route: str, settings: StormSettings, destinations: Sequence[str] = ()
) -> tuple[str, dict[str, str]]:
    """``(group key, labels)`` of ``alert`` on ``route`` to ``destinations`` (their keys); the key is stable
    across processes and machines. The destinations take part so that two direct routes
    (``destinations=[...]``), which share the route name ``direct``, are two groups.

    >>> from prefect_alerts.alert import Source
    >>> alert = Alert(title="x", source=Source(flow_name="etl"))
    >>> storm_group(alert, "pages", StormSettings(group_by=["flow"]))[1]
    {'flow': 'etl'}
    """
    labels = {key: _label(alert, key) for key in settings.group_by}
    text = json.dumps([route, labels, sorted(destinations)], sort_keys=True, separators=(",", ":"))
    return "storm:" + hashlib.sha256(text.encode()).hexdigest()[:40], labels
