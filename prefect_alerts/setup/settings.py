"""Every setting ``setup-blocks`` reads: its flag, its ``PREFECT_ALERTS_*`` variable, and where a value came from.

One table (:data:`SETTINGS`) drives the command line, the environment and ``.env`` look-ups, the
``.env.example`` file's test and the documentation, so a setting cannot exist in one place and not another.

Precedence, highest first: a flag, then the real environment, then the ``.env`` file, then the built-in default.
An empty value (``PREFECT_ALERTS_X=``) counts as not set anywhere, so an empty variable in the environment does
not hide the file's value, and ``cp .env.example .env`` sets nothing until it is filled in.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from prefect_alerts.setup.envfile import EnvFile
from prefect_alerts.setup.validation import SetupError

__all__ = [
    "ENV_PREFIX",
    "PAGERDUTY_REGIONS",
    "SETTINGS",
    "SMTP_TYPES",
    "Resolved",
    "Setting",
    "environment_values",
    "resolve_settings",
    "setting_for_env",
]

ENV_PREFIX = "PREFECT_ALERTS_"
SMTP_TYPES = ("SSL", "STARTTLS", "INSECURE")
PAGERDUTY_REGIONS = ("us", "eu")
SEVERITY_ROUTES = ("critical", "warning", "info")
"""The Slack routes that may have a webhook of their own: ``--slack-webhook-url-critical`` and so on."""


class Setting(BaseModel):
    """One setting: the flag, the environment variable (without ``PREFECT_ALERTS_``), how it is shown."""

    model_config = ConfigDict(frozen=True)

    dest: str
    flag: str
    env: str | None
    group: str
    help: str
    secret: bool = False
    """Shown as ``********`` by ``--dry-run`` (every value is kept out of errors, secret or not)."""
    default: str | None = None
    choices: tuple[str, ...] | None = None
    kind: Literal["text", "list", "bool"] = "text"

    @property
    def env_var(self) -> str | None:
        """The full variable name, e.g. ``PREFECT_ALERTS_SLACK_WEBHOOK_URL``."""
        return f"{ENV_PREFIX}{self.env}" if self.env else None


def _slack(severity: str | None) -> Setting:
    suffix = f"_{severity.upper()}" if severity else ""
    where = f"the {severity} route (block NAME-{severity})" if severity else "every route without its own"
    return Setting(
        dest=f"slack_webhook_url{suffix.lower()}",
        flag=f"--slack-webhook-url{'-' + severity if severity else ''}",
        env=f"SLACK_WEBHOOK_URL{suffix}",
        group="slack",
        help=f"Slack incoming webhook for {where}, https://hooks.slack.com/services/...",
        secret=True,
    )


SETTINGS: tuple[Setting, ...] = (
    Setting(
        dest="name",
        flag="--name",
        env="BLOCK_NAME",
        group="names",
        default="prefect-alerts",
        help="the name every block is saved under (lowercase, digits, -)",
    ),
    Setting(
        dest="routing_block",
        flag="--routing-block",
        env="ROUTING_BLOCK",
        group="names",
        default="default",
        help="the alert-routing block the default routing is saved as; 'default' is the one every worker reads",
    ),
    _slack(None),
    *(_slack(severity) for severity in SEVERITY_ROUTES),
    Setting(dest="smtp_server", flag="--smtp-server", env="SMTP_SERVER", group="email", help="a host name, e.g. smtp.example.com"),
    Setting(dest="smtp_port", flag="--smtp-port", env="SMTP_PORT", group="email", help="1-65535 (default: from --smtp-type)"),
    Setting(
        dest="smtp_type",
        flag="--smtp-type",
        env="SMTP_TYPE",
        group="email",
        default="STARTTLS",
        choices=SMTP_TYPES,
        help="how to secure the connection",
    ),
    Setting(dest="smtp_username", flag="--smtp-username", env="SMTP_USERNAME", group="email", help="the SMTP login", secret=True),
    Setting(dest="smtp_password", flag="--smtp-password", env="SMTP_PASSWORD", group="email", help="better in the environment or .env than on the command line", secret=True),
    Setting(dest="email_from", flag="--email-from", env="EMAIL_FROM", group="email", help="alerts@example.com or 'Name <addr>'"),
    Setting(dest="email_to", flag="--email-to", env="EMAIL_TO", group="email", kind="list", help="repeatable or comma-separated (the variable: comma-separated)"),
    Setting(
        dest="subject_prefix",
        flag="--subject-prefix",
        env="EMAIL_SUBJECT_PREFIX",
        group="email",
        default="[prefect-alerts]",
        help="put before every subject",
    ),
    Setting(
        dest="pagerduty_routing_key",
        flag="--pagerduty-routing-key",
        env="PAGERDUTY_ROUTING_KEY",
        group="pagerduty",
        help="the 32-character Events API v2 integration key",
        secret=True,
    ),
    Setting(
        dest="allow_nonstandard_key",
        flag="--allow-nonstandard-key",
        env="PAGERDUTY_ALLOW_NONSTANDARD_KEY",
        group="pagerduty",
        kind="bool",
        help="accept a routing key of 8-64 letters and digits that is not 32 characters long",
    ),
    Setting(
        dest="pagerduty_region",
        flag="--pagerduty-region",
        env="PAGERDUTY_REGION",
        group="pagerduty",
        default="us",
        choices=PAGERDUTY_REGIONS,
        help="the service's region",
    ),
    Setting(
        dest="pagerduty_events_url",
        flag="--pagerduty-events-url",
        env="PAGERDUTY_EVENTS_URL",
        group="pagerduty",
        help="overrides the region's Events API URL (a proxy, a local receiver)",
        secret=True,
    ),
    Setting(
        dest="discord_webhook_url",
        flag="--discord-webhook-url",
        env="DISCORD_WEBHOOK_URL",
        group="discord",
        help="https://discord.com/api/webhooks/ID/TOKEN",
        secret=True,
    ),
    Setting(dest="webhook_url", flag="--webhook-url", env="WEBHOOK_URL", group="webhook", help="the receiver's URL", secret=True),
    Setting(
        dest="webhook_secret_header",
        flag="--webhook-secret-header",
        env="WEBHOOK_SECRET_HEADER",
        group="webhook",
        default="Authorization",
        help="the header that carries the secret",
    ),
    Setting(dest="webhook_secret_value", flag="--webhook-secret-value", env="WEBHOOK_SECRET_VALUE", group="webhook", help="e.g. 'Bearer abc'", secret=True),
    Setting(dest="webhook_signing_secret", flag="--webhook-signing-secret", env="WEBHOOK_SIGNING_SECRET", group="webhook", help="HMAC-SHA256 signing of each body", secret=True),
)  # fmt: skip
"""Every setting, in the order ``--help`` and ``.env.example`` list them."""

_BY_ENV = {setting.env_var: setting for setting in SETTINGS if setting.env_var}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def setting_for_env(variable: str) -> Setting | None:
    """The setting a ``PREFECT_ALERTS_*`` variable sets, or None.

    >>> setting_for_env("PREFECT_ALERTS_SMTP_PORT").flag
    '--smtp-port'
    """
    return _BY_ENV.get(variable)


def environment_values(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The setup variables set (non-empty) in ``environ`` (default: the process environment)."""
    source = os.environ if environ is None else environ
    return {key: value for key, value in source.items() if key in _BY_ENV and value}


class Resolved(BaseModel):
    """Each setting's value after precedence, and where each came from (for error messages, never values)."""

    values: dict[str, Any]
    origins: dict[str, str]
    """``dest`` -> ``"PREFECT_ALERTS_X in the environment"`` or ``"PREFECT_ALERTS_X in .env line 3"``."""

    def origin(self, dest: str) -> str:
        """`` (from PREFECT_ALERTS_X in .env line 3)`` for a value that did not come from its flag, else ``""``."""
        where = self.origins.get(dest)
        return f" (from {where})" if where else ""


def resolve_settings(
    args: argparse.Namespace,
    environ: Mapping[str, str] | None = None,
    env_file: EnvFile | None = None,
) -> Resolved:
    """Every setting's value: the flag when given, else the environment, else the file, else the default.

    >>> ns = argparse.Namespace(**{s.dest: None for s in SETTINGS})
    >>> resolve_settings(ns, {"PREFECT_ALERTS_SMTP_PORT": "2525"}).values["smtp_port"]
    '2525'

    Raises:
        SetupError: a boolean variable holds something other than true/false (named, never shown).
    """
    environment = environment_values(environ)
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        given = getattr(args, setting.dest, None)
        if given not in (None, [], False):
            values[setting.dest] = given
            continue
        raw, where = None, None
        if setting.env_var and setting.env_var in environment:
            raw, where = environment[setting.env_var], f"{setting.env_var} in the environment"
        elif setting.env_var and env_file is not None and setting.env_var in env_file.entries:
            entry = env_file.entries[setting.env_var]
            raw, where = entry.value, f"{setting.env_var} in {env_file.label} line {entry.line}"
        if raw is None or raw == "":
            values[setting.dest] = False if setting.kind == "bool" else setting.default
            continue
        origins[setting.dest] = where or ""
        if setting.kind == "list":
            values[setting.dest] = [raw]
        elif setting.kind == "bool":
            lowered = raw.strip().lower()
            if lowered not in _TRUE + _FALSE:
                problems.append(f"{where} must be true or false (or 1/0, yes/no)")
            values[setting.dest] = lowered in _TRUE
        else:
            values[setting.dest] = raw
    if problems:
        raise SetupError("\n".join(problems))
    return Resolved(values=values, origins=origins)
