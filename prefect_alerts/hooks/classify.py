"""Turn an exception into a suggested action: what kind of failure this is and what to try first.

Each class matches on exception type names (the whole ``__cause__``/``__context__`` chain and each class's
bases) and on the text of the messages; the first class that matches wins, so the more specific come first.
Every class has its own wording: the suggestion is read at 3 a.m. by someone who did not write the flow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ERROR_CLASSES", "INFRASTRUCTURE", "ErrorClass", "classify_error", "error_texts"]


class ErrorClass(BaseModel):
    """One kind of failure and what to do about it.

    Attributes:
        name: A stable identifier (``"timeout"``, ``"auth"``...), shown in the alert's fields.
        label: A short human name (``"Timed out"``).
        suggestion: What to try first, in one or two sentences.
        types: Exception class names that mean this class (any class in the chain or its bases).
        pattern: A case-insensitive regular expression searched in ``Type: message`` of each exception.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    label: str
    suggestion: str
    types: frozenset[str] = Field(default_factory=frozenset)
    pattern: str = ""

    @cached_property
    def regex(self) -> re.Pattern[str] | None:
        return re.compile(self.pattern, re.IGNORECASE) if self.pattern else None

    def matches(self, type_names: Iterable[str], texts: Iterable[str]) -> bool:
        """Whether any of the type names or texts is of this class."""
        if self.types and not self.types.isdisjoint(type_names):
            return True
        regex = self.regex
        return regex is not None and any(regex.search(text) for text in texts)


def _c(name: str, label: str, suggestion: str, types: Iterable[str] = (), pattern: str = "") -> ErrorClass:
    return ErrorClass(name=name, label=label, suggestion=suggestion, types=frozenset(types), pattern=pattern)


ERROR_CLASSES: tuple[ErrorClass, ...] = (
    _c(
        "out_of_memory",
        "Out of memory",
        "The process ran out of memory: process the data in chunks or stream it, or give the worker more "
        "memory (a container limit, a larger instance).",
        ["MemoryError", "OutOfMemoryError"],
        # 137 = 128 + SIGKILL: what a container runtime reports when the kernel's OOM killer ended the process.
        r"out of memory|\boom\b|cannot allocate memory|std::bad_alloc|memory limit exceeded|killed by signal 9"
        r"|(?:exit|status) code 137\b|oomkilled",
    ),
    _c(
        "disk_full",
        "Disk full",
        "A disk is full: free space on the worker or the target volume (temporary files, logs, caches), or "
        "write somewhere larger.",
        [],
        r"no space left on device|errno 28\b|\benospc\b|disk (?:is )?full|disk quota exceeded",
    ),
    _c(
        "rate_limited",
        "Rate limited",
        "A service is rate limiting the run: retry with a delay (retries= and retry_delay_seconds=), send "
        "fewer requests at once, or ask the provider for a higher quota.",
        ["RateLimitError", "TooManyRequests", "ThrottlingException"],
        r"\b429\b|too many requests|rate[ -]?limit|throttl|quota exceeded|slow down",
    ),
    _c(
        "auth",
        "Credentials rejected",
        "Credentials were rejected (401/403): a token or password probably expired or was rotated; update "
        "the secret or block the flow reads, and check the account's access to this resource.",
        ["AuthenticationError", "Unauthorized", "Forbidden", "InvalidCredentials"],
        r"(?:status(?:[ _]code)?|http(?:error)?|error|code)\W{0,3}40[13]\b|\b40[13] (?:client error|"
        r"unauthori[sz]ed|forbidden)|unauthori[sz]ed|\bforbidden\b|authenticat\w* failed|"
        r"invalid (?:credentials|api[ _-]?key|token|password)|access denied for user|"
        r"password authentication failed|login failed|token (?:has )?expired|expired token|"
        r"signature does not match|invalid_grant|not authenticated",
    ),
    _c(
        "timeout",
        "Timed out",
        "Something took too long: find the slow or stuck step (an upstream service, a lock, a larger "
        "input) before raising timeout_seconds.",
        [
            "TimeoutError",
            "FlowRunTimeoutError",
            "TaskRunTimeoutError",
            "ReadTimeout",
            "ConnectTimeout",
            "Timeout",
            "TimeoutExpired",
            "DeadlineExceeded",
        ],
        r"timed? ?out\b|timeout|deadline exceeded",
    ),
    _c(
        "dns",
        "Host name not found",
        "A host name did not resolve: check the host in the connection settings (a typo, a renamed "
        "service) and the worker's DNS or VPN.",
        ["gaierror"],
        r"name or service not known|nodename nor servname|temporary failure in name resolution|"
        r"getaddrinfo failed|could not resolve host|failed to resolve|no address associated with hostname|"
        r"name resolution",
    ),
    _c(
        "connection",
        "Connection failed",
        "A service could not be reached: check that it is up and that the host and port are right, then "
        "the network between the worker and it (firewall, VPN, security group).",
        ["ConnectionRefusedError", "ConnectionResetError", "ConnectionError", "ConnectError"],
        r"connection refused|could not connect|failed to connect|unable to connect|connection reset|"
        r"no route to host|network is unreachable|connection aborted|broken pipe|server closed the connection",
    ),
    _c(
        "tls",
        "TLS verification failed",
        "The TLS certificate could not be verified: check the server's certificate (expired, wrong host "
        "name) and the CA bundle the worker trusts.",
        ["SSLError", "SSLCertVerificationError"],
        r"certificate verify failed|certificate_verify_failed|self[- ]signed certificate",
    ),
    _c(
        "missing_column",
        "Missing column or key",
        "A column or key the code expects is missing: the input's schema probably changed upstream; compare "
        "it with the last good run before changing the code.",
        ["KeyError", "UndefinedColumn", "ColumnNotFoundError"],
        r"column \S+ (?:does not exist|not found)|no such column|unknown column|not in index|"
        r"none of \[.*\] are in the|missing (?:column|key)s?\b|keyerror",
    ),
    _c(
        "missing_table",
        "Missing table",
        "A table the flow reads does not exist: check the schema and database it connects to, and whether "
        "the step that creates the table ran.",
        ["UndefinedTable", "NoSuchTableError"],
        r"relation \S+ does not exist|no such table|table \S+ (?:does not exist|not found)|"
        r"table or view not found",
    ),
    _c(
        "permission",
        "Permission denied",
        "The run lacks permission to a file or resource: check the owner and mode of the file or directory, "
        "or the grants of the database role or cloud identity the worker uses.",
        ["PermissionError"],
        r"permission denied|errno 13\b|operation not permitted|access is denied|insufficient privilege|"
        r"must be owner|accessdenied|not authorized to perform",
    ),
    _c(
        "file_not_found",
        "File not found",
        "An expected file or directory is missing: check the path (relative to the worker's directory) and "
        "whether the step that produces it ran.",
        ["FileNotFoundError", "NoSuchKey", "NotADirectoryError"],
        r"no such file or directory|errno 2\b|file not found|the specified key does not exist",
    ),
    _c(
        "missing_package",
        "Package missing",
        "A Python package is missing where the flow ran: add it to the worker's image or requirements "
        "(the deployment's pip_packages) and redeploy.",
        ["ModuleNotFoundError", "ImportError"],
        r"no module named",
    ),
    _c(
        "lock",
        "Lock conflict",
        "A database lock got in the way: retry the run, and look for long transactions or a concurrent job "
        "holding the same rows.",
        ["DeadlockDetected", "LockNotAvailable"],
        r"deadlock|database is locked|lock wait timeout|could not obtain lock",
    ),
    _c(
        "server_error",
        "Upstream server error",
        "An upstream service answered with a server error (5xx): usually transient, so retries help; check "
        "the service's status page if it persists.",
        ["InternalServerError", "ServiceUnavailable", "BadGateway", "HTTPServerError"],
        r"\b50[0234] (?:server error|internal server error|bad gateway|service unavailable|gateway time)|"
        r"(?:status(?:[ _]code)?|http)\W{0,3}50[0234]\b|internal server error|service unavailable|bad gateway",
    ),
    _c(
        "validation",
        "Invalid input",
        "An input did not have the expected shape: a parameter or an upstream record changed; the error "
        "names the field.",
        ["ValidationError", "ParameterTypeError", "SignatureMismatchError", "JSONDecodeError"],
        r"validation error|field required|invalid literal|could not convert",
    ),
    _c(
        "none_value",
        "Unexpected empty value",
        "A value was None where data was expected: an input was empty or a lookup found nothing; check the "
        "step that produced it.",
        [],
        r"'nonetype' object|nonetype",
    ),
    _c(
        "zero_division",
        "Division by zero",
        "A division by zero: a count was probably 0 (an empty batch); guard the calculation or check the "
        "input.",
        ["ZeroDivisionError"],
    ),
    _c(
        "infrastructure",
        "Infrastructure failed",
        "The run's infrastructure failed before or while starting the flow (image pull, pod scheduling, "
        "submission to the work pool, missing credentials): check the worker's logs for this run and the work "
        "pool's infrastructure settings, then rerun.",
        [],
        r"image ?pull|errimagepull|imagepullbackoff|no such image|manifest unknown|unschedulable"
        r"|failed to submit|submission failed|could not be submitted",
    ),
    _c(
        "interrupted",
        "Interrupted",
        "The run was interrupted (Ctrl-C, SIGTERM, SystemExit) or its process died: check the worker or "
        "host logs for a restart or an out-of-memory kill, then rerun.",
        ["KeyboardInterrupt", "SystemExit", "TerminationSignal", "CrashedRun", "Abort"],
        r"interrupt signal|terminat\w* signal|received sigterm|process exited",
    ),
    _c(
        "cancelled",
        "Cancelled",
        "The run was cancelled by a person or an automation: nothing to fix unless that was not expected "
        "(then check who cancelled it in the run's state history).",
        ["CancelledRun", "CancelledError"],
    ),
)
"""The classification table, most specific first. ``classify_error`` returns the first that matches."""


def _chain(exc: BaseException | None) -> list[BaseException]:
    chain: list[BaseException] = []
    while exc is not None and exc not in chain and len(chain) < 8:
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return chain


def error_texts(exc: BaseException | None, extra: Iterable[str] = ()) -> tuple[set[str], list[str]]:
    """The class names (with their bases) and ``Type: message`` texts of an exception and its causes."""
    names: set[str] = set()
    texts: list[str] = [text for text in extra if text]
    for item in _chain(exc):
        for klass in type(item).__mro__:
            if klass not in (BaseException, Exception, object):
                names.add(klass.__name__)
        errno = getattr(item, "errno", None)
        texts.append(f"{type(item).__name__}: {item}" + (f" errno {errno}" if errno else ""))
    return names, texts


def classify_error(
    error: Any = None, *, type_name: str | None = None, message: str | None = None
) -> ErrorClass | None:
    """The first class in :data:`ERROR_CLASSES` that ``error`` belongs to, or None.

    ``error`` is an exception, a :class:`~prefect_alerts.hooks.StateError`, or a message; ``type_name`` and
    ``message`` add what is known when there is no exception object (a crash seen from another process).

        >>> classify_error(ConnectionRefusedError(111, "Connection refused")).name
        'connection'
        >>> classify_error(message="HTTPError: 401 Client Error: Unauthorized for url").name
        'auth'
    """
    extra: list[str] = []
    exc: BaseException | None = None
    if isinstance(error, BaseException):
        exc = error
    elif isinstance(error, str):
        extra.append(error)
    elif error is not None:  # a StateError
        exc = getattr(error, "exception", None)
        type_name = type_name or getattr(error, "type", None)
        extra.append(f"{getattr(error, 'type', '')}: {getattr(error, 'message', '')}")
        state_message = getattr(error, "state_message", None)
        if state_message:
            extra.append(state_message)
        if getattr(error, "state_name", None) == "TimedOut":
            extra.append("timed out")
    if message:
        extra.append(message if type_name is None else f"{type_name}: {message}")
    names, texts = error_texts(exc, extra)
    if type_name:
        names.add(type_name)
    for error_class in ERROR_CLASSES:
        if error_class.matches(names, texts):
            return error_class
    return None


INFRASTRUCTURE = next(error_class for error_class in ERROR_CLASSES if error_class.name == "infrastructure")
"""What a crash of a run that never started means, whatever its message said."""
