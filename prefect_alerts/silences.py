"""Silences: mute matching alerts for a while, with who and why on record.

A silence is a set of matchers (the same keys and rules as a route's ``match``: ``event``, ``severity``,
``flow``, ``deployment``, ``tag``/``tags``; equality or globs, a list matches any of its items; severity as
``"warning"`` exactly or ``">=warning"`` at least), a time box, an author and a comment. While it is active,
firing alerts it matches are suppressed with the reason ``silenced by s-42 until 14:05 UTC (ana: db
migration)``; resolved alerts still go out. Silences live in the store, so every worker sharing it honours them.

Example:
    ```python
    from prefect_alerts.silences import add_silence, expire_silence, list_silences

    silence = add_silence({"flow": "etl-*", "severity": ">=warning"}, "2h", "ana", "warehouse migration")
    print([s.id for s in list_silences()])  # ['s-1']
    expire_silence(silence.id)
    ```
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, PrivateAttr

from prefect_alerts.alert import Alert

__all__ = ["Silence", "add_silence", "expire_silence", "get_silence", "list_silences"]

_MATCHER_KEYS = {"event": "event", "severity": "severity", "flow": "flow", "deployment": "deployment"}
_TAG_KEYS = ("tag", "tags")


def _route_match(matchers: Mapping[str, Any]) -> Any:
    return _compiled_match(json.dumps(dict(matchers), sort_keys=True, default=str))


@functools.lru_cache(maxsize=1024)
def _compiled_match(matchers_json: str) -> Any:
    # The pipeline checks every alert against every active silence: compile each silence's matchers once.
    from prefect_alerts.routing import RouteMatch

    matchers = json.loads(matchers_json)

    values: dict[str, Any] = {}
    for key, value in matchers.items():
        if key in _TAG_KEYS:
            values["tags"] = value
        elif key in _MATCHER_KEYS:
            values[key] = value
        else:
            allowed = ", ".join([*_MATCHER_KEYS, "tag"])
            raise ValueError(f"unknown silence matcher {key!r}; use one of: {allowed}")
    return RouteMatch.model_validate(values)


class Silence(BaseModel):
    """One silence as stored. ``id`` is ``"s-<n>"``."""

    id: str
    matchers: dict[str, Any]
    starts_at: datetime
    ends_at: datetime
    author: str
    comment: str
    created_at: datetime
    expired_at: datetime | None = None
    _compiled: Any = PrivateAttr(default=None)

    @classmethod
    def from_row(cls, row: Any) -> Silence:
        return cls(**{**row.model_dump(), "id": f"s-{row.id}"})

    def is_active(self, now: datetime | None = None) -> bool:
        """In force at ``now``: started, not ended, not expired by hand."""
        now = now or datetime.now(timezone.utc)
        ended = self.ends_at if self.expired_at is None else min(self.ends_at, self.expired_at)
        return self.starts_at <= now < ended

    def matches(self, alert: Alert) -> bool:
        """Whether every matcher matches ``alert``."""
        return bool(self.matcher().matches(alert))

    def matcher(self) -> Any:
        """The compiled matchers (``.matches(alert)``), compiled once per silence object: the pipeline asks
        every active silence about every alert, and re-serialising the matchers cost more than the match."""
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = _route_match(self.matchers)
        return compiled

    def reason(self) -> str:
        """The suppression reason: ``silenced by s-42 until 14:05 UTC (ana: db migration)``."""
        until = self.ends_at.strftime("%Y-%m-%d %H:%M UTC")
        return f"silenced by {self.id} until {until} ({self.author}: {self.comment})"


def _numeric_id(silence_id: str | int) -> int:
    text = str(silence_id).strip()
    if text.startswith("s-"):
        text = text[2:]
    if not text.isdigit():
        raise ValueError(f"not a silence id: {silence_id!r}; ids look like 's-42' (see list_silences())")
    return int(text)


def _silence_store(state: Any) -> Any:
    """The silences of ``state`` (a ``DispatchState``, or anything with a ``silences`` store), else of the
    default store; taken from the store layer itself, so this module sits below the pipeline it serves."""
    if state is not None:
        return state.silences
    from prefect_alerts.store.alerts import SilenceStore
    from prefect_alerts.store.engine import get_engine

    return SilenceStore(get_engine())


def add_silence(
    matchers: Mapping[str, str | Sequence[str]],
    duration: str | int | float | timedelta,
    author: str,
    comment: str,
    *,
    starts_at: datetime | None = None,
    now: datetime | None = None,
    state: Any = None,
) -> Silence:
    """Silence firing alerts that match every one of ``matchers`` for ``duration`` ("2h", "30m", seconds).

    Raises:
        ValueError: no matchers (silencing everything needs an explicit ``{"event": "*"}``), an unknown
            matcher key, a bad duration, or an empty author or comment.
    """
    from prefect_alerts.routing import parse_duration

    if not matchers:
        raise ValueError(
            'a silence needs at least one matcher, e.g. {"flow": "etl-*"}; {"event": "*"} mutes all'
        )
    _route_match(matchers)  # validate now, not when the first alert arrives
    length = parse_duration(duration)
    if length <= timedelta(0):
        raise ValueError(f"a silence needs a positive duration, got {duration!r}")
    if not author.strip() or not comment.strip():
        raise ValueError("a silence needs an author and a comment: who muted what, and why")
    now = now or datetime.now(timezone.utc)
    start = starts_at or now
    row = _silence_store(state).add(
        matchers={key: value if isinstance(value, str) else list(value) for key, value in matchers.items()},
        starts_at=start,
        ends_at=start + length,
        author=author.strip(),
        comment=comment.strip(),
        now=now,
    )
    return Silence.from_row(row)


def list_silences(
    active_only: bool = True, *, now: datetime | None = None, state: Any = None
) -> list[Silence]:
    """Silences, newest first; only those in force now unless ``active_only=False``."""
    now = now or datetime.now(timezone.utc)
    store = _silence_store(state)
    rows = store.active(now) if active_only else store.all()
    silences = [Silence.from_row(row) for row in rows]
    return sorted(silences, key=lambda silence: silence.created_at, reverse=True)


def get_silence(silence_id: str | int, *, state: Any = None) -> Silence | None:
    row = _silence_store(state).get(_numeric_id(silence_id))
    return None if row is None else Silence.from_row(row)


def expire_silence(silence_id: str | int, *, now: datetime | None = None, state: Any = None) -> Silence:
    """End a silence now and return it.

    Raises:
        ValueError: no silence has that id (the message says how to list them).
    """
    numeric = _numeric_id(silence_id)
    store = _silence_store(state)
    store.expire(numeric, now or datetime.now(timezone.utc))
    row = store.get(numeric)
    if row is None:
        raise ValueError(f"no silence {silence_id!r}; `list_silences(active_only=False)` shows them all")
    return Silence.from_row(row)
