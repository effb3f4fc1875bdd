"""Which routing config applies, and the per-process cache that keeps it cheap.

Everywhere a ``routing=`` parameter appears it takes an :class:`AlertRouting`, a path to a ``.yaml``/``.yml``/
``.json`` file, or the name of a saved ``alert-routing`` block (a string that is not an existing file). None
means the resolution order:

1. the file named by ``$PREFECT_ALERTS_CONFIG`` (a missing file is an error that names the variable);
2. the saved block ``alert-routing/default``, when a Prefect server is configured (``PREFECT_API_URL``);
3. the console only.

Files are re-read when their modification time or size changes; blocks at most every
``$PREFECT_ALERTS_ROUTING_TTL`` seconds (default 30), so no alert costs a server round trip once cached.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from prefect_alerts.channels.base import get_logger
from prefect_alerts.routing.config import CONFIG_ENV, DEFAULT_BLOCK_NAME, AlertRouting
from prefect_alerts.routing.errors import RoutingError

__all__ = ["ROUTING_TTL_ENV", "clear_routing_cache", "resolve_routing"]

ROUTING_TTL_ENV = "PREFECT_ALERTS_ROUTING_TTL"
_SUFFIXES = (".yaml", ".yml", ".json")
_LOCK = threading.Lock()
_FILES: dict[str, tuple[int, int, AlertRouting]] = {}
_BLOCKS: dict[str, tuple[float, AlertRouting | None]] = {}
logger = get_logger("prefect_alerts.routing")


def _ttl() -> float:
    try:
        return float(os.environ.get(ROUTING_TTL_ENV, "30"))
    except ValueError:
        return 30.0


def clear_routing_cache() -> None:
    """Forget every cached config (tests; or to pick up a changed block at once)."""
    with _LOCK:
        _FILES.clear()
        _BLOCKS.clear()


def _from_file(path: Path) -> AlertRouting:
    key = str(path.resolve())
    try:
        status = path.stat()
    except FileNotFoundError:
        raise RoutingError(f"routing file {str(path)!r} does not exist; check the path") from None
    with _LOCK:
        cached = _FILES.get(key)
    if cached is not None and cached[:2] == (status.st_mtime_ns, status.st_size):
        return cached[2]
    routing = AlertRouting.from_file(path)
    with _LOCK:
        _FILES[key] = (status.st_mtime_ns, status.st_size, routing)
    return routing


def _server_configured() -> bool:
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def _from_block(name: str, *, missing_ok: bool) -> AlertRouting | None:
    now = time.monotonic()
    with _LOCK:
        cached = _BLOCKS.get(name)
    if cached is not None and now - cached[0] < _ttl():
        if cached[1] is None and not missing_ok:
            raise RoutingError(f"no routing block named {name!r} (alert-routing/{name}) was found")
        return cached[1]
    try:
        routing: AlertRouting | None = AlertRouting.from_block(name)
    except RoutingError as exc:
        if "No block named" not in str(exc):
            raise  # the block exists and is invalid: say so
        if not missing_ok:
            raise
        routing = None
    except Exception as exc:  # the server is unreachable: keep what we had, else fall back to the console
        if cached is not None:
            logger.warning("could not re-read routing block %r (%s); using the cached one", name, exc)
            return cached[1]
        if not missing_ok:
            raise RoutingError(
                f"could not read routing block {name!r}: {type(exc).__name__}: {exc}"
            ) from None
        logger.warning("could not read routing block %r (%s); alerts go to the console", name, exc)
        return None
    with _LOCK:
        _BLOCKS[name] = (now, routing)
    return routing


def resolve_routing(routing: AlertRouting | str | os.PathLike[str] | None = None) -> AlertRouting:
    """The config ``routing`` names (see the module docs for the forms and the resolution order).

    Example:
        ```python
        from prefect_alerts.routing import resolve_routing

        resolve_routing("alerts.yaml")   # a file
        resolve_routing("team-data")     # the saved block alert-routing/team-data
        resolve_routing(None)            # $PREFECT_ALERTS_CONFIG, else alert-routing/default, else console
        ```

    Raises:
        RoutingError: an invalid config, a missing file, or a named block that does not exist.
    """
    if isinstance(routing, AlertRouting):
        return routing
    if isinstance(routing, dict):
        return AlertRouting.model_validate(routing)
    if isinstance(routing, os.PathLike):
        return _from_file(Path(routing))
    if isinstance(routing, str):
        text = routing.strip()
        path = Path(text).expanduser()
        if text.lower().endswith(_SUFFIXES) or path.is_file():
            return _from_file(path)
        if not text:
            raise RoutingError("routing is an empty string; give a file path, a block name, or None")
        result = _from_block(text, missing_ok=False)
        assert result is not None
        return result
    if routing is not None:
        raise RoutingError(
            f"routing must be an AlertRouting, a file path, a routing block name or None, got {type(routing).__name__}"
        )
    configured = os.environ.get(CONFIG_ENV, "").strip()
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise RoutingError(
                f"{CONFIG_ENV} names {configured!r}, which does not exist; fix the path or unset {CONFIG_ENV}"
            )
        return _from_file(path)
    if _server_configured():
        found = _from_block(DEFAULT_BLOCK_NAME, missing_ok=True)
        if found is not None:
            return found
    return _CONSOLE_ONLY


_CONSOLE_ONLY = AlertRouting()
