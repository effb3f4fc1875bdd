"""Precedence (flag > environment > .env > default), the Slack routes' own webhooks, and the default routing
built from what was configured: all without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from prefect_alerts import Alert
from prefect_alerts.setup import (
    SetupError,
    SetupPlan,
    build_parser,
    default_routing,
    plan_from_args,
    read_env_file,
)
from prefect_alerts.setup.routing import customised

KEY_A = "A" * 32
KEY_B = "B" * 32
KEY_C = "C" * 32


def plan(
    argv: list[str],
    environ: dict[str, str] | None = None,
    env_text: str | None = None,
    tmp: Path | None = None,
) -> SetupPlan:
    env_file = None
    if env_text is not None:
        assert tmp is not None
        (tmp / "x.env").write_text(env_text)
        env_file = read_env_file(tmp / "x.env")
    return plan_from_args(build_parser().parse_args(argv), environ or {}, env_file)


def key_of(p: SetupPlan) -> str:
    assert p.pagerduty_routing_key is not None
    return p.pagerduty_routing_key.get_secret_value()


def test_flags_win_over_the_environment_which_wins_over_the_file(tmp_path: Path) -> None:
    text = f"PREFECT_ALERTS_PAGERDUTY_ROUTING_KEY={KEY_C}\nPREFECT_ALERTS_PAGERDUTY_REGION=eu\n"
    env = {"PREFECT_ALERTS_PAGERDUTY_ROUTING_KEY": KEY_B}
    assert key_of(plan([], env_text=text, tmp=tmp_path)) == KEY_C
    from_env = plan([], env, text, tmp_path)
    assert key_of(from_env) == KEY_B and from_env.pagerduty_region == "eu"  # the file still gives the region
    assert key_of(plan(["--pagerduty-routing-key", KEY_A], env, text, tmp_path)) == KEY_A
    # An empty variable counts as not set: it does not hide the file's value.
    assert key_of(plan([], {"PREFECT_ALERTS_PAGERDUTY_ROUTING_KEY": ""}, text, tmp_path)) == KEY_C


def test_a_bad_value_from_the_file_names_the_variable_and_line(tmp_path: Path) -> None:
    text = "# keys\nPREFECT_ALERTS_PAGERDUTY_ROUTING_KEY=" + "K" * 31 + "\n"
    with pytest.raises(SetupError) as raised:
        plan([], env_text=text, tmp=tmp_path)
    message = str(raised.value)
    assert "--pagerduty-routing-key must be exactly 32" in message
    assert "PREFECT_ALERTS_PAGERDUTY_ROUTING_KEY in " in message and "x.env line 2" in message
    assert "K" * 31 not in message


def test_a_boolean_variable_must_be_true_or_false() -> None:
    environ = {"PREFECT_ALERTS_PAGERDUTY_ROUTING_KEY": "A1b2C3d4E5f6G7h8i9J0"}
    with pytest.raises(SetupError, match="exactly 32"):
        plan([], environ)
    allowed = plan([], {**environ, "PREFECT_ALERTS_PAGERDUTY_ALLOW_NONSTANDARD_KEY": "yes"})
    assert allowed.kinds() == ["pagerduty"]
    with pytest.raises(
        SetupError, match="PREFECT_ALERTS_PAGERDUTY_ALLOW_NONSTANDARD_KEY in the environment must be"
    ):
        plan([], {**environ, "PREFECT_ALERTS_PAGERDUTY_ALLOW_NONSTANDARD_KEY": "maybe"})


def test_route_webhooks_and_the_shared_one() -> None:
    environ = {
        "PREFECT_ALERTS_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/shared",
        "PREFECT_ALERTS_SLACK_WEBHOOK_URL_CRITICAL": "https://hooks.slack.com/services/critical",
    }
    p = plan(["--name", "ops"], environ)
    assert p.slack_block_names() == ["ops", "ops-critical"]
    assert [p.slack_for(route) for route in ("critical", "warning", "info")] == [
        "slack:ops-critical",
        "slack:ops",
        "slack:ops",
    ]
    only_info = plan(["--name", "ops", "--slack-webhook-url-info", "https://hooks.slack.com/services/i"])
    assert only_info.slack_block_names() == ["ops-info"] and only_info.slack_for("critical") is None
    with pytest.raises(SetupError) as raised:
        plan(["--slack-webhook-url-warning", "http://remote.example/LEAKME"])
    assert "--slack-webhook-url-warning uses http://" in str(raised.value) and "LEAKME" not in str(
        raised.value
    )


def routes_for(p: SetupPlan, **alert: str) -> list[str]:
    routing = default_routing(p)
    assert routing is not None
    return [target.key for target in routing.targets(Alert(title="x", **alert))]


def test_the_default_routing_sends_each_severity_where_the_issue_says() -> None:
    p = SetupPlan(
        name="ops",
        slack_url="https://hooks.slack.com/services/shared",
        slack_route_urls={"critical": "https://hooks.slack.com/services/c", "info": "https://hooks.slack.com/services/i"},
        pagerduty_routing_key=KEY_A,
        email={
            "smtp_server": "smtp.example.com", "smtp_port": None, "smtp_type": "STARTTLS", "username": None,
            "password": None, "email_from": "a@example.com", "email_to": ["b@example.com"], "subject_prefix": "",
        },
        webhook={"url": "https://in.example/h", "secret_header_name": "Authorization", "secret_header_value": None, "signing_secret": None},
    )  # fmt: skip
    assert routes_for(p, severity="critical") == [
        "webhook:ops",
        "pagerduty:ops",
        "slack:ops-critical",
        "email:ops",
    ]
    assert routes_for(p, severity="error") == [
        "webhook:ops",
        "pagerduty:ops",
        "slack:ops-critical",
        "email:ops",
    ]
    assert routes_for(p, severity="warning") == [
        "webhook:ops",
        "slack:ops",
    ]  # no warning webhook: the shared one
    assert routes_for(p, severity="info") == ["webhook:ops", "slack:ops-info"]
    assert routes_for(p, severity="success") == ["webhook:ops", "slack:ops-info"]
    assert routes_for(p, event="daily_report") == ["webhook:ops", "slack:ops-info", "email:ops"]
    routing = default_routing(p)
    assert routing is not None and routing.fallback == "slack:ops" and routing.default == ["slack:ops"]
    assert customised({"config": routing.to_config()}, "ops") is None  # what it writes, it knows as its own
    other = customised({"config": routing.to_config()}, "data")  # another team's: kept
    assert other is not None and "another --name (ops, ops-critical, ops-info)" in other


def test_without_slack_the_fallback_is_another_chat_or_email() -> None:
    p = plan(
        [
            "--name",
            "ops",
            "--pagerduty-routing-key",
            KEY_A,
            "--discord-webhook-url",
            "https://discord.com/api/webhooks/1/t",
        ]
    )
    routing = default_routing(p)
    assert (
        routing is not None and routing.fallback == "discord:ops"
    )  # never PagerDuty: a notice is not a page
    only_pagerduty = default_routing(plan(["--name", "ops", "--pagerduty-routing-key", KEY_A]))
    assert only_pagerduty is not None and only_pagerduty.fallback is None and only_pagerduty.default == []
    assert routes_for(plan(["--name", "ops", "--pagerduty-routing-key", KEY_A]), severity="warning") == []


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({"routes": [{"name": "pages", "destinations": ["console"]}]}, "route 'pages'"),
        ({"routes": [], "defaults": {"cooldown": "5m"}}, "defaults"),
        (
            {"routes": [{"name": "setup-blocks/critical", "destinations": ["console"], "cooldown": "5m"}]},
            "cooldown",
        ),
        ({"slas": [], "routes": []}, "slas"),
    ],
)
def test_a_customised_routing_is_recognised(config: dict, reason: str) -> None:
    found = customised({"config": config})
    assert found is not None and reason in found


def test_routing_flags() -> None:
    base = ["--pagerduty-routing-key", KEY_A]
    assert plan(base).routing_block == "default"
    assert plan([*base, "--no-routing"]).routing_block is None
    assert plan(base, {"PREFECT_ALERTS_ROUTING_BLOCK": "team"}).routing_block == "team"
    with pytest.raises(SetupError, match="--routing-block must be lowercase"):
        plan([*base, "--routing-block", "Team Routing"])


def test_the_cli_subcommand_takes_every_flag_and_hides_values(capsys: pytest.CaptureFixture[str]) -> None:
    from prefect_alerts.cli import main as cli_main

    assert cli_main(["setup-blocks", "--pagerduty-routing-key", "LEAKME" + "x" * 25]) == 2
    err = capsys.readouterr().err
    assert "--pagerduty-routing-key must be exactly 32" in err and "LEAKME" not in err
    with pytest.raises(SystemExit) as exited:
        cli_main(["setup-blocks", "--slack-webhok-url", "https://hooks.slack.com/services/LEAKME"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "prefect-alerts setup-blocks: error" in err and "LEAKME" not in err
    with pytest.raises(SystemExit) as exited:
        cli_main(["setup-blocks", "--help"])
    assert exited.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: prefect-alerts setup-blocks")
    assert all(
        flag in help_text for flag in ("--dry-run", "--check", "--env-file", "--slack-webhook-url-critical")
    )
    with pytest.raises(SystemExit):
        cli_main(["setup-blocks", "--dry-run", "--check"])
    assert "not allowed with argument" in capsys.readouterr().err
