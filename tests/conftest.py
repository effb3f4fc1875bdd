"""Shared fixtures: one real Prefect server for the whole session, Prefect's home in a temp folder.

Environment is set before Prefect is imported so nothing touches the user's ~/.prefect or their server.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_PREFECT_HOME = tempfile.mkdtemp(prefix="prefect-alerts-tests-")
atexit.register(shutil.rmtree, _PREFECT_HOME, ignore_errors=True)
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_TO_API_ENABLED"] = "false"
# A heartbeat frequency makes every flow run cost about a second. Prefect 3.9 defaults it to 180 s and an
# environment variable cannot say None, so the session fixture below turns it off with temporary_settings.
os.environ.pop("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", None)
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_API_KEY", None)

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """A real Prefect server (subprocess, temporary SQLite) shared by every test that asks for it."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
        prefect_test_harness(server_startup_timeout=120),
    ):
        yield


# =========================================================================================================
# SMTP fixtures (owned by the email channel; reusable by any test that needs a real mail server).
#
# Real aiosmtpd servers on 127.0.0.1 -- plain, STARTTLS (required), implicit TLS, with AUTH -- a trustme CA
# and server certificate, a port that accepts connections but never answers, and a wire tap that records
# every byte a client sends (what an eavesdropper would see). Quick use:
#
#     def test_x(smtp_server):
#         channel = EmailChannel(credentials=smtp_server.credentials(), email_from=..., email_to=[...])
#         channel.send(alert)
#         message = smtp_server.received[0].message()   # a parsed email.message.EmailMessage
# =========================================================================================================
import contextlib  # noqa: E402
import socket  # noqa: E402
import ssl  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from email import policy as _email_policy  # noqa: E402
from email.message import EmailMessage  # noqa: E402
from email.parser import BytesParser  # noqa: E402
from typing import Any, Literal  # noqa: E402

from tests.receivers import free_port  # noqa: E402

SMTP_TEST_USERNAME = "alerts-user"
SMTP_TEST_PASSWORD = "Zq9-smtp-test-password-5f3c"
"""The login the AUTH servers accept. Long and unique, so a leak is found by a plain substring search."""

SMTPTLSMode = Literal["none", "starttls", "implicit"]


@pytest.fixture
def free_tcp_port() -> int:
    """A port with nothing listening: connecting to it is refused."""
    return free_port()


@dataclass
class ReceivedEmail:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    """True when the session was encrypted (after STARTTLS, or implicit TLS)."""
    login: str | None
    """The user name the session authenticated as, or None."""

    def message(self) -> EmailMessage:
        """The message parsed with the modern API (decoded headers, ``get_body``, ``iter_attachments``)."""
        return BytesParser(policy=_email_policy.default).parsebytes(self.data)  # type: ignore[return-value]


@dataclass
class AuthAttempt:
    mechanism: str
    login: str
    password: str
    tls: bool
    success: bool


def _session_is_tls(server: Any) -> bool:
    transport = getattr(server, "transport", None)
    return transport is not None and transport.get_extra_info("ssl_object") is not None


class RecordingSMTPHandler:
    """An aiosmtpd handler that records what it receives and can be told to refuse.

    Attributes to steer it (set them before sending):
        rcpt_replies: ``{address: "550 5.1.1 no such user"}`` refuses those recipients (case-insensitive).
        rcpt_default_reply: A reply for every recipient not in ``rcpt_replies`` (None accepts).
        mail_reply: A reply to MAIL FROM instead of accepting (e.g. ``"553 5.7.1 sender rejected"``).
        data_reply: A reply to DATA instead of accepting (e.g. ``"421 4.3.2 shutting down"``, ``"451 ..."``).
    """

    def __init__(self, username: str = SMTP_TEST_USERNAME, password: str = SMTP_TEST_PASSWORD) -> None:
        self.username = username
        self.password = password
        self.received: list[ReceivedEmail] = []
        self.auth_attempts: list[AuthAttempt] = []
        self.rcpt_replies: dict[str, str] = {}
        self.rcpt_default_reply: str | None = None
        self.mail_reply: str | None = None
        self.data_reply: str | None = None

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ):
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ):
        reply = self.rcpt_replies.get(address.lower(), self.rcpt_default_reply)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        login = None
        if session.authenticated and session.auth_data is not None:
            login = session.auth_data.login.decode("utf-8", "replace")
        self.received.append(
            ReceivedEmail(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=bytes(envelope.original_content or envelope.content),
                tls=_session_is_tls(server),
                login=login,
            )
        )
        return "250 OK: queued"

    def authenticator(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        success = (login, password) == (self.username, self.password)
        self.auth_attempts.append(AuthAttempt(mechanism, login, password, _session_is_tls(server), success))
        return AuthResult(success=success, handled=False, auth_data=auth_data)


@dataclass
class TLSCerts:
    """A trustme CA and a server certificate for 127.0.0.1 / localhost, plus the CA as a PEM file."""

    ca: Any
    server_cert: Any
    ca_file: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_cert.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only this CA."""
        context = ssl.create_default_context(cafile=self.ca_file)
        return context


@pytest.fixture(scope="session")
def smtp_tls_certs(tmp_path_factory: pytest.TempPathFactory) -> TLSCerts:
    """The test CA (trustme). Point SSL_CERT_FILE at ``ca_file`` to make ``ssl.create_default_context()``
    trust it, or use ``client_context()``."""
    import trustme

    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = tmp_path_factory.mktemp("smtp-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return TLSCerts(ca=ca, server_cert=server_cert, ca_file=str(ca_file))


@dataclass
class SMTPTestServer:
    """A running aiosmtpd server: where it listens, how it is secured, and what it received."""

    host: str
    port: int
    tls: SMTPTLSMode
    handler: RecordingSMTPHandler
    controller: Any = field(repr=False)

    @property
    def received(self) -> list[ReceivedEmail]:
        return self.handler.received

    @property
    def auth_attempts(self) -> list[AuthAttempt]:
        return self.handler.auth_attempts

    def credentials(self, *, login: bool = False, **overrides: Any) -> Any:
        """A prefect-email ``EmailServerCredentials`` pointing here (``login=True`` adds the test login)."""
        from prefect_email import EmailServerCredentials

        smtp_type = {"none": "INSECURE", "starttls": "STARTTLS", "implicit": "SSL"}[self.tls]
        values: dict[str, Any] = {"smtp_server": self.host, "smtp_port": self.port, "smtp_type": smtp_type}
        if login:
            values.update(username=self.handler.username, password=self.handler.password)
        values.update(overrides)
        return EmailServerCredentials(**values)


@pytest.fixture
def smtp_server_factory(smtp_tls_certs: TLSCerts) -> Iterator[Callable[..., SMTPTestServer]]:
    """Start aiosmtpd servers on free ports; all are stopped at the end of the test.

    ``start(tls="none" | "starttls" | "implicit", require_starttls=True, auth=False, auth_required=False,
    auth_require_tls=True, handler=None, **smtp_kwargs)``. With ``auth=True`` the server accepts
    ``SMTP_TEST_USERNAME`` / ``SMTP_TEST_PASSWORD`` (or the handler's own) and records every attempt.
    """
    from aiosmtpd.controller import Controller

    started: list[Any] = []

    def start(
        *,
        tls: SMTPTLSMode = "none",
        require_starttls: bool = True,
        auth: bool = False,
        auth_required: bool = False,
        auth_require_tls: bool = True,
        handler: RecordingSMTPHandler | None = None,
        **smtp_kwargs: Any,
    ) -> SMTPTestServer:
        handler = handler or RecordingSMTPHandler()
        kwargs: dict[str, Any] = {"server_hostname": "smtp.test", "ready_timeout": 10.0}
        if tls == "starttls":
            kwargs.update(tls_context=smtp_tls_certs.server_context(), require_starttls=require_starttls)
        elif tls == "implicit":
            kwargs["ssl_context"] = smtp_tls_certs.server_context()
            # aiosmtpd only counts STARTTLS as "TLS" for AUTH; on an implicit-TLS port it must be told.
            auth_require_tls = False
        if auth:
            kwargs.update(
                authenticator=handler.authenticator,
                auth_required=auth_required,
                auth_require_tls=auth_require_tls,
            )
        kwargs.update(smtp_kwargs)
        last_error: Exception | None = None
        for _ in range(5):  # another process may grab the free port between the probe and the bind
            port = free_port()
            controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
            try:
                controller.start()
            except OSError as exc:
                last_error = exc
                continue
            started.append(controller)
            return SMTPTestServer(
                host="127.0.0.1", port=port, tls=tls, handler=handler, controller=controller
            )
        raise RuntimeError(f"could not start an SMTP test server: {last_error}")

    try:
        yield start
    finally:
        for controller in started:
            controller.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: Callable[..., SMTPTestServer]) -> SMTPTestServer:
    """A plaintext SMTP server (use with ``smtp_type="INSECURE"``), no login."""
    return smtp_server_factory()


@pytest.fixture
def starttls_smtp_server(smtp_server_factory: Callable[..., SMTPTestServer]) -> SMTPTestServer:
    """STARTTLS required before anything else; AUTH offered only inside TLS (test login accepted)."""
    return smtp_server_factory(tls="starttls", require_starttls=True, auth=True)


@pytest.fixture
def smtps_server(smtp_server_factory: Callable[..., SMTPTestServer]) -> SMTPTestServer:
    """Implicit TLS (what port 465 speaks), with AUTH (test login accepted)."""
    return smtp_server_factory(tls="implicit", auth=True)


@pytest.fixture
def smtp_auth_server(smtp_server_factory: Callable[..., SMTPTestServer]) -> SMTPTestServer:
    """STARTTLS required and a login required before MAIL FROM (the usual submission server on 587)."""
    return smtp_server_factory(tls="starttls", require_starttls=True, auth=True, auth_required=True)


@pytest.fixture
def silent_smtp_port() -> Iterator[int]:
    """A port that accepts TCP connections but never sends a banner (a hung server): clients must time out."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # connections complete in the backlog; nobody ever accepts or answers
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


class WireTap:
    """A TCP relay on 127.0.0.1 in front of a server that records every byte clients send through it."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._sent: list[bytes] = []
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        accept = threading.Thread(target=self._accept_loop, name="wire-tap", daemon=True)
        accept.start()
        self._threads.append(accept)

    @property
    def client_bytes(self) -> bytes:
        """Everything clients sent, in order (TLS records stay encrypted, as on a real network)."""
        with self._lock:
            return b"".join(self._sent)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.create_connection(self.upstream, timeout=10)
            upstream.settimeout(None)
            self._sockets += [client, upstream]
            for source, target, record in ((client, upstream, True), (upstream, client, False)):
                pump = threading.Thread(target=self._pump, args=(source, target, record), daemon=True)
                pump.start()
                self._threads.append(pump)

    def _pump(self, source: socket.socket, target: socket.socket, record: bool) -> None:
        try:
            while data := source.recv(65536):
                if record:
                    with self._lock:
                        self._sent.append(data)
                target.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=2)


@pytest.fixture
def smtp_wire_tap() -> Iterator[Callable[[SMTPTestServer], WireTap]]:
    """``tap = smtp_wire_tap(server)``: connect to ``tap.port`` instead of ``server.port``, then inspect
    ``tap.client_bytes`` to prove what did (not) cross the network in plaintext."""
    taps: list[WireTap] = []

    def make(server: SMTPTestServer) -> WireTap:
        tap = WireTap(server.host, server.port)
        taps.append(tap)
        return tap

    try:
        yield make
    finally:
        for tap in taps:
            tap.close()
