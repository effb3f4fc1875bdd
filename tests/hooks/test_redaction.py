"""Secrets never reach an alert: secret-looking parameter names, passwords in URLs, token shapes; long values cut."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from prefect_alerts.channels.base import register_secret
from prefect_alerts.hooks import redact_parameters, redact_text
from prefect_alerts.hooks.redaction import format_parameters, is_secret_name


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "db_password",
        "DB_PASSWORD",
        "token",
        "access_token",
        "apiKey",
        "api_key",
        "key",
        "s3_key",
        "secret",
        "client_secret",
        "auth",
        "auth_header",
        "credentials",
        "gcp_credential",
        "dsn",
        "sentry_dsn",
        "pwd",
        "private_key",
        "oauth",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name", ["author", "authors", "keyboard", "monkey", "rows", "date", "passes", "batch"]
)
def test_plain_names(name: str) -> None:
    assert not is_secret_name(name)


def test_parameters_are_redacted_recursively_and_cut() -> None:
    params = {
        "date": "2026-12-06",
        "db_password": "hunter2-very-secret",
        "config": {"warehouse": "prod", "token": "abc123xyz", "nested": {"api_key": "k"}},
        "source_url": "postgresql://etl:hunter2-in-url@db.internal:5432/prod",
        "webhook": "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX",
        "note": "x" * 500,
        "creds": SecretStr("s3cr3t-value"),
        "header": "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        "rows": 1200,
        "ids": [1, 2, 3],
    }
    safe = redact_parameters(params)
    text = repr(safe)
    for secret in ("hunter2", "abc123xyz", "XXXXSECRETXXXX", "s3cr3t-value", "eyJhbGciOiJIUzI1NiJ9"):
        assert secret not in text
    assert safe["date"] == "2026-12-06" and safe["rows"] == 1200 and safe["ids"] == [1, 2, 3]
    assert safe["config"]["warehouse"] == "prod" and safe["config"]["token"] == "***"
    assert safe["config"]["nested"] == {"api_key": "***"}
    assert safe["source_url"] == "postgresql://***@db.internal:5432/prod"
    assert len(safe["note"]) <= 120 and safe["note"].endswith("…")
    line = format_parameters(params)
    assert line.startswith("date=2026-12-06, db_password=***") and len(line) <= 400


def test_text_redaction_masks_registered_secrets_and_key_value_pairs() -> None:
    register_secret("registered-secret-value-42")
    text = "failed with registered-secret-value-42; password=hunter2 token: 'abc' user=etl"
    assert redact_text(text) == "failed with ***; password=*** token: *** user=etl"
