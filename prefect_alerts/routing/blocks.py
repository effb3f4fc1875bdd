"""The routing config in a saved Prefect block (type ``alert-routing``), so every worker shares one config.

Blocks are read with Prefect's sync client, which works in sync code, in async code and in a sync hook of an
async flow (where ``Block.load`` would hand back an un-awaited coroutine). Prefect is imported only here, and
only when a block is needed.
"""

from __future__ import annotations

from typing import Any

from prefect_alerts.routing.errors import RoutingError, mask_urls

__all__ = [
    "BLOCK_TYPE_SLUG",
    "DEFAULT_BLOCK_NAME",
    "how_to_create",
    "load_team_block",
    "read_block_config",
    "save_block_config",
]

BLOCK_TYPE_SLUG = "alert-routing"
"""The block type the routing config is saved as."""

DEFAULT_BLOCK_NAME = "default"
"""The block the resolution order looks for: ``alert-routing/default``."""


def how_to_create(name: str) -> str:
    """The fix for a missing routing block."""
    return (
        f"create it with `AlertRouting.from_file('alerts.yaml').save_block({name!r})` "
        f"(from prefect_alerts.routing import AlertRouting) or `prefect-alerts config push alerts.yaml --name {name}`, "
        "or list blocks with `prefect block ls`"
    )


def _block_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise RoutingError(f"a routing block name is non-empty text such as 'default', got {name!r}")
    name = name.strip()
    if name.startswith(f"{BLOCK_TYPE_SLUG}/"):
        name = name[len(BLOCK_TYPE_SLUG) + 1 :]
    if not name or "/" in name:
        raise RoutingError(
            f"{name!r} is not a routing block name; write the block's name ('default') or 'alert-routing/NAME'"
        )
    return name


def read_block_config(name: str) -> dict[str, Any] | None:
    """The config dict saved in the ``alert-routing`` block ``name``, or None when there is no such block.

    Raises:
        RoutingError: the block holds no config mapping.
        Exception: the Prefect server could not be reached (httpx errors); callers decide.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    name = _block_name(name)
    with get_client(sync_client=True) as client:
        try:
            document = client.read_block_document_by_name(name, block_type_slug=BLOCK_TYPE_SLUG)
        except ObjectNotFound:
            return None
    config = (document.data or {}).get("config")
    if not isinstance(config, dict):
        raise RoutingError(
            f"block {BLOCK_TYPE_SLUG}/{name} holds no routing config mapping; save it again: {how_to_create(name)}"
        )
    return config


def require_block_config(name: str) -> dict[str, Any]:
    """Like :func:`read_block_config`, but a missing block or an unreachable server is a RoutingError."""
    try:
        config = read_block_config(name)
    except RoutingError:
        raise
    except Exception as exc:
        raise RoutingError(
            f"could not read the routing block {BLOCK_TYPE_SLUG}/{_block_name(name)} from the Prefect server "
            f"({type(exc).__name__}: {mask_urls(str(exc))}); check PREFECT_API_URL and that the server is up"
        ) from None
    if config is None:
        block = _block_name(name)
        raise RoutingError(
            f"no block named {block!r} of type {BLOCK_TYPE_SLUG!r} was found on the Prefect server; "
            f"{how_to_create(block)}"
        )
    return config


def save_block_config(config: dict[str, Any], name: str) -> None:
    """Save ``config`` as the ``alert-routing`` block ``name`` (overwriting it)."""
    from prefect_alerts.blocks import AlertRoutingBlock

    AlertRoutingBlock(config=config).save(_block_name(name), overwrite=True, _sync=True)  # type: ignore[call-arg]


def load_team_block(name: str, context: dict[str, Any]) -> Any:
    """A team's routes and default from a saved ``alert-routing`` block (only ``routes`` and ``default``)."""
    from pydantic import ValidationError

    from prefect_alerts.routing.errors import routing_error
    from prefect_alerts.routing.models import TeamRoutes

    config = require_block_config(name)
    context.setdefault("blocks", set()).add(_block_name(name))
    try:
        return TeamRoutes.model_validate(config, context=context)
    except ValidationError as exc:
        raise routing_error(exc, f"team block {BLOCK_TYPE_SLUG}/{_block_name(name)}", TeamRoutes) from None
