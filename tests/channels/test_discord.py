"""Discord channel against a real local HTTP receiver (pytest-httpserver) and the real Prefect server for blocks."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from prefect_alerts import Alert, deliver
from prefect_alerts.blocks import BlockNotFoundError
from prefect_alerts.channels import DiscordChannel
from prefect_alerts.channels import discord as discord_module
from prefect_alerts.channels.discord import (
    DISCORD_ALLOWED_MENTIONS_MAX,
    DISCORD_CONTENT_LIMIT,
    DISCORD_DEFAULT_RATE_LIMIT_WAIT,
    DISCORD_DESCRIPTION_FLOOR,
    DISCORD_EMBED_DESCRIPTION_LIMIT,
    DISCORD_EMBED_FIELDS_MAX,
    DISCORD_EMBED_TITLE_LIMIT,
    DISCORD_EMBEDS_TOTAL_LIMIT,
    DISCORD_FIELD_NAME_LIMIT,
    DISCORD_FIELD_VALUE_LIMIT,
    DISCORD_FOOTER_TEXT_LIMIT,
    DISCORD_INLINE_VALUE_MAX,
    DISCORD_MENTIONS_TEXT_LIMIT,
    DISCORD_SUMMARY_LIMIT,
    DISCORD_USERNAME_LIMIT,
    escape_discord,
    neutralise_mentions,
)
from tests.receivers import free_port, received_dict
from tests.strategies import INJECTION_CORPUS, alerts

WEBHOOK_ID = "123456789012345678"
TOKEN = "TokenSECRETvalue_abcdefXYZ-0123456789"
WEBHOOK_PATH = f"/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
USER_ID = "111111111111111111"
ROLE_ID = "222222222222222222"
ZWSP = "\u200b"
MARKER = "… [truncated]"

# Everything an attacker-influenced string could try in Discord, beyond the shared corpus.
DISCORD_CORPUS = [
    *INJECTION_CORPUS,
    "<@&456>",
    "<@!789>",
    "<#123456>",
    "<t:1700000000:R>",
    "<:pwn:123>",
    "<id:browse>",
    "**bold** __under__ ~~strike~~ ||spoiler|| `code` ```block```",
    "# Heading\n-# subtext\n> quote\n>>> quote all\n- item\n1. first",
    "[https://good.example](https://evil.example)",
    "\\[escaped?](https://evil.example)",
    "Title\r\nInjected-Header: x",
    "naïve ☃ 日本語 🚨 עברית",
]


def _embed_texts(embed: dict[str, Any]) -> list[str]:
    """The texts Discord counts toward the 6,000-character total."""
    texts = [embed.get("title", ""), embed.get("description", ""), embed.get("footer", {}).get("text", "")]
    texts += [embed.get("author", {}).get("name", "")]
    for field in embed.get("fields", []):
        texts += [field["name"], field["value"]]
    return texts


def _rendered_markdown(text: str) -> str:
    """What is left of ``text`` once Discord has consumed every backslash escape: live markdown, if any."""
    return re.sub(r"\\[^0-9A-Za-z\s]", "", text)


def _assert_within_limits(payload: dict[str, Any]) -> None:
    json.dumps(payload, allow_nan=False)
    assert 0 < len(payload["content"]) <= DISCORD_CONTENT_LIMIT
    assert len(payload["embeds"]) == 1
    embed = payload["embeds"][0]
    assert 0 < len(embed["title"]) <= DISCORD_EMBED_TITLE_LIMIT
    assert len(embed.get("description", "")) <= DISCORD_EMBED_DESCRIPTION_LIMIT
    assert "description" not in embed or embed["description"]
    assert len(embed.get("fields", [])) <= DISCORD_EMBED_FIELDS_MAX
    for field in embed.get("fields", []):
        assert 0 < len(field["name"]) <= DISCORD_FIELD_NAME_LIMIT and field["name"].strip()
        assert 0 < len(field["value"]) <= DISCORD_FIELD_VALUE_LIMIT and field["value"].strip()
        assert isinstance(field["inline"], bool)
    assert 0 < len(embed["footer"]["text"]) <= DISCORD_FOOTER_TEXT_LIMIT
    assert sum(len(text) for text in _embed_texts(embed)) <= DISCORD_EMBEDS_TOTAL_LIMIT
    assert isinstance(embed["color"], int) and 0 <= embed["color"] <= 0xFFFFFF
    assert payload["allowed_mentions"]["parse"] == []


@pytest.fixture
def discord(httpserver: HTTPServer) -> DiscordChannel:
    # A generous read timeout: a loaded CI machine can take more than half a second to answer.
    return DiscordChannel(httpserver.url_for(WEBHOOK_PATH), read_timeout=10)


# ---------------------------------------------------------------------------------------------------------
# The message as Discord receives it
# ---------------------------------------------------------------------------------------------------------
def test_delivers_one_embed_with_summary_and_mentions(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(WEBHOOK_PATH, method="POST").respond_with_data("", status=204)
    channel = DiscordChannel(
        httpserver.url_for(WEBHOOK_PATH),
        username="Prefect alerts",
        avatar_url="https://prefect.example/logo.png",
        mention_user_ids=[USER_ID],
        mention_role_ids=[f"<@&{ROLE_ID}>"],
    )
    alert = Alert(
        title="Nightly load failed",
        message="ValueError: column 'amount' has 1,204 nulls\nsee the run for the traceback",
        severity="error",
        event="flow_failed",
        fields={
            "rows": 120_000,
            "null_share": 0.0123,
            "query": "SELECT * FROM sales WHERE day = today()" * 2,
        },
        source={"flow_name": "etl", "flow_run_name": "happy-otter"},
        links={"Flow run": "https://prefect.example/runs/flow-run/1"},
        error_type="ValueError",
        tags=["etl", "nightly"],
    )
    result = channel.send(alert)
    assert result.status == "delivered", result
    assert result.ok and result.status_code == 204 and result.retry_after is None and result.detail == ""
    assert result.dedup_key == alert.dedup_key and result.channel == "discord"
    request, _ = httpserver.log[-1]
    assert request.headers["Content-Type"].startswith("application/json")
    body = received_dict(httpserver)
    assert body["content"] == (
        f"<@{USER_ID}> <@&{ROLE_ID}> 🔴 **ERROR**: Nightly load failed: ValueError: column 'amount' has 1,204 nulls"
    )
    assert body["allowed_mentions"] == {"parse": [], "users": [USER_ID], "roles": [ROLE_ID]}
    assert body["username"] == "Prefect alerts"
    assert body["avatar_url"] == "https://prefect.example/logo.png"
    [embed] = body["embeds"]
    assert embed["title"] == "🔴 ERROR: Nightly load failed"
    assert (
        embed["description"] == "ValueError: column 'amount' has 1,204 nulls\nsee the run for the traceback"
    )
    assert embed["color"] == 0xE01E5A
    assert embed["url"] == "https://prefect.example/runs/flow-run/1"
    assert embed["timestamp"] == alert.timestamp.isoformat()
    assert embed["fields"][:2] == [
        {"name": "rows", "value": "120,000", "inline": True},
        {"name": "null\\_share", "value": "0.0123", "inline": True},
    ]
    query = embed["fields"][2]
    assert query["inline"] is False and query["value"].startswith("SELECT \\* FROM sales")
    assert embed["fields"][3] == {
        "name": "Links",
        "value": "[Flow run](https://prefect.example/runs/flow-run/1)",
        "inline": False,
    }
    assert embed["footer"]["text"] == (
        f"flow 'etl' / run 'happy-otter' · error ValueError · event flow_failed · tags etl, nightly · "
        f"key {alert.dedup_key}"
    )
    _assert_within_limits(body)


def test_resolved_alert_is_green_and_pings_nobody(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(WEBHOOK_PATH).respond_with_data("", status=204)
    channel = DiscordChannel(httpserver.url_for(WEBHOOK_PATH), mention_user_ids=[USER_ID])
    alert = Alert(title="Nightly load failed", severity="critical", event="flow_failed").resolved("Recovered")
    assert channel.send(alert).ok
    body = received_dict(httpserver)
    assert body["content"] == "✅ **RESOLVED**: Nightly load failed: Recovered"
    assert body["embeds"][0]["color"] == 0x2EB67D
    assert body["embeds"][0]["title"] == "✅ RESOLVED: Nightly load failed"
    assert body["allowed_mentions"] == {"parse": [], "users": [], "roles": []}


def test_mentions_only_at_or_above_the_configured_severity(httpserver: HTTPServer) -> None:
    httpserver.expect_request(WEBHOOK_PATH).respond_with_data("", status=204)
    channel = DiscordChannel(
        httpserver.url_for(WEBHOOK_PATH), mention_role_ids=[ROLE_ID], mention_min_severity="critical"
    )
    assert channel.send(Alert(title="Disk 91% full", severity="error")).ok
    below = received_dict(httpserver)
    assert "<@&" not in below["content"] and below["allowed_mentions"]["roles"] == []
    assert channel.send(Alert(title="Disk 99% full", severity="critical")).ok
    above = received_dict(httpserver)
    assert above["content"].startswith(f"<@&{ROLE_ID}> 🚨 **CRITICAL**")
    assert above["allowed_mentions"] == {"parse": [], "users": [], "roles": [ROLE_ID]}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mention_user_ids": ["everyone"]}, "not a Discord user id"),
        ({"mention_user_ids": ["@here"]}, "not a Discord user id"),
        ({"mention_user_ids": [f"<@&{ROLE_ID}>"]}, "not a Discord user id"),
        ({"mention_role_ids": [f"<@{USER_ID}>"]}, "not a Discord role id"),
        ({"mention_role_ids": ["123 456"]}, "not a Discord role id"),
        ({"username": "Discord alerts"}, "refuses webhook usernames"),
        ({"username": "clyde"}, "refuses webhook usernames"),
        ({"username": "ops@team"}, "refuses webhook usernames"),
        ({"username": "here"}, "refuses webhook usernames"),
        ({"username": "x" * (DISCORD_USERNAME_LIMIT + 1)}, f"1 to {DISCORD_USERNAME_LIMIT}"),
        ({"avatar_url": "javascript:alert(1)"}, "avatar_url"),
        (
            {"mention_user_ids": [str(10**17 + i) for i in range(DISCORD_ALLOWED_MENTIONS_MAX + 1)]},
            "at most 100",
        ),
    ],
)
def test_bad_configuration_is_refused_at_construction(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DiscordChannel(f"https://discord.com{WEBHOOK_PATH}", **kwargs)


def test_mentions_text_limit_keeps_room_for_the_summary() -> None:
    users = [str(10**17 + i) for i in range(DISCORD_MENTIONS_TEXT_LIMIT // 21 + 1)]  # "<@18 digits>" + space
    with pytest.raises(ValueError, match="too many Discord mentions"):
        DiscordChannel(f"https://discord.com{WEBHOOK_PATH}", mention_user_ids=users)
    fits = users[: DISCORD_MENTIONS_TEXT_LIMIT // 22]
    channel = DiscordChannel(f"https://discord.com{WEBHOOK_PATH}", mention_user_ids=fits)
    payload = channel.build_payload(Alert(title="*@" * 5000, severity="critical"))
    assert payload["content"].startswith(" ".join(f"<@{uid}>" for uid in fits) + " 🚨 **CRITICAL**")
    assert len(payload["content"]) <= DISCORD_CONTENT_LIMIT
    assert payload["allowed_mentions"]["users"] == fits


# ---------------------------------------------------------------------------------------------------------
# Status table: every reply Discord (or the network) can give
# ---------------------------------------------------------------------------------------------------------
def _json(body: dict[str, Any]) -> str:
    return json.dumps(body)


INVALID_FORM_BODY = {
    "code": 50035,
    "message": "Invalid Form Body",
    "errors": {
        "embeds": {
            "0": {
                "description": {
                    "_errors": [
                        {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 4096 or fewer in length."}
                    ]
                }
            }
        }
    },
}


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected", "retry_after", "detail"),
    [
        (200, {}, _json({"id": "1", "content": "x"}), "delivered", None, ""),
        (202, {}, "", "delivered", None, ""),
        (204, {}, "", "delivered", None, ""),
        (
            400,
            {},
            _json(INVALID_FORM_BODY),
            "failed",
            None,
            "Discord rejected the message (a bug in prefect-alerts; please report it): 400 code 50035 Invalid Form "
            "Body (embeds.0.description: Must be 4096 or fewer in length.)",
        ),
        (
            401,
            {},
            _json({"message": "Invalid Webhook Token", "code": 50027}),
            "failed",
            None,
            "Discord webhook is invalid (Invalid Webhook Token: copy the webhook URL again, update the block): "
            "401 code 50027 Invalid Webhook Token",
        ),
        (
            403,
            {},
            _json({"message": "Missing Access", "code": 50001}),
            "failed",
            None,
            "Discord refused the webhook (it lost access to its channel; check the channel's permissions): "
            "403 code 50001 Missing Access",
        ),
        (
            404,
            {},
            _json({"message": "Unknown Webhook", "code": 10015}),
            "failed",
            None,
            "Discord webhook is gone (Unknown Webhook: it was deleted; create a webhook and update the block): "
            "404 code 10015 Unknown Webhook",
        ),
        (404, {}, "<html>not found</html>", "failed", None, "Discord webhook is gone (it was deleted;"),
        (410, {}, "gone", "failed", None, "Discord refused the message: 410 gone"),
        (
            429,
            {"Retry-After": "2", "X-RateLimit-Reset-After": "1.5"},
            _json({"message": "You are being rate limited.", "retry_after": 1.234, "global": False}),
            "retry",
            1.234,
            "Discord rate limit: 429 You are being rate limited.",
        ),
        (
            429,
            {},
            _json({"message": "You are being rate limited.", "retry_after": 0.25, "global": True}),
            "retry",
            0.25,
            "Discord rate limit (global): 429",
        ),
        (429, {"Retry-After": "7"}, "rate limited", "retry", 7.0, "Discord rate limit: 429 rate limited"),
        (429, {"X-RateLimit-Reset-After": "3.5"}, "", "retry", 3.5, "Discord rate limit: 429"),
        (429, {}, "<html>1015</html>", "retry", DISCORD_DEFAULT_RATE_LIMIT_WAIT, "Discord rate limit: 429"),
        (
            500,
            {},
            _json({"message": "500: Internal Server Error", "code": 0}),
            "retry",
            None,
            "Discord is unavailable: 500",
        ),
        (502, {}, "<html>Bad Gateway</html>", "retry", None, "Discord is unavailable: 502"),
        (503, {"Retry-After": "4"}, "", "retry", 4.0, "Discord is unavailable: 503"),
        (408, {}, "", "retry", None, "Discord is unavailable: 408"),
        (
            301,
            {"Location": "https://elsewhere.example/"},
            "",
            "failed",
            None,
            "Discord redirected the request (301)",
        ),
    ],
)
def test_status_table(
    httpserver: HTTPServer,
    discord: DiscordChannel,
    status: int,
    headers: dict[str, str],
    body: str,
    expected: str,
    retry_after: float | None,
    detail: str,
) -> None:
    content_type = "application/json" if body.startswith("{") else "text/html"
    httpserver.expect_oneshot_request(WEBHOOK_PATH).respond_with_data(
        body, status=status, headers=headers, content_type=content_type
    )
    result = discord.send(Alert(title="x", severity="error"))
    assert result.status == expected, result
    assert result.retry_after == retry_after
    assert result.status_code == status
    assert result.detail.startswith(detail) if detail else result.detail == ""
    assert result.channel == "discord"
    assert len(httpserver.log) == 1  # one attempt: retrying is the caller's job


def test_timeout_is_retryable_and_does_not_wait_for_the_reply(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.8)
        return Response("", status=204)

    httpserver.expect_oneshot_request(WEBHOOK_PATH).respond_with_handler(slow)
    channel = DiscordChannel(httpserver.url_for(WEBHOOK_PATH), read_timeout=0.3)
    started = time.perf_counter()
    result = channel.send(Alert(title="x"))
    assert time.perf_counter() - started < 0.75
    assert result.status == "retry" and result.retry_after is None
    assert result.detail == "timeout: no read reply from Discord within 0.3s"


def test_connection_refused_is_retryable_and_names_no_token() -> None:
    result = DiscordChannel(f"http://127.0.0.1:{free_port()}{WEBHOOK_PATH}", connect_timeout=1).send(
        Alert(title="x")
    )
    assert result.status == "retry"
    assert "connection refused" in result.detail
    assert TOKEN not in result.detail and WEBHOOK_ID not in result.detail


def test_asend_delivers_too(httpserver: HTTPServer, discord: DiscordChannel) -> None:
    httpserver.expect_oneshot_request(WEBHOOK_PATH).respond_with_data("", status=204)
    assert asyncio.run(discord.asend(Alert(title="async"))).ok
    assert received_dict(httpserver)["embeds"][0]["title"] == "ℹ️ INFO: async"


# ---------------------------------------------------------------------------------------------------------
# Untrusted text
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("evil", DISCORD_CORPUS)
def test_injection_corpus_is_inert_in_everything_discord_receives(httpserver: HTTPServer, evil: str) -> None:
    httpserver.expect_oneshot_request(WEBHOOK_PATH).respond_with_data("", status=204)
    channel = DiscordChannel(httpserver.url_for(WEBHOOK_PATH), mention_user_ids=[USER_ID])
    alert = Alert(
        title=f"Run failed {evil}",
        message=f"ValueError: {evil}",
        severity="critical",
        fields={evil: evil, "n": float("nan")},
        source={"flow_name": evil, "task_name": evil},
        tags=[evil],
        error_type=evil,
    )
    assert channel.send(alert).ok
    body = received_dict(httpserver)
    _assert_within_limits(body)
    # Discord itself pings nobody but the configured user, whatever the text says.
    assert body["allowed_mentions"] == {"parse": [], "users": [USER_ID], "roles": []}
    prefix = f"<@{USER_ID}> "
    assert body["content"].startswith(prefix)
    embed = body["embeds"][0]
    # After the configured mentions comes our own "🚨 **CRITICAL**: " and then the escaped summary.
    summary = body["content"][len(prefix) :].split("**: ", 1)[1]
    texts = [summary, *_embed_texts(embed)]
    for text in texts:
        assert not re.search(r"@(everyone|here)", text), text
        assert not re.search(r"<[@#:/]|<[at]:|<id:", text), text  # no live mention, channel, emoji, timestamp
    markdown_texts = [texts[0], embed["title"], embed.get("description", "")]
    markdown_texts += [part for field in embed["fields"] for part in (field["name"], field["value"])]
    for text in markdown_texts:
        live = _rendered_markdown(text)
        # What Discord would still interpret after escapes: only URL text, which it shows as a plain link.
        outside_urls = re.sub(r"https?://[^\s<>\[\]]+", "", live)
        assert not re.search(r"[\[\]*_~`|<>#]", outside_urls), (text, outside_urls)
        assert not re.search(r"(?m)^[ \t]*(-|\+|\d+\.)(?=[ \t#]|\\#|$)", text), text  # no list or subtext
    assert "\r" not in json.dumps(body) and "\\r" not in json.dumps(body)
    assert "\n" not in embed["title"] and "\n" not in embed["footer"]["text"]
    assert "\n" not in body["content"]
    assert {"name": "n", "value": "NaN", "inline": True} in embed["fields"]


def test_footer_is_plain_text_without_markdown_escapes(
    httpserver: HTTPServer, discord: DiscordChannel
) -> None:
    # Discord renders no markdown in footers: an escape there would show as a stray backslash.
    httpserver.expect_oneshot_request(WEBHOOK_PATH).respond_with_data("", status=204)
    assert discord.send(Alert(title="x", source={"flow_name": "my_flow*v2"}, tags=["@everyone"])).ok
    footer = received_dict(httpserver)["embeds"][0]["footer"]["text"]
    assert footer.startswith("flow 'my_flow*v2' · event notification · tags @\u200beveryone · key ")


def test_masked_links_from_text_never_render_but_alert_links_do(
    httpserver: HTTPServer, discord: DiscordChannel
) -> None:
    httpserver.expect_oneshot_request(WEBHOOK_PATH).respond_with_data("", status=204)
    alert = Alert(
        title="x",
        message="[click](https://evil.example) and see https://docs.example/my_table_name?x=1",
        links={"Run (UI)": "https://prefect.example/runs/(1)"},
    )
    assert discord.send(alert).ok
    embed = received_dict(httpserver)["embeds"][0]
    # The bracket is escaped, so no link label hides the destination; a bare URL stays exact (and clickable).
    assert embed["description"] == (
        "\\[click\\](https://evil.example) and see https://docs.example/my_table_name?x=1"
    )
    assert embed["fields"][-1]["value"] == "[Run (UI)](https://prefect.example/runs/%281%29)"


def test_a_link_label_cannot_re_aim_its_link(offline: DiscordChannel) -> None:
    alert = Alert(
        title="x", links=[{"label": "Run](https://evil.example) [x", "url": "https://prefect.example/r"}]
    )
    value = offline.build_payload(alert)["embeds"][0]["fields"][-1]["value"]
    assert value == "[Run)(https://evil.example) (x](https://prefect.example/r)"
    assert value.count("[") == 1 and value.count("](") == 1


def test_100_kb_message_and_non_ascii_are_cut_to_every_limit_with_markers(
    httpserver: HTTPServer, discord: DiscordChannel
) -> None:
    httpserver.expect_oneshot_request(WEBHOOK_PATH).respond_with_data("", status=204)
    alert = Alert(
        title="Échec du chargement 🚨 " * 40,
        message="Traceback (most recent call last):\n" + "ünïcødé *line* ✓\n" * 6000,  # about 100 KB
        severity="warning",
    )
    assert len(alert.message.encode()) > 100_000
    assert discord.send(alert).ok
    body = received_dict(httpserver)
    _assert_within_limits(body)
    embed = body["embeds"][0]
    assert len(embed["title"]) == DISCORD_EMBED_TITLE_LIMIT and embed["title"].endswith("…")
    assert len(embed["description"]) == DISCORD_EMBED_DESCRIPTION_LIMIT and embed["description"].endswith(
        MARKER
    )
    assert "ünïcødé \\*line\\* ✓" in embed["description"]


# ---------------------------------------------------------------------------------------------------------
# Limits: one test per constant
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def offline() -> DiscordChannel:
    return DiscordChannel(f"https://discord.com{WEBHOOK_PATH}", mention_user_ids=[USER_ID])


def test_title_limit(offline: DiscordChannel) -> None:
    title = offline.build_payload(Alert(title="T" * 500))["embeds"][0]["title"]
    assert len(title) == DISCORD_EMBED_TITLE_LIMIT and title.endswith("T…")


def test_description_limit_never_ends_in_a_dangling_escape(offline: DiscordChannel) -> None:
    for shift in range(3):
        description = offline.build_payload(Alert(title="x", message="a" * shift + "*" * 5000))["embeds"][0][
            "description"
        ]
        assert len(description) <= DISCORD_EMBED_DESCRIPTION_LIMIT and description.endswith(MARKER)
        head = description[: -len(MARKER)]
        assert (len(head) - len(head.rstrip("\\"))) % 2 == 0


def test_fields_max_shows_24_and_a_summary_field(offline: DiscordChannel) -> None:
    fields = offline.build_payload(Alert(title="x", fields={f"metric_{i}": i for i in range(40)}))["embeds"][
        0
    ]["fields"]
    assert len(fields) == DISCORD_EMBED_FIELDS_MAX
    assert fields[23] == {"name": "metric\\_23", "value": "23", "inline": True}
    assert fields[-1]["name"] == "…and 16 more"
    assert fields[-1]["value"].startswith("metric\\_24, metric\\_25")


def test_fields_max_counts_the_links_field(offline: DiscordChannel) -> None:
    alert = Alert(
        title="x", fields={f"m{i}": i for i in range(30)}, links={"Run": "https://prefect.example/r"}
    )
    fields = offline.build_payload(alert)["embeds"][0]["fields"]
    assert len(fields) == DISCORD_EMBED_FIELDS_MAX
    assert [field["name"] for field in fields[-2:]] == ["…and 7 more", "Links"]


def test_field_name_and_value_limits(offline: DiscordChannel) -> None:
    [field] = offline.build_payload(Alert(title="x", fields={"k" * 400: "v" * 2000}))["embeds"][0]["fields"]
    assert len(field["name"]) == DISCORD_FIELD_NAME_LIMIT and field["name"].endswith("…")
    assert len(field["value"]) == DISCORD_FIELD_VALUE_LIMIT and field["value"].endswith("…")


def test_empty_field_names_and_values_get_placeholders(offline: DiscordChannel) -> None:
    fields = offline.build_payload(Alert(title="x", fields={"": "", " ": None}))["embeds"][0]["fields"]
    assert fields == [
        {"name": ZWSP, "value": "—", "inline": True},
        {"name": ZWSP, "value": "—", "inline": True},
    ]


def test_inline_value_max(offline: DiscordChannel) -> None:
    alert = Alert(
        title="x", fields={"short": "v" * DISCORD_INLINE_VALUE_MAX, "long": "v" * 41, "multi": "a\nb"}
    )
    fields = offline.build_payload(alert)["embeds"][0]["fields"]
    assert [field["inline"] for field in fields] == [True, False, False]


def test_footer_limit(offline: DiscordChannel) -> None:
    footer = offline.build_payload(Alert(title="x", source={"flow_name": "f" * 5000}))["embeds"][0]["footer"]
    assert len(footer["text"]) == DISCORD_FOOTER_TEXT_LIMIT and footer["text"].endswith("…")


def test_content_and_summary_limits(offline: DiscordChannel) -> None:
    content = offline.build_payload(Alert(title="y" * 5000, severity="error"))["content"]
    summary = content.removeprefix(f"<@{USER_ID}> 🔴 **ERROR**: ")
    assert len(summary) == DISCORD_SUMMARY_LIMIT and summary.endswith("y…")
    worst = offline.build_payload(Alert(title="@here*_" * 2000, severity="error"))["content"]
    assert len(worst) <= DISCORD_CONTENT_LIMIT


def test_total_limit_shrinks_the_description_first(offline: DiscordChannel) -> None:
    alert = Alert(title="x", message="m" * 10_000, fields={f"f{i}": "v" * 300 for i in range(10)})
    embed = offline.build_payload(alert)["embeds"][0]
    assert sum(len(text) for text in _embed_texts(embed)) == DISCORD_EMBEDS_TOTAL_LIMIT
    assert all(field["value"] == "v" * 300 for field in embed["fields"])  # fields untouched
    assert embed["description"].endswith(MARKER)
    assert DISCORD_DESCRIPTION_FLOOR < len(embed["description"]) < DISCORD_EMBED_DESCRIPTION_LIMIT


def test_total_limit_then_shrinks_fields_below_the_description_floor(offline: DiscordChannel) -> None:
    alert = Alert(title="x", message="m" * 10_000, fields={f"f{i}": "v" * 2000 for i in range(30)})
    embed = offline.build_payload(alert)["embeds"][0]
    assert sum(len(text) for text in _embed_texts(embed)) <= DISCORD_EMBEDS_TOTAL_LIMIT
    assert len(embed["description"]) == DISCORD_DESCRIPTION_FLOOR and embed["description"].endswith(MARKER)
    assert len(embed["fields"]) == DISCORD_EMBED_FIELDS_MAX
    assert all(field["value"].endswith("…") for field in embed["fields"][:-1])
    assert len({len(field["value"]) for field in embed["fields"][:-1]}) == 1  # one common cap


def test_total_limit_with_huge_names_and_footer(offline: DiscordChannel) -> None:
    alert = Alert(
        title="t" * 300,
        message="m" * 5000,
        fields={f"{i}" + "n" * 400: "v" * 2000 for i in range(30)},
        source={"flow_name": "f" * 3000},
    )
    _assert_within_limits(offline.build_payload(alert))


def test_a_lone_surrogate_in_a_field_does_not_break_delivery(
    httpserver: HTTPServer, discord: DiscordChannel
) -> None:
    httpserver.expect_oneshot_request(WEBHOOK_PATH).respond_with_data("", status=204)
    assert discord.send(Alert(title="x", fields={"path": "/data/caf\udce9.csv"})).ok
    assert received_dict(httpserver)["embeds"][0]["fields"][0]["value"] == "/data/caf?.csv"


# ---------------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------------
_markdownish = st.text(alphabet="*_~`|[]()<>#@!&\\-+.1 \nabeveryonhr", max_size=400)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alert=alerts(), extra=_markdownish)
def test_any_alert_gives_a_body_within_every_limit(alert: Alert, extra: str) -> None:
    alert = alert.model_copy(update={"message": alert.message + extra})
    channel = DiscordChannel(
        f"https://discord.com{WEBHOOK_PATH}", mention_user_ids=[USER_ID], mention_role_ids=[ROLE_ID]
    )
    payload = channel.build_payload(alert)
    _assert_within_limits(payload)
    mentioned = not alert.is_resolved and alert.severity >= "error"
    assert payload["allowed_mentions"] == {
        "parse": [],
        "users": [USER_ID] if mentioned else [],
        "roles": [ROLE_ID] if mentioned else [],
    }
    content = payload["content"].removeprefix(f"<@{USER_ID}> <@&{ROLE_ID}> ")
    assert not re.search(r"@(everyone|here)|<[@#]", content)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=":"), max_size=200)
)
def test_escapes_are_invisible_once_rendered_and_leave_no_live_markdown(text: str) -> None:
    # Without ':' there are no URLs, so every character outside an escape is plain text to Discord.
    escaped = escape_discord(text)
    cleaned = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\u0085]", "", text.replace("\r\n", "\n"))
    cleaned = cleaned.replace("\r", "\n")
    assert re.sub(r"\\([^0-9A-Za-z\s])", r"\1", escaped) == neutralise_mentions(cleaned)
    live = _rendered_markdown(escaped)
    assert not re.search(r"[\[\]*_~`|<>#\\]", live)
    assert not re.search(r"(?m)^[ \t]*(-|\+|\d+\.)(?=[ \t#]|\\#|$)", escaped)


def test_neutralise_mentions_leaves_email_addresses_alone() -> None:
    assert neutralise_mentions("ops@example.com @Everyone <#1> <@&2>") == (
        f"ops@example.com @{ZWSP}Everyone <{ZWSP}#1> <{ZWSP}@{ZWSP}&2>"
    )


# ---------------------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------------------
def test_token_never_reaches_logs_repr_or_results(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    channel = DiscordChannel(httpserver.url_for(WEBHOOK_PATH))
    httpserver.expect_oneshot_request(WEBHOOK_PATH).respond_with_data("", status=204)
    # A reply that echoes the token back must not leak it either.
    httpserver.expect_oneshot_request(WEBHOOK_PATH).respond_with_data(
        _json({"message": f"Unknown Webhook {TOKEN}", "code": 10015}),
        status=404,
        content_type="application/json",
    )
    httpserver.expect_oneshot_request(WEBHOOK_PATH).respond_with_data("", status=500)
    results = [deliver(Alert(title=title), channel)[0] for title in ("a", "b", "c")]
    refused = DiscordChannel(f"http://127.0.0.1:{free_port()}{WEBHOOK_PATH}").send(Alert(title="z"))
    assert [result.status for result in results] == ["delivered", "failed", "retry"]
    assert any(record.name.startswith("urllib3") for record in caplog.records), (
        "urllib3 debug logs not captured"
    )
    # The receiver's own access log (werkzeug) is the service side, not ours: leave it out.
    ours = "\n".join(
        record.getMessage() for record in caplog.records if not record.name.startswith("werkzeug")
    )
    everything = ours + repr(channel) + str(channel) + refused.detail + str(refused)
    everything += "".join(result.detail + str(result) + repr(result) for result in results)
    assert TOKEN not in everything
    assert "***" in results[1].detail
    assert (
        repr(channel)
        == f"DiscordChannel(name='discord', url='http://{httpserver.host}:{httpserver.port}/***')"
    )


# ---------------------------------------------------------------------------------------------------------
# Blocks on the real Prefect server
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.usefixtures("prefect_server")
def test_from_block_loads_prefects_discord_webhook_block(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    from prefect.blocks.notifications import DiscordWebhook

    block_token = "BlockTokenSecret_9f8e7d6c5b4a"
    DiscordWebhook(webhook_id=WEBHOOK_ID, webhook_token=block_token, botname="Prefect on-call").save(
        "ops-discord", overwrite=True
    )
    path = f"/proxy/webhooks/{WEBHOOK_ID}/{block_token}"
    httpserver.expect_oneshot_request(path, method="POST").respond_with_data("", status=204)
    caplog.set_level(logging.DEBUG)
    channel = DiscordChannel.from_block(
        "ops-discord", endpoint=httpserver.url_for("/proxy/webhooks/"), mention_role_ids=[ROLE_ID]
    )
    assert channel.name == "discord:ops-discord"
    assert channel.username == "Prefect on-call"
    result = channel.send(Alert(title="from a block", severity="error"))
    assert result.ok, result
    body = received_dict(httpserver)
    assert body["content"].startswith(f"<@&{ROLE_ID}> 🔴 **ERROR**: from a block")
    assert body["username"] == "Prefect on-call"
    ours = "\n".join(
        record.getMessage() for record in caplog.records if not record.name.startswith("werkzeug")
    )
    assert block_token not in ours + repr(channel) + str(result)
    assert (
        DiscordChannel.from_block("discord-webhook/ops-discord").name == "discord:discord-webhook/ops-discord"
    )
    default = DiscordChannel.from_block("ops-discord", name="pager")
    assert default.name == "pager" and default.masked_url == "https://discord.com/***"


@pytest.mark.usefixtures("prefect_server")
def test_from_block_of_a_missing_name_says_how_to_create_it() -> None:
    with pytest.raises(BlockNotFoundError) as info:
        DiscordChannel.from_block("no-such-discord")
    message = str(info.value)
    assert "'no-such-discord'" in message and "'discord-webhook'" in message
    assert "DiscordWebhook(webhook_id=" in message and ".save('no-such-discord')" in message


# ---------------------------------------------------------------------------------------------------------
# docs/channels.md stays true to the code
# ---------------------------------------------------------------------------------------------------------
CHANNELS_DOC = Path(__file__).resolve().parents[2] / "docs" / "channels.md"
EXCERPT_HEADER = "# prefect_alerts/channels/discord.py (excerpt)"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", CHANNELS_DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_quoted_discord_code_is_still_in_the_source_in_order() -> None:
    source = Path(discord_module.__file__).read_text(encoding="utf-8").splitlines()
    excerpts = [block for block in _python_blocks() if block.startswith(EXCERPT_HEADER)]
    assert len(excerpts) >= 6
    for excerpt in excerpts:
        position = 0
        for line in excerpt.splitlines()[1:]:
            if not line.strip() or line.strip() == "...":
                continue
            try:
                position = source.index(line.rstrip(), position) + 1
            except ValueError:
                pytest.fail(
                    f"docs/channels.md quotes a line that is not in discord.py (or out of order): {line!r}"
                )


def test_the_add_your_own_example_works_with_deliver(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    channel_code, usage = (block for block in _python_blocks() if "SmsChannel" in block)
    namespace: dict[str, Any] = {}
    exec(channel_code, namespace)  # the class exactly as documented
    # Point the documented usage at local receivers instead of discord.com and sms.example.
    local_usage = usage.replace('DiscordChannel.from_block("ops-discord")', "DiscordChannel(DISCORD_URL)")
    local_usage = local_usage.replace("read_timeout=5)", "read_timeout=5, endpoint=SMS_URL)")
    assert local_usage.count("DISCORD_URL") == 1 and local_usage.count("SMS_URL") == 1
    namespace.update(DISCORD_URL=httpserver.url_for(WEBHOOK_PATH), SMS_URL=httpserver.url_for("/v1/messages"))
    httpserver.expect_oneshot_request(WEBHOOK_PATH).respond_with_data("", status=204)
    httpserver.expect_oneshot_request(
        "/v1/messages", method="POST", headers={"Authorization": "Bearer tok_live_..."}
    ).respond_with_json({"id": "SM1"}, status=201)
    caplog.set_level(logging.DEBUG)
    exec(local_usage, namespace)
    assert [request.path for request, _ in httpserver.log] == [WEBHOOK_PATH, "/v1/messages"]
    assert received_dict(httpserver) == {"to": "+15550100", "text": "[CRITICAL] Warehouse load failed"}
    assert not [
        record for record in caplog.records if record.name == "prefect_alerts" and record.levelno >= 30
    ]
    # The documented class keeps the contract: a refused message is a failed result with a reason, no exception.
    sms = namespace["SmsChannel"](
        api_token="tok_secret_123456", to="+1", endpoint=httpserver.url_for("/v1/messages")
    )
    httpserver.expect_oneshot_request("/v1/messages").respond_with_data("invalid number", status=400)
    result = sms.send(Alert(title="x"))
    assert (
        result.status == "failed" and result.detail == "SMS gateway refused the message: 400 invalid number"
    )
    assert "tok_secret_123456" not in repr(sms)
