"""A generic JSON webhook: each alert POSTed as a documented, versioned JSON document, optionally signed.

The body is ``{"schema": "prefect-alerts/alert", "version": 1, "alert": {...}}`` (every field is described in
docs/webhook-schema.md and checked by :data:`WEBHOOK_SCHEMA`), at most :data:`WEBHOOK_BODY_LIMIT` bytes (64 KiB,
configurable): a larger alert is cut to fit and says so (``channels/webhook_fit.py``). A receiver can
authenticate requests by a secret header (``Authorization: Bearer ...``) and/or an HMAC-SHA256 signature of the
timestamp and the raw body, which also stops replays. Use it to feed Opsgenie/Teams bridges, ticketing systems
or in-house services.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from prefect_alerts.alert import Alert, Source
from prefect_alerts.blocks import load_block
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
from prefect_alerts.channels.webhook_fit import (
    WEBHOOK_BODY_LIMIT,
    WEBHOOK_MIN_BODY_LIMIT,
    WEBHOOK_NAME_LIMIT,
    WebhookTruncation,
    check_body_limit,
    encode_body,
    fit_body,
)

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WEBHOOK_BODY_LIMIT",
    "WEBHOOK_MIN_BODY_LIMIT",
    "WEBHOOK_NAME_LIMIT",
    "WEBHOOK_SCHEMA",
    "WEBHOOK_SCHEMA_NAME",
    "WEBHOOK_SCHEMA_VERSION",
    "WebhookChannel",
    "WebhookTruncation",
    "build_body",
    "encode_body",
    "fit_body",
    "sign",
    "verify_signature",
]

WEBHOOK_SCHEMA_NAME = "prefect-alerts/alert"
"""The body's ``schema`` value: what kind of document this is."""
WEBHOOK_SCHEMA_VERSION = 1
"""The body's ``version``. Additive changes (new optional fields) keep it; a breaking change increments it."""
SIGNATURE_HEADER = "X-Prefect-Alerts-Signature"
"""``sha256=<hex HMAC-SHA256 of "{timestamp}.{raw body}" keyed with the signing secret>``."""
TIMESTAMP_HEADER = "X-Prefect-Alerts-Timestamp"
"""Unix seconds when the request was signed; part of the signed content, so old requests cannot be replayed."""
SIGNATURE_TOLERANCE_SECONDS = 300
"""How old a signed request :func:`verify_signature` accepts by default (clock skew plus network delay)."""
WEBHOOK_DEFAULT_RATE_LIMIT_WAIT = 10.0
"""Seconds to wait after a 429 that carried no Retry-After (we know nothing of the receiver's limits)."""

WEBHOOK_PERMANENT_ERRORS: dict[int, str] = {
    400: "Webhook receiver rejected the alert body",
    401: "Webhook receiver refused our credentials (check secret_header_name and secret_header_value)",
    403: "Webhook receiver forbade the request (check the secret header and the signing secret)",
    404: "No webhook receiver at this URL (check the URL in the block)",
    405: "Webhook URL does not accept POST (check the URL in the block)",
    410: "Webhook receiver says this webhook is gone (update the URL in the block)",
    413: "Webhook receiver says the alert body is too large",
    415: "Webhook receiver does not accept JSON",
    422: "Webhook receiver could not process the alert body (does it expect another schema version?)",
}
"""What a 4xx means; any other 4xx fails as "Webhook receiver refused the alert". 429, 408 and 5xx are
retryable; 3xx fails (a moved webhook must be re-configured)."""

_JSON_VALUE: dict[str, Any] = {"description": "Any JSON value (NaN and infinities arrive as strings)."}
_NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}
_SOURCE_KEYS: tuple[str, ...] = tuple(Source.model_fields)

WEBHOOK_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://github.com/prefect-alerts/prefect-alerts/blob/main/docs/webhook-schema.md#version-1",
    "title": "prefect-alerts webhook body, version 1",
    "type": "object",
    "required": ["schema", "version", "alert"],
    "properties": {
        "schema": {"const": WEBHOOK_SCHEMA_NAME},
        "version": {"const": WEBHOOK_SCHEMA_VERSION},
        "alert": {
            "type": "object",
            "required": [
                "title",
                "message",
                "severity",
                "event",
                "status",
                "fields",
                "tags",
                "links",
                "source",
                "error_type",
                "timestamp",
                "dedup_key",
                "images",
            ],
            "properties": {
                "title": {"type": "string", "minLength": 1},
                "message": {"type": "string"},
                "severity": {"enum": ["info", "success", "warning", "error", "critical"]},
                "event": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
                "status": {"enum": ["firing", "resolved"]},
                "fields": {"type": "object", "additionalProperties": _JSON_VALUE},
                "tags": {"type": "array", "items": {"type": "string"}},
                "links": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["label", "url"],
                        "properties": {
                            "label": {"type": "string", "minLength": 1, "maxLength": 200},
                            "url": {"type": "string", "pattern": "^https?://"},
                        },
                    },
                },
                "source": {
                    "type": "object",
                    "required": list(_SOURCE_KEYS),
                    "properties": {key: _NULLABLE_STRING for key in _SOURCE_KEYS},
                },
                "error_type": _NULLABLE_STRING,
                "timestamp": {"type": "string", "format": "date-time"},
                "dedup_key": {"type": "string", "minLength": 1, "maxLength": 255},
                "images": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "mime_type", "alt", "bytes"],
                        "properties": {
                            "name": {"type": "string"},
                            "mime_type": {"type": "string", "pattern": "^image/"},
                            "alt": {"type": "string"},
                            "bytes": {"type": "integer", "minimum": 0},
                        },
                    },
                },
            },
        },
        "truncated": {"const": True},
        "truncation": {
            "type": "object",
            "required": ["limit_bytes", "original_bytes", "cut", "cut_count", "removed"],
            "properties": {
                "limit_bytes": {"type": "integer", "minimum": WEBHOOK_MIN_BODY_LIMIT},
                "original_bytes": {"type": "integer", "minimum": 0},
                "cut": {"type": "array", "items": {"type": "string", "pattern": "^/alert/"}},
                "cut_count": {"type": "integer", "minimum": 0},
                "removed": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}},
            },
        },
    },
    "dependentRequired": {"truncated": ["truncation"], "truncation": ["truncated"]},
}
"""JSON Schema (draft 2020-12) of the body. Extra properties are allowed everywhere: a receiver must ignore
fields it does not know, which is what lets us add fields without a new version."""

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_RESERVED_HEADERS = {
    SIGNATURE_HEADER.lower(),
    TIMESTAMP_HEADER.lower(),
    "content-type",
    "content-length",
    "host",
}


def build_body(alert: Alert) -> dict[str, Any]:
    """The webhook body for ``alert``: schema name, version, and the alert as JSON-safe data.

    >>> body = build_body(Alert(title="Load failed", fields={"rate": float("nan")}))
    >>> body["schema"], body["version"], body["alert"]["fields"]
    ('prefect-alerts/alert', 1, {'rate': 'NaN'})
    """
    return {"schema": WEBHOOK_SCHEMA_NAME, "version": WEBHOOK_SCHEMA_VERSION, "alert": alert.to_json_dict()}


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC-SHA256 of ``b"{timestamp}." + body``.

    >>> sign("s3cret-key", 1700000000, b'{"a":1}')[:15]
    'sha256=8f205229'
    """
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    tolerance: float = SIGNATURE_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """For receivers: True when ``signature`` is ours for this raw ``body`` and ``timestamp`` is recent.

    Pass the raw request bytes (not re-serialised JSON) and the two header values.

        >>> body, stamp = b'{"a":1}', "1700000000"
        >>> verify_signature("s3cret-key", body, stamp, sign("s3cret-key", stamp, body), now=1700000010)
        True
        >>> verify_signature("s3cret-key", body, stamp, sign("s3cret-key", stamp, body), now=1700009999)
        False
    """
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature.strip())


class WebhookChannel(HTTPChannel):
    """POSTs each alert as JSON (schema ``prefect-alerts/alert``, version 1) to any HTTP receiver.

    Args:
        url: The receiver's URL (treated as a secret: it often carries a token).
        secret_header_name: The header that carries ``secret_header_value``.
        secret_header_value: Sent in that header on every request, e.g. ``"Bearer abc123"``; None sends none.
        signing_secret: When set, every request carries ``X-Prefect-Alerts-Timestamp`` and
            ``X-Prefect-Alerts-Signature`` (HMAC-SHA256 of ``"{timestamp}.{body}"``); see
            docs/webhook-schema.md.
        headers: Extra, non-secret headers (their values are not masked: secrets go in
            ``secret_header_value``).
        name: How results and logs name this channel.
        connect_timeout, read_timeout: Seconds.
        body_limit: The largest body in bytes (default :data:`WEBHOOK_BODY_LIMIT`, 64 KiB; at least
            :data:`WEBHOOK_MIN_BODY_LIMIT`). A larger alert is cut to fit, with ``"truncated": true``.

    Example:
        ```python
        from prefect_alerts import Alert, deliver
        from prefect_alerts.channels import WebhookChannel

        hook = WebhookChannel("https://alerts.example/ingest", secret_header_value="Bearer abc123",
                              signing_secret="a-long-random-string")
        deliver(Alert(title="Nightly load failed", severity="error"), hook)
        ```
    """

    kind: ClassVar[str] = "webhook"
    describable: ClassVar[bool] = True
    service: ClassVar[str] = "the webhook receiver"

    def __init__(
        self,
        url: str,
        *,
        secret_header_name: str = "Authorization",
        secret_header_value: str | None = None,
        signing_secret: str | None = None,
        headers: Mapping[str, str] | None = None,
        name: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        body_limit: int = WEBHOOK_BODY_LIMIT,
    ) -> None:
        # Secrets first: nothing below may echo them, but registering early masks them in any later error.
        register_secret(secret_header_value, signing_secret)
        if secret_header_value and " " in secret_header_value.strip():
            register_secret(secret_header_value.strip().split(" ", 1)[1])  # the credential after "Bearer "
        all_headers: dict[str, str] = {}
        for header, value in (headers or {}).items():
            _check_header(header, value, secret=False)
            all_headers[header] = value
        if secret_header_value is not None:
            _check_header(secret_header_name, secret_header_value, secret=True)
            all_headers[secret_header_name] = secret_header_value
        if signing_secret is not None and not signing_secret:
            raise ValueError("signing_secret must not be empty (leave it None to send unsigned requests)")
        super().__init__(
            url, name=name, connect_timeout=connect_timeout, read_timeout=read_timeout, headers=all_headers
        )
        self.secret_header_name = secret_header_name if secret_header_value is not None else None
        self.body_limit = check_body_limit(body_limit)
        self._signing_secret = signing_secret

    @property
    def signed(self) -> bool:
        """True when requests carry an HMAC signature."""
        return self._signing_secret is not None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, url={self.masked_url!r}, "
            f"secret_header={self.secret_header_name!r}, signed={self.signed})"
        )

    @classmethod
    def from_block(cls, block_name: str, /, **kwargs: Any) -> WebhookChannel:
        """Build from a saved :class:`~prefect_alerts.blocks.AlertWebhook` block (slug ``alert-webhook``).

        Keyword arguments go to the constructor (``headers``, ``name``, timeouts, ``body_limit``) and win over
        the block.
        """
        from prefect_alerts.blocks import AlertWebhook

        block = load_block(
            block_name,
            [AlertWebhook],
            how_to_create=(
                "`from prefect_alerts.blocks import AlertWebhook; AlertWebhook(url='https://alerts.example/in', "
                "secret_header_value='Bearer ...', signing_secret='...').save('{name}')`"
            ),
        )
        kwargs.setdefault("name", f"webhook:{block_name}")
        kwargs.setdefault("secret_header_name", block.secret_header_name)
        if block.secret_header_value is not None:
            kwargs.setdefault("secret_header_value", block.secret_header_value.get_secret_value())
        if block.signing_secret is not None:
            kwargs.setdefault("signing_secret", block.signing_secret.get_secret_value())
        if block.body_limit is not None and "body_limit" not in kwargs:
            try:
                kwargs["body_limit"] = check_body_limit(block.body_limit)
            except ValueError as exc:  # name the block, so the user knows which one to fix
                raise ValueError(f"alert-webhook block {block_name!r}: {exc}") from None
        return cls(block.url.get_secret_value(), **kwargs)

    # ------------------------------------------------------------------ payload
    def build_payload(self, alert: Alert) -> dict[str, Any]:
        """The JSON body for ``alert``, fitted to :attr:`body_limit` (see :func:`build_body`, :func:`fit_body`)."""
        return fit_body(build_body(alert), self.body_limit)[0]

    def signature_headers(self, data: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The timestamp and signature headers for ``data``; empty when no signing secret is set."""
        if self._signing_secret is None:
            return {}
        stamp = int(time.time()) if timestamp is None else timestamp
        return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(self._signing_secret, stamp, data)}

    # ------------------------------------------------------------------ sending
    def classify(self, reply: HTTPReply) -> tuple[Literal["delivered", "retry", "failed"], str, float | None]:
        """Any 2xx is delivered; 429, 408 and 5xx retry (Retry-After honoured); 3xx and 4xx fail."""
        if 200 <= reply.status_code < 300:
            return "delivered", "", None
        common = classify_common(
            reply, "Webhook receiver", default_rate_limit_wait=WEBHOOK_DEFAULT_RATE_LIMIT_WAIT
        )
        if common is not None:
            return common
        reason = WEBHOOK_PERMANENT_ERRORS.get(reply.status_code, "Webhook receiver refused the alert")
        return "failed", f"{reason}: HTTP {reply.status_code} {short_body(reply.body)}".rstrip(), None

    def send(self, alert: Alert) -> DeliveryResult:
        body, data = fit_body(build_body(alert), self.body_limit)
        return self.deliver_json(alert, body, self.classify, headers=self.signature_headers(data), data=data)


def _check_header(name: str, value: str, *, secret: bool) -> None:
    if not isinstance(name, str) or not _HEADER_NAME.match(name):
        raise ValueError(f"not a valid HTTP header name: {str(name)[:60]!r}")
    if name.lower() in _RESERVED_HEADERS:
        raise ValueError(f"header {name!r} is set by prefect-alerts and cannot be configured")
    if not isinstance(value, str) or any(ch in value for ch in "\r\n\x00"):
        shown = "the secret value" if secret else repr(str(value)[:60])
        raise ValueError(f"header {name!r}: {shown} must be one line of text")
