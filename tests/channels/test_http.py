"""The HTTP transport every HTTP channel shares (urllib3 pools), against real local receivers.

TLS with a trustme CA, proxies from the environment, basic auth from the URL, no redirects or retries by
urllib3, concurrent sends from many threads, and the errors classified the way the dispatcher relies on.
"""

from __future__ import annotations

import base64
import logging
import socket
import struct
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts import Alert
from prefect_alerts.channels import SlackChannel
from prefect_alerts.channels.transport import clear_pools, proxy_for
from tests.receivers import free_port

PATH = "/services/T0/B0/transportSecret42"

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    yield
    clear_pools()


@pytest.fixture
def tls_server(smtp_tls_certs: Any) -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=smtp_tls_certs.server_context())
    server.start()
    yield server
    server.clear()
    server.stop()


def test_https_with_an_untrusted_certificate_fails_for_good_before_sending(
    tls_server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    tls_server.expect_request(PATH).respond_with_data("ok")
    result = SlackChannel(tls_server.url_for(PATH), connect_timeout=2).send(Alert(title="x"))
    assert result.status == "failed"
    assert result.detail.startswith("tls: certificate verification")
    assert "SSL_CERT_FILE" in result.detail  # the fix is named
    assert len(tls_server.log) == 0


def test_https_trusts_a_ca_added_with_ssl_cert_file(
    tls_server: HTTPServer, smtp_tls_certs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What ssl.create_default_context() honours: the system store plus SSL_CERT_FILE (certifi would not).
    monkeypatch.setenv("SSL_CERT_FILE", smtp_tls_certs.ca_file)
    tls_server.expect_request(PATH, method="POST").respond_with_data("ok")
    channel = SlackChannel(tls_server.url_for(PATH), connect_timeout=2)
    results = [channel.send(Alert(title=f"x{i}")) for i in range(3)]
    assert [result.status for result in results] == ["delivered"] * 3, results
    assert len(tls_server.log) == 3


def test_headers_sent_and_nothing_added_by_urllib3(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("ok")
    assert SlackChannel(httpserver.url_for(PATH)).send(Alert(title="x")).ok
    request, _ = httpserver.log[-1]
    assert request.headers["User-Agent"] == "prefect-alerts"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert int(request.headers["Content-Length"]) == len(request.get_data())
    assert "Authorization" not in request.headers


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_never_followed(httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        "", status=status, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    httpserver.expect_request("/elsewhere").respond_with_data("ok")
    result = SlackChannel(httpserver.url_for(PATH)).send(Alert(title="x"))
    assert result.status == "failed" and "redirected" in result.detail
    assert [request.path for request, _ in httpserver.log] == [PATH]


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_urllib3_never_retries_by_itself(httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request(PATH).respond_with_data("busy", status=status, headers={"Retry-After": "1"})
    result = SlackChannel(httpserver.url_for(PATH)).send(Alert(title="x"))
    assert result.status == "retry" and result.retry_after == 1
    assert len(httpserver.log) == 1


def _resetting_server() -> tuple[socket.socket, threading.Thread]:
    """Accepts, reads the request, and resets the connection without a reply."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def test_a_connection_reset_is_retryable_and_names_no_secret() -> None:
    listener, _ = _resetting_server()
    try:
        port = listener.getsockname()[1]
        result = SlackChannel(f"http://127.0.0.1:{port}{PATH}").send(Alert(title="x"))
    finally:
        listener.close()
    assert result.status == "retry"
    assert result.detail.startswith("network: connection error")
    assert "transportSecret42" not in result.detail


def test_connection_refused_is_retryable() -> None:
    result = SlackChannel(f"http://127.0.0.1:{free_port()}{PATH}", connect_timeout=1).send(Alert(title="x"))
    assert result.status == "retry" and "connection refused" in result.detail


def test_a_url_urllib3_cannot_parse_fails_for_good_at_send() -> None:
    channel = SlackChannel("http://[::1/services/T0/B0/brokenSecret77")
    result = channel.send(Alert(title="x"))
    assert result.status == "failed" and result.detail.startswith("invalid: the URL cannot be used")
    assert "brokenSecret77" not in result.detail + repr(channel)


def test_many_threads_share_one_channel_safely() -> None:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(PATH).respond_with_data("ok")
    server.start()
    try:
        channel = SlackChannel(server.url_for(PATH), read_timeout=5)
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda i: channel.send(Alert(title=f"alert {i}")), range(64)))
        assert [result.status for result in results] == ["delivered"] * 64
        titles = sorted(request.get_json()["text"] for request, _ in server.log)
        assert len(titles) == 64 and len(set(titles)) == 64  # every body intact, none mixed up
    finally:
        server.clear()
        server.stop()


def test_basic_auth_from_the_url_is_sent_as_a_header_and_never_shown(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    url = f"http://ops:p%40ssw0rdSecret@127.0.0.1:{httpserver.port}/hook"
    channel = SlackChannel(url)
    result = channel.send(Alert(title="x"))
    assert result.ok, result
    request, _ = httpserver.log[-1]
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"ops:p@ssw0rdSecret").decode()
    assert "ssw0rdSecret" not in repr(channel) + str(result)


def test_urllib3_debug_logs_never_show_the_url_even_after_normalising(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    # urllib3 percent-encodes the path it logs ("a b" -> "a%20b"): that form is a secret too.
    caplog.set_level(logging.DEBUG)
    secret_path = "/hooks/Normalised Secret|Token"
    httpserver.expect_request("/hooks/Normalised Secret|Token").respond_with_data("ok")
    channel = SlackChannel(f"http://127.0.0.1:{httpserver.port}{secret_path}")
    result = channel.send(Alert(title="x"))
    assert result.ok, result
    assert any(record.name.startswith("urllib3") for record in caplog.records)
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))
    assert "Normalised" not in ours and "Secret" not in ours and "Token" not in ours


def test_a_proxy_from_the_environment_is_used_with_its_credentials(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The receiver plays the proxy: a plain-HTTP target is sent to it in absolute form.
    monkeypatch.setenv("HTTP_PROXY", f"http://bob:pr%40xySecret@127.0.0.1:{httpserver.port}")
    httpserver.expect_request("/hook").respond_with_data("ok")
    result = SlackChannel("http://alerts.example.invalid/hook").send(Alert(title="x"))
    assert result.ok, result
    request, _ = httpserver.log[-1]
    assert request.headers["Host"] == "alerts.example.invalid"
    assert request.headers["Proxy-Authorization"] == "Basic " + base64.b64encode(b"bob:pr@xySecret").decode()
    assert request.headers["User-Agent"] == "prefect-alerts"


def test_no_proxy_sends_directly(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert proxy_for(httpserver.url_for("/hook")) is None
    httpserver.expect_request("/hook").respond_with_data("ok")
    assert SlackChannel(httpserver.url_for("/hook")).send(Alert(title="x")).ok


def test_an_unreachable_proxy_is_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{free_port()}")
    result = SlackChannel("https://hooks.example.invalid/services/T0/B0/x", connect_timeout=1).send(
        Alert(title="x")
    )
    assert result.status == "retry"
    assert result.detail.startswith("network: the proxy from the environment failed")


def test_a_reply_in_its_declared_charset_is_decoded(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        "kein Kanal: Größe".encode("latin-1"), status=404, content_type="text/plain; charset=iso-8859-1"
    )
    result = SlackChannel(httpserver.url_for(PATH)).send(Alert(title="x"))
    assert result.status == "failed" and "kein Kanal: Größe" in result.detail
