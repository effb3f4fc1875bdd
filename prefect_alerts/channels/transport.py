"""The HTTP transport under :class:`~prefect_alerts.channels.base.HTTPChannel`: urllib3 connection pools.

urllib3 is what requests wraps; using it directly drops requests' per-call preparation (hooks, cookie jars,
environment merging, adapters), which cost more than the request itself against a local receiver. What
requests gave us is kept, explicitly:

- One :class:`urllib3.PoolManager` per process (and per proxy / CA setting) shared by every channel: it is
  thread-safe, and a channel rebuilt for a redelivery reuses the open keep-alive connection.
- TLS verified with :func:`ssl.create_default_context`: the system store plus ``SSL_CERT_FILE`` /
  ``SSL_CERT_DIR`` (how a corporate or test CA is added). Not certifi, which ignores both.
- ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` from the environment (read when a channel
  first sends), with basic auth from the proxy URL; ``user:password@`` in a URL becomes basic auth.
- No retries (``retries=False``: urllib3 raises the error itself and the channel classifies it) and no
  redirects followed: a moved webhook must be re-configured, and retrying is the dispatcher's job.

:meth:`Target.post` is the channels' path. A direct request (no proxy) takes a connection from the host's
urllib3 pool (urllib3 connects it: socket options, TLS verification, its connect errors and logs, the check
that a kept-alive connection was not dropped), writes the request in one send (the head as http.client
formats and validates it, encoded once while the headers stay the same) and reads the reply with
:class:`http.client.HTTPResponse`. That skips ``HTTPConnectionPool.urlopen``'s bookkeeping, per-call header
encoding and urllib3's response wrapper, which cost more CPU per call than the stdlib parser itself (about
90 us of a 450 us POST to a local receiver). Errors are raised as the urllib3 exceptions urlopen raises
(SSLError, ReadTimeoutError, ProtocolError), so channels classify both paths alike. Proxied requests go
through the manager, which knows the proxy's request forms.

Works with urllib3 1.26 and 2.x.
"""

from __future__ import annotations

import errno
import http.client
import io
import logging
import os
import ssl
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import urllib3
from urllib3.exceptions import LocationValueError, ProtocolError, ReadTimeoutError, SSLError
from urllib3.util import Retry, make_headers, parse_url

__all__ = ["NO_RETRIES", "USER_AGENT", "RawReply", "Target", "clear_pools", "proxy_for", "target_for"]

USER_AGENT = "prefect-alerts"
"""Sent with every request (receivers and proxies log it)."""
POOL_MAXSIZE = 8
"""Keep-alive connections kept per host: the dispatcher delivers from a few threads at once."""
NUM_POOLS = 32
"""Hosts whose pools a manager keeps (least recently used ones are closed past it)."""

NO_RETRIES = Retry(total=False, redirect=False)
"""urllib3 never retries nor follows a redirect, and raises the error itself (not a MaxRetryError): a delivery
is attempted once and the dispatcher decides about the next attempt. One object, so no per-call conversion."""

_SWALLOWED_SEND_ERRNOS = frozenset({errno.EPIPE, errno.ECONNRESET, errno.EPROTOTYPE})
"""A server may reply and close before reading the whole body: read its reply anyway (as urllib3 does)."""
_log = logging.getLogger("prefect_alerts.channels.transport")

_MANAGERS: dict[tuple[int, str | None, str | None, str | None], urllib3.PoolManager] = {}
_MANAGERS_LOCK = threading.Lock()


@dataclass(frozen=True)
class RawReply:
    """A reply as the channels classify it: status, headers (lower-cased names, repeats joined with ", ")
    and the whole body, already decoded from any Content-Encoding."""

    status: int
    headers: dict[str, str]
    data: bytes


@dataclass
class Target:
    """Where one channel's requests go: the manager holding the pools, the URL, the headers the URL implies.

    :meth:`urlopen` sends straight to the host's connection pool (taken from the manager once, and again if
    the manager closed it to make room): that skips the manager's per-request URL parsing and pool lookup.
    Through a proxy it goes through the manager, which knows the proxy's request forms.
    """

    manager: urllib3.PoolManager
    url: str
    request_uri: str
    headers: Mapping[str, str]
    proxied: bool
    _pool: Any = field(default=None, repr=False)
    _head: tuple[dict[str, str], bytes, bool] | None = field(default=None, repr=False)

    def post(self, body: bytes, headers: Mapping[str, str], timeout: urllib3.Timeout) -> RawReply:
        """POST ``body`` once (no retries, no redirects) and read the whole reply. Raises urllib3's exceptions.

        >>> target = target_for("http://127.0.0.1:9/hook")  # port 9: nothing listens
        >>> target.post(b"{}", target.headers, urllib3.Timeout(connect=1, read=1))
        Traceback (most recent call last):
        ...
        urllib3.exceptions.NewConnectionError: ...
        """
        if self.proxied:
            response = self.urlopen(body, headers, timeout)
            merged = {key.lower(): value for key, value in response.headers.itermerged()}
            return RawReply(status=response.status, headers=merged, data=response.data)
        pool = self._pool
        if pool is None or pool.pool is None:  # first use, or closed by the manager's LRU
            pool = self._pool = self.manager.connection_from_url(self.url)
        if timeout.total is not None:  # the read timeout is then what the connect left of the total
            timeout = timeout.clone()
            timeout.start_connect()
        # Private but stable since urllib3 1.x: checks a kept-alive connection was not dropped, logs a new one.
        conn = pool._get_conn()
        reading = False
        try:
            head, add_length = self._request_head(conn, headers)
            _send_request(conn, head, add_length, body, timeout)
            reading = True
            reply = _read_reply(conn, timeout)
        except BaseException as exc:
            conn.close()
            pool._put_conn(None)  # the pool counts its slots: give the slot back, without the connection
            error = _as_urllib3_error(exc, pool, self.request_uri, timeout, reading=reading)
            if error is exc:
                raise
            raise error from exc
        pool._put_conn(conn)  # kept alive, or already closed by http.client when the server said so
        _log.debug(
            "POST %s://%s:%s/*** %s (%d bytes)",
            pool.scheme,
            pool.host,
            pool.port,
            reply.status,
            len(reply.data),
        )
        return reply

    def _request_head(self, conn: Any, headers: Mapping[str, str]) -> tuple[bytes, bool]:
        # The request line and headers, encoded once and kept while a channel sends the same headers (a
        # webhook's per-call signature headers are encoded per call).
        cached = self._head
        if cached is not None and cached[0] == headers:
            return cached[1], cached[2]
        head, add_length = _encode_head(conn, self.request_uri, headers)
        self._head = (dict(headers), head, add_length)
        return head, add_length

    def urlopen(self, body: bytes, headers: Mapping[str, str], timeout: urllib3.Timeout) -> Any:
        """POST ``body``; no retries, no redirects, the whole reply read (so the connection goes back to the
        pool). Raises urllib3's exceptions."""
        if self.proxied:
            return self.manager.urlopen(
                "POST",
                self.url,
                body=body,
                headers=headers,
                timeout=timeout,
                retries=NO_RETRIES,
                redirect=False,
            )
        pool = self._pool
        if pool is None or pool.pool is None:  # first use, or closed by the manager's LRU
            pool = self._pool = self.manager.connection_from_url(self.url)
        return pool.urlopen(
            "POST",
            self.request_uri,
            body=body,
            headers=headers,
            timeout=timeout,
            retries=NO_RETRIES,
            redirect=False,
            assert_same_host=False,
            preload_content=True,
        )


class _HeadRecorder(http.client.HTTPConnection):
    """An unconnected stdlib connection that keeps what it would send: http.client itself formats and
    validates the request line, Host and every header (a CR or LF in a value is refused with ValueError)."""

    recorded = b""

    def send(self, data: Any) -> None:
        self.recorded += data


def _encode_head(conn: Any, request_uri: str, headers: Mapping[str, str]) -> tuple[bytes, bool]:
    """What ``http.client.HTTPConnection.request`` sends before a bytes body, the same skips (Host,
    Accept-Encoding given by the caller) and the same validation, and whether Content-Length must still be
    added (then the head stops before the blank line)."""
    names = {name.lower() for name in headers}
    recorder = _HeadRecorder(conn.host, conn.port)
    recorder.default_port = conn.default_port  # 443 for an HTTPS pool: Host then carries no port
    recorder.putrequest(
        "POST", request_uri, skip_host="host" in names, skip_accept_encoding="accept-encoding" in names
    )
    for name, value in headers.items():
        recorder.putheader(name, value)
    recorder.endheaders()
    if "content-length" in names or "transfer-encoding" in names:
        return recorder.recorded, False  # the caller framed the body; http.client then adds nothing either
    return recorder.recorded[:-2], True  # without the blank line: Content-Length goes before it


def _send_request(conn: Any, head: bytes, add_length: bool, body: bytes, timeout: urllib3.Timeout) -> None:
    connect_timeout = timeout.connect_timeout
    conn.timeout = connect_timeout
    if conn.sock is None:
        conn.connect()  # urllib3's: NewConnectionError, ConnectTimeoutError; ssl errors for a bad certificate
    else:
        conn.sock.settimeout(connect_timeout)  # the send runs under the connect timeout, as in urllib3
    # One write for head and body: one packet and one wake-up of the receiver for a small alert.
    message = head + b"Content-Length: %d\r\n\r\n%b" % (len(body), body) if add_length else head + body
    try:
        conn.sock.sendall(message)
    except OSError as exc:
        if exc.errno not in _SWALLOWED_SEND_ERRNOS or isinstance(exc, ssl.SSLError):
            raise


def _read_reply(conn: Any, timeout: urllib3.Timeout) -> RawReply:
    conn.sock.settimeout(timeout.read_timeout)
    # What http.client's getresponse does once its own request() has sent (ours sent the bytes itself).
    response = http.client.HTTPResponse(conn.sock, method="POST")
    response.begin()
    if response.will_close:
        conn.close()  # the reply still reads from its own file object
    data = response.read()
    merged: dict[str, str] = {}
    for name, value in response.msg.items():
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    encoding = merged.get("content-encoding")
    if encoding and encoding.strip().lower() != "identity":
        # Rare (we send Accept-Encoding: identity): urllib3's decoders, as urlopen would have applied.
        data = urllib3.HTTPResponse(
            body=io.BytesIO(data), headers=merged, status=response.status, preload_content=True
        ).data
    return RawReply(status=response.status, headers=merged, data=data)


def _as_urllib3_error(
    exc: BaseException, pool: Any, url: str, timeout: urllib3.Timeout, *, reading: bool
) -> BaseException:
    """The exception urllib3's urlopen raises for ``exc`` (retries off), so channels classify both alike."""
    if isinstance(exc, urllib3.exceptions.HTTPError) or not isinstance(exc, Exception):
        return exc  # already urllib3's (connect and decode errors), or KeyboardInterrupt and the like
    if isinstance(exc, ssl.SSLError):  # includes CertificateError
        return SSLError(exc)
    if reading and isinstance(exc, TimeoutError):
        return ReadTimeoutError(pool, url, f"Read timed out. (read timeout={timeout.read_timeout})")
    if isinstance(exc, (OSError, http.client.HTTPException)):
        return ProtocolError("Connection aborted.", exc)
    return exc


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, honouring
    ``NO_PROXY``), or None for a direct connection. The same rules as requests, without CIDR ranges in
    ``NO_PROXY``.

        >>> proxy_for("http://127.0.0.1:9/hook") is None  # with no proxy variables set
        True
    """
    parsed = parse_url(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parsed.scheme or "http") or proxies.get("all")
    if not proxy or not parsed.host:
        return None
    host = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
    if urllib.request.proxy_bypass_environment(host, proxies):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _new_manager(proxy: str | None) -> urllib3.PoolManager:
    options = {
        "num_pools": NUM_POOLS,
        "maxsize": POOL_MAXSIZE,
        "block": False,
        "retries": NO_RETRIES,
        "ssl_context": ssl.create_default_context(),
    }
    if proxy is None:
        return urllib3.PoolManager(**options)
    parsed = parse_url(proxy)
    proxy_headers = {"User-Agent": USER_AGENT}
    if parsed.auth:
        proxy_headers.update(make_headers(proxy_basic_auth=_unquote_auth(parsed.auth)))
    return urllib3.ProxyManager(parsed._replace(auth=None).url, proxy_headers=proxy_headers, **options)


def _unquote_auth(auth: str) -> str:
    user, _, password = auth.partition(":")
    return f"{unquote(user)}:{unquote(password)}"


def target_for(url: str) -> Target:
    """The pool manager and implied headers for ``url``; called once per channel, on its first send.

    Raises:
        urllib3.exceptions.LocationValueError: the URL has no host or cannot be parsed.
        ValueError: the proxy variable names a scheme urllib3 cannot use (e.g. socks5).
    """
    parsed = parse_url(url)
    if not parsed.host:
        raise LocationValueError("the URL names no host")
    proxy = proxy_for(url)
    # The process id: a forked worker must not share its parent's sockets. The CA variables: a test or a
    # user setting SSL_CERT_FILE later gets a context that reads it.
    key = (os.getpid(), proxy, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    with _MANAGERS_LOCK:
        manager = _MANAGERS.get(key)
        if manager is None:
            if any(other[0] != key[0] for other in _MANAGERS):
                _MANAGERS.clear()  # inherited from the parent process: drop without closing its connections
            manager = _MANAGERS[key] = _new_manager(proxy)
    headers = {"User-Agent": USER_AGENT}
    if parsed.auth:
        headers.update(make_headers(basic_auth=_unquote_auth(parsed.auth)))
    return Target(
        manager=manager,
        url=parsed._replace(auth=None).url,
        request_uri=parsed.request_uri,
        headers=headers,
        proxied=proxy is not None,
    )


def clear_pools() -> None:
    """Close every pooled connection of this process (tests; after changing proxy or CA settings)."""
    with _MANAGERS_LOCK:
        managers = list(_MANAGERS.values())
        _MANAGERS.clear()
    for manager in managers:
        manager.clear()
