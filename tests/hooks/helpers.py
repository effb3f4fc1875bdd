"""Small helpers the hook tests share: read what the Slack receiver got."""

from __future__ import annotations

import json
from typing import Any

from pytest_httpserver import HTTPServer


def slack_posts(server: HTTPServer) -> list[dict[str, Any]]:
    """Every JSON body the receiver got, in order."""
    return [json.loads(request.get_data(as_text=True)) for request, _ in server.log]


def slack_text(post: dict[str, Any]) -> str:
    """All the text of one Slack message (fallback, header, sections, fields, context) as one string."""
    return json.dumps(post, ensure_ascii=False)


def field_texts(post: dict[str, Any]) -> dict[str, str]:
    """``{"error": "ValueError", ...}`` from the message's field section."""
    fields: dict[str, str] = {}
    for block in post["attachments"][0]["blocks"]:
        for item in block.get("fields", []):
            name, _, value = item["text"].partition("\n")
            fields[name.strip("*")] = value
    return fields
