"""Destinations in a routing config: ``slack:oncall``, ``kind:slug/name``, ``console``, a bare block name.

A reference with a kind is checked for its shape when the config loads; whether its block exists is checked
by :func:`check_references` (``AlertRouting.check_destinations()``, ``prefect-alerts config check``), and
otherwise when an alert first goes there. A bare name is looked up on the Prefect server when the config
loads: it is accepted when exactly one saved block of our channel types has it, and becomes the full
reference (``slack:slack-webhook/oncall``, ``pagerduty:oncall``).
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from prefect_alerts.channels.base import Channel
from prefect_alerts.routing.errors import mask_urls

__all__ = [
    "BLOCK_TYPES",
    "channel_kinds",
    "check_references",
    "find_blocks",
    "normalize_destination",
    "reference_key",
    "setup_hint",
]

BLOCK_TYPES: dict[str, list[str]] = {
    "slack": ["slack-webhook", "slack-incoming-webhook"],
    "email": ["alert-email-destination"],
    "pagerduty": ["pagerduty-events-v2"],
    "discord": ["discord-webhook"],
    "webhook": ["alert-webhook"],
}
"""The block types (slugs) each channel kind loads; ``kind:slug/name`` picks one."""

_SETUP_FLAGS = {
    "slack": "--slack-webhook-url URL",
    "email": "--smtp-server HOST --smtp-username USER --email-from ADDRESS --email-to ADDRESS",
    "pagerduty": "--pagerduty-routing-key KEY",
    "discord": "--discord-webhook-url URL",
    "webhook": "--webhook-url URL",
}


def channel_kinds() -> list[str]:
    """The kinds a reference may name (the channel registry's, ``console`` included)."""
    from prefect_alerts.channels.registry import CHANNEL_KINDS

    return list(CHANNEL_KINDS)


def setup_hint(name: str, kind: str | None = None) -> str:
    """How to create the block ``name``: the setup script's command line."""
    flags = _SETUP_FLAGS.get(kind or "", "--slack-webhook-url URL (or --pagerduty-routing-key KEY, ...)")
    return f"create it with `prefect-alerts setup-blocks --name {name} {flags}`, or list blocks with `prefect block ls`"


def reference_key(destination: str | Channel) -> str:
    """A stable string id: the reference itself, or ``kind:name`` for a Channel object."""
    if isinstance(destination, str):
        return destination
    return f"{destination.kind}:{destination.name}"


def normalize_destination(value: Any, names: MutableMapping[str, str] | None = None) -> str | Channel:
    """A validated destination: a Channel as given, or a reference string in its full form.

        >>> normalize_destination(" Slack:oncall ")
        'slack:oncall'

    ``names`` remembers bare names already looked up while one config loads (one server call per name).

    Raises:
        ValueError: an unknown kind (the message lists the kinds), a missing block name, a URL instead of a
            reference, or a bare name that no saved block has or more than one has (it lists the candidates
            and how to create a block).
    """
    if isinstance(value, Channel):
        return value
    if not isinstance(value, str):
        raise ValueError(
            f"a destination is a reference such as 'slack:oncall' or a Channel object, got {value!r}"
        )
    text = value.strip()
    if not text:
        raise ValueError("a destination is empty; write a reference such as 'slack:oncall' or 'console'")
    if "://" in text:
        raise ValueError(
            f"{mask_urls(text)!r} is a URL; destinations name saved blocks, so the URL stays secret: save it "
            "with `prefect-alerts setup-blocks --name NAME --slack-webhook-url URL` (or --webhook-url, "
            "--discord-webhook-url) and write 'slack:NAME'"
        )
    if text.lower() == "console":
        return "console"
    if ":" not in text:
        if names is not None and text in names:
            return names[text]
        full = _bare_name(text)
        if names is not None:
            names[text] = full
        return full
    kind, _, name = text.partition(":")
    kind, name = kind.strip().lower(), name.strip()
    kinds = channel_kinds()
    if kind not in kinds:
        raise ValueError(
            f"unknown channel kind {kind!r} in {text!r}; use one of: {', '.join(kinds)} (e.g. 'slack:oncall')"
        )
    if kind == "console":
        return "console"
    if not name:
        raise ValueError(f"{text!r} names no block; write '{kind}:BLOCK_NAME', e.g. '{kind}:oncall'")
    if "/" in name:
        slug, _, block_name = name.partition("/")
        slugs = BLOCK_TYPES.get(kind)
        if slugs is not None and (slug not in slugs or not block_name or "/" in block_name):
            forms = ", ".join(f"'{kind}:{s}/NAME'" for s in slugs)
            raise ValueError(
                f"{text!r}: {slug!r} is not a block type {kind} loads; write '{kind}:NAME' or {forms}"
            )
    return f"{kind}:{name}"


def find_blocks(names: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """``{name: [(kind, slug), ...]}``: the saved blocks of our channel types with those names.

    One request to the Prefect server (secrets are not fetched). Works in sync code and in a sync hook of an
    async flow (the sync client never needs an event loop).
    """
    from prefect.client.orchestration import get_client

    wanted = sorted({name for name in names if name})
    found: dict[str, list[tuple[str, str]]] = {name: [] for name in wanted}
    if not wanted:
        return found
    kind_of = {slug: kind for kind, slugs in BLOCK_TYPES.items() for slug in slugs}
    body = {
        "block_documents": {"name": {"any_": wanted}, "is_anonymous": {"eq_": False}},
        "block_types": {"slug": {"any_": sorted(kind_of)}},
        "include_secrets": False,
    }
    with get_client(sync_client=True) as client:
        response = client.request("POST", "/block_documents/filter", json=body)  # type: ignore[arg-type]
        response.raise_for_status()
        documents = response.json()
    for document in documents:
        slug = (document.get("block_type") or {}).get("slug")
        name = document.get("name")
        if name in found and slug in kind_of:
            found[name].append((kind_of[slug], slug))
    return found


def _bare_name(name: str) -> str:
    try:
        blocks = find_blocks([name])[name]
    except Exception as exc:
        raise ValueError(
            f"destination {name!r} has no kind, and the Prefect server could not be asked which block it is "
            f"({type(exc).__name__}); write it as 'kind:{name}' (kinds: {', '.join(channel_kinds())})"
        ) from None
    candidates = sorted(
        f"{kind}:{slug}/{name}" if len(BLOCK_TYPES[kind]) > 1 else f"{kind}:{name}" for kind, slug in blocks
    )
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ValueError(
            f"destination {name!r} has no kind and no saved block of a channel type "
            f"({', '.join(s for slugs in BLOCK_TYPES.values() for s in slugs)}) has that name; write "
            f"'kind:{name}' (kinds: {', '.join(channel_kinds())}) and {setup_hint(name)}"
        )
    raise ValueError(
        f"destination {name!r} is ambiguous: the saved blocks {', '.join(candidates)} all have that name; "
        "write one of those references instead"
    )


def _block_of(reference: str) -> tuple[str, list[str], str] | None:
    """``(kind, candidate slugs, block name)`` of a reference, or None for console and unknown kinds."""
    kind, _, name = reference.partition(":")
    slugs = BLOCK_TYPES.get(kind)
    if not slugs or not name:
        return None
    if "/" in name:
        slug, _, block_name = name.partition("/")
        return kind, [slug], block_name
    return kind, slugs, name


def check_references(references: Iterable[tuple[str, str | Channel]]) -> list[str]:
    """Problems with the blocks behind ``(where, destination)`` pairs: one line per missing block.

    Asks the Prefect server once. An unreachable server is reported as one problem (nothing raises).
    """
    pending = [(where, ref, _block_of(ref)) for where, ref in references if isinstance(ref, str)]
    pending = [(where, ref, block) for where, ref, block in pending if block is not None]
    if not pending:
        return []
    try:
        found = find_blocks({block[2] for _, _, block in pending})
    except Exception as exc:
        return [
            f"could not ask the Prefect server which blocks exist ({type(exc).__name__}: {mask_urls(str(exc))})"
        ]
    problems = []
    for where, ref, (kind, slugs, name) in pending:
        if not any(slug in slugs for _, slug in found.get(name, [])):
            types_ = " or ".join(slugs)
            problems.append(
                f"{where}: {ref}: no saved {types_} block named {name!r}; {setup_hint(name, kind)}"
            )
    return list(dict.fromkeys(problems))
