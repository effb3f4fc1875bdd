"""Keep secrets out of alerts: parameters with secret-looking names, passwords in URLs, well-known tokens.

An alert goes to chat rooms and inboxes that many people read; a flow's parameters and exception messages
often carry a DSN with a password or an API token. What looks secret is masked as ``***``; long values are
cut with a visible marker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from prefect_alerts.channels.base import redact
from prefect_alerts.channels.text import truncate

__all__ = [
    "MASK",
    "SECRET_NAME_PARTS",
    "SECRET_NAME_WORDS",
    "format_parameters",
    "is_secret_name",
    "redact_parameters",
    "redact_text",
]

MASK = "***"

SECRET_NAME_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
    "apikey",
    "api_key",
    "privatekey",
    "private_key",
    "accesskey",
    "access_key",
    "dsn",
    "auth",
)
"""A parameter whose name contains one of these (case-insensitive) is masked: ``db_password``, ``apiKey``."""

SECRET_NAME_WORDS = frozenset({"key", "pwd", "pass", "cookie", "signature", "sig", "jwt", "bearer"})
"""A parameter whose name has one of these as a whole word is masked: ``key``, ``s3_key``, ``pwd``;
``keyboard``, ``monkey`` and ``passes`` are not."""

_AUTH_LOOKALIKES = ("author",)  # "author" contains "auth" but is not a secret

# Tokens recognisable by their shape, whatever the parameter or message calls them.
_TOKEN_PATTERNS = [
    re.compile(r"xox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+"),  # Slack webhook URLs
    re.compile(r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"),  # GitHub
    re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"),  # OpenAI-style keys
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"),  # Authorization headers
]
# scheme://user:password@host -> scheme://***@host (user names alone are kept: they help and grant nothing).
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s@:]*:[^/\s@]*)@")
# password=..., token: ... inside free text (a connection string, a logged config)
_KEY_VALUE = re.compile(
    r"(?i)\b(?P<key>password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)(?P<sep>\s*[=:]\s*)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
)

VALUE_LIMIT = 120
"""Characters of one parameter value shown in an alert."""


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [word for word in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if word]


def is_secret_name(name: str) -> bool:
    """Whether a parameter called ``name`` should be masked.

    >>> [is_secret_name(n) for n in ("db_password", "apiKey", "key", "author", "monkey", "rows")]
    [True, True, True, False, False, False]
    """
    lowered = str(name).lower()
    words = _words(str(name))
    for part in SECRET_NAME_PARTS:
        if part in lowered:
            if part == "auth" and any(word.startswith(_AUTH_LOOKALIKES) for word in words):
                continue
            return True
    return any(word in SECRET_NAME_WORDS for word in words)


def redact_text(text: str, *, limit: int | None = None) -> str:
    """Mask passwords in URLs, ``password=...`` pairs, well-known token shapes and every secret a channel
    registered; cut to ``limit`` characters.

    >>> redact_text("connect postgresql://etl:hunter2@db:5432/prod failed")
    'connect postgresql://***@db:5432/prod failed'
    """
    if not text:
        return text
    text = redact(str(text))
    text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    text = _KEY_VALUE.sub(lambda m: f"{m.group('key')}{m.group('sep')}{MASK}", text)
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(MASK, text)
    if limit is not None:
        text = truncate(text, limit, "…")
    return text


def _redact_value(value: Any, limit: int, depth: int = 0) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    secret_value = getattr(value, "get_secret_value", None)
    if callable(secret_value):  # pydantic SecretStr / SecretBytes
        return MASK
    if depth < 3 and isinstance(value, Mapping):
        return {
            str(key): MASK if is_secret_name(str(key)) else _redact_value(item, limit, depth + 1)
            for key, item in value.items()
        }
    if depth < 3 and isinstance(value, (list, tuple)):
        return [_redact_value(item, limit, depth + 1) for item in value[:20]]
    try:
        text = value if isinstance(value, str) else repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return redact_text(text, limit=limit)


def redact_parameters(parameters: Mapping[str, Any] | None, *, limit: int = VALUE_LIMIT) -> dict[str, Any]:
    """A copy of ``parameters`` safe to show: secret-looking names masked (nested mappings too), passwords in
    URLs and token-shaped values masked, long values cut to ``limit`` characters.

    >>> redact_parameters({"date": "2026-12-06", "db_password": "hunter2", "dsn": "postgres://u:p@h/db"})
    {'date': '2026-12-06', 'db_password': '***', 'dsn': '***'}
    """
    if not parameters:
        return {}
    return {
        str(name): MASK if is_secret_name(str(name)) else _redact_value(value, limit)
        for name, value in parameters.items()
    }


def format_parameters(parameters: Mapping[str, Any] | None, *, limit: int = 400) -> str:
    """``date=2026-12-06, db_password=***``: the redacted parameters on one line, at most ``limit`` long.

    >>> format_parameters({"n": 3, "token": "abc"})
    'n=3, token=***'
    """
    redacted = redact_parameters(parameters)
    text = ", ".join(f"{name}={value}" for name, value in redacted.items())
    return truncate(text, limit, "…")
