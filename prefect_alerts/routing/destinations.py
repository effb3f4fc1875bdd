"""Destination references in a routing config: ``slack:oncall``, ``kind:slug/name``, ``console``, a bare name.

A reference with a kind is checked for its shape at load (the block itself is loaded when an alert goes there,
or by ``check_destinations()`` / ``prefect-alerts config check``). A bare name is looked up at load: it is
accepted when exactly one saved block of our channel types has that name, and becomes the full reference.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BLOCK_TYPES", "SETUP_HINT", "block_candidates", "normalize_destination"]

BLOCK_TYPES: dict[str, list[str]] = {
    "slack": ["slack-webhook", "slack-incoming-webhook"],
    "email": ["alert-email-destination"],
    "pagerduty": ["pagerduty-events-v2"],
    "discord": ["discord-webhook"],
    "webhook": ["alert-webhook"],
}
"""The block types (slugs) each channel kind loads."""

SETUP_HINT = "create it with `python blocks/setup_blocks.py --name NAME ...` (see `--help`), or list blocks with `prefect block ls`"


def _kinds() -> str:
    return ", ".join([*BLOCK_TYPES, "console"])


def block_candidates(name: str) -> list[str]:
    """Full references of every saved block of our channel types named ``name`` (asks the Prefect server)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import BlockDocumentFilter, BlockDocumentFilterName

    found = []
    with get_client(sync_client=True) as client:
        documents = client.read_block_documents(
            block_document_filter=BlockDocumentFilter(name=BlockDocumentFilterName(any_=[name])),
            include_secrets=False,
        )
    slugs = {slug: kind for kind, slugs in BLOCK_TYPES.items() for slug in slugs}
    for document in documents:
        block_type = getattr(document, "block_type", None)
        slug = getattr(block_type, "slug", None) if block_type else None
        if slug in slugs and document.name == name:
            kind = slugs[slug]
            found.append(f"{kind}:{slug}/{name}" if len(BLOCK_TYPES[kind]) > 1 else f"{kind}:{name}")
    return sorted(set(found))


def normalize_destination(value: Any) -> Any:
    """A validated destination: a Channel as given, or a reference string in its full form.

    Raises:
        ValueError: an unknown kind, a missing block name, or a bare name that matches no saved block or
            more than one (the message lists the candidates and how to create a block).
    """
    from prefect_alerts.channels.base import Channel

    if isinstance(value, Channel):
        return value
    if not isinstance(value, str):
        raise ValueError(
            f"a destination is a reference such as 'slack:oncall' or a Channel, got {type(value).__name__}"
        )
    text = value.strip()
    if not text:
        raise ValueError("a destination is empty; write a reference such as 'slack:oncall' or 'console'")
    if text.lower() == "console":
        return "console"
    if ":" not in text:
        return _bare_name(text)
    kind, _, name = text.partition(":")
    kind, name = kind.strip().lower(), name.strip()
    if kind == "console":
        return "console"
    if kind not in BLOCK_TYPES:
        raise ValueError(
            f"unknown channel kind {kind!r} in {text!r}; use one of: {_kinds()} (e.g. 'slack:oncall')"
        )
    if not name:
        raise ValueError(f"{text!r} names no block; write '{kind}:BLOCK_NAME', e.g. '{kind}:oncall'")
    if "/" in name:
        slug, _, block_name = name.partition("/")
        if slug not in BLOCK_TYPES[kind] or not block_name:
            raise ValueError(
                f"{text!r}: block type {slug!r} is not one {kind} loads; use one of "
                + ", ".join(f"'{kind}:{s}/NAME'" for s in BLOCK_TYPES[kind])
            )
    return f"{kind}:{name}"


def _bare_name(name: str) -> str:
    try:
        candidates = block_candidates(name)
    except Exception as exc:
        raise ValueError(
            f"destination {name!r} has no kind, and the Prefect server could not be asked which block it is "
            f"({type(exc).__name__}); write it as 'kind:{name}' (kinds: {_kinds()})"
        ) from None
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ValueError(
            f"destination {name!r} has no kind and no saved block of a channel type has that name; write "
            f"'kind:{name}' (kinds: {_kinds()}) and {SETUP_HINT.replace('NAME', name)}"
        )
    raise ValueError(
        f"destination {name!r} is ambiguous: saved blocks {', '.join(candidates)} all have that name; "
        "write one of those references instead"
    )
