"""What ``setup-blocks`` will save: every value checked (see validation.py) into one pydantic plan.

Checking happens here, before any block is built or saved, so one bad value means nothing is saved. Every
problem is collected so a single run reports them all; a problem with a value that came from the environment or
a ``.env`` file also says which variable (and line) it came from.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr

from prefect_alerts.setup.envfile import EnvFile
from prefect_alerts.setup.settings import (
    PAGERDUTY_REGIONS,
    SEVERITY_ROUTES,
    SMTP_TYPES,
    Resolved,
    resolve_settings,
)
from prefect_alerts.setup.validation import (
    SetupError,
    check_block_name,
    check_choice,
    check_email_addresses,
    check_header_name,
    check_header_value,
    check_port,
    check_routing_key,
    check_smtp_server,
    check_subject_prefix,
    check_webhook_url,
    discord_parts,
)

__all__ = [
    "PAGERDUTY_REGIONS",
    "SMTP_TYPES",
    "EmailSettings",
    "SetupPlan",
    "WebhookSettings",
    "plan_from_args",
]

T = TypeVar("T")


class EmailSettings(BaseModel):
    """The checked email values: one credentials block and one destination block."""

    model_config = ConfigDict(frozen=True)
    smtp_server: str
    smtp_port: int | None
    smtp_type: str
    username: str | None
    password: SecretStr | None
    email_from: str
    email_to: list[str]
    subject_prefix: str


class WebhookSettings(BaseModel):
    """The checked generic-webhook values."""

    model_config = ConfigDict(frozen=True)
    url: SecretStr
    secret_header_name: str
    secret_header_value: SecretStr | None
    signing_secret: SecretStr | None


class SetupPlan(BaseModel):
    """Everything the script will save, every value already checked (secrets as ``SecretStr``).

    Block names: everything under ``name``; the per-route Slack webhooks under ``NAME-critical``,
    ``NAME-warning`` and ``NAME-info``; the default routing as ``alert-routing/ROUTING_BLOCK`` (None: not saved).
    """

    model_config = ConfigDict(frozen=True)
    name: str
    slack_url: SecretStr | None = None
    """The Slack webhook for every route that has none of its own (saved as ``slack-incoming-webhook/NAME``)."""
    slack_route_urls: dict[str, SecretStr] = {}
    """``{"critical": url, ...}``: Slack webhooks of their own for some routes (``NAME-critical`` and so on)."""
    email: EmailSettings | None = None
    pagerduty_routing_key: SecretStr | None = None
    pagerduty_region: str = "us"
    pagerduty_events_url: SecretStr | None = None
    discord_id: SecretStr | None = None
    discord_token: SecretStr | None = None
    webhook: WebhookSettings | None = None
    routing_block: str | None = "default"
    overwrite_routing: bool = False

    def kinds(self) -> list[str]:
        """The channel kinds the plan creates, in the order they are saved.

        >>> SetupPlan(name="ops", pagerduty_routing_key="R" * 32).kinds()
        ['pagerduty']
        """
        present = {
            "slack": self.slack_url or self.slack_route_urls or None,
            "email": self.email,
            "pagerduty": self.pagerduty_routing_key,
            "discord": self.discord_token,
            "webhook": self.webhook,
        }
        return [kind for kind, value in present.items() if value is not None]

    def slack_block_names(self) -> list[str]:
        """The names the Slack webhooks are saved under: ``NAME`` and/or ``NAME-critical``, ...

        >>> SetupPlan(name="ops", slack_route_urls={"info": "https://h.example/x"}).slack_block_names()
        ['ops-info']
        """
        names = [self.name] if self.slack_url is not None else []
        return names + [f"{self.name}-{route}" for route in SEVERITY_ROUTES if route in self.slack_route_urls]

    def slack_for(self, route: str) -> str | None:
        """The Slack destination of a route: its own webhook, else the shared one, else None.

        >>> SetupPlan(name="ops", slack_url="https://h.example/x").slack_for("warning")
        'slack:ops'
        """
        if route in self.slack_route_urls:
            return f"slack:{self.name}-{route}"
        return f"slack:{self.name}" if self.slack_url is not None else None

    def destinations(self) -> list[str]:
        """Every destination the plan saves, as the references routing and ``-c`` take, in saving order.

        >>> SetupPlan(name="ops", pagerduty_routing_key="R" * 32, slack_url="https://h.example/x").destinations()
        ['slack:ops', 'pagerduty:ops']
        """
        refs = [f"slack:{name}" for name in self.slack_block_names()]
        refs += [f"{kind}:{self.name}" for kind in self.kinds() if kind != "slack"]
        return refs


class _Problems(list[str]):
    """Every problem found, so one run reports them all."""

    def __init__(self, resolved: Resolved) -> None:
        super().__init__()
        self.resolved = resolved

    def check(self, check: Callable[[], T], dest: str | None = None) -> T | None:
        try:
            return check()
        except SetupError as exc:
            self.append(f"{exc}{self.resolved.origin(dest) if dest else ''}")
            return None


def _email_settings(v: Any, problems: _Problems) -> EmailSettings | None:
    email_to = v.email_to or []
    given = (v.smtp_server, v.email_from, email_to, v.smtp_username, v.smtp_password, v.smtp_port)
    if not any(given):
        return None
    required = (("--smtp-server", v.smtp_server), ("--email-from", v.email_from), ("--email-to", email_to))
    missing = [flag for flag, value in required if not value]
    if missing:
        problems.append(f"email needs {', '.join(missing)} as well")
    if v.smtp_password and not v.smtp_username:
        problems.append("--smtp-password was given without --smtp-username: give both, or neither")
    if v.smtp_username and not v.smtp_password:
        problems.append(
            "--smtp-username needs a password: pass --smtp-password or set PREFECT_ALERTS_SMTP_PASSWORD"
        )
    check = problems.check
    server = check(lambda: check_smtp_server(v.smtp_server), "smtp_server") if v.smtp_server else None
    port = check(lambda: check_port("--smtp-port", v.smtp_port), "smtp_port") if v.smtp_port else None
    smtp_type = check(lambda: check_choice("--smtp-type", v.smtp_type, SMTP_TYPES), "smtp_type")
    sender = (
        check(lambda: check_email_addresses("--email-from", [v.email_from], one=True), "email_from")
        if v.email_from
        else None
    )
    recipients = (
        check(lambda: check_email_addresses("--email-to", email_to), "email_to") if email_to else None
    )
    prefix = check(lambda: check_subject_prefix(v.subject_prefix), "subject_prefix")
    if problems or not (server and smtp_type and sender and recipients and prefix is not None):
        return None  # the plan is refused anyway; nothing half-checked is built
    return EmailSettings(
        smtp_server=server,
        smtp_port=port,
        smtp_type=smtp_type,
        username=v.smtp_username,
        password=SecretStr(v.smtp_password) if v.smtp_password else None,
        email_from=sender[0],
        email_to=recipients,
        subject_prefix=prefix,
    )


def _webhook_settings(v: Any, problems: _Problems) -> WebhookSettings | None:
    if not v.webhook_url:
        for flag, value in (
            ("--webhook-secret-value", v.webhook_secret_value),
            ("--webhook-signing-secret", v.webhook_signing_secret),
        ):
            if value:
                problems.append(f"{flag} was given without --webhook-url: pass the receiver's URL as well")
        return None
    url = problems.check(lambda: check_webhook_url("--webhook-url", v.webhook_url), "webhook_url")
    header = problems.check(
        lambda: check_header_name("--webhook-secret-header", v.webhook_secret_header), "webhook_secret_header"
    )
    if v.webhook_secret_value:
        problems.check(
            lambda: check_header_value("--webhook-secret-value", v.webhook_secret_value),
            "webhook_secret_value",
        )
    if problems or url is None or header is None:
        return None
    return WebhookSettings(
        url=SecretStr(url),
        secret_header_name=header,
        secret_header_value=SecretStr(v.webhook_secret_value) if v.webhook_secret_value else None,
        signing_secret=SecretStr(v.webhook_signing_secret) if v.webhook_signing_secret else None,
    )


def _slack_urls(v: Any, problems: _Problems, plan: dict[str, Any]) -> None:
    if v.slack_webhook_url:
        url = problems.check(
            lambda: check_webhook_url("--slack-webhook-url", v.slack_webhook_url), "slack_webhook_url"
        )
        plan["slack_url"] = SecretStr(url) if url else None
    routes: dict[str, SecretStr] = {}
    for route in SEVERITY_ROUTES:
        dest = f"slack_webhook_url_{route}"
        if value := getattr(v, dest):
            url = problems.check(
                lambda value=value, route=route: check_webhook_url(f"--slack-webhook-url-{route}", value),
                dest,
            )
            if url:
                routes[route] = SecretStr(url)
    plan["slack_route_urls"] = routes


def _pagerduty(v: Any, problems: _Problems, plan: dict[str, Any]) -> None:
    if not v.pagerduty_routing_key:
        if v.pagerduty_events_url:
            problems.append("--pagerduty-events-url was given without --pagerduty-routing-key: give both")
        return
    key = problems.check(
        lambda: check_routing_key(v.pagerduty_routing_key, allow_nonstandard=bool(v.allow_nonstandard_key)),
        "pagerduty_routing_key",
    )
    plan["pagerduty_routing_key"] = SecretStr(key) if key else None
    region = problems.check(
        lambda: check_choice("--pagerduty-region", v.pagerduty_region, PAGERDUTY_REGIONS), "pagerduty_region"
    )
    plan["pagerduty_region"] = region or "us"
    if v.pagerduty_events_url:
        url = problems.check(
            lambda: check_webhook_url(
                "--pagerduty-events-url",
                v.pagerduty_events_url,
                example="https://events.pagerduty.com/v2/enqueue",
            ),
            "pagerduty_events_url",
        )
        plan["pagerduty_events_url"] = SecretStr(url) if url else None


def plan_from_args(
    args: argparse.Namespace,
    environ: Mapping[str, str] | None = None,
    env_file: EnvFile | None = None,
) -> SetupPlan:
    """Check every value (flags, else ``environ``, else ``env_file``); every problem is reported at once.

    ``environ`` defaults to the process environment (only its ``PREFECT_ALERTS_*`` setup variables are read).

    >>> from prefect_alerts.setup import build_parser
    >>> plan_from_args(build_parser().parse_args(["--pagerduty-routing-key", "R" * 32]), environ={}).kinds()
    ['pagerduty']

    Raises:
        SetupError: one line per problem, each naming the flag (and the variable and line a value came from)
            and the shape expected, never the value.
    """
    resolved = resolve_settings(args, environ, env_file)
    v = SimpleNamespace(**resolved.values)
    problems = _Problems(resolved)
    plan: dict[str, Any] = {"name": problems.check(lambda: check_block_name(v.name), "name")}
    _slack_urls(v, problems, plan)
    plan["email"] = _email_settings(v, problems)
    _pagerduty(v, problems, plan)
    if v.discord_webhook_url:
        parts = problems.check(lambda: discord_parts(v.discord_webhook_url), "discord_webhook_url")
        if parts:
            plan["discord_id"], plan["discord_token"] = SecretStr(parts[0]), SecretStr(parts[1])
    plan["webhook"] = _webhook_settings(v, problems)
    if getattr(args, "no_routing", False):
        plan["routing_block"] = None
    else:
        plan["routing_block"] = problems.check(
            lambda: check_block_name(v.routing_block, "--routing-block"), "routing_block"
        )
    plan["overwrite_routing"] = bool(getattr(args, "overwrite_routing", False))
    if problems:
        raise SetupError("\n".join(problems))
    return SetupPlan(**plan)
