"""Which routing applies, and the per-process cache that makes asking cheap on every alert.

Resolution order for ``routing=None``:

1. the file named by ``$PREFECT_ALERTS_CONFIG`` (a missing file is an error naming the variable);
2. else the saved block ``alert-routing/default``, if it exists (looked for when a Prefect server is
   configured: ``PREFECT_API_URL``);
3. else the console only (``AlertRouting(default=["console"])``).

Caching: a file is read again when its modification time or size changes (or an environment variable it
uses changes); a block is read again at most every ``$PREFECT_ALERTS_ROUTING_TTL`` seconds (default 30).
Between those, resolving costs a dictionary look-up and a ``stat``: never a server call per alert. When the
Prefect server cannot be reached, the last routing read stays in use (or, with none yet, the console only
for the resolution order), and the server is asked again after the TTL.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from prefect_alerts.channels.base import get_logger
from prefect_alerts.routing.blocks import BLOCK_TYPE_SLUG, DEFAULT_BLOCK_NAME, _block_name, how_to_create
from prefect_alerts.routing.config import AlertRouting
from prefect_alerts.routing.errors import RoutingError, mask_urls
from prefect_alerts.routing.files import file_signature

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_TTL",
    "ROUTING_TTL_ENV",
    "TTL_ENV",
    "RoutingSource",
    "clear_routing_cache",
    "forget_block",
    "resolve_routing",
    "routing_source",
]

CONFIG_ENV = "PREFECT_ALERTS_CONFIG"
"""The environment variable naming the routing file."""

TTL_ENV = "PREFECT_ALERTS_ROUTING_TTL"
"""Seconds a routing read from a block is used before the block is read again."""

ROUTING_TTL_ENV = TTL_ENV

DEFAULT_TTL = 30.0

_SUFFIXES = (".yaml", ".yml", ".json")
logger = get_logger("prefect_alerts.routing")


class _Entry:
    __slots__ = ("checked_at", "error", "raw", "routing")

    def __init__(
        self, routing: AlertRouting | None, raw: Any = None, error: RoutingError | None = None
    ) -> None:
        self.routing = routing
        self.raw = raw  # a block's config dict, to skip re-validating an unchanged block
        self.error = error  # the server was unreachable and nothing was read yet
        self.checked_at = time.monotonic()


_LOCK = threading.RLock()
_FILES: dict[str, _Entry] = {}
_BLOCKS: dict[str, _Entry] = {}


def clear_routing_cache() -> None:
    """Forget every routing read in this process; the next resolve reads files and blocks again.

    >>> clear_routing_cache()
    """
    with _LOCK:
        _FILES.clear()
        _BLOCKS.clear()


def forget_block(name: str) -> None:
    """Forget the cached routing of one block (after saving it)."""
    with _LOCK:
        _BLOCKS.pop(_block_name(name), None)


def _ttl() -> float:
    raw = os.environ.get(TTL_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_TTL
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise RoutingError(f"{TTL_ENV}={raw!r} is not a number of seconds; set it to e.g. 30, or unset it")
    return value


def _unchanged(routing: AlertRouting | None) -> bool:
    """The files and environment variables the routing was read from are as they were."""
    if routing is None:
        return True
    sources = routing._sources
    for path, signature in sources.files.items():
        if file_signature(path) != signature:
            return False
    environ = os.environ
    return all(environ.get(name) == value for name, value in sources.env.items())


def _uses_other_blocks(routing: AlertRouting | None, name: str | None) -> bool:
    return routing is not None and any(block != name for block in routing._sources.blocks)


def _file_key(path: str) -> str:
    # The path as given (plus the working directory when relative): no resolve() on the hot path.
    return path if os.path.isabs(path) else f"{os.getcwd()}\0{path}"


def _cached_file(path: str) -> AlertRouting | None:
    entry = _FILES.get(_file_key(path))
    if entry is None or entry.routing is None or not _unchanged(entry.routing):
        return None
    if _uses_other_blocks(entry.routing, None) and time.monotonic() - entry.checked_at >= _ttl():
        return None  # a team's block may have changed
    return entry.routing


def _from_file(path: str) -> AlertRouting:
    with _LOCK:
        cached = _cached_file(path)
        if cached is not None:
            return cached
        routing = AlertRouting.from_file(path)
        _FILES[_file_key(path)] = _Entry(routing)
        return routing


def _server_configured() -> bool:
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def _from_block(name: str, *, required: bool) -> AlertRouting | None:
    """The routing saved in block ``name``; None when it does not exist (or cannot be read) and not required.

    Not required (the resolution order), the block is only looked for when a Prefect server is configured
    (``PREFECT_API_URL``): asking would otherwise start Prefect's temporary local server inside a hook.
    """
    from prefect_alerts.routing.blocks import read_block_config

    name = _block_name(name)
    ttl = _ttl()
    with _LOCK:
        entry = _BLOCKS.get(name)
        now = time.monotonic()
        if entry is not None and now - entry.checked_at < ttl and _unchanged(entry.routing):
            return _answer(entry, name, required)
        if not required and not _server_configured():
            _BLOCKS[name] = _Entry(None)
            return None
        try:
            config = read_block_config(name)
        except RoutingError:
            raise
        except Exception as exc:
            return _unreachable(entry, name, exc, required)
        if config is None:
            _BLOCKS[name] = _Entry(None)
            return _answer(_BLOCKS[name], name, required)
        if (
            entry is not None
            and entry.routing is not None
            and entry.raw == config
            and _unchanged(entry.routing)
            and not _uses_other_blocks(entry.routing, name)
        ):
            entry.checked_at = now
            return entry.routing
        context: dict[str, Any] = {"source": f"block {BLOCK_TYPE_SLUG}/{name}", "blocks": {name}}
        routing = AlertRouting.model_validate(config, context=context)
        _BLOCKS[name] = _Entry(routing, raw=config)
        return routing


def _answer(entry: _Entry, name: str, required: bool) -> AlertRouting | None:
    if entry.routing is None and required:
        if entry.error is not None:
            raise entry.error
        raise RoutingError(
            f"no block named {name!r} of type {BLOCK_TYPE_SLUG!r} was found on the Prefect server; "
            f"{how_to_create(name)}"
        )
    return entry.routing


def _unreachable(entry: _Entry | None, name: str, exc: Exception, required: bool) -> AlertRouting | None:
    detail = f"{type(exc).__name__}: {mask_urls(str(exc))[:200]}"
    if entry is not None and entry.routing is not None:
        logger.warning(
            "could not read the routing block %s/%s (%s); using the copy read earlier",
            BLOCK_TYPE_SLUG,
            name,
            detail,
        )
        entry.checked_at = time.monotonic()
        return entry.routing
    error = RoutingError(
        f"could not read the routing block {BLOCK_TYPE_SLUG}/{name} from the Prefect server ({detail}); "
        "check PREFECT_API_URL and that the server is up"
    )
    _BLOCKS[name] = _Entry(None, error=error)
    if required:
        raise error
    logger.warning("%s; until it can be read, alerts go to the console only", error)
    return None


_CONSOLE_ONLY: AlertRouting | None = None


def _console_only() -> AlertRouting:
    global _CONSOLE_ONLY
    if _CONSOLE_ONLY is None:
        _CONSOLE_ONLY = AlertRouting(default=["console"])
    return _CONSOLE_ONLY


def _by_resolution_order() -> AlertRouting:
    path = os.environ.get(CONFIG_ENV, "").strip()
    if path:
        with _LOCK:
            cached = _cached_file(path)
        if cached is not None:
            return cached
        if not Path(path).expanduser().is_file():
            raise RoutingError(
                f"{CONFIG_ENV} is {path!r}, which is not an existing file; fix the path (relative paths start in "
                f"{os.getcwd()!r}) or unset {CONFIG_ENV} to use the saved alert-routing/default block"
            )
        return _from_file(path)
    return _from_block(DEFAULT_BLOCK_NAME, required=False) or _console_only()


def resolve_routing(routing: AlertRouting | str | os.PathLike[str] | None = None) -> AlertRouting:
    """The routing a ``routing=`` argument means.

    - an :class:`AlertRouting`: itself;
    - a path (``str`` or ``os.PathLike``) to an existing file: :meth:`AlertRouting.from_file`;
    - a string ending in ``.yaml``, ``.yml`` or ``.json`` that is not an existing file: an error (never a
      block look-up), as is any other string with a ``/`` except ``alert-routing/NAME``;
    - any other string: the name of a saved ``alert-routing`` block;
    - None: ``$PREFECT_ALERTS_CONFIG``, else the block ``alert-routing/default``, else the console only.

    Cached per process (see the module docs); :func:`clear_routing_cache` forgets it.

        >>> resolve_routing(AlertRouting()).default
        ['console']

    Raises:
        RoutingError: the file or block is missing or invalid, or ``$PREFECT_ALERTS_CONFIG`` names no file.
    """
    if isinstance(routing, AlertRouting):
        return routing
    if routing is None:
        return _by_resolution_order()
    if isinstance(routing, os.PathLike):
        return _from_file(os.fspath(routing))
    if not isinstance(routing, str):
        raise RoutingError(
            "routing= takes an AlertRouting, the path of a .yaml/.yml/.json file or the name of a saved "
            f"alert-routing block; got {type(routing).__name__}"
        )
    text = routing.strip()
    if not text:
        raise RoutingError(
            "routing= is empty; give a file path, a block name, or None for the resolution order"
        )
    with _LOCK:
        cached = _cached_file(text)
    if cached is not None:
        return cached
    if Path(text).expanduser().is_file():
        return _from_file(text)
    is_block_ref = text.startswith(f"{BLOCK_TYPE_SLUG}/") and text.count("/") == 1
    if text.lower().endswith(_SUFFIXES) or (not is_block_ref and ("/" in text or os.sep in text)):
        raise RoutingError(
            f"routing file {text!r} not found; check the path (relative paths start in {os.getcwd()!r})"
        )
    routing_ = _from_block(text, required=True)
    assert routing_ is not None
    return routing_


class RoutingSource(BaseModel):
    """Where a routing comes from: a file, a saved block, or nowhere (the console only), and why."""

    kind: Literal["file", "block", "console", "object"]
    location: str | None = Field(
        default=None, description="The file's absolute path, or the block as 'alert-routing/NAME'."
    )
    detail: str | None = Field(
        default=None, description="How it was chosen ($PREFECT_ALERTS_CONFIG), or why it is the console only."
    )

    def __str__(self) -> str:
        if self.kind == "file":
            text = f"file {self.location}"
        elif self.kind == "block":
            text = f"block {self.location}"
        elif self.kind == "object":
            text = "an AlertRouting object"
        else:
            text = "console only"
        return f"{text} ({self.detail})" if self.detail else text


def routing_source(routing: AlertRouting | str | os.PathLike[str] | None = None) -> RoutingSource:
    """Where :func:`resolve_routing` reads ``routing`` from. Call it after resolving: it reads the cache and
    the environment, never the server.

        >>> str(routing_source(AlertRouting()))
        'an AlertRouting object'

    Example:
        ```python
        from prefect_alerts.routing.resolve import resolve_routing, routing_source

        routing = resolve_routing(None)
        print(routing_source(None))  # "file /srv/alerts.yaml (from $PREFECT_ALERTS_CONFIG)"
        ```
    """
    if isinstance(routing, AlertRouting):
        return RoutingSource(kind="object")
    if routing is not None:
        text = os.fspath(routing).strip()
        if Path(text).expanduser().is_file() or isinstance(routing, os.PathLike):
            return RoutingSource(kind="file", location=str(Path(text).expanduser().resolve()))
        return RoutingSource(kind="block", location=f"{BLOCK_TYPE_SLUG}/{_block_name(text)}")
    path = os.environ.get(CONFIG_ENV, "").strip()
    if path:
        return RoutingSource(
            kind="file", location=str(Path(path).expanduser().resolve()), detail=f"from ${CONFIG_ENV}"
        )
    location = f"{BLOCK_TYPE_SLUG}/{DEFAULT_BLOCK_NAME}"
    with _LOCK:
        entry = _BLOCKS.get(DEFAULT_BLOCK_NAME)
    if entry is not None and entry.routing is not None:
        return RoutingSource(kind="block", location=location, detail=f"no ${CONFIG_ENV}")
    if not _server_configured():
        why = f"no ${CONFIG_ENV}, and no PREFECT_API_URL to look for the block {location} on"
    elif entry is not None and entry.error is not None:
        why = str(entry.error)
    else:
        why = f"no ${CONFIG_ENV}, and no block {location} on the Prefect server"
    return RoutingSource(kind="console", detail=why)
