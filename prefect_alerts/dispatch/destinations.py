"""Destinations: their stable keys, and the channels that deliver to them, in this process or a later one.

A destination is a channel reference (``"slack:oncall"``), kept as the reference so any process can load the
block again, or a :class:`~prefect_alerts.channels.Channel` object, kept as its description (kind and
settings, secrets included: the store file is owner-only) so another process can rebuild it. A custom channel
that cannot describe itself is delivered by the process that created it only.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prefect_alerts.channels.base import Channel

__all__ = [
    "CHANNEL_CACHE_TTL_ENV",
    "DestinationSpec",
    "channel_for_entry",
    "describe_destination",
    "destination_key",
    "load_reference",
    "remember_in_process",
]

CHANNEL_CACHE_TTL_ENV = "PREFECT_ALERTS_CHANNEL_TTL"
"""Seconds a channel loaded from a saved block is reused before the block is read again (default 60)."""

_CACHE: dict[tuple[str, tuple[str, ...]], tuple[float, Channel]] = {}
_CACHE_LOCK = threading.Lock()
# Channel objects that cannot describe themselves, by outbox entry id, for redelivery in this process only.
_IN_PROCESS: dict[str, Channel] = {}


def _describe(channel: Channel) -> dict[str, Any] | None:
    describe = getattr(channel, "describe", None)
    if describe is None:
        return None
    try:
        return describe()
    except Exception:  # a custom channel's describe() must not break delivery
        return None


def destination_key(destination: str | Channel) -> str:
    """The stable key of a destination: the reference itself, or for a channel object its name (plus a short
    hash of its settings when the name alone does not say which service account it is)."""
    if isinstance(destination, str):
        return destination
    name = destination.name
    if ":" in name:  # built from a block: "slack:ops-alerts"
        return name
    description = _describe(destination)
    if description is None:
        return f"{destination.kind}:{name}" if name != destination.kind else destination.kind
    digest = hashlib.sha256(json.dumps(description, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"{name}#{digest}"


@dataclass(frozen=True)
class DestinationSpec:
    """How the outbox keeps a destination: a reference, or a channel description, or neither (in-process)."""

    reference: str | None
    channel_spec: dict[str, Any] | None


def describe_destination(destination: str | Channel) -> DestinationSpec:
    if isinstance(destination, str):
        return DestinationSpec(reference=destination, channel_spec=None)
    return DestinationSpec(reference=None, channel_spec=_describe(destination))


def _ttl() -> float:
    try:
        return float(os.environ.get(CHANNEL_CACHE_TTL_ENV, "60"))
    except ValueError:
        return 60.0


def load_reference(reference: str, mentions: Sequence[str] = ()) -> Channel:
    """The channel for ``reference``, loading its block at most once per TTL in this process.

    Raises:
        prefect_alerts.blocks.BlockNotFoundError: the block does not exist (permanent: a config problem).
        Exception: anything else (e.g. the Prefect server is unreachable): retryable.
    """
    from prefect_alerts.channels.registry import channel_from_ref

    key = (reference, tuple(mentions))
    now = time.monotonic()
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None and now - cached[0] < _ttl():
            return cached[1]
    channel = (
        channel_from_ref(reference, mentions=list(mentions)) if mentions else channel_from_ref(reference)
    )
    with _CACHE_LOCK:
        _CACHE[key] = (now, channel)
    return channel


def clear_channel_cache() -> None:
    """Forget channels loaded from blocks (tests; after changing a block)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def remember_in_process(entry_id: str, channel: Channel) -> None:
    """Keep a channel object that cannot be described, so a flush in this process can still retry it."""
    _IN_PROCESS[entry_id] = channel


def forget_in_process(entry_id: str) -> None:
    _IN_PROCESS.pop(entry_id, None)


def channel_for_entry(
    reference: str | None, channel_spec: dict[str, Any] | None, mentions: Sequence[str], entry_id: str
) -> Channel | None:
    """Rebuild the channel of an outbox entry; None when it was a custom channel of another process."""
    if reference is not None:
        return load_reference(reference, mentions)
    if channel_spec is not None:
        from prefect_alerts.channels.registry import channel_from_description

        return channel_from_description(channel_spec)
    return _IN_PROCESS.get(entry_id)
