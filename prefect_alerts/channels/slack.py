"""Slack incoming webhooks: Block Kit with a ``text`` fallback, colour by severity, every limit respected.

Untrusted text (titles, exception messages, field values) is escaped (``&``, ``<``, ``>``) so it can never ping
a channel or plant a masked link; mentions come only from the channel's configuration.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from prefect_alerts.alert import Alert, Severity
from prefect_alerts.blocks import load_block
from prefect_alerts.channels.base import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    DeliveryResult,
    HTTPChannel,
    HTTPReply,
    classify_common,
    short_body,
)
from prefect_alerts.channels.text import (
    format_value,
    severity_colour,
    severity_emoji,
    severity_label,
    truncate,
)

__all__ = ["SlackChannel", "escape_slack"]

# Slack's limits (docs.slack.dev, Block Kit reference); each has a test.
SLACK_TEXT_LIMIT = 3000
"""The top-level ``text`` fallback: Slack advises under 4,000 and cuts past 40,000; we stay well under."""
SLACK_HEADER_LIMIT = 150
"""A header block's plain_text."""
SLACK_SECTION_TEXT_LIMIT = 3000
"""A section block's text."""
SLACK_SECTION_FIELDS_MAX = 10
"""Fields in one section block."""
SLACK_FIELD_TEXT_LIMIT = 2000
"""One section field's text."""
SLACK_CONTEXT_ELEMENTS_MAX = 10
"""Elements in one context block."""
SLACK_CONTEXT_TEXT_LIMIT = 2000
"""One context element's text (kept at the section-field limit)."""
SLACK_BLOCKS_MAX = 50
"""Blocks in one message."""
SLACK_DEFAULT_RATE_LIMIT_WAIT = 5.0
"""Seconds to wait after a 429 that carried no Retry-After (Slack allows about one message a second)."""

# What a non-2xx reply means (reference: shared delivery facts). 429, 408 and 5xx are retryable.
SLACK_PERMANENT_ERRORS: dict[int, str] = {
    400: "Slack rejected the payload (a bug in prefect-alerts; please report it)",
    403: "Slack refused the webhook (the app or its token was revoked; create a new webhook)",
    404: "Slack webhook is gone (create a new incoming webhook and update the block)",
    410: "Slack channel is archived (unarchive it or point the webhook at another channel)",
}

_MENTION = re.compile(r"^<(!here|!channel|!everyone|@[UWB][A-Z0-9]+|!subteam\^[A-Z0-9]+(\|[^<>]*)?)>$")


def escape_slack(text: str) -> str:
    """Escape the three characters Slack treats as markup: ``&``, ``<``, ``>``; nothing else.

    >>> escape_slack("<!channel> & co")
    '&lt;!channel&gt; &amp; co'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mention(value: str) -> str:
    value = value.strip()
    if re.match(r"^[UW][A-Z0-9]{2,}$", value):
        value = f"<@{value}>"
    elif value in ("here", "channel", "everyone", "@here", "@channel", "@everyone"):
        value = f"<!{value.lstrip('@')}>"
    if not _MENTION.match(value):
        raise ValueError(
            f"not a Slack mention: {value!r}; use a user id ('U0123ABC' or '<@U0123ABC>'), "
            "'<!here>', '<!channel>' or a user group '<!subteam^S0123ABC>'"
        )
    return value


class SlackChannel(HTTPChannel):
    """Posts alerts to a Slack incoming webhook.

    Args:
        url: The incoming-webhook URL (a secret: never logged or shown).
        mentions: Who to ping, from configuration only: user ids (``U0123ABC``), ``<!here>``, ``<!channel>``,
            user groups (``<!subteam^S0123ABC>``).
        mention_min_severity: Mentions are added only at or above this severity (firing alerts only).
        name: How results and logs name this channel.
        connect_timeout, read_timeout: Seconds.

    Example:
        ```python
        from prefect_alerts import Alert, deliver
        from prefect_alerts.channels import SlackChannel

        slack = SlackChannel.from_block("ops-alerts", mentions=["<!here>"])
        deliver(Alert(title="Nightly load failed", severity="error"), slack)
        ```
    """

    kind: ClassVar[str] = "slack"
    describable: ClassVar[bool] = True
    service: ClassVar[str] = "Slack"

    def __init__(
        self,
        url: str,
        *,
        mentions: Sequence[str] = (),
        mention_min_severity: Severity | str = Severity.ERROR,
        name: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        super().__init__(url, name=name, connect_timeout=connect_timeout, read_timeout=read_timeout)
        self.mentions = [_mention(value) for value in mentions]
        self.mention_min_severity = Severity(mention_min_severity)

    @classmethod
    def from_block(cls, name: str, /, **kwargs: Any) -> SlackChannel:
        """Build from a saved Slack webhook block: prefect-slack's ``slack-incoming-webhook`` (what
        ``prefect-alerts setup-blocks`` saves) or Prefect's core ``slack-webhook``. When both exist under one name the
        prefect-slack one wins, so re-running the set-up script updates the URL; ``"slack-webhook/name"`` picks
        the core one."""
        from prefect.blocks.notifications import SlackWebhook as CoreSlackWebhook
        from prefect_slack import SlackWebhook as PrefectSlackWebhook

        block = load_block(
            name,
            # prefect-slack's first: loading the core block builds an apprise client, which logs the URL.
            [PrefectSlackWebhook, CoreSlackWebhook],
            how_to_create=(
                "`from prefect_slack import SlackWebhook; "
                "SlackWebhook(url='https://hooks.slack.com/services/...').save('{name}')`"
            ),
        )
        kwargs.setdefault("name", f"slack:{name}")
        return cls(block.url.get_secret_value(), **kwargs)

    # ------------------------------------------------------------------ payload
    def _mentions_for(self, alert: Alert) -> str:
        if self.mentions and not alert.is_resolved and alert.severity >= self.mention_min_severity:
            return " ".join(self.mentions)
        return ""

    def build_payload(self, alert: Alert) -> dict[str, Any]:
        """The JSON body for ``alert``: ``text`` fallback, a header block, and a coloured attachment."""
        emoji, label = severity_emoji(alert), severity_label(alert)
        mentions = self._mentions_for(alert)
        title = escape_slack(alert.title)
        message = escape_slack(alert.message.strip())

        fallback = f"{emoji} [{label}] {title}"
        first_line = message.splitlines()[0] if message else ""
        if first_line:
            fallback += f": {first_line}"
        if mentions:
            fallback = f"{mentions} {fallback}"
        fallback = truncate(fallback, SLACK_TEXT_LIMIT)

        header_text = truncate(f"{emoji} {label}: {title}", SLACK_HEADER_LIMIT, "…")
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": header_text}}
        ]

        body: list[dict[str, Any]] = []
        section_text = "\n".join(part for part in (mentions, message) if part)
        if section_text:
            body.append(_section(truncate(section_text, SLACK_SECTION_TEXT_LIMIT)))
        if alert.fields:
            body.append({"type": "section", "fields": _fields(alert.fields)})
        if alert.links:
            links = "  ·  ".join(f"<{link.url}|{escape_slack(link.label)}>" for link in alert.links)
            body.append(_section(truncate(links, SLACK_SECTION_TEXT_LIMIT, "")))
        body.append({"type": "context", "elements": _context(alert)})

        attachment = {"color": severity_colour(alert), "fallback": fallback, "blocks": body}
        return {"text": fallback, "blocks": blocks, "attachments": [attachment]}

    # ------------------------------------------------------------------ sending
    def classify(self, reply: HTTPReply) -> tuple[Literal["delivered", "retry", "failed"], str, float | None]:
        """Map Slack's reply to delivered / retry / failed (see ``SLACK_PERMANENT_ERRORS``)."""
        if 200 <= reply.status_code < 300:
            body = reply.body.strip()
            return "delivered", "" if body in ("", "ok") else short_body(body), None
        common = classify_common(reply, "Slack", default_rate_limit_wait=SLACK_DEFAULT_RATE_LIMIT_WAIT)
        if common is not None:
            return common
        reason = SLACK_PERMANENT_ERRORS.get(reply.status_code, "Slack refused the message")
        return "failed", f"{reason}: {reply.status_code} {short_body(reply.body)}".rstrip(), None

    def send(self, alert: Alert) -> DeliveryResult:
        return self.deliver_json(alert, self.build_payload(alert), self.classify)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _fields(fields: dict[str, Any]) -> list[dict[str, str]]:
    items = list(fields.items())
    shown = items if len(items) <= SLACK_SECTION_FIELDS_MAX else items[: SLACK_SECTION_FIELDS_MAX - 1]
    result = [
        {
            "type": "mrkdwn",
            "text": truncate(
                f"*{escape_slack(key)}*\n{escape_slack(format_value(value))}", SLACK_FIELD_TEXT_LIMIT
            ),
        }
        for key, value in shown
    ]
    if len(items) > len(shown):
        rest = items[len(shown) :]
        names = ", ".join(escape_slack(key) for key, _ in rest)
        result.append(
            {"type": "mrkdwn", "text": truncate(f"*…and {len(rest)} more*\n{names}", SLACK_FIELD_TEXT_LIMIT)}
        )
    return result


def _context(alert: Alert) -> list[dict[str, str]]:
    elements = []
    origin = alert.source.describe()
    if origin:
        elements.append(escape_slack(origin))
    if alert.error_type:
        elements.append(f"error: `{escape_slack(alert.error_type)}`")
    elements.append(f"event: `{escape_slack(alert.event)}`")
    stamp = int(alert.timestamp.timestamp())
    readable = alert.timestamp.strftime("%Y-%m-%d %H:%M:%S UTC")
    elements.append(f"<!date^{stamp}^{{date_short_pretty}} {{time_secs}}|{readable}>")
    if alert.tags:
        elements.append("tags: " + escape_slack(", ".join(alert.tags)))
    return [
        {"type": "mrkdwn", "text": truncate(text, SLACK_CONTEXT_TEXT_LIMIT)}
        for text in elements[:SLACK_CONTEXT_ELEMENTS_MAX]
    ]
