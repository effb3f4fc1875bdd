"""The routing config as a saved block (type slug ``alert-routing``, default name ``default``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect_alerts.routing.errors import RoutingError

__all__ = ["block_updated_at", "load_routing_block", "save_routing_block"]

HOW_TO_SAVE = (
    "save one with `AlertRouting.from_file('alerts.yaml').save_block('{name}')` "
    "(or `prefect-alerts config push alerts.yaml --name {name}`)"
)


def load_routing_block(name: str) -> dict[str, Any]:
    """The saved config mapping of ``alert-routing/<name>``.

    Raises:
        RoutingError: no such block (the message says how to save one).
    """
    from prefect_alerts.blocks import AlertRoutingBlock, BlockNotFoundError, load_block

    try:
        block = load_block(
            name, [AlertRoutingBlock], how_to_create=HOW_TO_SAVE.replace("'{name}'", "'{name}'")
        )
    except BlockNotFoundError as exc:
        raise RoutingError(str(exc)) from None
    return dict(block.config)


def save_routing_block(config: dict[str, Any], name: str) -> None:
    from prefect_alerts.blocks import AlertRoutingBlock

    AlertRoutingBlock(config=config).save(name, overwrite=True, _sync=True)  # type: ignore[call-arg]


def block_updated_at(name: str) -> datetime | None:
    """When the block document was last written, or None when it does not exist (one cheap API read)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            document = client.read_block_document_by_name(name=name, block_type_slug="alert-routing")
        except ObjectNotFound:
            return None
    return getattr(document, "updated", None) or getattr(document, "created", None)
