"""``setup-blocks`` against the session's Prefect server: a .env file saves the right blocks and a routing that
resolves to them; a second run changes no document; --dry-run saves nothing; a bad routing key exits 2 unseen;
--check reports each destination against real HTTP and SMTP receivers; and the `prefect-alerts` subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts import Alert
from prefect_alerts.routing import AlertRouting
from prefect_alerts.setup import main

pytestmark = pytest.mark.usefixtures("prefect_server")

CHANNEL_SLUGS = (
    "slack-incoming-webhook",
    "email-server-credentials",
    "alert-email-destination",
    "pagerduty-events-v2",
    "discord-webhook",
    "alert-webhook",
)
ROUTING_KEY = "SETUPKEYsetupkey0123456789abcdef"  # 32 letters and digits
SECRETS = ("SETUPKEY", "HOOKSECRET", "MAILSECRET")


def unique(prefix: str = "setup") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def documents(names: list[str], routing_block: str) -> dict[str, Any]:
    """``slug/name`` -> (id, data, updated) of every block saved under those names, and the routing block."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    wanted = [(slug, name) for name in names for slug in CHANNEL_SLUGS] + [("alert-routing", routing_block)]
    found: dict[str, Any] = {}
    with get_client(sync_client=True) as client:
        for slug, name in wanted:
            try:
                document = client.read_block_document_by_name(
                    name, block_type_slug=slug, include_secrets=True
                )
            except ObjectNotFound:
                continue
            found[f"{slug}/{name}"] = (document.id, document.data, document.updated)
    return found


def write_env(path: Path, **values: str) -> Path:
    lines = [
        "# written by the test",
        *(f'export PREFECT_ALERTS_{key}="{value}"' for key, value in values.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), prog="prefect-alerts setup-blocks")
    out = capsys.readouterr()
    for secret in SECRETS:
        assert secret not in out.out + out.err
    return code, out.out, out.err


def test_a_dot_env_saves_the_blocks_and_a_routing_that_resolves_to_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], routing_block: str, smtp_server: Any
) -> None:
    from prefect_slack import SlackWebhook

    from prefect_alerts.blocks import AlertEmailDestination, PagerDutyEventsV2

    name = unique("team")
    write_env(
        tmp_path / ".env",  # the default file: the test runs in tmp_path
        BLOCK_NAME=name,
        SLACK_WEBHOOK_URL="https://hooks.slack.com/services/T0/B0/HOOKSECRETshared",
        SLACK_WEBHOOK_URL_CRITICAL="https://hooks.slack.com/services/T0/B0/HOOKSECRETcritical",
        SMTP_SERVER=smtp_server.host,
        SMTP_PORT=str(smtp_server.port),
        SMTP_TYPE="INSECURE",
        EMAIL_FROM="Alerts <alerts@example.com>",
        EMAIL_TO="oncall@example.com, data@example.com",
        PAGERDUTY_ROUTING_KEY=ROUTING_KEY,
        PAGERDUTY_REGION="eu",
    )
    code, out, err = run(capsys)
    assert code == 0, err
    assert "read 10 setting(s) from .env" in out
    for label in (f"slack-incoming-webhook/{name}", f"slack-incoming-webhook/{name}-critical",
                  f"alert-email-destination/{name}", f"pagerduty-events-v2/{name}", f"alert-routing/{routing_block}"):  # fmt: skip
        assert f"saved {label} (created)" in out
    assert SlackWebhook.load(f"{name}-critical").url.get_secret_value().endswith("HOOKSECRETcritical")
    assert AlertEmailDestination.load(name).email_to == ["oncall@example.com", "data@example.com"]
    assert PagerDutyEventsV2.load(name).region == "eu"

    routing = AlertRouting.from_block(routing_block)  # validates with the routing models
    assert routing.check_destinations() == []  # every destination is a block that exists
    critical = [t.key for t in routing.targets(Alert(title="x", severity="error"))]
    assert critical == [f"pagerduty:{name}", f"slack:{name}-critical", f"email:{name}"]
    assert [t.key for t in routing.targets(Alert(title="x", severity="warning"))] == [f"slack:{name}"]
    assert routing.fallback == f"slack:{name}"


def test_running_twice_changes_no_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], routing_block: str
) -> None:
    name = unique()
    env = write_env(
        tmp_path / "team.env",
        SLACK_WEBHOOK_URL_WARNING="https://hooks.slack.com/services/T0/B0/HOOKSECRETw",
        PAGERDUTY_ROUTING_KEY=ROUTING_KEY,
        DISCORD_WEBHOOK_URL="https://discord.com/api/webhooks/123/HOOKSECRETd",
        WEBHOOK_URL="https://in.example/HOOKSECREThook",
        WEBHOOK_SECRET_VALUE="Bearer HOOKSECRETbearer",
    )
    argv = ("--env-file", str(env), "--name", name)
    assert run(capsys, *argv)[0] == 0
    before = documents([name, f"{name}-warning"], routing_block)
    assert len(before) == 5  # slack NAME-warning, pagerduty, discord, webhook, routing

    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert documents([name, f"{name}-warning"], routing_block) == before  # same ids, data and updated times
    changes = [line for line in out.splitlines() if line.startswith(("saved", "unchanged", "kept"))]
    assert sorted(changes) == sorted(f"unchanged {label}" for label in before)

    # A changed value updates that one block, naming the field, never the value.
    os.environ["PREFECT_ALERTS_WEBHOOK_SECRET_VALUE"] = "Bearer HOOKSECRETnew"
    try:
        code, out, _ = run(capsys, *argv)
    finally:
        del os.environ["PREFECT_ALERTS_WEBHOOK_SECRET_VALUE"]
    assert code == 0
    assert f"saved alert-webhook/{name} (updated: secret_header_value)" in out
    assert out.count("unchanged ") == 4


def test_dry_run_saves_nothing_and_shows_no_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], routing_block: str
) -> None:
    name = unique("dry")
    argv = ["--name", name, "--slack-webhook-url", "https://hooks.slack.com/services/T0/B0/HOOKSECRET1",
            "--pagerduty-routing-key", ROUTING_KEY, "--pagerduty-region", "eu"]  # fmt: skip
    code, out, err = run(capsys, *argv, "--dry-run")
    assert code == 0, err
    assert f"would create slack-incoming-webhook/{name}: url=********" in out
    assert f"would create pagerduty-events-v2/{name}: routing_key=********, region=eu" in out
    assert f"would create alert-routing/{routing_block}" in out and "dry run: nothing was saved" in out
    assert documents([name], routing_block) == {}

    assert run(capsys, *argv)[0] == 0
    saved = documents([name], routing_block)
    code, out, _ = run(capsys, *argv[:-1], "us", "--dry-run")
    assert code == 0
    assert f"would update pagerduty-events-v2/{name} (changes: region)" in out
    assert f"unchanged slack-incoming-webhook/{name}" in out
    assert documents([name], routing_block) == saved


@pytest.mark.parametrize("where", ["flag", "environment", "file"])
def test_a_31_character_routing_key_exits_2_and_is_never_shown(
    where: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    routing_block: str,
) -> None:
    name, key = unique("short"), "SETUPKEY" + "x" * 23
    assert len(key) == 31
    argv = ["--name", name, "--slack-webhook-url", "https://hooks.slack.com/services/T0/B0/fine"]
    if where == "flag":
        argv += ["--pagerduty-routing-key", key]
    elif where == "environment":
        monkeypatch.setenv("PREFECT_ALERTS_PAGERDUTY_ROUTING_KEY", key)
    else:
        write_env(tmp_path / ".env", PAGERDUTY_ROUTING_KEY=key)
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert key not in out + err and "SETUPKEY" not in out + err  # not even a part of it
    assert "--pagerduty-routing-key must be exactly 32 characters" in err and "it has 31" in err
    if where != "flag":
        assert "PREFECT_ALERTS_PAGERDUTY_ROUTING_KEY in " in err
    assert documents([name], routing_block) == {}  # the good Slack URL was not saved either


def test_a_customised_routing_block_is_kept_unless_told(
    capsys: pytest.CaptureFixture[str], routing_block: str
) -> None:
    name = unique("keep")
    mine = AlertRouting.model_validate(
        {"routes": [{"name": "pages", "match": {"severity": ">=error"}, "destinations": ["console"]}]}
    )
    mine.save_block(routing_block)
    argv = ["--name", name, "--slack-webhook-url", "https://hooks.slack.com/services/T0/B0/x"]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert (
        f"kept alert-routing/{routing_block} as it is: its route 'pages' is not one setup-blocks writes"
        in out
    )
    assert "--overwrite-routing" in out
    assert AlertRouting.from_block(routing_block).to_config() == mine.to_config()

    assert run(capsys, *argv, "--no-routing")[0] == 0
    assert AlertRouting.from_block(routing_block).to_config() == mine.to_config()

    code, out, _ = run(capsys, *argv, "--overwrite-routing")
    assert code == 0 and f"saved alert-routing/{routing_block} (updated: config)" in out
    assert AlertRouting.from_block(routing_block).fallback == f"slack:{name}"


def test_check_reports_each_destination(
    httpserver: HTTPServer, smtp_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("check")
    httpserver.expect_request("/services/ok", method="POST").respond_with_data("ok")
    httpserver.expect_request("/services/gone", method="POST").respond_with_data("no_service", status=404)
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    argv = [
        "--name", name, "--slack-webhook-url", httpserver.url_for("/services/ok"),
        "--slack-webhook-url-critical", httpserver.url_for("/services/gone"),
        "--webhook-url", httpserver.url_for("/hook"), "--webhook-secret-value", "Bearer HOOKSECRET",
        "--smtp-server", smtp_server.host, "--smtp-port", str(smtp_server.port), "--smtp-type", "INSECURE",
        "--email-from", "alerts@example.com", "--email-to", "oncall@example.com", "--no-routing",
    ]  # fmt: skip
    code, out, _ = run(capsys, *argv, "--check")
    assert code == 1
    lines = [line.strip() for line in out.splitlines()]
    assert f"slack:{name}: delivered" in lines
    assert any(line.startswith(f"slack:{name}-critical: failed: ") and "404" in line for line in lines), out
    assert f"email:{name}: delivered" in lines and f"webhook:{name}: delivered" in lines
    assert "1 of 4 destination(s) failed the check" in out
    assert smtp_server.received[0].rcpt_tos == ["oncall@example.com"]
    assert "setup-blocks --check" in smtp_server.received[0].message().get_body(("plain",)).get_content()
    webhook_request = next(request for request, _ in httpserver.log if request.path == "/hook")
    assert webhook_request.headers["Authorization"] == "Bearer HOOKSECRET"

    # Alone (no values), --check tries what is saved under the name: the same four.
    code, out, _ = run(capsys, "--name", name, "--check")
    assert code == 1 and "Sending a test alert through 4 destination(s)" in out
    code, _, err = run(capsys, "--name", unique("nothing"), "--check")
    assert code == 2 and "no blocks are saved under" in err


def test_the_prefect_alerts_command_in_a_subprocess(tmp_path: Path, routing_block: str) -> None:
    from prefect.settings import PREFECT_API_URL

    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_ALERTS_")}
    env.update(PREFECT_API_URL=str(PREFECT_API_URL.value()), PREFECT_ALERTS_ROUTING_BLOCK=routing_block)
    name = unique("cli")
    write_env(tmp_path / ".env", BLOCK_NAME=name, PAGERDUTY_ROUTING_KEY=ROUTING_KEY)

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "prefect_alerts.cli", "setup-blocks", *argv],
            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
        )  # fmt: skip
        assert "SETUPKEY" not in done.stdout + done.stderr
        return done

    done = cli()
    assert done.returncode == 0, done.stderr
    assert f"saved pagerduty-events-v2/{name} (created)" in done.stdout
    assert f"Test every destination: prefect-alerts setup-blocks --check --name {name}" in done.stdout

    (tmp_path / ".env").write_text(
        f"PREFECT_ALERTS_BLOCK_NAME={name}\nPREFECT_ALERTS_PAGERDUTY_ROUTING_KEY={ROUTING_KEY[:31]}\n"
    )
    done = cli()
    assert done.returncode == 2 and "it has 31" in done.stderr and ".env line 2" in done.stderr
