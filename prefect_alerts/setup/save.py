"""Building the blocks of a checked plan, and saving only what changed.

Each block is compared with the saved document of the same type and name (secrets included, read with the
Prefect client): a block whose data is the same is not written at all, so running the set-up twice leaves every
document as it was (same data, same ``updated`` time). Changes are reported by field name, never by value.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from prefect_alerts.setup.plan import SetupPlan

__all__ = ["BlockChange", "PlannedBlock", "apprise_silenced", "planned_blocks", "save_blocks"]

Action = Literal["create", "update", "unchanged", "keep"]


class PlannedBlock(BaseModel):
    """One block the plan saves: its type slug, its name, the unsaved block, which fields are secret."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    slug: str
    name: str
    block: Any
    secret_fields: frozenset[str] = frozenset()
    keep_if: Callable[[dict[str, Any]], str | None] | None = None
    """Given the saved document's data, a reason to leave it alone (the routing block a person customised)."""

    @property
    def label(self) -> str:
        """``slug/name``, e.g. ``slack-incoming-webhook/ops``."""
        return f"{self.slug}/{self.name}"

    def data(self) -> dict[str, Any]:
        """The document data saving would write, secrets in clear (compared, never shown)."""
        document = self.block._to_block_document(
            name=self.name, block_schema_id=uuid.uuid4(), block_type_id=uuid.uuid4(), include_secrets=True
        )
        return dict(document.data)

    def shown(self) -> list[str]:
        """``field=value`` for the fields that are set, secrets as ``********`` (what ``--dry-run`` prints)."""
        shown = []
        for key, value in self.data().items():
            if value in (None, "", [], {}):
                continue
            if key in self.secret_fields:
                shown.append(f"{key}=********")
            elif key == "config":
                shown.append("config=(the routing below)")
            else:
                attribute = getattr(self.block, key, value)  # SMTPType.STARTTLS rather than its value, 587
                shown.append(f"{key}={attribute.name if isinstance(attribute, Enum) else value}")
        return shown


class BlockChange(BaseModel):
    """What saving did (or, in a dry run, would do) to one block."""

    label: str
    action: Action
    changed: list[str] = []
    """The names of the fields that differ from the saved document (for ``update``)."""
    reason: str = ""
    """Why a block was kept as it is (for ``keep``)."""

    def line(self, *, dry_run: bool = False) -> str:
        """One line of output: ``saved slack-incoming-webhook/ops (created)``, ``unchanged ...``.

        >>> BlockChange(label="pagerduty-events-v2/ops", action="update", changed=["region"]).line()
        'saved pagerduty-events-v2/ops (updated: region)'
        """
        if self.action == "unchanged":
            return f"unchanged {self.label}"
        if self.action == "keep":
            return f"kept {self.label} as it is: {self.reason}"
        if dry_run:
            what = f"would {self.action} {self.label}"
            return what + (f" (changes: {', '.join(self.changed)})" if self.changed else "")
        detail = "created" if self.action == "create" else f"updated: {', '.join(self.changed) or 'schema'}"
        return f"saved {self.label} ({detail})"


@contextlib.contextmanager
def apprise_silenced() -> Iterator[None]:
    """Prefect's core DiscordWebhook hands its URL to apprise, which logs it (partly masked) on build."""
    apprise_logger = logging.getLogger("apprise")
    was_disabled, apprise_logger.disabled = apprise_logger.disabled, True
    try:
        yield
    finally:
        apprise_logger.disabled = was_disabled


def planned_blocks(plan: SetupPlan) -> list[PlannedBlock]:
    """Every channel block of the plan, unsaved, in saving order (building them touches no server).

    >>> [b.label for b in planned_blocks(SetupPlan(name="ops", pagerduty_routing_key="R" * 32))]
    ['pagerduty-events-v2/ops']
    """
    from prefect.blocks.notifications import DiscordWebhook
    from prefect_email import EmailServerCredentials
    from prefect_slack import SlackWebhook as SlackIncomingWebhook

    from prefect_alerts.blocks import AlertEmailDestination, AlertWebhook, PagerDutyEventsV2

    name, blocks = plan.name, []
    slack_urls = {plan.name: plan.slack_url} if plan.slack_url is not None else {}
    slack_urls |= {f"{name}-{route}": url for route, url in plan.slack_route_urls.items()}
    for block_name in plan.slack_block_names():
        slack = SlackIncomingWebhook(url=slack_urls[block_name])
        blocks.append(
            PlannedBlock(slug="slack-incoming-webhook", name=block_name, block=slack, secret_fields={"url"})
        )
    if (email := plan.email) is not None:
        credentials: dict[str, Any] = {"smtp_server": email.smtp_server, "smtp_type": email.smtp_type}
        if email.smtp_port:
            credentials["smtp_port"] = email.smtp_port
        if email.username and email.password:
            credentials.update(username=email.username, password=email.password)
        blocks.append(
            PlannedBlock(
                slug="email-server-credentials",
                name=name,
                block=EmailServerCredentials(**credentials),
                secret_fields={"username", "password"},
            )
        )
        destination = AlertEmailDestination(
            credentials_block=name,
            email_from=email.email_from,
            email_to=email.email_to,
            subject_prefix=email.subject_prefix,
        )
        blocks.append(PlannedBlock(slug="alert-email-destination", name=name, block=destination))
    if plan.pagerduty_routing_key is not None:
        pagerduty = PagerDutyEventsV2(
            routing_key=plan.pagerduty_routing_key,
            region=plan.pagerduty_region,
            events_url=plan.pagerduty_events_url.get_secret_value() if plan.pagerduty_events_url else None,
        )
        secret = {"routing_key", "events_url"}
        blocks.append(
            PlannedBlock(slug="pagerduty-events-v2", name=name, block=pagerduty, secret_fields=secret)
        )
    if plan.discord_id is not None and plan.discord_token is not None:
        with apprise_silenced():
            discord = DiscordWebhook(webhook_id=plan.discord_id, webhook_token=plan.discord_token)
        secret = {"webhook_id", "webhook_token"}
        blocks.append(PlannedBlock(slug="discord-webhook", name=name, block=discord, secret_fields=secret))
    if (webhook := plan.webhook) is not None:
        alert_webhook = AlertWebhook(
            url=webhook.url,
            secret_header_name=webhook.secret_header_name,
            secret_header_value=webhook.secret_header_value,
            signing_secret=webhook.signing_secret,
        )
        secret = {"url", "secret_header_value", "signing_secret"}
        blocks.append(
            PlannedBlock(slug="alert-webhook", name=name, block=alert_webhook, secret_fields=secret)
        )
    return blocks


def _saved_data(client: Any, block: PlannedBlock) -> dict[str, Any] | None:
    from prefect.exceptions import ObjectNotFound

    try:
        document = client.read_block_document_by_name(
            block.name, block_type_slug=block.slug, include_secrets=True
        )
    except ObjectNotFound:
        return None
    return dict(document.data or {})


def _change(block: PlannedBlock, saved: dict[str, Any] | None) -> BlockChange:
    if saved is None:
        return BlockChange(label=block.label, action="create")
    new = block.data()
    if saved == new:
        return BlockChange(label=block.label, action="unchanged")
    if block.keep_if is not None and (reason := block.keep_if(saved)):
        return BlockChange(label=block.label, action="keep", reason=reason)
    changed = sorted(key for key in set(new) | set(saved) if new.get(key) != saved.get(key))
    return BlockChange(label=block.label, action="update", changed=changed)


def save_blocks(
    blocks: list[PlannedBlock],
    *,
    dry_run: bool = False,
    on_change: Callable[[BlockChange], None] | None = None,
) -> list[BlockChange]:
    """Create or update each block whose saved document differs; leave the others untouched.

    With ``dry_run`` nothing is written: the changes say what would be. ``on_change`` hears each block as it
    is settled (so a failure part-way still shows what was saved before it).

    Example (needs a Prefect server):
        ```python
        from prefect_alerts.setup import SetupPlan, planned_blocks, save_blocks

        plan = SetupPlan(name="ops", pagerduty_routing_key="R" * 32)
        [change.line() for change in save_blocks(planned_blocks(plan))]
        # ['saved pagerduty-events-v2/ops (created)'], then on a second run ['unchanged pagerduty-events-v2/ops']
        ```

    Raises:
        Exception: the Prefect server could not be reached or refused (httpx and Prefect errors).
    """
    from prefect.client.orchestration import get_client

    changes: list[BlockChange] = []
    with apprise_silenced(), get_client(sync_client=True) as client:
        for block in blocks:
            change = _change(block, _saved_data(client, block))
            if not dry_run and change.action in ("create", "update"):
                block.block.save(block.name, overwrite=True, _sync=True)
            changes.append(change)
            if on_change is not None:
                on_change(change)
    return changes
