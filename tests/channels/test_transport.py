"""The direct request path of ``channels/transport.py`` (a pooled urllib3 connection spoken to with http.client),
against real local receivers: keep-alive reuse, a kept-alive connection the server dropped, reply headers and
encodings, the encoded request head kept only while the headers stay the same, and header injection refused.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from prefect_alerts import Alert
from prefect_alerts.channels import SlackChannel
from prefect_alerts.channels.base import DeliveryResult, HTTPChannel, HTTPReply
from prefect_alerts.channels.transport import clear_pools

PATH = "/services/T0/B0/fastPathSecret31"


class ProbeChannel(HTTPChannel):
    """The smallest HTTP channel: posts a fixed body and reports delivered on any reply."""

    kind: ClassVar[str] = "probe"

    def send(self, alert: Alert) -> DeliveryResult:
        return self.deliver_json(alert, {"title": alert.title}, lambda reply: ("delivered", "", None))


@pytest.fixture(autouse=True)
def _fresh_pools() -> Iterator[None]:
    clear_pools()  # no connection kept alive from another test's receiver
    yield
    clear_pools()


def _read_request(conn: socket.socket, buffered: bytes) -> tuple[bytes, bytes] | None:
    """One request's body from ``conn`` (and what was read past it), or None when the client closed."""
    while b"\r\n\r\n" not in buffered:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffered += chunk
    head, _, rest = buffered.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = int(next(line for line in lines if line.lower().startswith(b"content-length:")).split(b":")[1])
    while len(rest) < length:
        rest += conn.recv(65536)
    return rest[:length], rest[length:]


def _keepalive_server(*, requests_per_connection: int) -> tuple[socket.socket, list[tuple[int, bytes]]]:
    """An HTTP/1.1 receiver that keeps connections alive (werkzeug's test server closes every one): it
    answers up to ``requests_per_connection`` requests on a connection, then closes it without saying so.
    Records (connection number, body) per request."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    received: list[tuple[int, bytes]] = []

    def serve() -> None:
        number = 0
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            number += 1
            with conn:
                buffered = b""
                for _ in range(requests_per_connection):
                    request = _read_request(conn, buffered)
                    if request is None:
                        break
                    body, buffered = request
                    received.append((number, body))
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
                    )

    threading.Thread(target=serve, daemon=True).start()
    return listener, received


def test_a_kept_alive_connection_is_reused() -> None:
    listener, received = _keepalive_server(requests_per_connection=100)
    try:
        channel = ProbeChannel(f"http://127.0.0.1:{listener.getsockname()[1]}{PATH}")
        results = [channel.send(Alert(title=f"x{i}")) for i in range(3)]
    finally:
        listener.close()
    assert [result.status for result in results] == ["delivered"] * 3, results
    assert received == [(1, b'{"title": "x0"}'), (1, b'{"title": "x1"}'), (1, b'{"title": "x2"}')]


def test_a_kept_alive_connection_the_server_dropped_is_replaced_before_sending() -> None:
    listener, received = _keepalive_server(requests_per_connection=1)
    try:
        channel = ProbeChannel(f"http://127.0.0.1:{listener.getsockname()[1]}{PATH}")
        results = []
        for i in range(3):
            results.append(channel.send(Alert(title=f"x{i}")))
            time.sleep(0.05)  # the server closes the idle connection meanwhile
    finally:
        listener.close()
    # The reply promised keep-alive, the server closed anyway: each later send notices and reconnects.
    assert [result.status for result in results] == ["delivered"] * 3, results
    assert received == [(1, b'{"title": "x0"}'), (2, b'{"title": "x1"}'), (3, b'{"title": "x2"}')]


def test_reply_headers_are_lower_cased_and_repeats_joined(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_response(
        Response("ok", headers=[("X-Limit", "1"), ("X-Limit", "2"), ("Retry-After", "7")])
    )
    reply = ProbeChannel(httpserver.url_for(PATH)).post_json({"a": 1})
    assert isinstance(reply, HTTPReply), reply
    assert reply.header("x-limit") == "1, 2"
    assert reply.headers["retry-after"] == "7" and reply.header("Retry-After") == "7"
    assert reply.body == "ok" and reply.status_code == 200


def test_a_compressed_reply_is_decoded_before_it_is_classified(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        gzip.compress(b"no_service"), status=404, headers={"Content-Encoding": "gzip"}
    )
    result = SlackChannel(httpserver.url_for(PATH)).send(Alert(title="x"))
    assert result.status == "failed"
    assert (
        result.detail
        == "Slack webhook is gone (create a new incoming webhook and update the block): 404 no_service"
    )


def test_per_call_headers_are_sent_with_their_own_call_only(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("ok")
    channel = ProbeChannel(httpserver.url_for(PATH), headers={"X-Team": "data"})
    for signature in ("s0", "s1"):
        assert isinstance(channel.post_json({"n": signature}, headers={"X-Signature": signature}), HTTPReply)
    assert isinstance(channel.post_json({"n": "plain"}), HTTPReply)
    sent = [(request.headers.get("X-Signature"), request.headers["X-Team"]) for request, _ in httpserver.log]
    assert sent == [("s0", "data"), ("s1", "data"), (None, "data")]
    for request, _ in httpserver.log:
        assert int(request.headers["Content-Length"]) == len(request.get_data())
        assert request.headers["Host"] == f"{httpserver.host}:{httpserver.port}"


def test_a_header_value_with_a_line_break_is_refused_and_nothing_is_sent(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("ok")
    channel = ProbeChannel(httpserver.url_for(PATH), headers={"X-Note": "a\r\nX-Injected: 1"})
    result = channel.send(Alert(title="x"))
    assert result.status == "failed" and result.detail.startswith("invalid:")
    assert "fastPathSecret31" not in result.detail
    assert len(httpserver.log) == 0


def test_a_server_that_replies_early_and_closes_is_still_read() -> None:
    # A receiver that refuses a body it has not read (413 before reading) must not turn into a network error.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(
                b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large"
            )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        big = ProbeChannel(f"http://127.0.0.1:{listener.getsockname()[1]}{PATH}")
        reply = big.post_json(None, data=b"x" * 4_000_000)
    finally:
        thread.join(5)
        listener.close()
    assert isinstance(reply, HTTPReply), reply
    assert reply.status_code == 413 and reply.body == "too large"
