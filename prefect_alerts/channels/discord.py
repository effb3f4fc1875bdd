"""Discord webhooks: one coloured embed per alert, every Discord limit respected, nobody pinged by accident.

Untrusted text (titles, exception messages, field values, source names) is escaped for Discord markdown so
it cannot plant a masked link, a spoiler or a heading, and mention syntax in it is broken with a zero-width
space. On top of that every message carries ``allowed_mentions`` with ``parse: []``: Discord itself then
refuses to ping anyone except the user and role ids in the channel's configuration.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from prefect_alerts.alert import Alert, Severity
from prefect_alerts.blocks import load_block
from prefect_alerts.channels.base import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    DeliveryResult,
    HTTPChannel,
    HTTPReply,
    classify_common,
    parse_retry_after,
    register_secret,
    short_body,
)
from prefect_alerts.channels.text import (
    TRUNCATION_MARKER,
    format_value,
    severity_colour,
    severity_emoji,
    severity_label,
    truncate,
)

__all__ = ["DISCORD_API_WEBHOOKS", "DiscordChannel", "escape_discord", "neutralise_mentions"]

DISCORD_API_WEBHOOKS = "https://discord.com/api/webhooks"
"""Where Discord webhooks live; ``from_block(..., endpoint=...)`` replaces it (a proxy, a test receiver)."""

# Discord's limits (discord.com/developers/docs/resources/message#embed-object-embed-limits and
# .../resources/webhook#execute-webhook); each has a test. Lengths are counted in characters (code points).
DISCORD_CONTENT_LIMIT = 2000
"""The message ``content`` (mentions and the one-line summary)."""
DISCORD_EMBED_TITLE_LIMIT = 256
"""An embed's ``title``."""
DISCORD_EMBED_DESCRIPTION_LIMIT = 4096
"""An embed's ``description`` (the alert's message)."""
DISCORD_EMBED_FIELDS_MAX = 25
"""Fields in one embed; past it we show 24 and a last "…and N more" field."""
DISCORD_FIELD_NAME_LIMIT = 256
"""One field's ``name``."""
DISCORD_FIELD_VALUE_LIMIT = 1024
"""One field's ``value``."""
DISCORD_FOOTER_TEXT_LIMIT = 2048
"""An embed's ``footer.text`` (source, event, error type, tags, dedup key)."""
DISCORD_EMBEDS_TOTAL_LIMIT = 6000
"""All text of all embeds of one message together (title, description, field names and values, footer)."""
DISCORD_USERNAME_LIMIT = 80
"""The ``username`` override (a webhook name is 1 to 80 characters)."""
DISCORD_ALLOWED_MENTIONS_MAX = 100
"""User ids, and separately role ids, in ``allowed_mentions``."""

# Our own layout choices, not Discord's limits.
DISCORD_MENTIONS_TEXT_LIMIT = 1000
"""Configured mentions may take at most half of ``content``, so the summary always fits beside them."""
DISCORD_SUMMARY_LIMIT = 300
"""The one-line summary in ``content`` (what a push notification shows), before escaping."""
DISCORD_DESCRIPTION_FLOOR = 1000
"""Over the 6,000 total the description shrinks first, but not below this; then the fields shrink."""
DISCORD_INLINE_VALUE_MAX = 40
"""Field values up to this long (and on one line) are shown side by side (``inline``)."""
DISCORD_DEFAULT_RATE_LIMIT_WAIT = 2.0
"""Seconds to wait after a 429 that said nothing about how long (Discord allows about 5 requests per 2 s)."""

DISCORD_ERROR_CODES: dict[int, str] = {
    10015: "Discord webhook is gone (Unknown Webhook: it was deleted; create a webhook and update the block)",
    50027: "Discord webhook is invalid (Invalid Webhook Token: copy the webhook URL again, update the block)",
    50035: "Discord rejected the message (a bug in prefect-alerts; please report it)",
    50006: "Discord rejected an empty message (a bug in prefect-alerts; please report it)",
}
"""Discord's JSON error ``code`` values that decide a failure's reason; they win over the status table."""

DISCORD_PERMANENT_ERRORS: dict[int, str] = {
    400: "Discord rejected the message (a bug in prefect-alerts; please report it)",
    401: "Discord webhook is invalid (the token was rejected; copy the webhook URL again, update the block)",
    403: "Discord refused the webhook (it lost access to its channel; check the channel's permissions)",
    404: "Discord webhook is gone (it was deleted; create a new webhook and update the block)",
    413: "Discord says the message is too large (a bug in prefect-alerts; please report it)",
}
"""What a non-2xx reply without a known error code means. 429, 408 and 5xx are retryable; 3xx and any other
4xx fail (a redirect means the URL is wrong; retrying the same message cannot fix a 4xx)."""

_ZWSP = "\u200b"
# Live mention syntax: @everyone / @here anywhere, and <@id>, <@!id>, <@&role>, <#channel>, </cmd:id>,
# <:emoji:id>, <a:emoji:id>, <t:timestamp>, <id:browse> after a '<'.
_AT_MENTION = re.compile(r"@(?=everyone|here|[!&]?\d)", re.IGNORECASE)
_ANGLE_MENTION = re.compile(r"<(?=[@#:/]|[at]:|id:)", re.IGNORECASE)
# Characters that start Discord markdown anywhere in a line: backslash (so text cannot undo our escapes),
# bold/italic/underline (* _), strikethrough (~), code (`), spoilers (|), masked links ([ ]), quotes and
# angle-bracket syntax (< >), headings (#). Not escaped: parentheses (a masked link cannot start without an
# unescaped '['; tracebacks are full of them), '@' (mentions get a zero-width space instead, which keeps email
# addresses intact) and ':' (webhook text never turns :shortcodes: into emoji; <:custom:id> needs a '<').
_MARKDOWN_SPECIALS = re.compile(r"([\\*_~`|\[\]<>#])")
# Markers that only count at the start of a line: list items (- + 1.) and the "-#" subtext (whose '#' is
# escaped anyway; the '-' is too, so no reading of the line can make it a list).
_LINE_START_MARKER = re.compile(r"(?m)^([ \t]*)(?:([-+])|(\d+)\.)(?=[ \t]|\\#|$)")
# What Discord links by itself: kept unescaped so a URL in an exception message still works when clicked.
_BARE_URL = re.compile(r"https?://[^\s<>\[\]]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\u0085]")
_USER_ID = re.compile(r"^(?:<@!?(\d{1,20})>|(\d{1,20}))$")
_ROLE_ID = re.compile(r"^(?:<@&(\d{1,20})>|(\d{1,20}))$")
_WEBHOOK_TOKEN = re.compile(r"/webhooks/[^/]+/([^/?#]+)")


def neutralise_mentions(text: str) -> str:
    """Break ``@everyone``, ``@here`` and ``<@id>``-style syntax with a zero-width space; nothing else.

    Used beside ``allowed_mentions`` (defence in depth) and in footers, where markdown is not rendered.

        >>> neutralise_mentions("@here <@123> ops@example.com")
        '@\\u200bhere <\\u200b@\\u200b123> ops@example.com'
    """
    return _AT_MENTION.sub("@" + _ZWSP, _ANGLE_MENTION.sub("<" + _ZWSP, text))


def _escape_markdown(text: str) -> str:
    text = _MARKDOWN_SPECIALS.sub(r"\\\1", text)

    def line_start(match: re.Match[str]) -> str:
        indent, sign, number = match.groups()
        return f"{indent}\\{sign}" if sign else f"{indent}{number}\\."

    return _LINE_START_MARKER.sub(line_start, text)


def escape_discord(text: str) -> str:
    """Make untrusted text show literally in Discord: markdown escaped, mentions broken, URLs left clickable.

    A backslash before any ASCII punctuation is consumed by Discord's renderer, so escapes are invisible in
    the message; bare ``http(s)://`` URLs are kept as they are, because Discord links them itself and an
    escape inside one would change where it points. Control characters are dropped, line ends become ``\\n``.

        >>> escape_discord("**boom** [click](https://evil.example) @here")
        '\\\\*\\\\*boom\\\\*\\\\* \\\\[click\\\\](https://evil.example) @\\u200bhere'
    """
    text = _clean(text)
    text = neutralise_mentions(text)
    parts: list[str] = []
    position = 0
    for match in _BARE_URL.finditer(text):
        parts.append(_escape_markdown(text[position : match.start()]))
        parts.append(match.group(0))
        position = match.end()
    parts.append(_escape_markdown(text[position:]))
    return "".join(parts)


def _clean(text: str) -> str:
    """Line ends to ``\\n``, control characters dropped."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _one_line(text: str) -> str:
    return " ".join(_clean(text).split())


def _fit(text: str, limit: int, marker: str = "…") -> str:
    """``truncate`` that never leaves a dangling backslash (it would swallow the marker's first character)."""
    if len(text) <= limit:
        return text
    if limit <= len(marker):
        return marker[:limit]
    cut = truncate(text, limit, marker)
    head = cut[: len(cut) - len(marker)]
    if (len(head) - len(head.rstrip("\\"))) % 2:
        head = head[:-1]
    return head + marker


def _snowflakes(values: Iterable[str | int], kind: str) -> list[str]:
    ids: list[str] = []
    for value in values:
        match = (_USER_ID if kind == "user" else _ROLE_ID).match(str(value).strip())
        if not match:
            raise ValueError(
                f"not a Discord {kind} id: {str(value)[:40]!r}; use the numeric id "
                f"(Discord: Settings > Advanced > Developer Mode, then right-click the {kind} > Copy ID)"
            )
        snowflake = match.group(1) or match.group(2)
        if snowflake not in ids:
            ids.append(snowflake)
    if len(ids) > DISCORD_ALLOWED_MENTIONS_MAX:
        raise ValueError(f"Discord allows at most {DISCORD_ALLOWED_MENTIONS_MAX} {kind} mentions per message")
    return ids


def _check_username(username: str | None) -> str | None:
    if username is None:
        return None
    cleaned = _one_line(username)
    lowered = cleaned.lower()
    if not 1 <= len(cleaned) <= DISCORD_USERNAME_LIMIT:
        raise ValueError(
            f"Discord username must be 1 to {DISCORD_USERNAME_LIMIT} characters, got {len(cleaned)}"
        )
    bad = [part for part in ("discord", "clyde", "@", "#", ":", "```") if part in lowered]
    if bad or lowered in ("everyone", "here"):
        raise ValueError(
            f"Discord refuses webhook usernames containing {bad or [lowered]!r} (every message would fail "
            f"with 400); choose another username than {cleaned!r}"
        )
    return cleaned


class DiscordChannel(HTTPChannel):
    """Posts alerts to a Discord channel through a webhook.

    Args:
        url: The webhook URL ``https://discord.com/api/webhooks/{id}/{token}`` (a secret: never logged).
        username: Shown as the sender instead of the webhook's own name.
        avatar_url: An image URL shown as the sender's avatar.
        mention_user_ids: Discord user ids to ping (the only users that can ever be pinged).
        mention_role_ids: Discord role ids to ping (the only roles that can ever be pinged).
        mention_min_severity: Mentions are added only at or above this severity (firing alerts only).
        name: How results and logs name this channel.
        connect_timeout, read_timeout: Seconds.

    Example:
        ```python
        from prefect_alerts import Alert, deliver
        from prefect_alerts.channels import DiscordChannel

        discord = DiscordChannel.from_block("ops-discord", mention_role_ids=["987654321098765432"])
        deliver(Alert(title="Nightly load failed", severity="error"), discord)
        ```
    """

    kind: ClassVar[str] = "discord"
    describable: ClassVar[bool] = True
    service: ClassVar[str] = "Discord"

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        avatar_url: str | None = None,
        mention_user_ids: Sequence[str | int] = (),
        mention_role_ids: Sequence[str | int] = (),
        mention_min_severity: Severity | str = Severity.ERROR,
        name: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        super().__init__(url, name=name, connect_timeout=connect_timeout, read_timeout=read_timeout)
        token = _WEBHOOK_TOKEN.search(url)
        if token:
            register_secret(token.group(1))
        self.username = _check_username(username)
        if avatar_url is not None and not re.match(r"^https?://\S+$", avatar_url):
            raise ValueError(f"avatar_url must be an http(s) URL, got {avatar_url[:80]!r}")
        self.avatar_url = avatar_url
        self.mention_user_ids = _snowflakes(mention_user_ids, "user")
        self.mention_role_ids = _snowflakes(mention_role_ids, "role")
        self.mention_min_severity = Severity(mention_min_severity)
        if len(self._mention_text()) > DISCORD_MENTIONS_TEXT_LIMIT:
            raise ValueError(
                f"too many Discord mentions: together they must fit in {DISCORD_MENTIONS_TEXT_LIMIT} "
                "characters; mention a role instead of many users"
            )

    @classmethod
    def from_block(cls, block_name: str, /, *, endpoint: str | None = None, **kwargs: Any) -> DiscordChannel:
        """Build from a saved Prefect ``DiscordWebhook`` block (slug ``discord-webhook``).

        The block's webhook id and token make the URL; ``endpoint`` replaces ``https://discord.com/api/webhooks``
        (a proxy, or a local receiver in tests). The block's ``botname`` and ``avatar_url`` are used as
        ``username`` and ``avatar_url`` unless given here. Other keyword arguments go to the constructor.
        """
        from prefect.blocks.notifications import DiscordWebhook

        block = load_block(
            block_name,
            [DiscordWebhook],
            how_to_create=(
                "`from prefect.blocks.notifications import DiscordWebhook; "
                "DiscordWebhook(webhook_id='123...', webhook_token='abc...').save('{name}')` "
                "(the id and token are the last two parts of the webhook URL)"
            ),
        )
        webhook_id = block.webhook_id.get_secret_value()
        token = block.webhook_token.get_secret_value()
        register_secret(token)
        base = (endpoint or DISCORD_API_WEBHOOKS).rstrip("/")
        kwargs.setdefault("name", f"discord:{block_name}")
        if block.botname:
            kwargs.setdefault("username", block.botname)
        if block.avatar_url:
            kwargs.setdefault("avatar_url", block.avatar_url)
        return cls(f"{base}/{quote(webhook_id, safe='')}/{quote(token, safe='')}", **kwargs)

    # ------------------------------------------------------------------ payload
    def _mention_text(self) -> str:
        return " ".join(
            [f"<@{uid}>" for uid in self.mention_user_ids] + [f"<@&{rid}>" for rid in self.mention_role_ids]
        )

    def _mentions_apply(self, alert: Alert) -> bool:
        return (
            bool(self.mention_user_ids or self.mention_role_ids)
            and not alert.is_resolved
            and alert.severity >= self.mention_min_severity
        )

    def build_payload(self, alert: Alert) -> dict[str, Any]:
        """The JSON body for ``alert``: mentions and a summary in ``content``, the details in one embed."""
        mentioning = self._mentions_apply(alert)
        emoji, label = severity_emoji(alert), severity_label(alert)

        first_line = alert.message.strip().splitlines()[0] if alert.message.strip() else ""
        summary_raw = _one_line(f"{alert.title}: {first_line}" if first_line else alert.title)
        summary = f"{emoji} **{label}**: {escape_discord(_fit(summary_raw, DISCORD_SUMMARY_LIMIT))}"
        content = f"{self._mention_text()} {summary}" if mentioning else summary

        title = _fit(f"{emoji} {label}: {escape_discord(_one_line(alert.title))}", DISCORD_EMBED_TITLE_LIMIT)
        description = _fit(
            escape_discord(alert.message.strip()), DISCORD_EMBED_DESCRIPTION_LIMIT, TRUNCATION_MARKER
        )
        fields = _fields(alert)
        footer = _fit(_footer(alert), DISCORD_FOOTER_TEXT_LIMIT)
        description, fields = _fit_total(title, description, fields, footer)

        embed: dict[str, Any] = {
            "title": title,
            "color": int(severity_colour(alert).lstrip("#"), 16),
            "timestamp": alert.timestamp.isoformat(),
            "footer": {"text": footer},
        }
        if description:
            embed["description"] = description
        if fields:
            embed["fields"] = [
                {
                    "name": name,
                    "value": value,
                    "inline": len(value) <= DISCORD_INLINE_VALUE_MAX and "\n" not in value,
                }
                for name, value in fields
            ]
        if alert.run_url:
            embed["url"] = alert.run_url

        payload: dict[str, Any] = {
            "content": _fit(content, DISCORD_CONTENT_LIMIT),
            "embeds": [embed],
            # parse: [] turns off every mention Discord would find in the text; only configured ids may ping.
            "allowed_mentions": {
                "parse": [],
                "users": list(self.mention_user_ids) if mentioning else [],
                "roles": list(self.mention_role_ids) if mentioning else [],
            },
        }
        if self.username:
            payload["username"] = self.username
        if self.avatar_url:
            payload["avatar_url"] = self.avatar_url
        return payload

    # ------------------------------------------------------------------ sending
    def classify(self, reply: HTTPReply) -> tuple[Literal["delivered", "retry", "failed"], str, float | None]:
        """Map Discord's reply to delivered / retry / failed (see ``DISCORD_ERROR_CODES`` and
        ``DISCORD_PERMANENT_ERRORS``); a 429 waits as long as the body's ``retry_after`` says."""
        status = reply.status_code
        if 200 <= status < 300:
            return "delivered", "", None
        data = reply.json_body()
        data = data if isinstance(data, dict) else {}
        said = _discord_message(data) or short_body(reply.body)
        if status == 429:
            scope = " (global)" if data.get("global") is True else ""
            return "retry", f"Discord rate limit{scope}: 429 {said}".rstrip(), _rate_limit_wait(reply, data)
        common = classify_common(reply, "Discord", default_rate_limit_wait=DISCORD_DEFAULT_RATE_LIMIT_WAIT)
        if common is not None:
            return common
        code = data.get("code")
        reason = DISCORD_ERROR_CODES.get(code) if isinstance(code, int) else None
        reason = reason or DISCORD_PERMANENT_ERRORS.get(status, "Discord refused the message")
        code_text = f" code {code}" if isinstance(code, int) and not isinstance(code, bool) else ""
        return "failed", f"{reason}: {status}{code_text} {said}".rstrip(), None

    def send(self, alert: Alert) -> DeliveryResult:
        payload = self.build_payload(alert)
        # Serialised here so a lone surrogate in a field value becomes "?" instead of raising.
        data = json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8", "replace")
        return self.deliver_json(alert, payload, self.classify, data=data)


# ---------------------------------------------------------------------------------------------------------
# Embed parts
# ---------------------------------------------------------------------------------------------------------
def _field_name(text: str) -> str:
    return _fit(escape_discord(_one_line(text)), DISCORD_FIELD_NAME_LIMIT) or _ZWSP  # Discord refuses ""


def _field_value(text: str) -> str:
    value = _fit(escape_discord(text.strip()), DISCORD_FIELD_VALUE_LIMIT)
    return value if value.strip() else "—"  # Discord refuses an empty or blank value


def _fields(alert: Alert) -> list[tuple[str, str]]:
    items = [(_field_name(key), _field_value(format_value(value))) for key, value in alert.fields.items()]
    links = _links(alert)
    room = DISCORD_EMBED_FIELDS_MAX - (1 if links else 0)
    if len(items) > room:
        shown, rest = items[: room - 1], list(alert.fields)[room - 1 :]
        names = ", ".join(escape_discord(_one_line(key)) or "(unnamed)" for key in rest)
        items = [*shown, (f"…and {len(rest)} more", _fit(names, DISCORD_FIELD_VALUE_LIMIT))]
    if links:
        items.append(("Links", links))
    return items


def _links(alert: Alert) -> str:
    """Masked links from the alert's own links (label escaped); whole links only, up to the field limit."""
    parts: list[str] = []
    for link in alert.links:
        # Parentheses would end the link target early; they are percent-encoded (same URL to a browser).
        url = link.url.replace("(", "%28").replace(")", "%29")
        # Brackets go: Discord's label syntax ignores escapes, so "a](https://evil" could re-aim the link.
        label = escape_discord(_one_line(link.label).replace("[", "(").replace("]", ")")) or "link"
        candidate = " · ".join([*parts, f"[{label}]({url})"])
        if len(candidate) > DISCORD_FIELD_VALUE_LIMIT:
            break
        parts.append(f"[{label}]({url})")
    return " · ".join(parts)


def _footer(alert: Alert) -> str:
    """Plain text (Discord renders no markdown in footers, so escapes would show): mentions broken only."""
    parts = []
    origin = alert.source.describe()
    if origin:
        parts.append(origin)
    if alert.error_type:
        parts.append(f"error {alert.error_type}")
    parts.append(f"event {alert.event}")
    if alert.tags:
        parts.append("tags " + ", ".join(alert.tags))
    parts.append(f"key {alert.dedup_key}")
    return neutralise_mentions(_one_line(" · ".join(parts)))


def _fit_total(
    title: str, description: str, fields: list[tuple[str, str]], footer: str
) -> tuple[str, list[tuple[str, str]]]:
    """Keep all embed text within ``DISCORD_EMBEDS_TOTAL_LIMIT``: the description shrinks first (down to
    ``DISCORD_DESCRIPTION_FLOOR``), then field values, then field names, then the description again."""
    budget = DISCORD_EMBEDS_TOTAL_LIMIT - len(title) - len(footer)

    def fields_length(items: list[tuple[str, str]]) -> int:
        return sum(len(name) + len(value) for name, value in items)

    if len(description) + fields_length(fields) <= budget:
        return description, fields
    room = budget - fields_length(fields)
    description = _fit(
        description, max(room, min(len(description), DISCORD_DESCRIPTION_FLOOR)), TRUNCATION_MARKER
    )
    room = budget - len(description)
    if fields_length(fields) > room:
        fields = _cap_fields(fields, room)
    if len(description) + fields_length(fields) > budget:  # only when title and footer are huge as well
        description = _fit(description, max(budget - fields_length(fields), 0), TRUNCATION_MARKER)
    return description, fields


def _cap_fields(fields: list[tuple[str, str]], room: int) -> list[tuple[str, str]]:
    """The largest common cap on values (then on names) that makes the fields fit in ``room`` characters."""

    def capped(items: list[tuple[str, str]], name_cap: int, value_cap: int) -> list[tuple[str, str]]:
        return [(_fit(name, name_cap), _fit(value, value_cap)) for name, value in items]

    def total(name_cap: int, value_cap: int) -> int:
        return sum(min(len(name), name_cap) + min(len(value), value_cap) for name, value in fields)

    smallest = 8  # a few characters and the marker still say what the field was
    value_cap = _largest(
        lambda cap: total(DISCORD_FIELD_NAME_LIMIT, cap) <= room, smallest, DISCORD_FIELD_VALUE_LIMIT
    )
    if value_cap is not None:
        return capped(fields, DISCORD_FIELD_NAME_LIMIT, value_cap)
    name_cap = _largest(lambda cap: total(cap, smallest) <= room, smallest, DISCORD_FIELD_NAME_LIMIT)
    if name_cap is not None:
        return capped(fields, name_cap, smallest)
    result = capped(fields, smallest, smallest)
    while result and sum(len(name) + len(value) for name, value in result) > room:
        result.pop()
    return result


def _largest(fits: Any, low: int, high: int) -> int | None:
    """The largest ``n`` in ``[low, high]`` with ``fits(n)`` (``fits`` is monotone), or None."""
    if not fits(low):
        return None
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


# ---------------------------------------------------------------------------------------------------------
# Reply parsing
# ---------------------------------------------------------------------------------------------------------
def _discord_message(data: dict[str, Any]) -> str:
    """``Invalid Form Body (embeds.0.description: Must be 4096 or fewer in length.)`` from a JSON error."""
    message = data.get("message")
    text = message if isinstance(message, str) else ""
    problems = list(_flatten_errors(data.get("errors"), ""))
    if problems:
        text += " (" + "; ".join(problems[:5]) + ")"
    return short_body(text, 300)


def _flatten_errors(node: Any, path: str) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "_errors" and isinstance(value, list):
                for error in value:
                    if isinstance(error, dict):
                        yield f"{path or 'body'}: {error.get('message', error.get('code', '?'))}"
            else:
                yield from _flatten_errors(value, f"{path}.{key}" if path else str(key))


def _rate_limit_wait(reply: HTTPReply, data: dict[str, Any]) -> float:
    """The body's ``retry_after`` (float seconds), else ``Retry-After``, else ``X-RateLimit-Reset-After``."""
    value = data.get("retry_after")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        wait = parse_retry_after(repr(float(value)))
        if wait is not None:
            return wait
    for header in ("retry-after", "x-ratelimit-reset-after"):
        wait = parse_retry_after(reply.header(header))
        if wait is not None:
            return wait
    return DISCORD_DEFAULT_RATE_LIMIT_WAIT
