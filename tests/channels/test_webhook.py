"""Generic webhook channel against a real local HTTP receiver (pytest-httpserver) and the real Prefect server."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from prefect_alerts import Alert, deliver
from prefect_alerts.alert import AlertImage
from prefect_alerts.blocks import AlertWebhook, BlockNotFoundError
from prefect_alerts.channels import WebhookChannel
from prefect_alerts.channels.text import TRUNCATION_MARKER
from prefect_alerts.channels.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_BODY_LIMIT,
    WEBHOOK_DEFAULT_RATE_LIMIT_WAIT,
    WEBHOOK_MIN_BODY_LIMIT,
    WEBHOOK_NAME_LIMIT,
    WEBHOOK_SCHEMA,
    WEBHOOK_SCHEMA_NAME,
    WEBHOOK_SCHEMA_VERSION,
    build_body,
    fit_body,
    sign,
    verify_signature,
)
from tests.receivers import free_port
from tests.strategies import INJECTION_CORPUS, alerts

PATH = "/ingest/7f3a9c2e-secret-path"
DOC = Path(__file__).resolve().parents[2] / "docs" / "webhook-schema.md"
VALIDATOR = jsonschema.Draft202012Validator(WEBHOOK_SCHEMA, format_checker=jsonschema.FormatChecker())


def _request(server: HTTPServer, index: int = -1) -> Request:
    request, _ = server.log[index]
    return request


def _received(server: HTTPServer, index: int = -1) -> dict[str, Any]:
    return json.loads(_request(server, index).get_data(as_text=True))


def _doc_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


@pytest.fixture
def hook(httpserver: HTTPServer) -> WebhookChannel:
    return WebhookChannel(httpserver.url_for(PATH), read_timeout=0.5)


# ---------------------------------------------------------------------------------------------------------
# The body as the receiver gets it
# ---------------------------------------------------------------------------------------------------------
def test_body_is_the_versioned_alert_document(httpserver: HTTPServer, hook: WebhookChannel) -> None:
    httpserver.expect_oneshot_request(PATH, method="POST").respond_with_data("", status=204)
    alert = Alert(
        title="Nightly load failed",
        message="ValueError: column 'amount' has 1,204 nulls",
        severity="error",
        event="flow_failed",
        fields={"rows": 120_000, "rate": float("nan"), "hi": float("inf"), "took": timedelta(seconds=90)},
        tags=["etl"],
        links={"Flow run": "https://prefect.example/runs/1"},
        source={"flow_name": "etl", "flow_run_name": "happy-otter"},
        error_type="ValueError",
        images=[AlertImage(name="chart.png", data=b"\x89PNG-not-really", alt="rows per day")],
        timestamp=datetime(2026, 11, 25, 3, 12, 45, tzinfo=timezone.utc),
    )
    result = hook.send(alert)
    assert result.status == "delivered", result
    assert result.ok and result.status_code == 204 and result.detail == "" and result.channel == "webhook"
    request = _request(httpserver)
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["User-Agent"] == "prefect-alerts"
    assert "Authorization" not in request.headers and SIGNATURE_HEADER not in request.headers
    raw = request.get_data()
    assert (
        b"NaN," not in raw and b"Infinity," not in raw
    )  # no bare NaN/Infinity literals: valid JSON everywhere
    body = json.loads(raw, parse_constant=lambda name: pytest.fail(f"non-standard JSON constant {name}"))
    assert body == {
        "schema": "prefect-alerts/alert",
        "version": 1,
        "alert": {
            "title": "Nightly load failed",
            "message": "ValueError: column 'amount' has 1,204 nulls",
            "severity": "error",
            "event": "flow_failed",
            "status": "firing",
            "fields": {"rows": 120000, "rate": "NaN", "hi": "Infinity", "took": 90.0},
            "tags": ["etl"],
            "links": [{"label": "Flow run", "url": "https://prefect.example/runs/1"}],
            "source": {
                "flow_name": "etl",
                "flow_run_id": None,
                "flow_run_name": "happy-otter",
                "deployment_name": None,
                "deployment_id": None,
                "task_name": None,
                "task_run_id": None,
                "task_run_name": None,
                "work_pool_name": None,
            },
            "error_type": "ValueError",
            "timestamp": "2026-11-25T03:12:45+00:00",
            "dedup_key": alert.dedup_key,
            "images": [{"name": "chart.png", "mime_type": "image/png", "alt": "rows per day", "bytes": 15}],
        },
    }
    VALIDATOR.validate(body)


def test_schema_rejects_what_it_should(httpserver: HTTPServer, hook: WebhookChannel) -> None:
    """The schema is a real check, not a formality: broken bodies fail it."""
    httpserver.expect_oneshot_request(PATH).respond_with_data("ok")
    assert hook.send(Alert(title="x")).ok
    body = _received(httpserver)
    VALIDATOR.validate(body)
    broken = [
        {**body, "version": 2},
        {**body, "schema": "something-else"},
        {**body, "alert": {**body["alert"], "severity": "fatal"}},
        {**body, "alert": {key: value for key, value in body["alert"].items() if key != "dedup_key"}},
        {**body, "alert": {**body["alert"], "source": {"flow_name": 3}}},
    ]
    if "date-time" in jsonschema.FormatChecker.checkers:  # needs rfc3339-validator, which prefect installs
        broken.append({**body, "alert": {**body["alert"], "timestamp": "yesterday"}})
    for candidate in broken:
        assert not VALIDATOR.is_valid(candidate), candidate
    assert datetime.fromisoformat(body["alert"]["timestamp"]).tzinfo is not None


def test_every_alert_field_is_in_the_schema_and_the_doc() -> None:
    """A field added to Alert.to_json_dict must be added to WEBHOOK_SCHEMA and docs/webhook-schema.md too."""
    data = Alert(title="x").to_json_dict()
    alert_schema = WEBHOOK_SCHEMA["properties"]["alert"]
    assert set(data) == set(alert_schema["properties"]) == set(alert_schema["required"])
    assert set(data["source"]) == set(alert_schema["properties"]["source"]["properties"])
    doc = DOC.read_text(encoding="utf-8")
    for key in data:
        assert f"| `{key}` |" in doc, key
    for key in data["source"]:
        assert f"| `source.{key}` |" in doc, key


def test_the_docs_examples_and_schema_match_the_code() -> None:
    example, truncated, schema = (json.loads(block) for block in _doc_blocks("json"))
    assert schema == WEBHOOK_SCHEMA
    VALIDATOR.validate(example)
    assert example["schema"] == WEBHOOK_SCHEMA_NAME and example["version"] == WEBHOOK_SCHEMA_VERSION
    assert "truncated" not in example
    VALIDATOR.validate(truncated)
    assert truncated["truncated"] is True and truncated["truncation"]["limit_bytes"] == WEBHOOK_BODY_LIMIT
    for pointer in truncated["truncation"]["cut"]:
        assert _resolve(truncated, pointer).endswith(TRUNCATION_MARKER), pointer
    doc = DOC.read_text(encoding="utf-8")
    assert f"**{WEBHOOK_BODY_LIMIT:,} bytes**" in doc and f"at least {WEBHOOK_MIN_BODY_LIMIT:,} bytes" in doc
    assert f"longer than {WEBHOOK_NAME_LIMIT} characters" in doc and f"`{TRUNCATION_MARKER}`" in doc


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alert=alerts())
def test_any_alert_gives_a_body_that_validates(alert: Alert) -> None:
    channel = WebhookChannel("https://alerts.example/ingest")
    body = channel.build_payload(alert)
    text = json.dumps(body, allow_nan=False)
    VALIDATOR.validate(json.loads(text))
    assert json.loads(text)["alert"]["dedup_key"] == alert.dedup_key


@pytest.mark.parametrize("evil", [*INJECTION_CORPUS, "x" * 10_000, "Title\r\nX-Injected: yes"])
def test_untrusted_text_arrives_verbatim_as_json(
    httpserver: HTTPServer, hook: WebhookChannel, evil: str
) -> None:
    # A generic receiver gets the text as it is (JSON-escaped, never interpreted); escaping for display is the
    # receiver's job, as docs/webhook-schema.md says. Nothing may leak into the HTTP headers.
    httpserver.expect_oneshot_request(PATH).respond_with_data("ok")
    alert = Alert(
        title=f"Run failed {evil}",
        message=evil,
        fields={evil[:200]: evil, "nan": float("nan"), "ninf": float("-inf")},
        source={"flow_name": evil},
        tags=[evil[:50]],
    )
    assert hook.send(alert).ok
    request = _request(httpserver)
    assert "X-Injected" not in request.headers and "Bcc" not in request.headers
    body = _received(httpserver)
    VALIDATOR.validate(body)
    assert body["alert"]["title"] == f"Run failed {evil}"
    assert body["alert"]["message"] == evil
    assert body["alert"]["fields"] == {evil[:200]: evil, "nan": "NaN", "ninf": "-Infinity"}
    assert body["alert"]["source"]["flow_name"] == evil


def test_non_ascii_is_sent_as_utf8(httpserver: HTTPServer, hook: WebhookChannel) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_data("ok")
    assert hook.send(Alert(title="Échec 🚨 日本語")).ok
    raw = _request(httpserver).get_data()
    assert "Échec 🚨 日本語".encode() in raw


def test_a_lone_surrogate_in_a_field_does_not_break_delivery(
    httpserver: HTTPServer, hook: WebhookChannel
) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_data("ok")
    assert hook.send(Alert(title="x", fields={"path": "/data/caf\udce9.csv"})).ok
    assert _received(httpserver)["alert"]["fields"]["path"] == "/data/caf?.csv"


def test_asend_delivers_too(httpserver: HTTPServer, hook: WebhookChannel) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_data("ok")
    assert asyncio.run(hook.asend(Alert(title="async"))).ok
    assert _received(httpserver)["alert"]["title"] == "async"


# ---------------------------------------------------------------------------------------------------------
# Size limit and truncation (docs/webhook-schema.md, "Size limit and truncation")
# ---------------------------------------------------------------------------------------------------------
def _resolve(document: Any, pointer: str) -> Any:
    """The value a JSON Pointer (RFC 6901) names; KeyError/IndexError when it names nothing."""
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


def _unlimited(alert: Alert) -> bytes:
    """The body as it was encoded before the size limit existed."""
    return json.dumps(build_body(alert), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


_TRACEBACK_LINE = '  File "/opt/etl/load.py", line 42, in load_batch\n    rows = read(batch)\n'
_IDENTITY = {
    "title": "Nightly load failed",
    "severity": "error",
    "event": "flow_failed",
    "links": {"Flow run": "https://prefect.example/runs/flow-run/0b6f0c3e"},
    "source": {"flow_name": "etl", "flow_run_id": "0b6f0c3e-5b7a-4f57-9d0e-2f1c8b1f9a10"},
    "error_type": "ValueError",
    "timestamp": datetime(2026, 11, 25, 3, 12, 45, tzinfo=timezone.utc),
}


def test_a_100_kb_message_arrives_under_64_kb_with_the_marker_and_the_flag(httpserver: HTTPServer) -> None:
    secret = "whsec-size-limit-123456"
    httpserver.expect_oneshot_request(PATH).respond_with_data("", status=204)
    message = "Traceback (most recent call last):\n" + _TRACEBACK_LINE * 1400  # ~100 KB
    assert len(message.encode()) > 100_000
    alert = Alert(**_IDENTITY, message=message, fields={"rows": 120_000}, tags=["etl"])
    channel = WebhookChannel(httpserver.url_for(PATH), signing_secret=secret)
    result = channel.send(alert)
    assert result.status == "delivered", result
    request = _request(httpserver)
    raw = request.get_data()
    assert len(raw) <= WEBHOOK_BODY_LIMIT == 65_536 and int(request.headers["Content-Length"]) == len(raw)
    assert len(raw) > WEBHOOK_BODY_LIMIT - 2_000  # cut to fit, not cut to nothing
    # The receiver verifies the signature over the bytes it got: the fitted body is what is signed.
    assert verify_signature(secret, raw, request.headers[TIMESTAMP_HEADER], request.headers[SIGNATURE_HEADER])
    body = json.loads(raw)
    VALIDATOR.validate(body)
    assert body["truncated"] is True
    assert body["truncation"] == {
        "limit_bytes": 65_536,
        "original_bytes": len(_unlimited(alert)),
        "cut": ["/alert/message"],
        "cut_count": 1,
        "removed": {},
    }
    sent = body["alert"]["message"]
    assert sent.endswith(TRUNCATION_MARKER) and message.startswith(sent.removesuffix(TRUNCATION_MARKER))
    # Everything but the message arrives exactly as it would have uncut.
    whole = json.loads(_unlimited(alert))["alert"]
    assert {key: value for key, value in body["alert"].items() if key != "message"} == {
        key: value for key, value in whole.items() if key != "message"
    }


def test_a_small_alert_is_byte_identical_and_carries_no_flag(
    httpserver: HTTPServer, hook: WebhookChannel
) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_data("ok")
    alert = Alert(**_IDENTITY, message="ValueError: 1,204 nulls ✓ 日本語", fields={"rate": float("nan")})
    assert hook.send(alert).ok
    raw = _request(httpserver).get_data()
    assert raw == _unlimited(alert)
    assert "truncated" not in json.loads(raw) and "truncation" not in json.loads(raw)


def test_a_body_of_exactly_the_limit_is_sent_whole_and_one_byte_more_is_cut(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("ok")
    channel = WebhookChannel(httpserver.url_for(PATH), body_limit=8_192)
    base = len(_unlimited(Alert(**_IDENTITY)))
    exact = Alert(**_IDENTITY, message="m" * (8_192 - base))
    over = Alert(**_IDENTITY, message="m" * (8_192 - base + 1))
    assert channel.send(exact).ok and channel.send(over).ok
    first, second = _request(httpserver, 0).get_data(), _request(httpserver, 1).get_data()
    assert len(first) == 8_192 and first == _unlimited(exact)
    assert len(second) <= 8_192 and json.loads(second)["truncated"] is True


@pytest.mark.parametrize(
    "unit",
    [
        "é",  # 2 bytes
        "日",  # 3 bytes
        "🚨",  # 4 bytes
        "e\u0301",  # e + combining acute: one letter, two code points
        "👩🏽\u200d💻",  # woman technologist, medium skin tone: four code points
        '"',  # two bytes on the wire (escaped)
        "\x00",  # six bytes on the wire
    ],
)
def test_multibyte_text_is_cut_between_characters(httpserver: HTTPServer, unit: str) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_data("ok")
    channel = WebhookChannel(httpserver.url_for(PATH), body_limit=WEBHOOK_MIN_BODY_LIMIT)
    text = unit * 5_000
    assert channel.send(Alert(title="x", message=text, fields={"detail": text})).ok
    raw = _request(httpserver).get_data()
    assert len(raw) <= WEBHOOK_MIN_BODY_LIMIT
    body = json.loads(raw.decode("utf-8", "strict"))  # strict: a split UTF-8 sequence would raise here
    VALIDATOR.validate(body)
    assert body["truncation"]["cut"] == ["/alert/message", "/alert/fields/detail"]
    for sent in (body["alert"]["message"], body["alert"]["fields"]["detail"]):
        head = sent.removesuffix(TRUNCATION_MARKER)
        assert (
            sent.endswith(TRUNCATION_MARKER) and head and len(head) % len(unit) == 0 and text.startswith(head)
        )


def test_the_largest_content_is_cut_first_to_a_common_size(hook: WebhookChannel) -> None:
    alert = Alert(
        **_IDENTITY,
        message="m" * 50_000,
        fields={
            "traceback": "t" * 60_000,
            "rows": 120_000,
            "note": "short and kept",
            "ids": list(range(20_000)),
        },
    )
    body = hook.build_payload(alert)
    fields = body["alert"]["fields"]
    assert body["truncation"]["cut"] == ["/alert/message", "/alert/fields/traceback", "/alert/fields/ids"]
    assert fields["rows"] == 120_000 and fields["note"] == "short and kept"
    # A list that had to be cut becomes the start of its JSON text, marked.
    assert fields["ids"].startswith("[0,1,2,3,") and fields["ids"].endswith(TRUNCATION_MARKER)
    sizes = [len(body["alert"]["message"]), len(fields["traceback"]), len(fields["ids"])]
    assert max(sizes) - min(sizes) <= 4 and min(sizes) > 20_000  # a common size, not one value wiped out
    whole = json.loads(_unlimited(alert))
    for key in (
        "title",
        "severity",
        "event",
        "status",
        "links",
        "source",
        "error_type",
        "timestamp",
        "dedup_key",
    ):
        assert body["alert"][key] == whole["alert"][key], key


def test_many_fields_are_left_out_largest_first_and_counted(
    httpserver: HTTPServer, hook: WebhookChannel
) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_data("ok")
    fields: dict[str, Any] = {f"metric_{index}": index for index in range(20_000)}
    alert = Alert(**_IDENTITY, fields=fields)
    assert hook.send(alert).ok
    raw = _request(httpserver).get_data()
    assert len(raw) <= WEBHOOK_BODY_LIMIT
    body = json.loads(raw)
    VALIDATOR.validate(body)
    sent = body["alert"]["fields"]
    assert body["truncation"]["removed"] == {"fields": 20_000 - len(sent)} and len(sent) > 3_000
    assert body["truncation"]["cut"] == [] and body["truncation"]["cut_count"] == 0
    # The largest entries went first (the longest names and numbers); the rest arrive whole, in order.
    assert list(sent) == list(fields)[: len(sent)] and all(sent[key] == fields[key] for key in sent)
    assert body["alert"]["title"] == "Nightly load failed" and body["alert"]["links"] == [
        {"label": "Flow run", "url": "https://prefect.example/runs/flow-run/0b6f0c3e"}
    ]


def test_huge_field_names_and_tags_are_cut_to_the_name_limit(
    httpserver: HTTPServer, hook: WebhookChannel
) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_data("ok")
    huge_name = "n/~é" * 50_000  # 200,000 characters, with the two characters a JSON Pointer escapes
    fields = {huge_name: "kept", huge_name + "-twin": "same first 200 characters", "rows": 3}
    alert = Alert(**_IDENTITY, message="m" * 100_000, fields=fields, tags=["etl", "t" * 100_000])
    assert hook.send(alert).ok
    raw = _request(httpserver).get_data()
    assert len(raw) <= WEBHOOK_BODY_LIMIT
    body = json.loads(raw)
    VALIDATOR.validate(body)
    sent, truncation = body["alert"]["fields"], body["truncation"]
    [cut_name, rows] = list(sent)
    assert rows == "rows" and sent["rows"] == 3 and sent[cut_name] == "kept"
    assert len(cut_name) == WEBHOOK_NAME_LIMIT and cut_name.endswith(TRUNCATION_MARKER)
    assert huge_name.startswith(cut_name.removesuffix(TRUNCATION_MARKER))
    assert body["alert"]["tags"] == [
        "etl",
        "t" * (WEBHOOK_NAME_LIMIT - len(TRUNCATION_MARKER)) + TRUNCATION_MARKER,
    ]
    assert truncation["removed"] == {"fields": 1}  # the twin: its cut name equals the first one's
    assert truncation["cut"][0] == "/alert/message" and truncation["cut"][2:] == ["/alert/tags/1"]
    assert truncation["cut"][1].startswith("/alert/fields/n~1~0én~1~0é")
    assert _resolve(body, truncation["cut"][1]) == "kept" and truncation["cut_count"] == 3
    assert len(raw) > WEBHOOK_BODY_LIMIT - 2_000  # the room the names gave back went to the message


def test_hostile_identity_is_cut_only_as_a_last_resort(hook: WebhookChannel) -> None:
    alert = Alert(
        title="T" * 200_000,
        source={"flow_name": "etl", "flow_run_id": "0b6f0c3e-5b7a-4f57-9d0e-2f1c8b1f9a10"},
        links={"Flow run": "https://prefect.example/runs/1", "Huge": "https://evil.example/" + "a" * 100_000},
        dedup_key='"' * 255,
    )
    body, data = fit_body(build_body(alert))
    assert len(data) <= WEBHOOK_BODY_LIMIT
    assert body["alert"]["links"] == [{"label": "Flow run", "url": "https://prefect.example/runs/1"}]
    assert body["alert"]["title"].endswith(TRUNCATION_MARKER) and len(body["alert"]["title"]) > 60_000
    assert body["alert"]["source"]["flow_run_id"] == "0b6f0c3e-5b7a-4f57-9d0e-2f1c8b1f9a10"
    assert body["alert"]["dedup_key"] == '"' * 255
    assert body["truncation"]["cut"] == ["/alert/title"] and body["truncation"]["removed"] == {"links": 1}


@pytest.mark.usefixtures("prefect_server")
def test_body_limit_is_configurable_on_the_channel_and_the_block(httpserver: HTTPServer) -> None:
    AlertWebhook(url=httpserver.url_for(PATH), body_limit=8_192).save("small-webhook", overwrite=True)
    AlertWebhook(url=httpserver.url_for(PATH)).save("default-webhook", overwrite=True)
    assert WebhookChannel.from_block("small-webhook").body_limit == 8_192
    assert WebhookChannel.from_block("default-webhook").body_limit == WEBHOOK_BODY_LIMIT
    assert WebhookChannel.from_block("small-webhook", body_limit=16_384).body_limit == 16_384
    AlertWebhook(url=httpserver.url_for(PATH), body_limit=1_000).save("tiny-webhook", overwrite=True)
    with pytest.raises(
        ValueError, match=r"alert-webhook block 'tiny-webhook': body_limit must be .* at least 4,096"
    ):
        WebhookChannel.from_block("tiny-webhook")
    httpserver.expect_oneshot_request(PATH).respond_with_data("ok")
    channel = WebhookChannel.from_block("small-webhook")
    assert channel.send(Alert(title="x", message="m" * 20_000)).ok
    raw = _request(httpserver).get_data()
    assert len(raw) <= 8_192 and json.loads(raw)["truncation"]["limit_bytes"] == 8_192
    # The limit survives the outbox's description of the channel.
    assert channel.describe() is not None
    assert (
        WebhookChannel(httpserver.url_for(PATH), body_limit=8_192).describe()["kwargs"]["body_limit"] == 8_192
    )


@pytest.mark.parametrize("limit", [100, WEBHOOK_MIN_BODY_LIMIT - 1, 0, -5, True, "64k", 65_536.0, None])
def test_a_bad_body_limit_is_refused_with_what_is_allowed(limit: Any) -> None:
    with pytest.raises(
        ValueError, match=r"body_limit must be a whole number of bytes, at least 4,096 \(got "
    ) as info:
        WebhookChannel("https://alerts.example/ingest/tok-SECRET-55", body_limit=limit)
    assert "leave it unset for the default of 65,536 bytes" in str(info.value)
    assert "tok-SECRET-55" not in str(info.value)
    with pytest.raises(ValueError, match="at least 4,096"):
        fit_body(build_body(Alert(title="x")), limit)


_PIECES = ["a", "é", "日", "🚨", "\u0301", "\u200d", "🏽", "\ufe0f", '"', "\\", "\x00", "\n", "/", "~"]
_small = st.text(alphabet=st.sampled_from(_PIECES), max_size=12)
_big = st.one_of(_small, st.builds(lambda piece, count: piece * count, _small, st.integers(0, 20_000)))
_value = st.one_of(
    st.integers(), st.floats(allow_nan=True), _big, st.lists(st.integers(), max_size=3_000), st.none()
)


@st.composite
def _hostile_alerts(draw: st.DrawFn) -> Alert:
    source_keys = ["flow_name", "flow_run_id", "flow_run_name", "deployment_name", "task_name", "task_run_id"]
    return Alert(
        title=draw(_big.filter(bool)),
        message=draw(_big),
        severity=draw(st.sampled_from(["info", "critical"])),
        fields=draw(
            st.one_of(
                st.dictionaries(_big, _value, max_size=6),
                st.builds(
                    lambda count: {f"f{index}": index for index in range(count)}, st.integers(0, 8_000)
                ),
            )
        ),
        tags=draw(st.lists(_big, max_size=6)),
        links=[
            {
                "label": draw(_small.filter(bool)),
                "url": "https://x.example/" + "a" * draw(st.integers(0, 30_000)),
            }
            for _ in range(draw(st.integers(0, 4)))
        ],
        source={key: draw(st.one_of(st.none(), _big)) for key in source_keys},
        error_type=draw(st.one_of(st.none(), _big)),
        dedup_key=draw(st.sampled_from(["", "\x00" * 255, '"' * 255, "日" * 255])),
        images=[
            AlertImage(name=f"chart{index}.png", data=b"png", alt=draw(_big))
            for index in range(draw(st.integers(0, 2)))
        ],
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    alert=_hostile_alerts(), limit=st.sampled_from([WEBHOOK_MIN_BODY_LIMIT, 5_000, 8_192, WEBHOOK_BODY_LIMIT])
)
def test_any_hostile_alert_fits_as_valid_json_and_says_what_was_cut(alert: Alert, limit: int) -> None:
    original = build_body(alert)
    body, data = fit_body(original, limit)
    assert len(data) <= limit
    received = json.loads(data.decode("utf-8", "strict"))
    VALIDATOR.validate(received)
    whole = json.loads(_unlimited(alert))
    if len(_unlimited(alert)) <= limit:
        assert data == _unlimited(alert) and "truncated" not in received
        return
    assert received["truncated"] is True and received["truncation"]["original_bytes"] == len(
        _unlimited(alert)
    )
    sent = received["alert"]
    for key in ("severity", "event", "status", "timestamp", "dedup_key"):
        assert sent[key] == whole["alert"][key], key
    assert list(sent) == list(whole["alert"]) and list(sent["source"]) == list(whole["alert"]["source"])
    truncation = received["truncation"]
    assert len(truncation["cut"]) <= truncation["cut_count"]
    for pointer in truncation["cut"]:
        value, name = (
            _resolve(received, pointer),
            pointer.rsplit("/", 1)[1].replace("~1", "/").replace("~0", "~"),
        )
        assert name.endswith(TRUNCATION_MARKER) or str(value).endswith(TRUNCATION_MARKER), pointer
    for what in ("fields", "tags", "links", "images"):
        assert len(whole["alert"][what]) - len(sent[what]) == truncation["removed"].get(what, 0), what
    assert body["alert"] is not original["alert"] and original == build_body(alert)  # the input is untouched


# ---------------------------------------------------------------------------------------------------------
# Secret header and signature
# ---------------------------------------------------------------------------------------------------------
def test_secret_header_and_extra_headers_are_sent(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        PATH, headers={"Authorization": "Bearer tok-123456", "X-Team": "data"}
    ).respond_with_data("ok")
    channel = WebhookChannel(
        httpserver.url_for(PATH), secret_header_value="Bearer tok-123456", headers={"X-Team": "data"}
    )
    assert channel.send(Alert(title="x")).ok


def test_custom_secret_header_name(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(PATH, headers={"X-Api-Key": "key-abcdef"}).respond_with_data("ok")
    channel = WebhookChannel(
        httpserver.url_for(PATH), secret_header_name="X-Api-Key", secret_header_value="key-abcdef"
    )
    assert channel.send(Alert(title="x")).ok
    assert "Authorization" not in _request(httpserver).headers


def test_signature_verifies_like_a_receiver_would(httpserver: HTTPServer) -> None:
    secret = "whsec-5f1e2d3c4b5a69788796a5b4"
    namespace: dict[str, Any] = {}
    [snippet] = [block for block in _doc_blocks("python") if "def verify_prefect_alerts_request" in block]
    exec(snippet, namespace)  # the receiver code exactly as docs/webhook-schema.md shows it
    verify_from_docs = namespace["verify_prefect_alerts_request"]
    verdicts: list[bool] = []

    def receiver(request: Request) -> Response:
        ok = verify_from_docs(secret, request.get_data(), request.headers)
        verdicts.append(ok)
        return Response("", status=204 if ok else 401)

    httpserver.expect_request(PATH).respond_with_handler(receiver)
    channel = WebhookChannel(httpserver.url_for(PATH), signing_secret=secret)
    before = int(time.time())
    assert channel.send(Alert(title="Signed ✓", fields={"rate": float("nan")})).ok
    request = _request(httpserver)
    stamp = request.headers[TIMESTAMP_HEADER]
    assert before <= int(stamp) <= int(time.time())
    raw = request.get_data()
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert verify_signature(secret, raw, stamp, request.headers[SIGNATURE_HEADER])
    # The same receiver turns away a sender with the wrong secret: a permanent failure naming what to check.
    wrong = WebhookChannel(httpserver.url_for(PATH), signing_secret="not-the-secret-at-all").send(
        Alert(title="x")
    )
    assert wrong.status == "failed" and wrong.status_code == 401
    assert "not-the-secret-at-all" not in wrong.detail
    assert wrong.detail.startswith("Webhook receiver refused our credentials")
    assert verdicts == [True, False]


def test_signature_rejects_tampering_and_replays() -> None:
    secret, body, stamp = "whsec-abcdef123456", b'{"schema":"prefect-alerts/alert"}', "1700000000"
    good = sign(secret, stamp, body)
    assert verify_signature(secret, body, stamp, good, now=1700000100)
    assert not verify_signature(secret, body + b" ", stamp, good, now=1700000100)  # body changed
    assert not verify_signature(secret, body, "1700000001", good, now=1700000100)  # timestamp changed
    assert not verify_signature("whsec-other-secret", body, stamp, good, now=1700000100)
    assert not verify_signature(secret, body, stamp, good, now=1700000000 + 301)  # replayed too late
    assert not verify_signature(secret, body, None, good) and not verify_signature(secret, body, stamp, None)
    assert not verify_signature(secret, body, "-1", good)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"secret_header_name": "Bad Header", "secret_header_value": "x"}, "not a valid HTTP header name"),
        ({"secret_header_value": "Bearer abc\r\nX-Evil: 1"}, "the secret value must be one line"),
        ({"headers": {"X-Ok": "a\nb"}}, "must be one line"),
        ({"headers": {SIGNATURE_HEADER: "sha256=forged"}}, "set by prefect-alerts"),
        ({"headers": {"Content-Type": "text/plain"}}, "set by prefect-alerts"),
        ({"signing_secret": ""}, "must not be empty"),
    ],
)
def test_bad_configuration_is_refused_at_construction(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match) as info:
        WebhookChannel("https://alerts.example/ingest", **kwargs)
    assert "Bearer abc" not in str(info.value)


# ---------------------------------------------------------------------------------------------------------
# Status table
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "headers", "body", "expected", "retry_after", "detail"),
    [
        (200, {}, "ok", "delivered", None, ""),
        (201, {}, '{"id": 1}', "delivered", None, ""),
        (202, {}, "", "delivered", None, ""),
        (204, {}, "", "delivered", None, ""),
        (
            400,
            {},
            "missing field title",
            "failed",
            None,
            "Webhook receiver rejected the alert body: HTTP 400 missing",
        ),
        (401, {}, "", "failed", None, "Webhook receiver refused our credentials"),
        (
            403,
            {},
            "forbidden",
            "failed",
            None,
            "Webhook receiver forbade the request (check the secret header",
        ),
        (
            404,
            {},
            "not found",
            "failed",
            None,
            "No webhook receiver at this URL (check the URL in the block): HTTP 404",
        ),
        (410, {}, "gone", "failed", None, "Webhook receiver says this webhook is gone"),
        (
            422,
            {},
            "version 1 unsupported",
            "failed",
            None,
            "Webhook receiver could not process the alert body",
        ),
        (418, {}, "teapot", "failed", None, "Webhook receiver refused the alert: HTTP 418 teapot"),
        (
            429,
            {"Retry-After": "12"},
            "slow down",
            "retry",
            12.0,
            "Webhook receiver rate limit: 429 slow down",
        ),
        (429, {}, "", "retry", WEBHOOK_DEFAULT_RATE_LIMIT_WAIT, "Webhook receiver rate limit: 429"),
        (500, {}, "boom", "retry", None, "Webhook receiver is unavailable: 500 boom"),
        (502, {}, "", "retry", None, "Webhook receiver is unavailable: 502"),
        (503, {"Retry-After": "30"}, "", "retry", 30.0, "Webhook receiver is unavailable: 503"),
        (408, {}, "", "retry", None, "Webhook receiver is unavailable: 408"),
        (
            302,
            {"Location": "https://login.example/"},
            "",
            "failed",
            None,
            "Webhook receiver redirected the request",
        ),
    ],
)
def test_status_table(
    httpserver: HTTPServer,
    hook: WebhookChannel,
    status: int,
    headers: dict[str, str],
    body: str,
    expected: str,
    retry_after: float | None,
    detail: str,
) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_data(body, status=status, headers=headers)
    result = hook.send(Alert(title="x"))
    assert result.status == expected, result
    assert result.retry_after == retry_after
    assert result.status_code == status
    assert result.detail.startswith(detail) if detail else result.detail == ""
    assert len(httpserver.log) == 1  # never follows a redirect, never retries by itself


def test_timeout_is_retryable(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.8)
        return Response("ok")

    httpserver.expect_oneshot_request(PATH).respond_with_handler(slow)
    channel = WebhookChannel(httpserver.url_for(PATH), read_timeout=0.3)
    started = time.perf_counter()
    result = channel.send(Alert(title="x"))
    assert time.perf_counter() - started < 0.75
    assert result.status == "retry" and result.retry_after is None
    assert result.detail == "timeout: no read reply from the webhook receiver within 0.3s"


def test_connection_refused_is_retryable() -> None:
    result = WebhookChannel(f"http://127.0.0.1:{free_port()}{PATH}", connect_timeout=1).send(Alert(title="x"))
    assert result.status == "retry"
    assert "connection refused" in result.detail and "secret-path" not in result.detail


# ---------------------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------------------
def test_secrets_never_reach_logs_repr_or_results(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    header_secret, signing_secret = "Bearer hdr-SECRET-4242", "sign-SECRET-9090"
    channel = WebhookChannel(
        httpserver.url_for(PATH), secret_header_value=header_secret, signing_secret=signing_secret
    )
    httpserver.expect_oneshot_request(PATH).respond_with_data("ok")
    # A receiver that echoes the credential in its error must not leak it through our result.
    httpserver.expect_oneshot_request(PATH).respond_with_data(f"bad token {header_secret}", status=401)
    httpserver.expect_oneshot_request(PATH).respond_with_data(
        f"oops hdr-SECRET-4242 {signing_secret}", status=500
    )
    results = [deliver(Alert(title=title), channel)[0] for title in ("a", "b", "c")]
    refused = WebhookChannel(
        f"http://127.0.0.1:{free_port()}{PATH}",
        secret_header_value=header_secret,
        signing_secret=signing_secret,
    ).send(Alert(title="z"))
    assert [result.status for result in results] == ["delivered", "failed", "retry"]
    assert any(record.name.startswith("urllib3") for record in caplog.records), (
        "urllib3 debug logs not captured"
    )
    ours = "\n".join(
        record.getMessage() for record in caplog.records if not record.name.startswith("werkzeug")
    )
    everything = ours + repr(channel) + str(channel) + refused.detail + str(refused)
    everything += "".join(result.detail + str(result) + repr(result) for result in results)
    for secret in ("hdr-SECRET-4242", "sign-SECRET-9090", "secret-path"):
        assert secret not in everything, secret
    assert results[1].detail.endswith("HTTP 401 bad token ***")
    assert repr(channel) == (
        f"WebhookChannel(name='webhook', url='http://{httpserver.host}:{httpserver.port}/***', "
        "secret_header='Authorization', signed=True)"
    )


# ---------------------------------------------------------------------------------------------------------
# Blocks on the real Prefect server
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.usefixtures("prefect_server")
def test_from_block_sends_with_the_blocks_secrets(httpserver: HTTPServer) -> None:
    secret = "whsec-from-block-777777"
    AlertWebhook(
        url=httpserver.url_for(PATH),
        secret_header_name="X-Api-Key",
        secret_header_value="key-from-block-888888",
        signing_secret=secret,
    ).save("ops-webhook", overwrite=True)
    httpserver.expect_oneshot_request(PATH, headers={"X-Api-Key": "key-from-block-888888"}).respond_with_data(
        "ok"
    )
    channel = WebhookChannel.from_block("ops-webhook")
    assert channel.name == "webhook:ops-webhook" and channel.signed
    assert "key-from-block" not in repr(channel) and secret not in repr(channel)
    result = channel.send(Alert(title="from a block", severity="warning"))
    assert result.ok, result
    request = _request(httpserver)
    assert verify_signature(
        secret, request.get_data(), request.headers[TIMESTAMP_HEADER], request.headers[SIGNATURE_HEADER]
    )
    VALIDATOR.validate(_received(httpserver))
    renamed = WebhookChannel.from_block("alert-webhook/ops-webhook", name="tickets", read_timeout=1)
    assert renamed.name == "tickets" and renamed.read_timeout == 1


@pytest.mark.usefixtures("prefect_server")
def test_from_block_without_secrets_sends_plain_requests(httpserver: HTTPServer) -> None:
    AlertWebhook(url=httpserver.url_for(PATH)).save("plain-webhook", overwrite=True)
    httpserver.expect_oneshot_request(PATH).respond_with_data("ok")
    channel = WebhookChannel.from_block("plain-webhook")
    assert not channel.signed and channel.secret_header_name is None
    assert channel.send(Alert(title="x")).ok
    headers = _request(httpserver).headers
    assert (
        "Authorization" not in headers and SIGNATURE_HEADER not in headers and TIMESTAMP_HEADER not in headers
    )


@pytest.mark.usefixtures("prefect_server")
def test_from_block_of_a_missing_name_says_how_to_create_it() -> None:
    with pytest.raises(BlockNotFoundError) as info:
        WebhookChannel.from_block("no-such-webhook")
    message = str(info.value)
    assert "'no-such-webhook'" in message and "'alert-webhook'" in message
    assert "AlertWebhook(url=" in message and ".save('no-such-webhook')" in message
