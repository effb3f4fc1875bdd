"""The error classification table: each class is recognised from real exception types and messages, and each
has its own suggestion."""

from __future__ import annotations

import json
import socket
import subprocess

import pytest
import requests

from prefect_alerts.hooks import ERROR_CLASSES, StateError, classify_error


def _chained(outer: BaseException, cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise outer from inner
    except BaseException as exc:
        return exc


CASES: list[tuple[object, str | None]] = [
    (TimeoutError("read timed out"), "timeout"),
    (requests.exceptions.ReadTimeout("HTTPSConnectionPool: Read timed out. (read timeout=10)"), "timeout"),
    (subprocess.TimeoutExpired(["dbt", "run"], 30), "timeout"),
    ("Flow run exceeded timeout of 30.0 second(s)", "timeout"),
    (
        StateError(
            type="FlowRunTimeoutError", message="Scope timed out after 1.0 second(s).", state_name="TimedOut"
        ),
        "timeout",
    ),
    (requests.exceptions.HTTPError("401 Client Error: Unauthorized for url: https://api.x/v1"), "auth"),
    (RuntimeError("API returned status 403"), "auth"),
    (RuntimeError('FATAL:  password authentication failed for user "etl"'), "auth"),
    (ConnectionRefusedError(111, "Connection refused"), "connection"),
    (
        requests.exceptions.ConnectionError(
            "Max retries exceeded (Caused by NewConnectionError: Failed to establish a new connection: [Errno 111] Connection refused)"
        ),
        "connection",
    ),
    (
        RuntimeError('could not connect to server: Connection refused. Is the server running on host "db"?'),
        "connection",
    ),
    (socket.gaierror(-2, "Name or service not known"), "dns"),
    (RuntimeError("could not translate host name: Temporary failure in name resolution"), "dns"),
    (MemoryError(), "out_of_memory"),
    (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), "out_of_memory"),
    (KeyError("customer_id"), "missing_column"),
    (RuntimeError('column "amount" does not exist'), "missing_column"),
    (ValueError("\"None of [Index(['amount'], dtype='object')] are in the [columns]\""), "missing_column"),
    (RuntimeError('relation "sales" does not exist'), "missing_table"),
    (RuntimeError("429 Too Many Requests: rate limit exceeded"), "rate_limited"),
    (OSError(28, "No space left on device"), "disk_full"),
    (PermissionError(13, "Permission denied", "/data/out.csv"), "permission"),
    (RuntimeError("permission denied for table sales"), "permission"),
    (FileNotFoundError(2, "No such file or directory", "/data/in.csv"), "file_not_found"),
    (ModuleNotFoundError("No module named 'polars'"), "missing_package"),
    (RuntimeError("deadlock detected"), "lock"),
    (RuntimeError("503 Service Unavailable"), "server_error"),
    (
        RuntimeError(
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate"
        ),
        "tls",
    ),
    (json.JSONDecodeError("Expecting value", "", 0), "validation"),
    (TypeError("'NoneType' object is not subscriptable"), "none_value"),
    (ZeroDivisionError("division by zero"), "zero_division"),
    (
        StateError(
            type="CrashedRun", message="Flow run infrastructure exited with non-zero status code 137."
        ),
        "out_of_memory",
    ),
    (StateError(type="CrashedRun", message="Back-off pulling image: ImagePullBackOff"), "infrastructure"),
    (
        StateError(type="CrashedRun", message="Flow run could not be submitted to infrastructure"),
        "infrastructure",
    ),
    (
        StateError(type="CrashedRun", message="Flow run infrastructure exited with non-zero status code 1."),
        "interrupted",
    ),
    (KeyboardInterrupt(), "interrupted"),
    (SystemExit(1), "interrupted"),
    (StateError(type="CancelledRun", message="Cancelled by user"), "cancelled"),
    # The root cause decides when the outer error is generic.
    (_chained(RuntimeError("load failed"), ConnectionRefusedError(111, "Connection refused")), "connection"),
    (ValueError("the forecast looks odd"), None),
]


@pytest.mark.parametrize(("error", "expected"), CASES, ids=[f"{i}-{c[1]}" for i, c in enumerate(CASES)])
def test_classification_table(error: object, expected: str | None) -> None:
    found = classify_error(error)
    assert (found.name if found else None) == expected


def test_every_class_is_reachable_and_has_its_own_wording() -> None:
    names = [error_class.name for error_class in ERROR_CLASSES]
    assert len(names) == len(set(names))
    suggestions = [error_class.suggestion for error_class in ERROR_CLASSES]
    assert len(suggestions) == len(set(suggestions))
    assert all(len(text) > 40 and text.endswith(".") for text in suggestions)
    covered = {expected for _, expected in CASES if expected}
    assert covered == set(names), set(names) - covered


def test_type_name_and_message_without_an_exception() -> None:
    # A crash seen from another process: only the type's name and the message are known.
    found = classify_error(
        type_name="OperationalError", message="FATAL: sorry, too many clients already; 429"
    )
    assert found is not None and found.name == "rate_limited"
    assert classify_error(type_name="ValueError", message="bad input shape") is None
