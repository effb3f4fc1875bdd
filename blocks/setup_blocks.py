"""Create (or update) the Prefect blocks prefect-alerts sends through. Run it once per workspace.

Every value comes from a flag or an environment variable, so secrets need not appear in shell history:

    export PREFECT_ALERTS_SLACK_WEBHOOK_URL=https://hooks.slack.com/services/...
    export PREFECT_ALERTS_PAGERDUTY_ROUTING_KEY=...
    export PREFECT_ALERTS_SMTP_PASSWORD=...
    python blocks/setup_blocks.py --name ops-alerts \\
        --smtp-server smtp.example.com --smtp-username alerts@example.com \\
        --email-from alerts@example.com --email-to oncall@example.com

Only the channels you give values for are created. Every value is checked before anything is saved: one bad
value and nothing is saved (exit status 2, naming the flag and the expected shape, never the value). Saving
overwrites a block of the same name, so running it again updates the blocks. Afterwards
`SlackChannel.from_block("ops-alerts")` (and the email, PagerDuty, Discord and webhook equivalents) find them;
the script ends with the `prefect-alerts send` command that tests exactly what it created.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

# The checks live next to this script; put its folder on the path so it runs from anywhere.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from setup_plan import PAGERDUTY_REGIONS, SMTP_TYPES, SetupPlan, plan_from_args
from setup_validation import SetupError, hide_values

__all__ = [
    "SetupError",
    "SetupPlan",
    "build_parser",
    "main",
    "plan_from_args",
    "save_plan",
    "setup_blocks",
    "suggest_test_command",
]


def _env(name: str) -> str | None:
    return os.environ.get(f"PREFECT_ALERTS_{name}") or None


class _ValueHidingParser(argparse.ArgumentParser):
    """argparse quotes the offending argument in its errors; under a mistyped flag that may be a secret."""

    _argv: Sequence[str] = ()

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        self._argv = list(sys.argv[1:] if args is None else args)
        return super().parse_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {hide_values(message, self._argv)}\n")


def build_parser() -> argparse.ArgumentParser:
    """The command line; every flag also reads a ``PREFECT_ALERTS_*`` variable.

    >>> build_parser().parse_args(["--name", "ops"]).name
    'ops'
    """
    parser = _ValueHidingParser(
        prog="setup_blocks.py",
        description="Create the Prefect blocks prefect-alerts sends through. Every value is checked before "
        "anything is saved. Webhook URLs must be https:// with a host and a path; http:// is accepted only for "
        "localhost, 127.0.0.1 and ::1 (local tests and demos).",
        allow_abbrev=False,
    )
    parser.add_argument(
        "--name", default="prefect-alerts", help="the name every block is saved under (lowercase, digits, -)"
    )
    slack = parser.add_argument_group("Slack (saved as prefect-slack's slack-incoming-webhook block)")
    slack.add_argument(
        "--slack-webhook-url",
        default=_env("SLACK_WEBHOOK_URL"),
        help="https://hooks.slack.com/services/...; env PREFECT_ALERTS_SLACK_WEBHOOK_URL",
    )
    email = parser.add_argument_group("Email (email-server-credentials + alert-email-destination)")
    email.add_argument(
        "--smtp-server", default=_env("SMTP_SERVER"), help="a host name, e.g. smtp.example.com"
    )
    email.add_argument("--smtp-port", default=_env("SMTP_PORT"), help="1-65535 (default: from --smtp-type)")
    email.add_argument("--smtp-type", default=_env("SMTP_TYPE") or "STARTTLS", choices=SMTP_TYPES)
    email.add_argument("--smtp-username", default=_env("SMTP_USERNAME"))
    email.add_argument(
        "--smtp-password", default=_env("SMTP_PASSWORD"), help="better: PREFECT_ALERTS_SMTP_PASSWORD"
    )
    email.add_argument("--email-from", default=_env("EMAIL_FROM"), help="alerts@example.com or 'Name <addr>'")
    email.add_argument(
        "--email-to",
        action="append",
        default=None,
        help="repeatable or comma-separated; env: comma-separated",
    )
    email.add_argument("--subject-prefix", default=_env("EMAIL_SUBJECT_PREFIX") or "[prefect-alerts]")
    pagerduty = parser.add_argument_group("PagerDuty (pagerduty-events-v2)")
    pagerduty.add_argument(
        "--pagerduty-routing-key",
        default=_env("PAGERDUTY_ROUTING_KEY"),
        help="the 32-character Events API v2 integration key",
    )
    pagerduty.add_argument(
        "--allow-nonstandard-key",
        action="store_true",
        help="accept a routing key of 8-64 letters and digits that is not 32 characters long",
    )
    pagerduty.add_argument(
        "--pagerduty-region", default=_env("PAGERDUTY_REGION") or "us", choices=PAGERDUTY_REGIONS
    )
    discord = parser.add_argument_group("Discord (Prefect's discord-webhook block)")
    discord.add_argument(
        "--discord-webhook-url", default=_env("DISCORD_WEBHOOK_URL"), help=".../api/webhooks/ID/TOKEN"
    )
    webhook = parser.add_argument_group("Generic webhook (alert-webhook)")
    webhook.add_argument("--webhook-url", default=_env("WEBHOOK_URL"))
    webhook.add_argument("--webhook-secret-header", default=_env("WEBHOOK_SECRET_HEADER") or "Authorization")
    webhook.add_argument("--webhook-secret-value", default=_env("WEBHOOK_SECRET_VALUE"))
    webhook.add_argument("--webhook-signing-secret", default=_env("WEBHOOK_SIGNING_SECRET"))
    return parser


@contextlib.contextmanager
def _apprise_silenced() -> Iterator[None]:
    """Prefect's core DiscordWebhook hands its URL to apprise, which logs it (partly masked) on build."""
    apprise_logger = logging.getLogger("apprise")
    was_disabled, apprise_logger.disabled = apprise_logger.disabled, True
    try:
        yield
    finally:
        apprise_logger.disabled = was_disabled


def _blocks(plan: SetupPlan) -> list[tuple[str, Any]]:
    """(slug/name, unsaved block) for every block in the plan; building them touches no server."""
    from prefect.blocks.notifications import DiscordWebhook
    from prefect_email import EmailServerCredentials
    from prefect_slack import SlackWebhook as SlackIncomingWebhook

    from prefect_alerts.blocks import AlertEmailDestination, AlertWebhook, PagerDutyEventsV2

    name, blocks = plan.name, []
    if plan.slack_url is not None:
        blocks.append((f"slack-incoming-webhook/{name}", SlackIncomingWebhook(url=plan.slack_url)))
    if (email := plan.email) is not None:
        credentials: dict[str, Any] = {"smtp_server": email.smtp_server, "smtp_type": email.smtp_type}
        if email.smtp_port:
            credentials["smtp_port"] = email.smtp_port
        if email.username and email.password:
            credentials.update(username=email.username, password=email.password)
        blocks.append((f"email-server-credentials/{name}", EmailServerCredentials(**credentials)))
        destination = AlertEmailDestination(
            credentials_block=name,
            email_from=email.email_from,
            email_to=email.email_to,
            subject_prefix=email.subject_prefix,
        )
        blocks.append((f"alert-email-destination/{name}", destination))
    if plan.pagerduty_routing_key is not None:
        pagerduty = PagerDutyEventsV2(routing_key=plan.pagerduty_routing_key, region=plan.pagerduty_region)
        blocks.append((f"pagerduty-events-v2/{name}", pagerduty))
    if plan.discord_id is not None and plan.discord_token is not None:
        with _apprise_silenced():
            discord = DiscordWebhook(webhook_id=plan.discord_id, webhook_token=plan.discord_token)
        blocks.append((f"discord-webhook/{name}", discord))
    if (webhook := plan.webhook) is not None:
        alert_webhook = AlertWebhook(
            url=webhook.url,
            secret_header_name=webhook.secret_header_name,
            secret_header_value=webhook.secret_header_value,
            signing_secret=webhook.signing_secret,
        )
        blocks.append((f"alert-webhook/{name}", alert_webhook))
    return blocks


def save_plan(plan: SetupPlan, *, on_saved: Callable[[str], None] | None = None) -> list[str]:
    """Save every block of a checked plan (overwriting same-named ones); returns ``slug/name`` per block.

    Example (needs a Prefect server):
        ```python
        plan = plan_from_args(build_parser().parse_args(["--name", "ops", "--pagerduty-routing-key", "R" * 32]))
        save_plan(plan)  # ['pagerduty-events-v2/ops']
        ```
    """
    saved: list[str] = []
    with _apprise_silenced():
        for label, block in _blocks(plan):
            block.save(label.partition("/")[2], overwrite=True)
            saved.append(label)
            if on_saved is not None:
                on_saved(label)
    return saved


def setup_blocks(args: argparse.Namespace) -> list[str]:
    """Check every value, then save every block the arguments describe; returns ``slug/name`` per block.

    Example (needs a Prefect server):
        ```python
        setup_blocks(build_parser().parse_args(["--name", "ops", "--pagerduty-routing-key", "R" * 32]))
        # ['pagerduty-events-v2/ops']
        ```

    Raises:
        SetupError: a value is bad (nothing was saved); the message names the flag, never the value.
    """
    return save_plan(plan_from_args(args))


def suggest_test_command(kinds: Sequence[str], name: str) -> str:
    """The ``prefect-alerts send`` command that tries every channel just set up.

    >>> suggest_test_command(["pagerduty", "email"], "ops")
    "prefect-alerts send 'prefect-alerts is set up' -c pagerduty:ops -c email:ops"
    """
    channels = " ".join(f"-c {kind}:{name}" for kind in kinds)
    return f"prefect-alerts send 'prefect-alerts is set up' {channels}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the script: 0 when every block was saved, 2 for a bad or missing value, 1 when saving failed.

    >>> main(["--name", "Bad Name"])  # doctest: +SKIP
    2
    """
    args = build_parser().parse_args(argv)
    try:
        plan = plan_from_args(args)
    except SetupError as exc:
        print(f"setup_blocks: nothing was saved:\n{exc}", file=sys.stderr)
        return 2
    if not plan.kinds():
        print("Nothing to save: pass at least one channel's values (see --help).", file=sys.stderr)
        return 2
    saved: list[str] = []
    try:
        save_plan(plan, on_saved=lambda label: (saved.append(label), print(f"saved {label}")))
    except Exception as exc:  # the server is down or refused; its message may hold what we sent, so not shown
        done = f" (saved before it: {', '.join(saved)})" if saved else " (nothing was saved)"
        print(
            f"setup_blocks: saving failed with {type(exc).__name__}{done}; check that PREFECT_API_URL points at "
            "a running Prefect server (`prefect config view`), then run this again",
            file=sys.stderr,
        )
        return 1
    print(f"Send a test alert: {suggest_test_command(plan.kinds(), plan.name)}")
    if "pagerduty" in plan.kinds():
        print("(the PagerDuty test opens a real incident: resolve it in PagerDuty afterwards)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
