"""PagerDuty Events API v2: trigger, acknowledge and resolve incidents by dedup key.

A firing alert opens (or adds to) a PagerDuty alert keyed by ``alert.dedup_key``; the resolved copy of the
same alert (``alert.resolved()``) closes it, because it carries the same key. PagerDuty renders the event as
plain text, so untrusted text goes through as-is (JSON-encoded, never markup); what matters is that every
limit holds: summary 1,024 characters, dedup key 255, and the whole body 512 KB.

The routing key is the credential (there is no auth header): it is registered as a secret, masked in ``repr``
and never written to logs or results.
"""

from __future__ import annotations

import json
import re
import socket
from typing import Any, ClassVar, Literal

from prefect_alerts.alert import Alert, Severity, json_safe
from prefect_alerts.blocks import PagerDutyEventsV2, load_block
from prefect_alerts.channels.base import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    DeliveryResult,
    HTTPChannel,
    HTTPReply,
    classify_common,
    register_secret,
    short_body,
)
from prefect_alerts.channels.text import TRUNCATION_MARKER, plain_summary, truncate

__all__ = [
    "PAGERDUTY_ACTIONS",
    "PAGERDUTY_EVENTS_URLS",
    "PAGERDUTY_MAX_BODY_BYTES",
    "PagerDutyChannel",
    "encode_event",
]

# PagerDuty's endpoints and limits (developer.pagerduty.com, Events API v2); each has a test.
PAGERDUTY_EVENTS_URLS: dict[str, str] = {
    "us": "https://events.pagerduty.com/v2/enqueue",
    "eu": "https://events.eu.pagerduty.com/v2/enqueue",
}
"""The Events API v2 endpoint per service region; ``events_url`` overrides it (a proxy, a test receiver)."""
PAGERDUTY_ACTIONS: tuple[str, ...] = ("trigger", "acknowledge", "resolve")
"""The three ``event_action`` values."""
PAGERDUTY_SUMMARY_LIMIT = 1024
"""``payload.summary``: the incident's headline."""
PAGERDUTY_DEDUP_KEY_LIMIT = 255
"""``dedup_key``."""
PAGERDUTY_MAX_BODY_BYTES = 512 * 1024
"""The request body as sent (UTF-8 JSON). We shrink ``custom_details`` to stay under it; never send more."""
PAGERDUTY_DEFAULT_RATE_LIMIT_WAIT = 30.0
"""Seconds to wait after a 429 without Retry-After: PagerDuty asks for a backoff of tens of seconds (about 120
events a minute per routing key; the rate-limited event was not ingested)."""
PAGERDUTY_TEXT_LIMIT = 255
"""Our cap for ``source``, ``component``, ``group`` and ``class``: short identifiers, not documents."""
PAGERDUTY_DETAIL_TEXT_LIMIT = 1024
"""Our cap for short texts in ``custom_details`` (error type, origin names, each tag)."""
PAGERDUTY_MESSAGE_LIMIT = 16_000
"""Cap for ``custom_details.message``: a long traceback fits; a 2 MB log does not belong in an incident."""
PAGERDUTY_MESSAGE_FLOOR = 1_000
"""When the body is too large, the message is cut first, but never below this many characters."""
PAGERDUTY_LINK_URL_LIMIT = 2048
"""A link whose URL is longer than this is left out (a cut URL is a broken link)."""
PAGERDUTY_CLIENT = "prefect-alerts"
"""The ``client`` PagerDuty shows next to the event."""

# What a non-2xx reply means: (reason, what to check). 429, 408 and 5xx are retryable (classify_common), and
# redirects are refused there too; any other 4xx is a permanent failure.
PAGERDUTY_PERMANENT_ERRORS: dict[int, tuple[str, str]] = {
    400: ("PagerDuty rejected the event", ""),
    401: ("PagerDuty refused the request as unauthorised", "check events_url (a proxy may need credentials)"),
    403: ("PagerDuty refused the event (forbidden)", "check the routing key, the region and events_url"),
    404: ("events URL not found", "check events_url/region"),
    410: ("events URL is gone", "check events_url/region"),
    413: (
        "PagerDuty says the event is too large",
        "a bug in prefect-alerts (the limit is 512 KB); please report it",
    ),
}

PAGERDUTY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "critical",
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "info",
    Severity.SUCCESS: "info",  # PagerDuty has no "success"
}
"""Our five severities onto PagerDuty's four."""

_ROUTING_KEY = re.compile(r"[A-Za-z0-9]{8,64}")
_TRUNCATED_NOTE = "custom_details truncated to fit 512 KB"
_NOTE_RESERVE = 600  # bytes kept free for the "truncated" note while shrinking


def encode_event(body: dict[str, Any]) -> bytes:
    """The exact bytes sent: compact UTF-8 JSON, no NaN/inf (``ValueError`` if one slipped through).

    >>> encode_event({"event_action": "resolve", "dedup_key": "k"})
    b'{"event_action":"resolve","dedup_key":"k"}'
    """
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _size(value: Any) -> int:
    return len(encode_event(value))


def _check_routing_key(routing_key: object) -> str:
    # Never echo the key: a near-miss is still mostly a secret.
    if not isinstance(routing_key, str) or not routing_key.strip():
        raise ValueError(
            "PagerDuty routing_key is empty: pass the service's Events API v2 integration key "
            "(32 letters and digits, PagerDuty > Service > Integrations)"
        )
    if not _ROUTING_KEY.fullmatch(routing_key):
        problem = (
            "contains whitespace"
            if any(ch.isspace() for ch in routing_key)
            else f"has {len(routing_key)} characters"
            if not 8 <= len(routing_key) <= 64
            else "contains characters other than letters and digits"
        )
        raise ValueError(
            f"PagerDuty routing_key {problem}; an Events API v2 integration key is 8-64 letters and digits "
            "(usually 32), copied without spaces or newlines"
        )
    return routing_key


def check_action(action: object) -> Literal["trigger", "acknowledge", "resolve"]:
    """``action`` if it is one of PagerDuty's three event actions, else a ValueError that lists them."""
    if action not in PAGERDUTY_ACTIONS:
        raise ValueError(
            f"PagerDuty event action must be one of 'trigger', 'acknowledge', 'resolve'; got {action!r}"
        )
    return action  # type: ignore[return-value]


def check_dedup_key(dedup_key: object) -> str:
    """``dedup_key`` if PagerDuty accepts it (non-empty, at most 255 characters), else a ValueError."""
    if not isinstance(dedup_key, str) or not dedup_key.strip():
        raise ValueError("dedup_key must be a non-empty string (e.g. the dedup_key of the trigger's result)")
    if len(dedup_key) > PAGERDUTY_DEDUP_KEY_LIMIT:
        raise ValueError(f"dedup_key is {len(dedup_key)} characters; PagerDuty accepts at most 255")
    return dedup_key


class PagerDutyChannel(HTTPChannel):
    """Triggers, acknowledges and resolves PagerDuty alerts through the Events API v2.

    A firing alert sends ``trigger`` with ``dedup_key = alert.dedup_key``; a resolved alert
    (``alert.resolved()``, same key) sends ``resolve``. Acknowledge and resolve bodies carry only
    ``routing_key``, ``event_action`` and ``dedup_key`` (PagerDuty ignores a payload on them).

    What a trigger's payload holds:

    - ``summary``: ``[ERROR] title: first line of the message`` on one line, at most 1,024 characters.
    - ``severity``: critical, error, warning as they are; info and success as ``info``.
    - ``source``: the configured ``source``, else the deployment name, else the flow name of the alert's
      origin, else this machine's hostname: stable across runs, so PagerDuty's grouping by source groups one
      pipeline's incidents (the run name, different every run, is in ``custom_details.source``).
    - ``component``: the configured one, else the task name, else the flow name.
    - ``group``: the configured one, else the deployment name, else the flow name.
    - ``class``: the configured one, else ``alert.event`` (``flow_failed``, ``check_failed``...): a small,
      stable vocabulary that PagerDuty event rules can match; the exception type is in ``custom_details``.
    - ``custom_details``: message, fields (NaN as "NaN"), tags, event, error_type, source, status. When the
      body would pass 512 KB, the message is cut first, then the largest field values, then whole fields, tags
      and links, and ``custom_details.truncated`` says what was left out.
    - ``links`` from ``alert.links``; ``client`` "prefect-alerts" with the first link as ``client_url``.

    Images are not sent: PagerDuty wants ``https`` image URLs, and an alert's images are bytes.

    Args:
        routing_key: The service's Events API v2 integration key (a secret: never logged or shown).
        events_url: Overrides the region's endpoint (a proxy, a test receiver).
        region: ``"us"`` (events.pagerduty.com) or ``"eu"`` (events.eu.pagerduty.com).
        name: How results and logs name this channel.
        source, component, group, class_: Fixed values for those payload fields (see above for the defaults).
        connect_timeout, read_timeout: Seconds.

    Example:
        ```python
        from prefect_alerts import Alert, deliver
        from prefect_alerts.channels import PagerDutyChannel

        pagerduty = PagerDutyChannel.from_block("pd-data-platform")
        alert = Alert(title="Nightly load failed", severity="critical", event="flow_failed")
        deliver(alert, pagerduty)             # opens the incident
        deliver(alert.resolved(), pagerduty)  # closes it (same dedup_key)
        ```
    """

    kind: ClassVar[str] = "pagerduty"
    describable: ClassVar[bool] = True
    url_is_secret: ClassVar[bool] = False  # the Events API URL is public; the routing key is the secret
    service: ClassVar[str] = "PagerDuty"

    def __init__(
        self,
        routing_key: str,
        *,
        events_url: str | None = None,
        region: Literal["us", "eu"] | str = "us",
        name: str | None = None,
        source: str | None = None,
        component: str | None = None,
        group: str | None = None,
        class_: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        self._routing_key = _check_routing_key(routing_key)
        register_secret(routing_key)
        region_key = str(region).strip().lower()
        if region_key not in PAGERDUTY_EVENTS_URLS:
            raise ValueError(f"PagerDuty region must be 'us' or 'eu'; got {region!r}")
        self.region = region_key
        super().__init__(
            events_url or PAGERDUTY_EVENTS_URLS[region_key],
            name=name,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self.source = source
        self.component = component
        self.group = group
        self.class_ = class_

    @property
    def events_url(self) -> str:
        """Where events are POSTed: ``events_url`` when given, else the region's endpoint."""
        return self._url

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, region={self.region!r}, "
            f"url={self.masked_url!r}, routing_key='***')"
        )

    @classmethod
    def from_block(cls, name: str, /, **kwargs: Any) -> PagerDutyChannel:
        """Build from a saved ``PagerDutyEventsV2`` block (type slug ``pagerduty-events-v2``).

        Raises:
            BlockNotFoundError: no block of that name; the message says how to create one.
        """
        block = load_block(
            name,
            [PagerDutyEventsV2],
            how_to_create=(
                "`from prefect_alerts.blocks import PagerDutyEventsV2; "
                "PagerDutyEventsV2(routing_key='<32-character integration key>', region='us').save('{name}')`"
            ),
        )
        kwargs.setdefault("name", f"pagerduty:{name}")
        return cls.from_block_instance(block, **kwargs)

    @classmethod
    def from_block_instance(cls, block: PagerDutyEventsV2, **kwargs: Any) -> PagerDutyChannel:
        """Build from a :class:`~prefect_alerts.blocks.PagerDutyEventsV2` object (saved or not)."""
        if not isinstance(block, PagerDutyEventsV2):
            raise TypeError(f"expected a PagerDutyEventsV2 block, got {type(block).__name__}")
        block_name = getattr(block, "_block_document_name", None)
        kwargs.setdefault("name", f"pagerduty:{block_name}" if block_name else None)
        return cls(
            block.routing_key.get_secret_value(),
            region=block.region,
            events_url=block.events_url,
            **kwargs,
        )

    # ------------------------------------------------------------------ body
    def build_event(
        self,
        alert: Alert,
        action: Literal["trigger", "acknowledge", "resolve"] | None = None,
        dedup_key: str | None = None,
    ) -> dict[str, Any]:
        """The Events API v2 body for ``alert``, within every PagerDuty limit (512 KB as encoded for sending).

        ``action`` defaults to ``resolve`` for a resolved alert and ``trigger`` otherwise; ``dedup_key``
        overrides ``alert.dedup_key``. The body holds the routing key: do not log it.

            >>> channel = PagerDutyChannel("R0123456789abcdefABCDEF012345678")
            >>> channel.build_event(Alert(title="Disk full").resolved(), dedup_key="disk-1")["event_action"]
            'resolve'
        """
        event_action = (
            check_action(action) if action is not None else ("resolve" if alert.is_resolved else "trigger")
        )
        key = check_dedup_key(dedup_key) if dedup_key is not None else check_dedup_key(alert.dedup_key)
        body: dict[str, Any] = {
            "routing_key": self._routing_key,
            "event_action": event_action,
            "dedup_key": key,
        }
        if event_action != "trigger":
            return body
        origin = alert.source
        payload: dict[str, Any] = {
            "summary": _summary(alert),
            "source": _short(self.source or origin.deployment_name or origin.flow_name)
            or _short(_hostname()),
            "severity": PAGERDUTY_SEVERITY[alert.severity],
            "timestamp": alert.timestamp.isoformat(),
        }
        optional = {
            "component": self.component or origin.task_name or origin.flow_name,
            "group": self.group or origin.deployment_name or origin.flow_name,
            "class": self.class_ or alert.event,
        }
        for field_name, value in optional.items():
            text = _short(value)
            if text:
                payload[field_name] = text
        payload["custom_details"] = _custom_details(alert)
        body["payload"] = payload
        links = [
            {"href": link.url, "text": link.label}
            for link in alert.links
            if len(link.url) <= PAGERDUTY_LINK_URL_LIMIT
        ]
        if links:
            body["links"] = links
        body["client"] = PAGERDUTY_CLIENT
        if links:
            body["client_url"] = links[0]["href"]
        return _fit(body, len(alert.message))

    # ------------------------------------------------------------------ sending
    def classify(self, reply: HTTPReply) -> tuple[Literal["delivered", "retry", "failed"], str, float | None]:
        """Map PagerDuty's reply to delivered / retry / failed (see ``PAGERDUTY_PERMANENT_ERRORS``)."""
        code = reply.status_code
        if 200 <= code < 300:
            return "delivered", "", None
        common = classify_common(
            reply, "PagerDuty", default_rate_limit_wait=PAGERDUTY_DEFAULT_RATE_LIMIT_WAIT
        )
        if common is not None:
            return common
        reason, advice = PAGERDUTY_PERMANENT_ERRORS.get(code, ("PagerDuty refused the event", ""))
        detail = f"{reason}: {code} {_error_text(reply)}".rstrip()
        if advice:
            detail += f"; {advice}"
            if "events_url" in advice:
                detail += f" (sending to {self.masked_url})"
        return "failed", detail, None

    def send(self, alert: Alert) -> DeliveryResult:
        """Trigger (or, for a resolved alert, resolve) the PagerDuty alert for ``alert``."""
        return self.send_event(alert)

    def send_event(
        self,
        alert: Alert,
        action: Literal["trigger", "acknowledge", "resolve"] | None = None,
        dedup_key: str | None = None,
    ) -> DeliveryResult:
        """Send one event (``action``, ``dedup_key``: see :meth:`build_event`); never raises for delivery.

        Raises:
            ValueError: ``action`` or ``dedup_key`` is invalid (a caller's mistake, not a delivery failure).
        """
        body = self.build_event(alert, action=action, dedup_key=dedup_key)
        if body["dedup_key"] != alert.dedup_key:
            alert = alert.model_copy(update={"dedup_key": body["dedup_key"]})  # the result names the key used
        data = encode_event(body)
        if len(data) > PAGERDUTY_MAX_BODY_BYTES:  # cannot happen after _fit; never send past the limit anyway
            return self._result(
                "failed", alert, f"event is {len(data):,} bytes; PagerDuty accepts at most 512 KB"
            )
        return self.deliver_json(alert, None, self.classify, data=data)


def _short(value: str | None, limit: int = PAGERDUTY_TEXT_LIMIT) -> str | None:
    """One line, at most ``limit`` characters, or None when nothing is left."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return truncate(text, limit, "…") or None


def _hostname() -> str:
    try:
        return socket.gethostname() or PAGERDUTY_CLIENT
    except OSError:
        return PAGERDUTY_CLIENT


def _summary(alert: Alert) -> str:
    # plain_summary's one-line form, cut with our visible marker rather than a lone ellipsis.
    text = plain_summary(alert, limit=len(alert.title) + len(alert.message) + 64)
    return truncate(text, PAGERDUTY_SUMMARY_LIMIT, TRUNCATION_MARKER)


def _custom_details(alert: Alert) -> dict[str, Any]:
    details: dict[str, Any] = {
        "message": truncate(alert.message, PAGERDUTY_MESSAGE_LIMIT, TRUNCATION_MARKER),
        "fields": json_safe(alert.fields),
        "tags": [truncate(tag, PAGERDUTY_DETAIL_TEXT_LIMIT, TRUNCATION_MARKER) for tag in alert.tags],
        "event": alert.event,
        "error_type": None
        if alert.error_type is None
        else truncate(alert.error_type, PAGERDUTY_DETAIL_TEXT_LIMIT, TRUNCATION_MARKER),
        "source": {
            key: truncate(value, PAGERDUTY_DETAIL_TEXT_LIMIT, TRUNCATION_MARKER)
            for key, value in alert.source.model_dump().items()
            if value is not None
        },
        "status": alert.status.value,
    }
    return details


def _error_text(reply: HTTPReply) -> str:
    """PagerDuty's ``message`` and ``errors`` from a JSON error body, else the start of the body."""
    data = reply.json_body()
    if isinstance(data, dict) and ("message" in data or "errors" in data):
        parts = [str(data["message"])] if data.get("message") else []
        errors = data.get("errors")
        if isinstance(errors, list):
            parts.extend(str(error) for error in errors)
        elif errors:
            parts.append(str(errors))
        return short_body(": ".join(parts), 300)
    return short_body(reply.body)


def _fit(body: dict[str, Any], message_length: int) -> dict[str, Any]:
    """Shrink ``custom_details`` (then links) until the encoded body is at most 512 KB.

    Order: the message (down to ``PAGERDUTY_MESSAGE_FLOOR`` characters), the largest field values (replaced by
    a note of their size), whole fields (largest first), tags, then links from the end. Sizes are counted
    exactly on the compact encoding, so the 10,000-field case is linear, not a re-encode per field.
    """
    over = _size(body) - PAGERDUTY_MAX_BODY_BYTES
    if over <= 0:
        return body
    over += _NOTE_RESERVE
    details: dict[str, Any] = body["payload"]["custom_details"]
    notes: list[str] = []

    message: str = details["message"]
    if message and len(message) > PAGERDUTY_MESSAGE_FLOOR:
        cut = _cut_to_save(message, over)
        saved = _size(message) - _size(cut)
        details["message"], over = cut, over - saved
        notes.append(f"message cut to {len(cut):,} of {message_length:,} characters")

    fields: dict[str, Any] = details["fields"]
    total_fields = len(fields)
    if over > 0 and fields:
        replaced = 0
        for value_size, key in sorted(((_size(value), key) for key, value in fields.items()), reverse=True):
            if over <= 0:
                break
            marker = f"[{value_size:,} bytes left out to fit 512 KB]"
            saving = value_size - _size(marker)
            if saving <= 0:
                break  # sorted largest first: nothing further is bigger than its marker
            fields[key], over, replaced = marker, over - saving, replaced + 1
        if replaced:
            notes.append(f"{replaced:,} of {total_fields:,} field values replaced by their size")
    if over > 0 and fields:
        dropped = 0
        # key + ':' + value, and the comma that separated it from a neighbour (none for the last one left).
        entries = sorted(
            ((_size(key) + 1 + _size(value), key) for key, value in fields.items()), reverse=True
        )
        for entry_size, key in entries:
            if over <= 0:
                break
            del fields[key]
            over, dropped = over - entry_size - (1 if fields else 0), dropped + 1
        notes.append(f"{dropped:,} of {total_fields:,} fields left out")

    tags: list[str] = details["tags"]
    if over > 0 and tags:
        total_tags = len(tags)
        while over > 0 and tags:
            over -= _size(tags.pop()) + (1 if tags else 0)
        notes.append(f"{total_tags - len(tags):,} of {total_tags:,} tags left out")

    links: list[dict[str, str]] = body.get("links", [])
    if over > 0 and links:
        total_links = len(links)
        while over > 0 and links:
            over -= _size(links.pop()) + (1 if links else 0)
        if not links:
            body.pop("links")
        notes.append(f"{total_links - len(links):,} of {total_links:,} links left out")

    details["truncated"] = truncate(f"{_TRUNCATED_NOTE}: " + "; ".join(notes), 500, "…")
    if _size(body) > PAGERDUTY_MAX_BODY_BYTES:
        # Only reachable if the accounting above is wrong: keep the essentials and say so.
        body["payload"]["custom_details"] = {
            "message": truncate(message, PAGERDUTY_MESSAGE_FLOOR, TRUNCATION_MARKER),
            "truncated": f"{_TRUNCATED_NOTE}: only the start of the message was kept",
        }
        body.pop("links", None)
    return body


def _cut_to_save(text: str, over: int) -> str:
    """The longest cut of ``text`` (marker included, not below the floor) encoding ``over`` bytes smaller."""
    target = _size(text) - over
    low, high = PAGERDUTY_MESSAGE_FLOOR, len(text) - 1
    best = truncate(text, low, TRUNCATION_MARKER)
    while low <= high:
        middle = (low + high) // 2
        candidate = truncate(text, middle, TRUNCATION_MARKER)
        if _size(candidate) <= target:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best
