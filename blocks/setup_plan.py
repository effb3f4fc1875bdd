"""What setup_blocks.py will save: every flag checked (see setup_validation.py) into one pydantic plan.

Checking happens here, before any block is built or saved, so one bad value means nothing is saved. Every
problem is collected so a single run reports them all.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr
from setup_validation import (
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

SMTP_TYPES = ("SSL", "STARTTLS", "INSECURE")
PAGERDUTY_REGIONS = ("us", "eu")


def _env(name: str) -> str | None:
    return os.environ.get(f"PREFECT_ALERTS_{name}") or None


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
    """Everything the script will save, every value already checked (secrets as ``SecretStr``)."""

    model_config = ConfigDict(frozen=True)
    name: str
    slack_url: SecretStr | None = None
    email: EmailSettings | None = None
    pagerduty_routing_key: SecretStr | None = None
    pagerduty_region: str = "us"
    discord_id: SecretStr | None = None
    discord_token: SecretStr | None = None
    webhook: WebhookSettings | None = None

    def kinds(self) -> list[str]:
        """The channel kinds the plan creates, in the order they are saved."""
        present = {
            "slack": self.slack_url,
            "email": self.email,
            "pagerduty": self.pagerduty_routing_key,
            "discord": self.discord_token,
            "webhook": self.webhook,
        }
        return [kind for kind, value in present.items() if value is not None]


class _Problems(list[str]):
    """Every problem found, so one run reports them all."""

    def check(self, check: Callable[[], T]) -> T | None:
        try:
            return check()
        except SetupError as exc:
            self.append(str(exc))
            return None


def _email_settings(args: argparse.Namespace, problems: _Problems) -> EmailSettings | None:
    email_to = args.email_to or ([_env("EMAIL_TO")] if _env("EMAIL_TO") else [])
    given = (
        args.smtp_server,
        args.email_from,
        email_to,
        args.smtp_username,
        args.smtp_password,
        args.smtp_port,
    )
    if not any(given):
        return None
    required = (
        ("--smtp-server", args.smtp_server),
        ("--email-from", args.email_from),
        ("--email-to", email_to),
    )
    missing = [flag for flag, value in required if not value]
    if missing:
        problems.append(f"email needs {', '.join(missing)} as well")
    if args.smtp_password and not args.smtp_username:
        problems.append("--smtp-password was given without --smtp-username: give both, or neither")
    if args.smtp_username and not args.smtp_password:
        problems.append(
            "--smtp-username needs a password: pass --smtp-password or set PREFECT_ALERTS_SMTP_PASSWORD"
        )
    server = problems.check(lambda: check_smtp_server(args.smtp_server)) if args.smtp_server else None
    port = problems.check(lambda: check_port("--smtp-port", args.smtp_port)) if args.smtp_port else None
    smtp_type = problems.check(lambda: check_choice("--smtp-type", args.smtp_type, SMTP_TYPES))
    sender = (
        problems.check(lambda: check_email_addresses("--email-from", [args.email_from], one=True))
        if args.email_from
        else None
    )
    recipients = problems.check(lambda: check_email_addresses("--email-to", email_to)) if email_to else None
    prefix = problems.check(lambda: check_subject_prefix(args.subject_prefix))
    if problems or not (server and smtp_type and sender and recipients and prefix is not None):
        return None  # the plan is refused anyway; nothing half-checked is built
    return EmailSettings(
        smtp_server=server,
        smtp_port=port,
        smtp_type=smtp_type,
        username=args.smtp_username,
        password=SecretStr(args.smtp_password) if args.smtp_password else None,
        email_from=sender[0],
        email_to=recipients,
        subject_prefix=prefix,
    )


def _webhook_settings(args: argparse.Namespace, problems: _Problems) -> WebhookSettings | None:
    if not args.webhook_url:
        for flag, value in (
            ("--webhook-secret-value", args.webhook_secret_value),
            ("--webhook-signing-secret", args.webhook_signing_secret),
        ):
            if value:
                problems.append(f"{flag} was given without --webhook-url: pass the receiver's URL as well")
        return None
    url = problems.check(lambda: check_webhook_url("--webhook-url", args.webhook_url))
    header = problems.check(lambda: check_header_name("--webhook-secret-header", args.webhook_secret_header))
    if args.webhook_secret_value:
        problems.check(lambda: check_header_value("--webhook-secret-value", args.webhook_secret_value))
    if problems or url is None or header is None:
        return None
    return WebhookSettings(
        url=SecretStr(url),
        secret_header_name=header,
        secret_header_value=SecretStr(args.webhook_secret_value) if args.webhook_secret_value else None,
        signing_secret=SecretStr(args.webhook_signing_secret) if args.webhook_signing_secret else None,
    )


def plan_from_args(args: argparse.Namespace) -> SetupPlan:
    """Check every value the arguments carry; every problem is reported at once and nothing is saved.

    >>> from setup_blocks import build_parser
    >>> plan_from_args(build_parser().parse_args(["--pagerduty-routing-key", "R" * 32])).kinds()
    ['pagerduty']

    Raises:
        SetupError: one line per problem, each naming the flag and the shape expected, never the value.
    """
    problems = _Problems()
    plan: dict[str, Any] = {"name": problems.check(lambda: check_block_name(args.name))}
    if args.slack_webhook_url:
        url = problems.check(lambda: check_webhook_url("--slack-webhook-url", args.slack_webhook_url))
        plan["slack_url"] = SecretStr(url) if url else None
    plan["email"] = _email_settings(args, problems)
    if args.pagerduty_routing_key:
        key = problems.check(
            lambda: check_routing_key(
                args.pagerduty_routing_key, allow_nonstandard=args.allow_nonstandard_key
            )
        )
        plan["pagerduty_routing_key"] = SecretStr(key) if key else None
        region = problems.check(
            lambda: check_choice("--pagerduty-region", args.pagerduty_region, PAGERDUTY_REGIONS)
        )
        plan["pagerduty_region"] = region or "us"
    if args.discord_webhook_url:
        parts = problems.check(lambda: discord_parts(args.discord_webhook_url))
        if parts:
            plan["discord_id"], plan["discord_token"] = SecretStr(parts[0]), SecretStr(parts[1])
    plan["webhook"] = _webhook_settings(args, problems)
    if problems:
        raise SetupError("\n".join(problems))
    return SetupPlan(**plan)
