"""The Alert model: what went wrong, how bad it is, where it came from.

Everything that produces an alert (hooks, check tasks, monitoring flows, the CLI, user code) builds an
:class:`Alert`; everything that delivers one (channels, later the dispatch pipeline) reads it. This module
imports nothing else of ours so that every other part can depend on it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Alert",
    "AlertImage",
    "AlertStatus",
    "AlertTable",
    "Link",
    "Severity",
    "Source",
    "compute_dedup_key",
    "json_safe",
]

_SEVERITY_RANK = {"info": 0, "success": 1, "warning": 2, "error": 3, "critical": 4}


class Severity(str, Enum):
    """How bad an alert is, ordered ``info < success < warning < error < critical``.

    Comparisons use that order (not the alphabet), and values parse case-insensitively::

        >>> Severity("ERROR") > Severity.WARNING
        True
    """

    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Position in the order, 0 (info) to 4 (critical)."""
        return _SEVERITY_RANK[self.value]

    @classmethod
    def _missing_(cls, value: object) -> Severity | None:
        if isinstance(value, str):
            lowered = value.strip().lower()
            for member in cls:
                if member.value == lowered:
                    return member
        return None

    def _compare(self, other: object) -> int:
        if isinstance(other, Severity):
            return self.rank - other.rank
        if isinstance(other, str):
            return self.rank - Severity(other).rank
        return NotImplemented  # type: ignore[return-value]

    def __lt__(self, other: object) -> bool:
        diff = self._compare(other)
        return diff if diff is NotImplemented else diff < 0

    def __le__(self, other: object) -> bool:
        diff = self._compare(other)
        return diff if diff is NotImplemented else diff <= 0

    def __gt__(self, other: object) -> bool:
        diff = self._compare(other)
        return diff if diff is NotImplemented else diff > 0

    def __ge__(self, other: object) -> bool:
        diff = self._compare(other)
        return diff if diff is NotImplemented else diff >= 0

    def __hash__(self) -> int:
        return hash(self.value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.value == other.value
        if isinstance(other, str):
            return self.value == other.strip().lower()
        return NotImplemented

    def __str__(self) -> str:
        return self.value


class AlertStatus(str, Enum):
    """Whether the condition is still happening (firing) or has cleared (resolved)."""

    FIRING = "firing"
    RESOLVED = "resolved"

    def __str__(self) -> str:
        return self.value


class Link(BaseModel):
    """A labelled link shown with the alert, e.g. the flow run in the Prefect UI."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(min_length=1, max_length=200)
    url: str

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if not re.match(r"^https?://[^\s<>|]+$", value):
            raise ValueError(
                f"link url must be an http(s) URL without spaces, '<', '>' or '|': {value[:80]!r}"
            )
        return value


class Source(BaseModel):
    """Where an alert came from: the flow, its run and deployment, and the task when one is involved."""

    model_config = ConfigDict(frozen=True)

    flow_name: str | None = None
    flow_run_id: str | None = None
    flow_run_name: str | None = None
    deployment_name: str | None = None
    deployment_id: str | None = None
    task_name: str | None = None
    task_run_id: str | None = None
    task_run_name: str | None = None
    work_pool_name: str | None = None

    def is_empty(self) -> bool:
        """True when nothing about the origin is known (an alert sent from a plain script)."""
        return all(value is None for value in self.model_dump().values())

    def describe(self) -> str:
        """A one-line human description: ``flow 'etl' run 'happy-otter' / task 'load'``."""
        parts = []
        if self.deployment_name:
            parts.append(f"deployment '{self.deployment_name}'")
        if self.flow_name:
            parts.append(f"flow '{self.flow_name}'")
        if self.flow_run_name or self.flow_run_id:
            parts.append(f"run '{self.flow_run_name or self.flow_run_id}'")
        if self.task_name or self.task_run_name:
            parts.append(f"task '{self.task_run_name or self.task_name}'")
        return " / ".join(parts)


class AlertImage(BaseModel):
    """An image carried with an alert (a chart in the daily report); email shows it inline via ``cid:``."""

    # Base64 in JSON, so an alert with a chart survives the outbox and other processes.
    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    data: bytes = Field(repr=False)
    mime_type: str = Field(default="image/png", pattern=r"^image/[a-z0-9.+-]+$")
    alt: str = ""


class AlertTable(BaseModel):
    """A small table carried with an alert (the daily report's per-flow rows); each channel that shows tables
    escapes every cell its own way (email as an HTML table, the console as a rich table, text as columns)."""

    model_config = ConfigDict(frozen=True)

    title: str = Field(min_length=1, max_length=200)
    columns: list[str] = Field(min_length=1, max_length=12)
    rows: list[list[str]] = Field(default_factory=list, max_length=100)
    note: str = Field(default="", max_length=500, description="Shown under the table, e.g. '12 more flows'.")

    @model_validator(mode="after")
    def _rows_fit_columns(self) -> AlertTable:
        for number, row in enumerate(self.rows, start=1):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"row {number} has {len(row)} cells; the table has {len(self.columns)} columns"
                )
        return self


_EVENT_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


_TIMEDELTA_TAG = "__timedelta__"
_DATETIME_TAG = "__datetime__"


def _tag_field(value: Any) -> Any:
    """A top-level field value as JSON data that :func:`_untag_field` turns back into the same type."""
    if isinstance(value, timedelta):
        return {_TIMEDELTA_TAG: value.total_seconds()}
    if isinstance(value, datetime):
        return {_DATETIME_TAG: value.isoformat()}
    return json_safe(value)


def _untag_field(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        if _TIMEDELTA_TAG in value and isinstance(value[_TIMEDELTA_TAG], (int, float)):
            return timedelta(seconds=value[_TIMEDELTA_TAG])
        if _DATETIME_TAG in value and isinstance(value[_DATETIME_TAG], str):
            return datetime.fromisoformat(value[_DATETIME_TAG])
    return value


def json_safe(value: Any) -> Any:
    """Convert a field value to something ``json.dumps(allow_nan=False)`` accepts.

    NaN and infinities become the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``; datetimes become ISO
    8601; timedeltas become seconds; numpy scalars become Python numbers; anything else unknown becomes
    ``str(value)``.

        >>> json_safe({"rate": float("nan"), "n": 3})
        {'rate': 'NaN', 'n': 3}
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(item) for item in value]
    item = getattr(value, "item", None)  # numpy / pandas scalars
    if callable(item):
        try:
            return json_safe(item())
        except (TypeError, ValueError):
            pass
    return str(value)


def compute_dedup_key(
    event: str,
    source: Source,
    error_type: str | None,
    title: str | None = None,
) -> str:
    """A stable fingerprint of what an alert is about, the same on every process and machine.

    It covers the event, the flow and deployment, the task name and the error type, so that the same failure
    of the same flow maps to one key run after run (the run id is deliberately left out). An alert with no
    origin and no error type, and an alert of the generic event ``notification`` (what ``notify`` sends),
    also include the title, so two different manual alerts do not share a key.

        >>> len(compute_dedup_key("flow_failed", Source(flow_name="etl"), "ValueError"))
        32
    """
    parts: dict[str, str | None] = {
        "event": event,
        "flow": source.flow_name,
        "deployment": source.deployment_name,
        "task": source.task_name,
        "error_type": error_type,
    }
    anonymous = source.flow_name is None and source.deployment_name is None and source.task_name is None
    if event == "notification" or (anonymous and error_type is None):
        parts["title"] = title
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


class Alert(BaseModel):
    """One thing worth telling a person about.

    Example:
        ```python
        from prefect_alerts import Alert, deliver
        from prefect_alerts.channels import ConsoleChannel

        alert = Alert(
            title="Nightly load failed",
            message="ValueError: column 'amount' has 1,204 nulls",
            severity="error",
            event="flow_failed",
            fields={"rows": 120_000, "null_share": 0.01},
            tags=["etl"],
        )
        deliver(alert, ConsoleChannel())
        ```
    """

    model_config = ConfigDict(validate_assignment=False, arbitrary_types_allowed=False)

    title: str = Field(min_length=1, description="Short headline; channels cut it to their limits.")
    message: str = Field(default="", description="The body: what happened and what to do.")
    severity: Severity = Severity.INFO
    event: str = Field(default="notification", description="Short snake_case kind, e.g. 'flow_failed'.")
    status: AlertStatus = AlertStatus.FIRING
    fields: dict[str, Any] = Field(
        default_factory=dict, description="Named values: metrics, counts, durations."
    )
    tags: list[str] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    source: Source = Field(default_factory=Source)
    error_type: str | None = None
    timestamp: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    dedup_key: str = Field(default="", description="Stable fingerprint; computed when not given.")
    images: list[AlertImage] = Field(default_factory=list, repr=False)
    tables: list[AlertTable] = Field(default_factory=list, repr=False, max_length=10)

    @field_validator("title", "message", mode="before")
    @classmethod
    def _coerce_text(cls, value: Any) -> Any:
        return value if value is None or isinstance(value, str) else str(value)

    @field_validator("event")
    @classmethod
    def _snake_case_event(cls, value: str) -> str:
        if not _EVENT_PATTERN.match(value):
            raise ValueError(
                f"event must be short snake_case (letters, digits, underscores; e.g. 'flow_failed'), got {value!r}"
            )
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _unique_tags(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple, set, frozenset)):
            seen: dict[str, None] = {}
            for tag in value:
                seen.setdefault(str(tag), None)
            return list(seen)
        return value

    @field_validator("links", mode="before")
    @classmethod
    def _links_from_mapping(cls, value: Any) -> Any:
        # Accept {"label": "url"} as a convenience.
        if isinstance(value, dict):
            return [{"label": label, "url": url} for label, url in value.items()]
        return value

    @field_validator("fields", mode="before")
    @classmethod
    def _string_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(key): item for key, item in value.items()}
        return value

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # A naive timestamp is taken to be UTC; an aware one is converted to UTC.
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    @field_validator("dedup_key")
    @classmethod
    def _dedup_key_length(cls, value: str) -> str:
        if len(value) > 255:
            raise ValueError("dedup_key is at most 255 characters (PagerDuty's limit)")
        return value

    @model_validator(mode="after")
    def _fill_dedup_key(self) -> Alert:
        if not self.dedup_key:
            self.dedup_key = compute_dedup_key(self.event, self.source, self.error_type, self.title)
        return self

    @property
    def is_resolved(self) -> bool:
        """True for the "all clear" that follows a firing alert."""
        return self.status == AlertStatus.RESOLVED

    @property
    def run_url(self) -> str | None:
        """The URL of the first link, by convention the run in the Prefect UI, or None."""
        return self.links[0].url if self.links else None

    def resolved(self, message: str | None = None, **changes: Any) -> Alert:
        """A copy of this alert with ``status="resolved"`` and the same dedup key.

        >>> Alert(title="Load failed", event="flow_failed").resolved().status
        <AlertStatus.RESOLVED: 'resolved'>
        """
        update: dict[str, Any] = {"status": AlertStatus.RESOLVED, "timestamp": datetime.now(timezone.utc)}
        if message is not None:
            update["message"] = message
        update.update(changes)
        return self.model_copy(update=update)

    def to_record(self) -> dict[str, Any]:
        """The whole alert as JSON-safe data, images included (base64): what the outbox stores.

        :meth:`from_record` gives the alert back (non-finite field values come back as strings).
        """
        # Every typed attribute is JSON-safe after pydantic's JSON mode; only ``fields`` holds arbitrary values,
        # so only it is walked (re-walking the whole dump cost three times the dump on the dispatch hot path).
        # pydantic's JSON mode would turn NaN into null; durations and times are tagged so that an alert read
        # back from the outbox (a resolve, a redelivery) still shows "2m 05s", not a bare number of seconds.
        data = self.model_dump(mode="json", exclude=_RECORD_EXCLUDE)
        fields = {str(key): _tag_field(value) for key, value in self.fields.items()}
        # The record keeps the model's attribute order, so stored JSON reads the same as before.
        return {name: fields if name == "fields" else data[name] for name in type(self).model_fields}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Alert:
        """The alert :meth:`to_record` stored.

        >>> from datetime import timedelta
        >>> alert = Alert(title="slow", fields={"duration": timedelta(seconds=125)})
        >>> Alert.from_record(alert.to_record()).fields["duration"]
        datetime.timedelta(seconds=125)
        """
        fields = record.get("fields")
        if isinstance(fields, dict):
            record = {**record, "fields": {}}
        alert = cls.model_validate_json(json.dumps(record))
        if isinstance(fields, dict):
            alert.fields = {key: _untag_field(value) for key, value in fields.items()}
        return alert

    def to_json_dict(self) -> dict[str, Any]:
        """The alert as JSON-safe data (non-finite floats as strings, images without their bytes).

        ``tables`` are left out: they are an email rendering of what ``message`` and ``fields`` already say, and
        the webhook document (schema version 1) is a published contract.
        """
        data = self.model_dump(mode="python", exclude={"images", "tables"})
        data["severity"] = self.severity.value
        data["status"] = self.status.value
        data["timestamp"] = self.timestamp.isoformat()
        data["fields"] = json_safe(self.fields)
        data["images"] = [
            {"name": image.name, "mime_type": image.mime_type, "alt": image.alt, "bytes": len(image.data)}
            for image in self.images
        ]
        return json_safe(data)


_RECORD_EXCLUDE: frozenset[str] = frozenset({"fields"})
