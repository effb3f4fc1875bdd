"""What every channel shares: the :class:`Channel` interface, :class:`DeliveryResult`, and the HTTP plumbing.

A channel turns an :class:`~prefect_alerts.alert.Alert` into one service's message and sends it once. It never
raises for a delivery failure and never sleeps to retry: it says what happened in a ``DeliveryResult``
(delivered, retry after N seconds, or failed for good with the reason) and leaves retrying to the caller.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, ClassVar, Literal

import urllib3
from pydantic import BaseModel, ConfigDict, Field
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationValueError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import HTTPError as URLLib3Error

from prefect_alerts.alert import Alert
from prefect_alerts.channels.transport import Target, target_for

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_READ_TIMEOUT",
    "Channel",
    "DeliveryResult",
    "HTTPChannel",
    "HTTPReply",
    "get_logger",
    "parse_retry_after",
    "redact",
    "register_secret",
    "run_logger",
]

DEFAULT_CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a TCP/TLS connection before giving up (the attempt is then retryable)."""
DEFAULT_READ_TIMEOUT = 10.0
"""Seconds to wait for the service's reply once connected."""
MAX_RETRY_AFTER = 3600.0
"""A Retry-After longer than an hour is clamped: the dispatcher re-checks rather than sleeping for days."""


class DeliveryResult(BaseModel):
    """What happened when one channel tried to deliver one alert.

    ``status`` is ``"delivered"``, ``"retry"`` (try again after ``retry_after`` seconds, or a backoff of the
    caller's choosing when None) or ``"failed"`` (permanent: retrying the same message cannot help).
    """

    model_config = ConfigDict(frozen=True)

    status: Literal["delivered", "retry", "failed"]
    channel: str
    detail: str = ""
    retry_after: float | None = None
    status_code: int | None = Field(default=None, description="The service's HTTP or SMTP reply code.")
    dedup_key: str | None = None
    attempted_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    elapsed_seconds: float | None = None

    @property
    def ok(self) -> bool:
        """True when the service accepted the message."""
        return self.status == "delivered"

    def __str__(self) -> str:
        wait = f" (retry after {self.retry_after:g}s)" if self.retry_after is not None else ""
        return f"{self.channel}: {self.status}{wait}" + (f": {self.detail}" if self.detail else "")


# ---------------------------------------------------------------------------------------------------------
# Secrets: webhook URLs, routing keys and passwords never reach logs, reprs or results.
# ---------------------------------------------------------------------------------------------------------
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_MIN_SECRET_LENGTH = 6


def register_secret(*values: str | None) -> None:
    """Remember values that must never be printed; :func:`redact` and our log filter mask them.

    Channels register their URL (and its path, which urllib3 logs on its own) and tokens when built.
    """
    with _SECRETS_LOCK:
        for value in values:
            if value and len(value) >= _MIN_SECRET_LENGTH:
                _SECRETS.add(value)


def redact(text: str) -> str:
    """Replace every registered secret in ``text`` with ``***``.

    >>> register_secret("hunter2-secret")
    >>> redact("password hunter2-secret rejected")
    'password *** rejected'
    """
    if not text:
        return text
    with _SECRETS_LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


class _RedactingFilter(logging.Filter):
    """Masks registered secrets in records of loggers we do not own (urllib3 logs request paths)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_REDACTING_FILTER = _RedactingFilter()


def get_logger(name: str) -> logging.Logger:
    """A logger whose records have registered secrets masked (a filter only sees its own logger's records)."""
    named = logging.getLogger(name)
    if _REDACTING_FILTER not in named.filters:
        named.addFilter(_REDACTING_FILTER)
    return named


for _name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", "urllib3.response"):
    logging.getLogger(_name).addFilter(_REDACTING_FILTER)
logger = get_logger("prefect_alerts.channels")


def run_logger(fallback_name: str) -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The run's logger inside a flow or task (its lines show in the Prefect UI), ours otherwise."""
    try:
        from prefect.context import get_run_context
        from prefect.logging import get_run_logger

        get_run_context()
        return get_run_logger()
    except Exception:
        return get_logger(fallback_name)


def secret_url_parts(url: str) -> list[str]:
    """The URL and its path+query: urllib3 logs the latter on its own at DEBUG level."""
    parts = [url]
    scheme_split = url.split("://", 1)
    if len(scheme_split) == 2 and "/" in scheme_split[1]:
        path = "/" + scheme_split[1].split("/", 1)[1]
        if len(path) > 1:
            parts.append(path)
    return parts


def mask_url(url: str) -> str:
    """``https://hooks.slack.com/***``: enough to tell destinations apart, nothing that grants access."""
    scheme_split = url.split("://", 1)
    if len(scheme_split) != 2:
        return "***"
    host = scheme_split[1].split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme_split[0]}://{host}/***"


# ---------------------------------------------------------------------------------------------------------
# The channel interface
# ---------------------------------------------------------------------------------------------------------
class Channel(ABC):
    """The base of every channel: subclass it, set ``kind`` and implement :meth:`send`.

    A channel must not raise for a delivery failure and must not sleep to retry: return a
    :class:`DeliveryResult` saying ``delivered``, ``retry`` (with ``retry_after`` when the service said how
    long) or ``failed`` with a reason a person can act on. ``asend`` runs ``send`` in a worker thread unless a
    subclass has a native async path.

    Example (an SMS gateway in a few lines):
        ```python
        import requests
        from prefect_alerts.channels import Channel, DeliveryResult

        class SmsChannel(Channel):
            kind = "sms"

            def __init__(self, number: str, name: str | None = None):
                super().__init__(name=name)
                self.number = number

            def send(self, alert):
                reply = requests.post("https://sms.example/send", json={"to": self.number, "text": alert.title}, timeout=(5, 10))
                if reply.ok:
                    return DeliveryResult(status="delivered", channel=self.name)
                return DeliveryResult(status="retry" if reply.status_code >= 500 else "failed",
                                      channel=self.name, detail=f"HTTP {reply.status_code}")
        ```
    """

    kind: ClassVar[str] = "channel"
    describable: ClassVar[bool] = False
    """True for channels whose constructor arguments are enough to rebuild them in another process (the
    built-in ones). A custom channel may set it, or override :meth:`describe`; otherwise the durable outbox
    can redeliver it only in the process that created it."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Channel:
        # Remember how the channel was built, so describe() can say how to build it again.
        instance = super().__new__(cls)
        instance._init_call = (args, kwargs)
        return instance

    def describe(self) -> dict[str, Any] | None:
        """``{"kind", "args", "kwargs"}`` to rebuild this channel in another process (secrets included: the
        outbox keeps it in the owner-only store), or None when it cannot be rebuilt from data.

        :func:`prefect_alerts.channels.registry.channel_from_description` rebuilds it.
        """
        if not type(self).describable:
            return None
        args, kwargs = getattr(self, "_init_call", ((), {}))
        try:
            return {
                "kind": self.kind,
                "args": [encode_setting(value) for value in args],
                "kwargs": {key: encode_setting(value) for key, value in kwargs.items()},
            }
        except TypeError:  # an argument that is not data (an open file, an SSL context)
            return None

    def __init__(self, name: str | None = None) -> None:
        self.name = name or self.kind

    @abstractmethod
    def send(self, alert: Alert) -> DeliveryResult:
        """Deliver ``alert`` once and say what happened. Never raises for a delivery failure."""

    async def asend(self, alert: Alert) -> DeliveryResult:
        """Async form of :meth:`send`; by default runs ``send`` in a worker thread."""
        return await asyncio.to_thread(self.send, alert)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    # Helpers so subclasses build results in one line.
    def _result(
        self,
        status: Literal["delivered", "retry", "failed"],
        alert: Alert,
        detail: str = "",
        *,
        retry_after: float | None = None,
        status_code: int | None = None,
        started: float | None = None,
    ) -> DeliveryResult:
        return DeliveryResult(
            status=status,
            channel=self.name,
            detail=redact(detail),
            retry_after=retry_after,
            status_code=status_code,
            dedup_key=alert.dedup_key,
            elapsed_seconds=None if started is None else round(time.perf_counter() - started, 6),
        )


_REBUILDABLE_MODELS = {"prefect_email.credentials:EmailServerCredentials"}
"""Models a description may carry (by import path); nothing else is ever imported from stored data."""


def encode_setting(value: Any) -> Any:
    """A constructor argument as JSON data; TypeError for one that is not data."""
    from enum import Enum

    from pydantic import BaseModel, SecretStr

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, SecretStr):
        return {"__secret__": value.get_secret_value()}
    if isinstance(value, (list, tuple)):
        return [encode_setting(item) for item in value]
    if isinstance(value, Mapping):
        return {"__mapping__": {str(key): encode_setting(item) for key, item in value.items()}}
    if isinstance(value, BaseModel):
        path = f"{type(value).__module__}:{type(value).__qualname__}"
        if path in _REBUILDABLE_MODELS:
            fields = {name: encode_setting(getattr(value, name)) for name in type(value).model_fields}
            return {"__model__": path, "fields": fields}
    raise TypeError(f"cannot describe a {type(value).__name__} setting")


def decode_setting(value: Any) -> Any:
    """The inverse of :func:`encode_setting`."""
    if isinstance(value, list):
        return [decode_setting(item) for item in value]
    if isinstance(value, dict):
        if "__secret__" in value:
            return value["__secret__"]
        if "__mapping__" in value:
            return {key: decode_setting(item) for key, item in value["__mapping__"].items()}
        if "__model__" in value:
            path = value["__model__"]
            if path not in _REBUILDABLE_MODELS:
                raise ValueError(f"a channel description names {path!r}, which is not rebuilt from data")
            import importlib

            module, _, name = path.partition(":")
            model = getattr(importlib.import_module(module), name)
            return model(**{key: decode_setting(item) for key, item in value["fields"].items()})
    return value


# ---------------------------------------------------------------------------------------------------------
# HTTP plumbing shared by Slack, PagerDuty, Discord and the generic webhook
# ---------------------------------------------------------------------------------------------------------
def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None.

    >>> parse_retry_after("30")
    30.0
    >>> parse_retry_after("garbage") is None
    True
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class HTTPReply(BaseModel):
    """The parts of an HTTP response a channel classifies: status, headers (lower-cased keys) and body."""

    status_code: int
    headers: dict[str, str]
    body: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json_body(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def short_body(body: str, limit: int = 200) -> str:
    """The start of a response body for an error message, on one line."""
    text = " ".join(body.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
"""Built once: ``json.dumps`` with options builds a new encoder per call (half of its time on small bodies)."""


class HTTPChannel(Channel):
    """A channel that POSTs JSON to one URL. Subclasses build the body and classify the reply.

    Requests go through urllib3 connection pools shared by the process (``channels/transport.py``: keep-alive,
    thread-safe, TLS verified against the system store and ``SSL_CERT_FILE``, proxies from the environment;
    a direct request speaks http.client over the pooled connection, which costs less per call than urlopen);
    every request has a connect and a read timeout, follows no redirect and is never retried by urllib3.
    Network errors are classified here: timeouts and refused connections are retryable, TLS and URL errors
    are not.
    """

    service: ClassVar[str] = "HTTP endpoint"
    url_is_secret: ClassVar[bool] = True
    """Webhook URLs carry their token; a channel whose URL is public (PagerDuty's) sets this False."""

    def __init__(
        self,
        url: str,
        *,
        name: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(name=name)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"{type(self).__name__} needs an http(s) URL; got {mask_url(str(url))!r}")
        self._url = url
        if self.url_is_secret:
            register_secret(*secret_url_parts(url))
            try:  # urllib3 logs the URL as it normalised it (percent-encoding), which may differ from ours
                normalised = urllib3.util.parse_url(url)
                register_secret(normalised.url, normalised.request_uri)
            except ValueError:
                pass  # an unparsable URL fails on send as "invalid", without being logged
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._headers = dict(headers or {})
        self._target: tuple[Target, dict[str, str]] | None = None
        self._timeouts: tuple[tuple[float, float], urllib3.Timeout] | None = None

    @property
    def masked_url(self) -> str:
        return mask_url(self._url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, url={self.masked_url!r})"

    def request_target(self) -> tuple[str, dict[str, str]]:
        """The URL and headers every request to this channel carries, secrets included: for handing the
        request to another sender (the Prefect automation that watches the aggregator). Never log them."""
        return self._url, {"Content-Type": "application/json; charset=utf-8", **self._headers}

    def _transport(self) -> tuple[Target, dict[str, str]]:
        # Built on the first send, not in __init__, so proxy and CA variables set after construction apply.
        # Two threads racing here build equal targets over the same shared manager: harmless.
        if self._target is None:
            target = target_for(self._url)
            headers = {
                **target.headers,
                "Content-Type": "application/json; charset=utf-8",
                **self._headers,
            }
            self._target = (target, headers)
        return self._target

    def _timeout(self) -> urllib3.Timeout:
        # Reused while the timeouts are unchanged (they are public attributes a caller may set).
        key = (self.connect_timeout, self.read_timeout)
        cached = self._timeouts
        if cached is None or cached[0] != key:
            cached = self._timeouts = (key, urllib3.Timeout(connect=key[0], read=key[1]))
        return cached[1]

    def post_json(
        self, body: Any, *, headers: Mapping[str, str] | None = None, data: bytes | None = None
    ) -> HTTPReply | str:
        """POST ``body`` as JSON; the reply, or a string naming the network error (already redacted)."""
        if data is None:
            # "replace": a lone surrogate in a field value must not make send() raise.
            data = _JSON_ENCODER.encode(body).encode("utf-8", "replace")
        try:
            target, base_headers = self._transport()
            all_headers = {**base_headers, **headers} if headers else base_headers  # never mutated
            raw = target.post(data, all_headers, self._timeout())
        except Exception as exc:  # every failure becomes a reason; send() never raises for the network
            return self._network_error(exc)
        # Built unvalidated: the transport's types are already right (an int, a str-to-str dict, a str).
        return HTTPReply.model_construct(
            status_code=raw.status,
            headers=raw.headers,
            body=_decode(raw.data[:16000], raw.headers.get("content-type")),
        )

    def _network_error(self, exc: BaseException) -> str:
        # NewConnectionError subclasses ConnectTimeoutError (urllib3 1.26 and 2.x): test it first.
        if isinstance(exc, NewConnectionError):
            return f"network: {_connection_failure(exc)} ({self.masked_url})"
        if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError)):
            kind = "connect" if isinstance(exc, ConnectTimeoutError) else "read"
            timeout = self.connect_timeout if kind == "connect" else self.read_timeout
            return f"timeout: no {kind} reply from {self.service} within {timeout:g}s"
        if isinstance(exc, SSLError):
            return (
                "tls: certificate verification or TLS handshake failed (a private CA? point SSL_CERT_FILE "
                "at its PEM file)"
            )
        if isinstance(exc, ProxyError):
            return f"network: the proxy from the environment failed: {_connection_failure(exc)}"
        if isinstance(exc, (LocationValueError, ValueError)):
            return f"invalid: the URL cannot be used ({type(exc).__name__})"
        if isinstance(exc, (ProtocolError, OSError)):
            return f"network: connection error ({self.masked_url})"
        if isinstance(exc, URLLib3Error):
            return f"network: {type(exc).__name__}"
        return f"network: unexpected {type(exc).__name__}"

    def network_error_result(self, alert: Alert, error: str, started: float) -> DeliveryResult:
        """Classify an error string from :meth:`post_json`: TLS and URL problems are permanent."""
        permanent = error.startswith(("tls:", "invalid:"))
        return self._result("failed" if permanent else "retry", alert, error, started=started)

    def deliver_json(
        self,
        alert: Alert,
        body: Any,
        classify: Callable[[HTTPReply], tuple[Literal["delivered", "retry", "failed"], str, float | None]],
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
    ) -> DeliveryResult:
        """POST and classify in one step: the body of most ``send`` implementations."""
        started = time.perf_counter()
        reply = self.post_json(body, headers=headers, data=data)
        if isinstance(reply, str):
            return self.network_error_result(alert, reply, started)
        status, detail, retry_after = classify(reply)
        return self._result(
            status, alert, detail, retry_after=retry_after, status_code=reply.status_code, started=started
        )


def _connection_failure(exc: BaseException) -> str:
    """What the OS said, from the exception chain: refused, name not resolved, or a generic error."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or "refused" in str(current).lower():
            return "connection refused"
        if isinstance(current, socket.gaierror):
            return "host name not resolved (check the URL's host, or DNS)"
        current = current.__cause__ or current.__context__
    return "connection error"


def _decode(raw: bytes, content_type: str | None, limit: int = 4000) -> str:
    """The start of a reply body as text: its declared charset, else UTF-8; undecodable bytes replaced."""
    charset = "utf-8"
    if content_type and "charset=" in content_type.lower():
        for part in content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip("\"' ")
    try:
        return raw.decode(charset, "replace")[:limit]
    except LookupError:  # an unknown charset name
        return raw.decode("utf-8", "replace")[:limit]


def classify_common(
    reply: HTTPReply,
    service: str,
    *,
    default_rate_limit_wait: float,
) -> tuple[Literal["delivered", "retry", "failed"], str, float | None] | None:
    """The parts of HTTP classification every service shares, or None to let the channel decide.

    429 and 5xx are retryable (Retry-After honoured; a 429 without one waits ``default_rate_limit_wait``);
    408 (request timeout) is retryable; redirects are refused (a moved webhook must be re-configured).
    """
    code = reply.status_code
    retry_after = parse_retry_after(reply.header("retry-after"))
    if code == 429:
        wait = retry_after if retry_after is not None else default_rate_limit_wait
        return "retry", f"{service} rate limit: 429 {short_body(reply.body)}".rstrip(), wait
    if code >= 500 or code == 408:
        return "retry", f"{service} is unavailable: {code} {short_body(reply.body)}".rstrip(), retry_after
    if 300 <= code < 400:
        return "failed", f"{service} redirected the request ({code}); check the configured URL", None
    return None
