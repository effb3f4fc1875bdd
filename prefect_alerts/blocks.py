"""Our Prefect blocks, and loading the user's saved blocks with errors that say how to fix them.

Registered with Prefect through the ``prefect.collections`` entry point, so ``prefect block register`` is not
needed on a server that has prefect-alerts installed; ``prefect block register -m prefect_alerts.blocks`` does
it by hand.

- :class:`AlertEmailDestination` (``alert-email-destination``): who gets alert emails, and which saved
  ``EmailServerCredentials`` block sends them.
- :class:`PagerDutyEventsV2` (``pagerduty-events-v2``): a PagerDuty Events API v2 integration (routing key).
- :class:`AlertWebhook` (``alert-webhook``): a generic JSON webhook with an optional secret header.
- :class:`AlertRoutingBlock` (``alert-routing``): the routing config every worker shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from prefect.blocks.core import Block
from pydantic import Field, SecretStr, field_validator

__all__ = [
    "AlertEmailDestination",
    "AlertRoutingBlock",
    "AlertWebhook",
    "BlockNotFoundError",
    "PagerDutyEventsV2",
    "load_block",
]

_DOCS = "https://github.com/prefect-alerts/prefect-alerts#readme"

BlockT = TypeVar("BlockT", bound=Block)


class BlockNotFoundError(ValueError):
    """A named block does not exist on the Prefect server; the message says how to create it."""


def load_block(
    name: str,
    block_types: Sequence[type[BlockT]],
    *,
    how_to_create: str,
) -> BlockT:
    """Load the saved block ``name`` of the first of ``block_types`` that has one.

    ``name`` may be ``"slug/name"`` to pick the type. Always synchronous (works in sync hooks of async
    flows, where Prefect would otherwise hand back an un-awaited coroutine).

    Raises:
        BlockNotFoundError: when no block of those types has that name; the message names the types, the name
            and ``how_to_create``.
    """
    if not name or not isinstance(name, str):
        raise ValueError("a block name is required, e.g. 'ops-alerts'")
    wanted = list(block_types)
    if "/" in name:
        slug, _, name = name.partition("/")
        wanted = [cls for cls in block_types if cls.get_block_type_slug() == slug]
        if not wanted:
            slugs = ", ".join(cls.get_block_type_slug() for cls in block_types)
            raise ValueError(f"block type {slug!r} cannot be used here; expected one of: {slugs}")
    for cls in wanted:
        try:
            return cls.load(name, _sync=True)  # type: ignore[call-arg,return-value]
        except ValueError as exc:
            if "Unable to find block document" in str(exc) or "No block type" in str(exc):
                continue
            raise
    slugs = " or ".join(f"'{cls.get_block_type_slug()}'" for cls in wanted)
    raise BlockNotFoundError(
        f"No block named {name!r} of type {slugs} was found on the Prefect server. "
        f"Create it with: {how_to_create.format(name=name)} "
        "(or run `prefect-alerts setup-blocks`), or check the name with `prefect block ls`."
    )


class AlertEmailDestination(Block):
    """Where alert emails go: recipients, sender, subject prefix, and the saved `EmailServerCredentials` block
    (from prefect-email) that holds the SMTP server and login.

    Attributes:
        credentials_block: The name of a saved `EmailServerCredentials` block.
        email_from: The sender address.
        email_to: The recipients.
        cc: Carbon-copy recipients.
        subject_prefix: Put before every subject.
    """

    _block_type_name = "Alert Email Destination"
    _block_type_slug = "alert-email-destination"
    _documentation_url = _DOCS
    _description = (
        "Recipients and sender for prefect-alerts emails, and the EmailServerCredentials block to send with."
    )
    _code_example = """
```python
from prefect_alerts.blocks import AlertEmailDestination

destination = AlertEmailDestination.load("BLOCK_NAME")
```"""

    credentials_block: str = Field(
        description="The name of a saved EmailServerCredentials block (prefect-email) used to send.",
    )
    email_from: str = Field(description="The sender address, e.g. alerts@example.com.")
    email_to: list[str] = Field(min_length=1, description="The recipient addresses.")
    cc: list[str] = Field(default_factory=list, description="Carbon-copy recipient addresses.")
    subject_prefix: str = Field(default="[prefect-alerts]", description="Text put before every subject.")

    @field_validator("email_from")
    @classmethod
    def _one_address(cls, value: str) -> str:
        if "@" not in value or any(ch in value for ch in "\r\n"):
            raise ValueError(f"email_from must be one email address, got {value!r}")
        return value.strip()

    @field_validator("email_to", "cc")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            if "@" not in value or any(ch in value for ch in "\r\n,;"):
                raise ValueError(
                    f"each recipient must be one email address (one per list item), got {value!r}"
                )
        return [value.strip() for value in values]


class PagerDutyEventsV2(Block):
    """A PagerDuty Events API v2 integration: the routing (integration) key and the region.

    Attributes:
        routing_key: The 32-character integration key of a PagerDuty service.
        region: "us" (events.pagerduty.com) or "eu" (events.eu.pagerduty.com).
        events_url: Overrides the region's endpoint (a proxy, or a test receiver).
    """

    _block_type_name = "PagerDuty Events V2"
    _block_type_slug = "pagerduty-events-v2"
    _documentation_url = _DOCS
    _description = (
        "A PagerDuty Events API v2 routing key, for triggering and resolving incidents by dedup key."
    )
    _code_example = """
```python
from prefect_alerts.blocks import PagerDutyEventsV2

pagerduty = PagerDutyEventsV2.load("BLOCK_NAME")
```"""

    routing_key: SecretStr = Field(description="The integration (routing) key of the PagerDuty service.")
    region: Literal["us", "eu"] = Field(default="us", description="The PagerDuty service region, us or eu.")
    events_url: str | None = Field(
        default=None, description="Overrides the region's Events API URL, for a proxy or a test receiver."
    )


class AlertWebhook(Block):
    """A generic JSON webhook: prefect-alerts POSTs each alert (schema `prefect-alerts/alert`, version 1) to it.

    Attributes:
        url: The receiver's URL.
        secret_header_name: The header that carries the secret.
        secret_header_value: The secret sent in that header, if any.
        signing_secret: When set, each body is signed with HMAC-SHA256 in `X-Prefect-Alerts-Signature`.
        body_limit: The largest body in bytes (unset: 64 KiB); see docs/webhook-schema.md.
    """

    _block_type_name = "Alert Webhook"
    _block_type_slug = "alert-webhook"
    _documentation_url = _DOCS
    _description = "A JSON webhook receiver for prefect-alerts (Opsgenie/Teams bridges, in-house services)."
    _code_example = """
```python
from prefect_alerts.blocks import AlertWebhook

webhook = AlertWebhook.load("BLOCK_NAME")
```"""

    url: SecretStr = Field(description="The URL alerts are POSTed to.")
    secret_header_name: str = Field(
        default="Authorization", description="The name of the header that carries the secret."
    )
    secret_header_value: SecretStr | None = Field(
        default=None, description="The secret sent in that header, e.g. 'Bearer abc'."
    )
    signing_secret: SecretStr | None = Field(
        default=None, description="When set, each body is signed with HMAC-SHA256 using this secret."
    )
    body_limit: int | None = Field(
        default=None,
        description="The largest body in bytes, at least 4096; unset means 65536 (64 KiB). A larger alert is "
        "cut to fit and marked truncated.",
    )


class AlertRoutingBlock(Block):
    """The prefect-alerts routing config, saved on the Prefect server so every worker uses the same one.

    Attributes:
        config: The routing config as a mapping: the same structure as the YAML routing file.
    """

    _block_type_name = "Alert Routing"
    _block_type_slug = "alert-routing"
    _documentation_url = _DOCS
    _description = "The prefect-alerts routing config (routes, defaults, fallback), shared by every worker."
    _code_example = """
```python
from prefect_alerts.blocks import AlertRoutingBlock

routing = AlertRoutingBlock.load("BLOCK_NAME")
```"""

    config: dict[str, Any] = Field(
        default_factory=dict,
        description="The routing config: the structure of the YAML routing file (defaults, routes, default).",
    )
