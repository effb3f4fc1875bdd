"""The checks ``prefect-alerts setup-blocks`` runs on every value before it saves anything.

Each check returns the value (normalised where that is safe) or raises :class:`SetupError` with a message that
names the flag and the shape expected. No message ever contains the value, not even a part of it: a near-miss
webhook URL or routing key is still mostly a secret. Errors raised while parsing are re-raised ``from None`` so no
traceback carries the original exception's text either.
"""

from __future__ import annotations

import email.utils
import ipaddress
import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

__all__ = [
    "LOCAL_HOSTS",
    "ROUTING_KEY_LENGTH",
    "SetupError",
    "check_block_name",
    "check_choice",
    "check_email_addresses",
    "check_header_name",
    "check_header_value",
    "check_port",
    "check_routing_key",
    "check_smtp_server",
    "check_subject_prefix",
    "check_webhook_url",
    "discord_parts",
    "hide_values",
]

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
"""Hosts a webhook URL may reach over plain http:// (local tests and demos); everything else needs https://."""
ROUTING_KEY_LENGTH = 32
"""A PagerDuty Events API v2 integration key is 32 letters and digits."""
SUBJECT_PREFIX_MAX = 100
"""Longer prefixes push the alert's own title out of view in mail clients."""

_BLOCK_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")  # Prefect's rule for block document names
_ROUTING_KEY = re.compile(r"[A-Za-z0-9]+")
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
_HOST_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_HOST_LABEL}(\.{_HOST_LABEL})*")
_HEADER_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token
_DISCORD_TOKEN = re.compile(r"[A-Za-z0-9_.-]+")
_FLAG = re.compile(r"--?[A-Za-z][A-Za-z0-9-]*")
_HIDDEN = "<value hidden>"
_MIN_HIDDEN_LENGTH = 3  # shorter argv pieces are not secrets, and replacing them would garble the message


class SetupError(ValueError):
    """A value the set-up script refuses. The message names the flag and the shape, never the value."""


def _has_control(value: str, *, allow_space: bool = True) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 or (not allow_space and ch.isspace()) for ch in value)


def check_block_name(name: str | None, flag: str = "--name") -> str:
    """A block name: Prefect allows lowercase letters, digits and dashes.

    >>> check_block_name("ops-alerts")
    'ops-alerts'
    """
    if not name or not _BLOCK_NAME.fullmatch(name):
        raise SetupError(
            f"{flag} must be lowercase letters, digits and dashes (Prefect's rule for block names), e.g. ops-alerts"
        )
    return name


def check_webhook_url(
    flag: str, url: str, *, example: str = "https://hooks.slack.com/services/T0/B0/XXXX"
) -> str:
    """An https:// URL with a host and a path; http:// only for :data:`LOCAL_HOSTS`.

    >>> check_webhook_url("--webhook-url", "http://127.0.0.1:8080/hook")
    'http://127.0.0.1:8080/hook'
    """
    shape = f"expected an https:// URL with a host and a path, e.g. {example}"
    local = "http:// is accepted only for localhost, 127.0.0.1 and ::1"
    if not isinstance(url, str) or not url:
        raise SetupError(f"{flag} is empty; {shape}")
    if _has_control(url, allow_space=False):
        raise SetupError(
            f"{flag} contains spaces, line breaks or control characters (a copy-paste slip?); {shape}"
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  # parsing the port is what raises for a malformed one
    except ValueError:
        raise SetupError(f"{flag} is not a well-formed URL (check the host and port); {shape}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise SetupError(f"{flag} does not start with https://; {shape} ({local})")
    if not host:
        raise SetupError(f"{flag} has no host; {shape}")
    if scheme == "http" and host not in LOCAL_HOSTS:
        raise SetupError(f"{flag} uses http:// for a remote host; use https:// ({local})")
    if not parts.path.strip("/"):
        raise SetupError(f"{flag} has no path after the host; {shape}")
    return url


def discord_parts(url: str) -> tuple[str, str]:
    """``https://discord.com/api/webhooks/{id}/{token}`` -> (id, token), the two values Prefect's block keeps.

    >>> discord_parts("https://discord.com/api/webhooks/123/abc-DEF")
    ('123', 'abc-DEF')
    """
    flag, example = "--discord-webhook-url", "https://discord.com/api/webhooks/ID/TOKEN"
    check_webhook_url(flag, url, example=example)
    parts = [part for part in urlsplit(url).path.split("/") if part]
    if len(parts) < 3 or parts[-3] != "webhooks":
        raise SetupError(
            f"{flag} must look like {example} (copy it from the channel's Integrations > Webhooks)"
        )
    webhook_id, token = parts[-2], parts[-1]
    if not webhook_id.isascii() or not webhook_id.isdigit() or not _DISCORD_TOKEN.fullmatch(token):
        raise SetupError(f"{flag} must look like {example}: ID is digits, TOKEN letters, digits, - and _")
    return webhook_id, token


def check_routing_key(key: str, *, allow_nonstandard: bool = False) -> str:
    """A PagerDuty Events API v2 integration key: exactly 32 letters and digits, or 8-64 when allowed.

    >>> len(check_routing_key("R0123456789abcdefABCDEF012345678"))
    32
    """
    flag = "--pagerduty-routing-key"
    where = "the Integration Key of an Events API v2 integration (PagerDuty > Service > Integrations)"
    if _has_control(key, allow_space=False):
        raise SetupError(f"{flag} contains spaces or line breaks; paste {where} on its own")
    if not _ROUTING_KEY.fullmatch(key):
        raise SetupError(f"{flag} must be letters and digits only: {where}")
    if allow_nonstandard:
        if not 8 <= len(key) <= 64:
            raise SetupError(f"{flag} must be 8-64 letters and digits even with --allow-nonstandard-key")
    elif len(key) != ROUTING_KEY_LENGTH:
        raise SetupError(
            f"{flag} must be exactly {ROUTING_KEY_LENGTH} characters ({where}); it has {len(key)}. "
            "Pass --allow-nonstandard-key if yours really is another length"
        )
    return key


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _one_address(value: str) -> str | None:
    """The header form of one address, or None when it is not one."""
    value = value.strip()
    if not value or _has_control(value):
        return None
    pairs = email.utils.getaddresses([value])
    if len(pairs) != 1 or not _EMAIL.fullmatch(pairs[0][1]):
        return None
    if "<" not in value and value != pairs[0][1]:  # "a@example.com junk" parses, but is not an address
        return None
    return value


def check_email_addresses(flag: str, values: Iterable[str], *, one: bool = False) -> list[str]:
    """Email addresses (``a@example.com`` or ``Name <a@example.com>``); each value may be comma-separated.

    >>> check_email_addresses("--email-to", ["a@example.com, b@example.com"])
    ['a@example.com', 'b@example.com']
    """
    expected = "alerts@example.com or 'Alerts <alerts@example.com>'"
    pieces = [piece for value in values for piece in ([value] if one else value.split(",")) if piece.strip()]
    if not pieces:
        raise SetupError(f"{flag} has no address; expected {expected}")
    if one and len(pieces) > 1:
        raise SetupError(f"{flag} takes one address; expected {expected}")
    addresses = []
    for number, piece in enumerate(pieces, start=1):
        address = _one_address(piece)
        if address is None:
            which = "" if len(pieces) == 1 else f" (the {_ordinal(number)} address)"
            raise SetupError(
                f"{flag} is not an email address{which}; expected {expected}, separated by commas"
            )
        addresses.append(address)
    return addresses


def check_smtp_server(value: str) -> str:
    """A host name or IP address, without a scheme or port.

    >>> check_smtp_server("smtp.example.com")
    'smtp.example.com'
    """
    value = value.strip()
    if "://" in value or ("/" in value):
        raise SetupError(
            "--smtp-server takes a host name only, e.g. smtp.example.com (no smtp:// and no path)"
        )
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    if ":" in value:
        raise SetupError(
            "--smtp-server takes a host name only, e.g. smtp.example.com; put the port in --smtp-port"
        )
    if len(value) > 253 or not _HOSTNAME.fullmatch(value):
        raise SetupError("--smtp-server must be a host name such as smtp.example.com or an IP address")
    return value


def check_port(flag: str, value: str | int) -> int:
    """A TCP port, 1-65535.

    >>> check_port("--smtp-port", "587")
    587
    """
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise SetupError(
            f"{flag} must be a whole number from 1 to 65535 (usually 465 for SSL, 587 for STARTTLS, 25 for INSECURE)"
        )
    return int(text)


def check_choice(flag: str, value: str, choices: Sequence[str]) -> str:
    """One of ``choices`` (any case; returned as spelled in ``choices``). Flags are checked by argparse, but
    values from ``PREFECT_ALERTS_*`` variables are not.

    >>> check_choice("--smtp-type", "ssl", ["SSL", "STARTTLS", "INSECURE"])
    'SSL'
    """
    for choice in choices:
        if value.strip().lower() == choice.lower():
            return choice
    raise SetupError(f"{flag} must be one of: {', '.join(choices)}")


def check_subject_prefix(value: str) -> str:
    """Text put before every email subject: one line, at most :data:`SUBJECT_PREFIX_MAX` characters.

    >>> check_subject_prefix("[etl]")
    '[etl]'
    """
    if _has_control(value) or len(value) > SUBJECT_PREFIX_MAX:
        raise SetupError(f"--subject-prefix must be one line of at most {SUBJECT_PREFIX_MAX} characters")
    return value


def check_header_name(flag: str, value: str) -> str:
    """An HTTP header name (letters, digits and ``-``, as RFC 9110 allows).

    >>> check_header_name("--webhook-secret-header", "X-Api-Key")
    'X-Api-Key'
    """
    if not value or not _HEADER_TOKEN.fullmatch(value):
        raise SetupError(f"{flag} must be an HTTP header name such as Authorization or X-Api-Key")
    return value


def check_header_value(flag: str, value: str) -> str:
    """An HTTP header value: one line (a line break would let it add headers of its own).

    >>> check_header_value("--webhook-secret-value", "Bearer abc")
    'Bearer abc'
    """
    if not value.strip() or any((ord(ch) < 32 and ch != "\t") or ord(ch) == 127 for ch in value):
        raise SetupError(f"{flag} must be one line of text with no control characters, e.g. 'Bearer <token>'")
    return value


def hide_values(message: str, argv: Sequence[str]) -> str:
    """``message`` with every command-line value in it replaced: argparse quotes the argument it rejects, and
    under a mistyped flag that argument may be a secret. Flags themselves stay readable.

    >>> hide_values("unrecognized arguments: --slack-url https://x/SECRET", ["--slack-url", "https://x/SECRET"])
    'unrecognized arguments: --slack-url <value hidden>'
    """
    replacements: dict[str, str] = {}
    for token in argv:
        flag, equals, value = token.partition("=")
        if equals and _FLAG.fullmatch(flag):
            replacements[token] = f"{flag}={_HIDDEN}"
            replacements.setdefault(value, _HIDDEN)
        elif not _FLAG.fullmatch(token):
            replacements[token] = _HIDDEN
    hidden = sorted((old for old in replacements if len(old) >= _MIN_HIDDEN_LENGTH), key=len, reverse=True)
    if not hidden:
        return message
    # One pass, longest first, so a replacement is never itself rescanned.
    pattern = re.compile("|".join(re.escape(old) for old in hidden))
    return pattern.sub(lambda match: replacements[match.group(0)], message)
