"""Channels by reference: ``"slack:ops-alerts"`` means ``SlackChannel.from_block("ops-alerts")``.

The CLI takes these references, and later the routing config does too. A reference is ``kind:block-name``
(``kind:slug/name`` picks a block type where a kind accepts two), or ``console``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect_alerts.channels.base import Channel
from prefect_alerts.channels.console import ConsoleChannel
from prefect_alerts.channels.discord import DiscordChannel
from prefect_alerts.channels.email import EmailChannel
from prefect_alerts.channels.pagerduty import PagerDutyChannel
from prefect_alerts.channels.slack import SlackChannel
from prefect_alerts.channels.webhook import WebhookChannel

__all__ = ["CHANNEL_KINDS", "MENTION_KINDS", "channel_from_description", "channel_from_ref"]

CHANNEL_KINDS: dict[str, type[Channel]] = {
    "slack": SlackChannel,
    "email": EmailChannel,
    "pagerduty": PagerDutyChannel,
    "discord": DiscordChannel,
    "webhook": WebhookChannel,
    "console": ConsoleChannel,
}
"""The kinds a reference may name, and the channel class each loads."""


MENTION_KINDS = frozenset({"slack"})
"""Kinds that take a route's Slack-style mentions (``<!here>``, ``U0123ABC``); other kinds ignore them
(Discord mentions are user and role ids, set on the channel itself)."""


def channel_from_ref(ref: str, *, mentions: Sequence[str] | None = None) -> Channel:
    """Build a channel from ``"kind:block-name"`` (or ``"console"``).

    ``mentions`` (a route's) go to the kinds in :data:`MENTION_KINDS` and are ignored by the others, so one
    route can name a Slack channel and a PagerDuty service together.

        >>> channel_from_ref("console").name
        'console'

    Raises:
        ValueError: for an unknown kind or a missing name, listing the kinds.
        prefect_alerts.blocks.BlockNotFoundError: when the block does not exist (says how to create it).
    """
    kinds = ", ".join(CHANNEL_KINDS)
    kind, sep, name = ref.strip().partition(":")
    kind = kind.lower()
    if kind not in CHANNEL_KINDS:
        raise ValueError(
            f"unknown channel kind {kind!r} in {ref!r}; use one of: {kinds} (e.g. 'slack:ops-alerts')"
        )
    if kind == "console":
        return ConsoleChannel()
    if not sep or not name.strip():
        raise ValueError(f"{ref!r} names no block; write '{kind}:BLOCK_NAME', e.g. '{kind}:ops-alerts'")
    options = {"mentions": list(mentions)} if mentions and kind in MENTION_KINDS else {}
    return CHANNEL_KINDS[kind].from_block(name.strip(), **options)  # type: ignore[attr-defined]


def channel_from_description(description: dict[str, Any]) -> Channel:
    """Rebuild a channel from :meth:`Channel.describe` (what the outbox keeps for channel objects).

    Raises:
        ValueError: the description names an unknown kind or is malformed.
    """
    from prefect_alerts.channels.base import decode_setting

    if not isinstance(description, dict) or "kind" not in description:
        raise ValueError("a channel description is a mapping with 'kind', 'args' and 'kwargs'")
    kind = description["kind"]
    cls = CHANNEL_KINDS.get(kind)
    if cls is None:
        raise ValueError(
            f"cannot rebuild a channel of kind {kind!r}; known kinds: {', '.join(CHANNEL_KINDS)}"
        )
    args = [decode_setting(value) for value in description.get("args", [])]
    kwargs = {key: decode_setting(value) for key, value in description.get("kwargs", {}).items()}
    return cls(*args, **kwargs)
