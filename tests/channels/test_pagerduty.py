"""PagerDuty Events API v2 channel against a real local HTTP receiver (pytest-httpserver)."""

from __future__ import annotations

import json
import logging
import socket
import time
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from prefect_alerts import Alert, deliver
from prefect_alerts.alert import json_safe
from prefect_alerts.blocks import BlockNotFoundError, PagerDutyEventsV2
from prefect_alerts.channels import PagerDutyChannel
from prefect_alerts.channels.pagerduty import (
    PAGERDUTY_DEDUP_KEY_LIMIT,
    PAGERDUTY_DEFAULT_RATE_LIMIT_WAIT,
    PAGERDUTY_EVENTS_URLS,
    PAGERDUTY_MAX_BODY_BYTES,
    PAGERDUTY_MESSAGE_FLOOR,
    PAGERDUTY_MESSAGE_LIMIT,
    PAGERDUTY_PERMANENT_ERRORS,
    PAGERDUTY_SEVERITY,
    PAGERDUTY_SUMMARY_LIMIT,
    encode_event,
)
from prefect_alerts.channels.text import truncate
from tests.receivers import free_port, received_dict
from tests.strategies import INJECTION_CORPUS, alerts

PATH = "/v2/enqueue"
ROUTING_KEY = "PdRoutingKey0123456789abcdefSECR"
assert len(ROUTING_KEY) == 32


@pytest.fixture
def pagerduty(httpserver: HTTPServer) -> PagerDutyChannel:
    return PagerDutyChannel(ROUTING_KEY, events_url=httpserver.url_for(PATH), read_timeout=0.5)


def _accept(server: HTTPServer, times: int = 1) -> None:
    for _ in range(times):
        server.expect_oneshot_request(PATH, method="POST").respond_with_json(
            {"status": "success", "message": "Event processed", "dedup_key": "echoed"}, status=202
        )


def _full_alert(**changes: Any) -> Alert:
    values: dict[str, Any] = {
        "title": "Nightly load failed",
        "message": "ValueError: column 'amount' has 1,204 nulls\nTraceback (most recent call last): ...",
        "severity": "error",
        "event": "flow_failed",
        "fields": {"rows": 120_000, "null_share": float("nan"), "lag": float("inf"), "ok": True},
        "tags": ["etl", "nightly"],
        "links": {
            "Flow run": "https://prefect.example/runs/flow-run/1",
            "Logs": "https://logs.example/q?id=1",
        },
        "source": {
            "flow_name": "etl",
            "flow_run_name": "happy-otter",
            "deployment_name": "etl-prod",
            "task_name": "load",
        },
        "error_type": "ValueError",
        "timestamp": datetime(2026, 11, 24, 3, 4, 5, 123456, tzinfo=timezone.utc),
    }
    values.update(changes)
    return Alert(**values)


# --------------------------------------------------------------------------------------------- the body
def test_trigger_body_as_received(httpserver: HTTPServer, pagerduty: PagerDutyChannel) -> None:
    _accept(httpserver)
    alert = _full_alert()
    result = pagerduty.send(alert)
    assert result.status == "delivered", result
    assert result.status_code == 202 and result.retry_after is None and result.detail == ""
    assert result.dedup_key == alert.dedup_key and result.channel == "pagerduty"
    request, _ = httpserver.log[-1]
    assert request.headers["Content-Type"].startswith("application/json")
    assert "Authorization" not in request.headers  # the routing key in the body is the credential
    body = received_dict(httpserver)
    assert {key: value for key, value in body.items() if key != "payload"} == {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": alert.dedup_key,
        "links": [
            {"href": "https://prefect.example/runs/flow-run/1", "text": "Flow run"},
            {"href": "https://logs.example/q?id=1", "text": "Logs"},
        ],
        "client": "prefect-alerts",
        "client_url": "https://prefect.example/runs/flow-run/1",
    }
    payload = body["payload"]
    assert set(payload) == {
        "summary",
        "source",
        "severity",
        "timestamp",
        "component",
        "group",
        "class",
        "custom_details",
    }
    assert payload["summary"] == "[ERROR] Nightly load failed: ValueError: column 'amount' has 1,204 nulls"
    # A stable source (the deployment), not the run name that changes every run: PagerDuty groups by it.
    assert payload["source"] == "etl-prod"
    assert payload["severity"] == "error"
    assert datetime.fromisoformat(payload["timestamp"]) == alert.timestamp
    assert (payload["component"], payload["group"], payload["class"]) == ("load", "etl-prod", "flow_failed")
    assert payload["custom_details"] == {
        "message": alert.message,
        "fields": {"rows": 120_000, "null_share": "NaN", "lag": "Infinity", "ok": True},
        "tags": ["etl", "nightly"],
        "event": "flow_failed",
        "error_type": "ValueError",
        "source": {
            "flow_name": "etl",
            "flow_run_name": "happy-otter",
            "deployment_name": "etl-prod",
            "task_name": "load",
        },
        "status": "firing",
    }
    # The body went out as strict JSON (no bare NaN/Infinity tokens).
    json.loads(request.get_data(as_text=True), parse_constant=lambda token: pytest.fail(f"bare {token} sent"))


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("critical", "critical"),
        ("error", "error"),
        ("warning", "warning"),
        ("info", "info"),
        ("success", "info"),
    ],
)
def test_severity_mapping_for_all_five(
    httpserver: HTTPServer, pagerduty: PagerDutyChannel, severity: str, expected: str
) -> None:
    _accept(httpserver)
    assert pagerduty.send(Alert(title="x", severity=severity)).ok
    body = received_dict(httpserver)
    assert body["payload"]["severity"] == expected
    assert body["payload"]["summary"] == f"[{severity.upper()}] x"
    assert PAGERDUTY_SEVERITY[severity] == expected  # type: ignore[index]


def test_defaults_without_origin_and_configured_overrides(httpserver: HTTPServer) -> None:
    _accept(httpserver, times=3)
    url = httpserver.url_for(PATH)
    assert (
        PagerDutyChannel(ROUTING_KEY, events_url=url)
        .send(Alert(title="Manual page", event="notification"))
        .ok
    )
    payload = received_dict(httpserver)["payload"]
    assert payload["source"] == socket.gethostname()  # nothing known about the origin: this machine
    assert "component" not in payload and "group" not in payload
    assert payload["class"] == "notification"
    assert "links" not in received_dict(httpserver) and "client_url" not in received_dict(httpserver)

    only_flow = Alert(title="x", source={"flow_name": "etl"}, event="check_failed")
    assert PagerDutyChannel(ROUTING_KEY, events_url=url).send(only_flow).ok
    payload = received_dict(httpserver)["payload"]
    assert (payload["source"], payload["component"], payload["group"], payload["class"]) == (
        "etl",
        "etl",
        "etl",
        "check_failed",
    )

    configured = PagerDutyChannel(
        ROUTING_KEY,
        events_url=url,
        source="warehouse-1",
        component="loader",
        group="data",
        class_="etl-failure",
    )
    assert configured.send(_full_alert()).ok
    payload = received_dict(httpserver)["payload"]
    assert (payload["source"], payload["component"], payload["group"], payload["class"]) == (
        "warehouse-1",
        "loader",
        "data",
        "etl-failure",
    )


def test_summary_is_one_line_and_cut_at_1024_with_a_marker(
    httpserver: HTTPServer, pagerduty: PagerDutyChannel
) -> None:
    _accept(httpserver, times=2)
    assert pagerduty.send(Alert(title="T" * 3000, message="first line\nsecond line", severity="critical")).ok
    summary = received_dict(httpserver)["payload"]["summary"]
    assert len(summary) == PAGERDUTY_SUMMARY_LIMIT
    assert summary.startswith("[CRITICAL] TTTT") and summary.endswith("… [truncated]")
    assert pagerduty.send(Alert(title="Load failed", message="  \n first line\r\nsecond line")).ok
    assert received_dict(httpserver)["payload"]["summary"] == "[INFO] Load failed: first line"


def test_trigger_then_resolve_and_acknowledge_carry_the_same_dedup_key(
    httpserver: HTTPServer, pagerduty: PagerDutyChannel
) -> None:
    _accept(httpserver, times=4)
    alert = _full_alert(severity="critical")
    assert pagerduty.send(alert).ok
    assert pagerduty.send_event(alert, action="acknowledge").ok
    resolved = alert.resolved("Recovered on retry")
    result = pagerduty.send(resolved)
    assert result.ok and result.dedup_key == alert.dedup_key
    # A later run of the same failing flow (a new run id and name) maps to the same incident.
    rerun = _full_alert(
        source={
            "flow_name": "etl",
            "flow_run_name": "brave-fox",
            "deployment_name": "etl-prod",
            "task_name": "load",
        }
    )
    assert pagerduty.send_event(rerun, action="resolve").ok
    trigger, acknowledge, resolve, resolve_rerun = (received_dict(httpserver, i) for i in range(4))
    assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == alert.dedup_key
    assert acknowledge == {
        "routing_key": ROUTING_KEY,
        "event_action": "acknowledge",
        "dedup_key": alert.dedup_key,
    }
    assert resolve == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": alert.dedup_key}
    assert resolve_rerun == resolve
    assert len(alert.dedup_key) <= PAGERDUTY_DEDUP_KEY_LIMIT


def test_dedup_key_override_and_validation(httpserver: HTTPServer, pagerduty: PagerDutyChannel) -> None:
    _accept(httpserver)
    result = pagerduty.send_event(Alert(title="x"), action="resolve", dedup_key="disk-full/warehouse-1")
    assert result.ok and result.dedup_key == "disk-full/warehouse-1"
    assert received_dict(httpserver)["dedup_key"] == "disk-full/warehouse-1"
    with pytest.raises(ValueError, match="at most 255"):
        pagerduty.build_event(Alert(title="x"), dedup_key="k" * 256)
    with pytest.raises(ValueError, match="non-empty"):
        pagerduty.build_event(Alert(title="x"), dedup_key=" ")
    with pytest.raises(ValueError, match="'trigger', 'acknowledge', 'resolve'"):
        pagerduty.build_event(Alert(title="x"), action="close")  # type: ignore[arg-type]
    assert len(httpserver.log) == 1


def test_explicit_trigger_of_a_resolved_alert_still_builds_a_full_payload(
    pagerduty: PagerDutyChannel,
) -> None:
    body = pagerduty.build_event(Alert(title="x", severity="error").resolved(), action="trigger")
    assert body["event_action"] == "trigger" and body["payload"]["summary"] == "[RESOLVED] x"
    assert body["payload"]["custom_details"]["status"] == "resolved"


def test_links_that_are_too_long_to_be_useful_are_left_out(pagerduty: PagerDutyChannel) -> None:
    long_url = "https://prefect.example/" + "a" * 3000
    body = pagerduty.build_event(
        Alert(title="x", links={"Huge": long_url, "Run": "https://prefect.example/r/1"})
    )
    assert body["links"] == [{"href": "https://prefect.example/r/1", "text": "Run"}]
    assert body["client_url"] == "https://prefect.example/r/1"


# --------------------------------------------------------------------------------------------- replies
@pytest.mark.parametrize(
    ("status", "headers", "body", "expected", "retry_after", "detail_part"),
    [
        (200, {}, '{"status":"success"}', "delivered", None, ""),
        (202, {}, '{"status":"success","message":"Event processed","dedup_key":"k"}', "delivered", None, ""),
        (204, {}, "", "delivered", None, ""),
        (
            400,
            {"Content-Type": "application/json"},
            '{"status":"invalid event","message":"Event object is invalid",'
            '"errors":["\'payload.severity\' is missing or blank"]}',
            "failed",
            None,
            "PagerDuty rejected the event: 400 Event object is invalid: 'payload.severity' is missing or blank",
        ),
        (400, {}, "not json at all", "failed", None, "PagerDuty rejected the event: 400 not json at all"),
        (401, {}, "", "failed", None, "unauthorised"),
        (403, {}, "Forbidden", "failed", None, "check the routing key, the region and events_url"),
        (
            404,
            {},
            "Not Found",
            "failed",
            None,
            "events URL not found: 404 Not Found; check events_url/region",
        ),
        (410, {}, "Gone", "failed", None, "events URL is gone: 410 Gone; check events_url/region"),
        (408, {}, "", "retry", None, "PagerDuty is unavailable: 408"),
        (
            429,
            {"Retry-After": "17"},
            '{"status":"throttle event"}',
            "retry",
            17.0,
            "PagerDuty rate limit: 429",
        ),
        (
            429,
            {},
            '{"status":"throttle event"}',
            "retry",
            PAGERDUTY_DEFAULT_RATE_LIMIT_WAIT,
            "rate limit: 429",
        ),
        (
            500,
            {},
            "Internal Server Error",
            "retry",
            None,
            "PagerDuty is unavailable: 500 Internal Server Error",
        ),
        (502, {}, "Bad Gateway", "retry", None, "PagerDuty is unavailable: 502"),
        (503, {"Retry-After": "3"}, "", "retry", 3.0, "PagerDuty is unavailable: 503"),
        (301, {"Location": "https://elsewhere.example/"}, "", "failed", None, "redirected"),
        (422, {}, "unprocessable", "failed", None, "PagerDuty refused the event: 422 unprocessable"),
    ],
)
def test_status_table(
    httpserver: HTTPServer,
    pagerduty: PagerDutyChannel,
    status: int,
    headers: dict[str, str],
    body: str,
    expected: str,
    retry_after: float | None,
    detail_part: str,
) -> None:
    httpserver.expect_oneshot_request(PATH, method="POST").respond_with_data(
        body, status=status, headers=headers
    )
    result = pagerduty.send(Alert(title="x", severity="error"))
    assert result.status == expected, result
    assert result.retry_after == retry_after
    assert result.status_code == status
    assert detail_part in result.detail
    assert len(result.detail) < 600  # short enough to read in a log line
    assert len(httpserver.log) == 1  # one attempt: the channel never retries by itself


def test_rate_limit_default_wait_is_tens_of_seconds() -> None:
    assert 10 <= PAGERDUTY_DEFAULT_RATE_LIMIT_WAIT <= 60


@pytest.mark.parametrize("code", sorted(PAGERDUTY_PERMANENT_ERRORS))
def test_every_entry_of_the_permanent_error_table_is_a_permanent_failure(
    httpserver: HTTPServer, pagerduty: PagerDutyChannel, code: int
) -> None:
    reason, advice = PAGERDUTY_PERMANENT_ERRORS[code]
    httpserver.expect_oneshot_request(PATH).respond_with_data("nope", status=code)
    result = pagerduty.send(Alert(title="x"))
    assert result.status == "failed" and result.retry_after is None
    assert result.detail.startswith(f"{reason}: {code}")
    assert advice in result.detail
    if "events_url" in advice:
        assert f"sending to http://{httpserver.host}:{httpserver.port}/***" in result.detail


def test_timeout_is_retryable(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.8)
        return Response("{}", status=202)

    httpserver.expect_oneshot_request(PATH).respond_with_handler(slow)
    channel = PagerDutyChannel(ROUTING_KEY, events_url=httpserver.url_for(PATH), read_timeout=0.3)
    started = time.perf_counter()
    result = channel.send(Alert(title="x"))
    assert time.perf_counter() - started < 0.75
    assert result.status == "retry" and result.retry_after is None
    assert "timeout" in result.detail and "0.3s" in result.detail


def test_connection_refused_is_retryable() -> None:
    channel = PagerDutyChannel(
        ROUTING_KEY, events_url=f"http://127.0.0.1:{free_port()}{PATH}", connect_timeout=1
    )
    result = channel.send(Alert(title="x"))
    assert result.status == "retry"
    assert "connection refused" in result.detail


# --------------------------------------------------------------------------------------------- 512 KB
def test_a_2_mb_message_and_10_000_fields_fit_in_512_kb(
    httpserver: HTTPServer, pagerduty: PagerDutyChannel
) -> None:
    _accept(httpserver)
    alert = Alert(
        title="Huge",
        message="M" * 2_000_000,
        fields={f"metric_{i:05d}": "v" * 100 for i in range(10_000)},
        tags=["etl"],
    )
    assert pagerduty.send(alert).ok
    request, _ = httpserver.log[-1]
    raw = request.get_data()
    assert len(raw) <= PAGERDUTY_MAX_BODY_BYTES
    assert len(raw) > PAGERDUTY_MAX_BODY_BYTES - 4096  # used the room, did not throw everything away
    details = json.loads(raw)["payload"]["custom_details"]
    assert details["truncated"].startswith("custom_details truncated to fit 512 KB")
    assert "message cut to 1,000 of 2,000,000 characters" in details["truncated"]
    assert details["message"] == truncate("M" * 2_000_000, PAGERDUTY_MESSAGE_FLOOR)
    assert details["message"].endswith("… [truncated]")
    # Largest first: values were replaced by a visible size note; no field silently disappeared.
    fields = details["fields"]
    assert len(fields) == 10_000
    replaced = [value for value in fields.values() if value != "v" * 100]
    assert replaced and all(value == "[102 bytes left out to fit 512 KB]" for value in replaced)
    assert f"{len(replaced):,} of 10,000 field values replaced" in details["truncated"]
    assert details["tags"] == ["etl"]


def test_only_the_largest_field_is_cut_when_that_is_enough(pagerduty: PagerDutyChannel) -> None:
    alert = Alert(
        title="x",
        message="A short message that must survive.",
        fields={"small": 1, "huge": "h" * 600_000, "medium": "m" * 10_000},
    )
    body = pagerduty.build_event(alert)
    assert len(encode_event(body)) <= PAGERDUTY_MAX_BODY_BYTES
    details = body["payload"]["custom_details"]
    assert details["message"] == "A short message that must survive."
    assert details["fields"] == {
        "small": 1,
        "huge": "[600,002 bytes left out to fit 512 KB]",
        "medium": "m" * 10_000,
    }
    assert (
        details["truncated"]
        == "custom_details truncated to fit 512 KB: 1 of 3 field values replaced by their size"
    )


def test_whole_fields_tags_and_links_go_when_values_alone_are_not_enough(pagerduty: PagerDutyChannel) -> None:
    alert = Alert(
        title="x",
        fields={f"a_rather_long_metric_name_{i:06d}": i for i in range(60_000)},
        tags=[f"tag-{i}-" + "t" * 500 for i in range(2_000)],
        links=[{"label": f"l{i}", "url": f"https://prefect.example/{'p' * 1500}/{i}"} for i in range(500)],
    )
    body = pagerduty.build_event(alert)
    size = len(encode_event(body))
    assert PAGERDUTY_MAX_BODY_BYTES - 4096 < size <= PAGERDUTY_MAX_BODY_BYTES
    details = body["payload"]["custom_details"]
    assert len(details["fields"]) < 60_000 and "fields left out" in details["truncated"]
    kept = list(details["fields"])
    assert kept == sorted(kept)  # survivors keep their order


@st.composite
def _huge_alerts(draw: st.DrawFn) -> Alert:
    """Any alert, often with a message of megabytes and thousands of (large) fields: sizes are sampled from a
    list so that many examples pass 512 KB (plain integers would stay small)."""
    alert = draw(alerts())
    chunk = draw(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6))
    message = chunk * draw(st.sampled_from([400_000, 150_000, 50_000, 10, 0]))
    count, length = draw(
        st.sampled_from([(3_000, 200), (20_000, 2), (200, 5_000), (2, 300_000), (10, 10), (0, 0)])
    )
    value = draw(st.one_of(st.just(chunk * length), st.floats(allow_nan=True)))
    fields = {f"k{i}_{chunk}": value for i in range(count)}
    tags = [chunk * 50] * draw(st.sampled_from([5_000, 3, 0]))
    return alert.model_copy(
        update={
            "message": message or alert.message,
            "fields": {**alert.fields, **fields},
            "tags": alert.tags + tags,
        }
    )


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(alert=st.one_of(alerts(), _huge_alerts()))
def test_any_alert_gives_a_body_within_pagerduty_limits(alert: Alert) -> None:
    channel = PagerDutyChannel(ROUTING_KEY)
    body = channel.build_event(alert, action="trigger")
    json.dumps(body, allow_nan=False)
    assert len(encode_event(body)) <= PAGERDUTY_MAX_BODY_BYTES
    assert 0 < len(body["dedup_key"]) <= PAGERDUTY_DEDUP_KEY_LIMIT
    payload = body["payload"]
    assert 0 < len(payload["summary"]) <= PAGERDUTY_SUMMARY_LIMIT
    assert "\n" not in payload["summary"] and "\r" not in payload["summary"]
    assert payload["severity"] in ("critical", "error", "warning", "info")
    assert payload["source"]
    details = payload["custom_details"]
    if "truncated" not in details:  # nothing is lost without saying so
        assert details["message"] == truncate(alert.message, PAGERDUTY_MESSAGE_LIMIT)
        assert details["fields"] == json_safe(alert.fields)
    if alert.is_resolved:
        assert channel.build_event(alert) == {
            "routing_key": ROUTING_KEY,
            "event_action": "resolve",
            "dedup_key": alert.dedup_key,
        }


# --------------------------------------------------------------------------------------------- injection
@pytest.mark.parametrize("evil", INJECTION_CORPUS)
def test_untrusted_text_arrives_as_is_in_valid_json(
    httpserver: HTTPServer, pagerduty: PagerDutyChannel, evil: str
) -> None:
    _accept(httpserver)
    alert = Alert(
        title=f"Run failed {evil}",
        message=f"ValueError: {evil}",
        severity="critical",
        fields={evil: evil, "nan": float("nan")},
        source={"flow_name": evil, "task_name": evil},
        tags=[evil],
        error_type=evil,
    )
    assert pagerduty.send(alert).ok
    body = received_dict(httpserver)  # parsed: the receiver got valid JSON
    payload = body["payload"]
    one_line = " ".join(evil.split())
    first_message_line = " ".join(f"ValueError: {evil}".splitlines()[0].split())
    assert payload["summary"] == f"[CRITICAL] Run failed {one_line}: {first_message_line}"
    details = payload["custom_details"]
    assert (
        details["message"] == f"ValueError: {evil}"
    )  # exact, CRLF included: PagerDuty shows text, not markup
    assert details["fields"] == {evil: evil, "nan": "NaN"}
    assert details["tags"] == [evil] and details["error_type"] == evil
    assert details["source"] == {"flow_name": evil, "task_name": evil}
    assert payload["component"] == one_line and payload["group"] == one_line


def test_script_crlf_and_non_ascii_round_trip_exactly(
    httpserver: HTTPServer, pagerduty: PagerDutyChannel
) -> None:
    _accept(httpserver)
    text = "<script>alert(1)</script>\r\nX-Injected: yes\r\nnaïve café ✓ 日本語 🚨 \u2028 \x00"
    assert pagerduty.send(Alert(title="t", message=text, fields={"text": text})).ok
    request, _ = httpserver.log[-1]
    raw = request.get_data()
    assert "日本語 🚨".encode() in raw  # sent as UTF-8, not \\u escapes
    details = json.loads(raw)["payload"]["custom_details"]
    assert details["message"] == text and details["fields"]["text"] == text


# --------------------------------------------------------------------------------------------- secrets
@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        f"{ROUTING_KEY}\n",
        f" {ROUTING_KEY}",
        "PdRouting Key0123456789abcdefSECR",
        "short",
        "k" * 65,
        "PdRoutingKey-0123456789abcdefSEC",
    ],
)
def test_invalid_routing_keys_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(ValueError, match="routing_key") as info:
        PagerDutyChannel(bad)
    if bad.strip():
        assert bad.strip() not in str(info.value)
        assert "Key0123456789" not in str(info.value)


def test_routing_key_never_reaches_logs_repr_or_results(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "LogSecretKey0123456789abcdefZZZZ"
    channel = PagerDutyChannel(secret, events_url=httpserver.url_for(PATH), read_timeout=0.5)
    _accept(httpserver)
    # PagerDuty's 400 can quote the event back; anything quoted must still be masked.
    httpserver.expect_oneshot_request(PATH).respond_with_json(
        {
            "status": "invalid event",
            "message": "Event object is invalid",
            "errors": [f"routing_key {secret} unknown"],
        },
        status=400,
    )
    httpserver.expect_oneshot_request(PATH).respond_with_data("down", status=503)
    results = (
        deliver(Alert(title="ok"), channel)
        + deliver(Alert(title="bad"), channel)
        + deliver(Alert(title="503"), channel)
    )
    refused = PagerDutyChannel(secret, events_url=f"http://127.0.0.1:{free_port()}{PATH}").send(
        Alert(title="z")
    )
    assert [result.status for result in results] == ["delivered", "failed", "retry"]
    assert "routing_key *** unknown" in results[1].detail
    assert received_dict(httpserver, 0)["routing_key"] == secret  # it was really sent...
    assert any("urllib3" in record.name for record in caplog.records), "urllib3 debug logs were not captured"
    # ...and never shown. The receiver's own access log (werkzeug) is the service side, not ours.
    ours = "\n".join(
        record.getMessage() for record in caplog.records if not record.name.startswith("werkzeug")
    )
    everything = ours + repr(channel) + str(channel) + refused.detail + str(refused)
    everything += "".join(result.detail + str(result) + repr(result) for result in results)
    assert secret not in everything
    assert repr(channel) == (
        f"PagerDutyChannel(name='pagerduty', region='us', url='http://{httpserver.host}:{httpserver.port}/***', "
        "routing_key='***')"
    )


def test_block_repr_masks_the_routing_key() -> None:
    block = PagerDutyEventsV2(routing_key=ROUTING_KEY)
    assert ROUTING_KEY not in repr(block) and ROUTING_KEY not in str(block)
    assert ROUTING_KEY not in repr(PagerDutyChannel.from_block_instance(block))


# --------------------------------------------------------------------------------------------- regions, blocks
def test_region_picks_the_events_url_without_network() -> None:
    assert PagerDutyChannel(ROUTING_KEY).events_url == "https://events.pagerduty.com/v2/enqueue"
    assert (
        PagerDutyChannel(ROUTING_KEY, region="eu").events_url == "https://events.eu.pagerduty.com/v2/enqueue"
    )
    assert PagerDutyChannel(ROUTING_KEY, region="EU").events_url == PAGERDUTY_EVENTS_URLS["eu"]
    proxy = "https://proxy.internal/pagerduty/v2/enqueue"
    assert PagerDutyChannel(ROUTING_KEY, region="eu", events_url=proxy).events_url == proxy
    eu_block = PagerDutyEventsV2(routing_key=ROUTING_KEY, region="eu")
    assert PagerDutyChannel.from_block_instance(eu_block).events_url == PAGERDUTY_EVENTS_URLS["eu"]
    with pytest.raises(ValueError, match="'us' or 'eu'"):
        PagerDutyChannel(ROUTING_KEY, region="ap")
    with pytest.raises(ValueError, match="http"):
        PagerDutyChannel(ROUTING_KEY, events_url="events.pagerduty.com/v2/enqueue")


@pytest.mark.usefixtures("prefect_server")
def test_from_block_delivers_to_the_configured_events_url(httpserver: HTTPServer) -> None:
    PagerDutyEventsV2(routing_key=ROUTING_KEY, region="eu", events_url=httpserver.url_for(PATH)).save(
        "pd-channel-test", overwrite=True
    )
    _accept(httpserver, times=2)
    channel = PagerDutyChannel.from_block("pd-channel-test", read_timeout=2)
    assert channel.name == "pagerduty:pd-channel-test" and channel.region == "eu"
    alert = Alert(title="from a block", severity="critical")
    result = channel.send(alert)
    assert result.ok, result
    assert result.channel == "pagerduty:pd-channel-test"
    body = received_dict(httpserver)
    assert body["routing_key"] == ROUTING_KEY and body["payload"]["summary"] == "[CRITICAL] from a block"
    assert PagerDutyChannel.from_block("pagerduty-events-v2/pd-channel-test").send(alert.resolved()).ok
    assert received_dict(httpserver)["event_action"] == "resolve"
    assert ROUTING_KEY not in repr(PagerDutyEventsV2.load("pd-channel-test"))


@pytest.mark.usefixtures("prefect_server")
def test_from_block_of_a_missing_name_says_how_to_create_it() -> None:
    with pytest.raises(BlockNotFoundError) as info:
        PagerDutyChannel.from_block("no-such-pagerduty-block")
    message = str(info.value)
    assert "'no-such-pagerduty-block'" in message and "'pagerduty-events-v2'" in message
    assert "PagerDutyEventsV2(routing_key=" in message and ".save('no-such-pagerduty-block')" in message


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        (
            {"flow_name": "etl", "flow_run_name": "spotted-copperhead", "deployment_name": "etl/nightly"},
            "etl/nightly",
        ),
        ({"flow_name": "etl", "flow_run_name": "spotted-copperhead"}, "etl"),
    ],
)
def test_source_is_stable_across_runs_and_the_run_name_is_in_the_details(
    origin: dict[str, str], expected: str
) -> None:
    channel = PagerDutyChannel(routing_key=ROUTING_KEY)
    body = channel.build_event(Alert(title="failed", source=origin))
    assert body["payload"]["source"] == expected
    assert body["payload"]["custom_details"]["source"]["flow_run_name"] == "spotted-copperhead"
