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

Works with urllib3 1.26 and 2.x.
"""

from __future__ import annotations

import os
import ssl
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import urllib3
from urllib3.exceptions import LocationValueError
from urllib3.util import Retry, make_headers, parse_url

__all__ = ["NO_RETRIES", "USER_AGENT", "Target", "clear_pools", "proxy_for", "target_for"]

USER_AGENT = "prefect-alerts"
"""Sent with every request (receivers and proxies log it)."""
POOL_MAXSIZE = 8
"""Keep-alive connections kept per host: the dispatcher delivers from a few threads at once."""
NUM_POOLS = 32
"""Hosts whose pools a manager keeps (least recently used ones are closed past it)."""

NO_RETRIES = Retry(total=False, redirect=False)
"""urllib3 never retries nor follows a redirect, and raises the error itself (not a MaxRetryError): a delivery
is attempted once and the dispatcher decides about the next attempt. One object, so no per-call conversion."""

_MANAGERS: dict[tuple[int, str | None, str | None, str | None], urllib3.PoolManager] = {}
_MANAGERS_LOCK = threading.Lock()


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
