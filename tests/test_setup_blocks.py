"""blocks/setup_blocks.py checks every value before saving anything, never shows a secret, and creates blocks
the channels (and `prefect-alerts send -c kind:NAME`) then load."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts.blocks import AlertEmailDestination, AlertWebhook, PagerDutyEventsV2
from prefect_alerts.cli import main as cli_main

_SCRIPT = Path(__file__).resolve().parents[1] / "blocks" / "setup_blocks.py"
_spec = importlib.util.spec_from_file_location("setup_blocks", _SCRIPT)
assert _spec and _spec.loader
setup_blocks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(setup_blocks)

SLUGS = (
    "slack-incoming-webhook",
    "slack-webhook",
    "email-server-credentials",
    "alert-email-destination",
    "pagerduty-events-v2",
    "discord-webhook",
    "alert-webhook",
)
ROUTING_KEY = "R0123456789abcdefABCDEF012345678"  # 32 letters and digits, the Events API v2 shape
SECRET_KEY = "SECRETTOKSECRETTOKSECRETTOK12345"  # also 32
EVERY_SECRET = ("XYZSECRET", "SECRETTOK")


def unique_name(prefix: str = "setup") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(autouse=True)
def _no_setup_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The script reads PREFECT_ALERTS_* as defaults; a developer's own must not leak into these tests.
    for key in list(os.environ):
        if key.startswith("PREFECT_ALERTS_"):
            monkeypatch.delenv(key)
    # The routing block goes under a name of its own: alert-routing/default on the session's server would
    # route every other test's alerts.
    monkeypatch.setenv("PREFECT_ALERTS_ROUTING_BLOCK", unique_name("routing"))
    monkeypatch.chdir(tmp_path)  # no ./.env of the developer's


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog at DEBUG for every logger, including the ones that do not propagate (prefect._internal...)."""
    manager = logging.root.manager
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in list(manager.loggerDict))]
    loggers += [
        logging.getLogger(name) for name in ("apprise", "prefect", "httpx", "urllib3", "prefect_alerts")
    ]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if not logger.propagate:
            logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        for logger, level, disabled in saved:
            logger.setLevel(level)
            logger.disabled = disabled
            if caplog.handler in logger.handlers:
                logger.removeHandler(caplog.handler)


def saved_blocks(name: str) -> list[str]:
    """``slug/name`` of every block saved under ``name``, read from the server."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    found = []
    with get_client(sync_client=True) as client:
        for slug in SLUGS:
            try:
                client.read_block_document_by_name(name, block_type_slug=slug)
            except ObjectNotFound:
                continue
            found.append(f"{slug}/{name}")
    return found


def script_env() -> dict[str, str]:
    """The environment for running the script as a subprocess against the session's test server."""
    from prefect.settings import PREFECT_API_URL

    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_ALERTS_")}
    env["PREFECT_ALERTS_ROUTING_BLOCK"] = os.environ["PREFECT_ALERTS_ROUTING_BLOCK"]  # never default
    env.update(PREFECT_API_URL=str(PREFECT_API_URL.value()), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.update(PREFECT_LOGGING_LEVEL="DEBUG", PREFECT_LOGGING_ROOT_LEVEL="DEBUG")
    return env


# Runs the script the way a user does, with every logger of the process printing DEBUG lines to stderr.
_WITH_DEBUG_LOGS = (
    "import logging, runpy, sys; logging.basicConfig(level=logging.DEBUG); "
    "sys.argv = [sys.argv[1], *sys.argv[2:]]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def run_script(*argv: str, debug_logs: bool = False) -> subprocess.CompletedProcess[str]:
    command = (
        [sys.executable, "-c", _WITH_DEBUG_LOGS, str(_SCRIPT)]
        if debug_logs
        else [sys.executable, str(_SCRIPT)]
    )
    return subprocess.run(
        [*command, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=script_env(),
        cwd=_SCRIPT.parents[1],
    )


# ----------------------------------------------------------------------------------------------- saving


@pytest.mark.usefixtures("prefect_server")
def test_creates_every_block_and_prints_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    from prefect.blocks.notifications import DiscordWebhook
    from prefect_email import EmailServerCredentials
    from prefect_slack import SlackWebhook as SlackIncomingWebhook

    name = unique_name("team")
    code = setup_blocks.main(
        [
            "--name", name,
            "--slack-webhook-url", "https://hooks.slack.com/services/T0/B0/setupSECRET1",
            "--smtp-server", "smtp.example.com", "--smtp-username", "alerts@example.com",
            "--smtp-password", "setupSECRET2", "--email-from", "Alerts <alerts@example.com>",
            "--email-to", "a@example.com", "--email-to", "b@example.com, c@example.com",
            "--pagerduty-routing-key", "setupSECRET3setupSECRET3setupSEC", "--pagerduty-region", "eu",
            "--discord-webhook-url", "https://discord.com/api/webhooks/123/setupSECRET4",
            "--webhook-url", "https://in.example/hook", "--webhook-secret-value", "Bearer setupSECRET5",
        ]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "setupSECRET" not in out.out + out.err
    assert SlackIncomingWebhook.load(name).url.get_secret_value().endswith("setupSECRET1")
    assert EmailServerCredentials.load(name).password.get_secret_value() == "setupSECRET2"
    destination = AlertEmailDestination.load(name)
    assert destination.email_to == ["a@example.com", "b@example.com", "c@example.com"]
    assert destination.email_from == "Alerts <alerts@example.com>"
    assert PagerDutyEventsV2.load(name).region == "eu"
    assert DiscordWebhook.load(name).webhook_id.get_secret_value() == "123"
    assert AlertWebhook.load(name).secret_header_value.get_secret_value() == "Bearer setupSECRET5"
    # prefect-slack's block, not Prefect's apprise-based core one.
    assert sorted(saved_blocks(name)) == sorted(f"{slug}/{name}" for slug in SLUGS if slug != "slack-webhook")
    assert f"saved slack-incoming-webhook/{name}" in out.out


@pytest.mark.usefixtures("prefect_server")
def test_one_bad_value_saves_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    name = unique_name()
    code = setup_blocks.main(
        [
            "--name", name,
            "--pagerduty-routing-key", ROUTING_KEY,  # fine on its own
            "--webhook-url", "https://in.example/hook",  # fine on its own
            "--slack-webhook-url", "not-a-url-XYZSECRET",
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "nothing was saved" in err and "--slack-webhook-url" in err
    assert saved_blocks(name) == []


@pytest.mark.usefixtures("prefect_server")
def test_running_again_updates_the_blocks(httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    from prefect_slack import SlackWebhook as SlackIncomingWebhook

    name = unique_name()
    for path in ("/services/old", "/services/new"):
        assert setup_blocks.main(["--name", name, "--slack-webhook-url", httpserver.url_for(path)]) == 0
    capsys.readouterr()
    assert SlackIncomingWebhook.load(name).url.get_secret_value().endswith("/services/new")


# ------------------------------------------------------------------------------------ end to end via send


@pytest.mark.usefixtures("prefect_server")
def test_slack_setup_then_cli_send_reaches_the_receiver(
    httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect.blocks.notifications import SlackWebhook as CoreSlackWebhook

    name = unique_name("slack")
    # A stale core block under the same name (an older set-up) must not shadow the one the script saves.
    CoreSlackWebhook(url=httpserver.url_for("/services/stale")).save(name, overwrite=True)
    assert (
        setup_blocks.main(["--name", name, "--slack-webhook-url", httpserver.url_for("/services/T0/B0/e2e")])
        == 0
    )
    suggestion = capsys.readouterr().out.splitlines()[-1]
    assert suggestion.endswith(f"-c slack:{name}")

    httpserver.expect_oneshot_request("/services/T0/B0/e2e", method="POST").respond_with_data("ok")
    title = f"setup works {name}"
    assert cli_main(["send", title, "-s", "error", "-c", f"slack:{name}", "--json"]) == 0
    outcome = json.loads(capsys.readouterr().out)[0]
    assert outcome["status"] == "delivered" and outcome["channel"] == f"slack:{name}"
    httpserver.check_assertions()
    body = json.loads(httpserver.log[-1][0].get_data(as_text=True))
    assert title in body["text"]


@pytest.mark.usefixtures("prefect_server")
def test_email_setup_then_cli_send_reaches_the_smtp_server(
    smtp_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique_name("mail")
    code = setup_blocks.main(
        [
            "--name", name, "--smtp-server", smtp_server.host, "--smtp-port", str(smtp_server.port),
            "--smtp-type", "INSECURE", "--email-from", "alerts@example.com", "--email-to", "oncall@example.com",
        ]
    )  # fmt: skip
    suggestion = capsys.readouterr().out.splitlines()[-1]
    assert code == 0
    assert suggestion.endswith(f"-c email:{name}") and "slack:" not in suggestion
    assert cli_main(["send", f"mail works {name}", "-c", f"email:{name}"]) == 0
    assert smtp_server.received[0].rcpt_tos == ["oncall@example.com"]


# ------------------------------------------------------------------------------------ the suggested command


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize(
    ("flags", "kinds"),
    [
        (["--pagerduty-routing-key", ROUTING_KEY], ["pagerduty"]),
        (["--webhook-url", "https://in.example/hook"], ["webhook"]),
        (
            [
                "--pagerduty-routing-key",
                ROUTING_KEY,
                "--slack-webhook-url",
                "https://hooks.slack.com/services/a",
            ],
            ["slack", "pagerduty"],
        ),
    ],
)
def test_the_suggested_command_names_what_was_created(
    capsys: pytest.CaptureFixture[str], flags: list[str], kinds: list[str]
) -> None:
    name = unique_name()
    assert setup_blocks.main(["--name", name, *flags]) == 0
    lines = capsys.readouterr().out.splitlines()
    command = next(line for line in lines if "prefect-alerts send" in line).partition(": ")[2]
    words = shlex.split(command)
    assert words[:2] == ["prefect-alerts", "send"]
    assert [words[i + 1] for i, word in enumerate(words) if word == "-c"] == [
        f"{kind}:{name}" for kind in kinds
    ]
    # The command is one the CLI takes, and every block it names exists (a dry run loads each reference).
    assert cli_main([*words[1:], "--dry-run"]) == 0
    assert ("PagerDuty test opens a real incident" in "\n".join(lines)) == ("pagerduty" in kinds)


def test_suggest_test_command_repeats_c_per_channel() -> None:
    assert setup_blocks.suggest_test_command(["email", "discord"], "ops") == (
        "prefect-alerts send 'prefect-alerts is set up' -c email:ops -c discord:ops"
    )


# ------------------------------------------------------------------------------------------------ refusals

BAD_VALUES = [
    (["--slack-webhook-url", "not-a-url-XYZSECRET"], "--slack-webhook-url", "https://"),
    (["--slack-webhook-url", "http://hooks.example.com/XYZSECRET"], "--slack-webhook-url", "localhost"),
    (["--slack-webhook-url", "https://XYZSECRET.example.com"], "--slack-webhook-url", "no path"),
    (["--slack-webhook-url", "https:///services/XYZSECRET"], "--slack-webhook-url", "no host"),
    (["--slack-webhook-url", "https://h.example:99x/XYZSECRET"], "--slack-webhook-url", "port"),
    (["--slack-webhook-url", "https://h.example/XYZSECRET\n"], "--slack-webhook-url", "line breaks"),
    (["--discord-webhook-url", "https://discord.com/channels/XYZSECRET"], "--discord-webhook-url", "ID/TOKEN"),
    (["--discord-webhook-url", "https://discord.com/api/webhooks/ab/XYZSECRET"], "--discord-webhook-url", "digits"),
    (["--webhook-url", "ftp://in.example/XYZSECRET"], "--webhook-url", "https://"),
    (["--pagerduty-routing-key", "abc-def-XYZSECRET"], "--pagerduty-routing-key", "letters and digits"),
    (["--pagerduty-routing-key", "XYZSECRET0123456789"], "--pagerduty-routing-key", "exactly 32"),
    (["--pagerduty-routing-key", "XYZSECRET0123456789 "], "--pagerduty-routing-key", "spaces"),
    (["--pagerduty-routing-key", "XYZSECRET" + "x" * 60, "--allow-nonstandard-key"], "--pagerduty-routing-key", "8-64"),
    (["--pagerduty-routing-key", ROUTING_KEY, "--name", "Bad Name"], "--name", "lowercase"),
    (["--smtp-server", "smtp.example.com", "--email-from", "alerts@example.com"], "--email-to", "as well"),
    (
        ["--smtp-server", "smtp.example.com", "--email-from", "nobody", "--email-to", "a@example.com"],
        "--email-from",
        "alerts@example.com",
    ),
    (
        ["--smtp-server", "smtp.example.com", "--email-from", "a@example.com", "--email-to", "a@example.com,x@y"],
        "--email-to",
        "2nd address",
    ),
    (
        ["--smtp-server", "smtp://smtp.example.com", "--email-from", "a@example.com", "--email-to", "b@example.com"],
        "--smtp-server",
        "host name only",
    ),
    (
        ["--smtp-server", "smtp.example.com:587", "--email-from", "a@example.com", "--email-to", "b@example.com"],
        "--smtp-server",
        "--smtp-port",
    ),
    *(
        (
            ["--smtp-server", "s.example.com", "--smtp-port", port, "--email-from", "a@example.com", "--email-to", "b@example.com"],
            "--smtp-port",
            "1 to 65535",
        )
        for port in ("abc", "0", "70000", "-1")
    ),
    (
        ["--smtp-server", "s.example.com", "--smtp-password", "XYZSECRET", "--email-from", "a@example.com", "--email-to", "b@example.com"],
        "--smtp-password",
        "--smtp-username",
    ),
    (
        ["--smtp-server", "s.example.com", "--smtp-username", "u", "--email-from", "a@example.com", "--email-to", "b@example.com"],
        "--smtp-username",
        "PREFECT_ALERTS_SMTP_PASSWORD",
    ),
    (["--webhook-secret-value", "Bearer XYZSECRET"], "--webhook-secret-value", "--webhook-url"),
    (
        ["--webhook-url", "https://in.example/h", "--webhook-secret-header", "X Api"],
        "--webhook-secret-header",
        "header name",
    ),
    (
        ["--webhook-url", "https://in.example/h", "--webhook-secret-value", "Bearer XYZSECRET\r\nX-Evil: 1"],
        "--webhook-secret-value",
        "one line",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "flag", "shape"), BAD_VALUES)
def test_bad_values_exit_2_naming_the_flag_never_the_value(
    capsys: pytest.CaptureFixture[str], argv: list[str], flag: str, shape: str
) -> None:
    assert setup_blocks.main(argv) == 2
    err = capsys.readouterr().err
    assert flag in err and shape in err, err
    assert "XYZSECRET" not in err
    for value in argv:
        if (
            not value.startswith("-")
            and len(value) > 3
            and value not in ("smtp.example.com", "s.example.com")
        ):
            assert value not in err, f"{value!r} was echoed"


def test_every_problem_is_reported_in_one_run(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--slack-webhook-url", "nope-XYZSECRET", "--pagerduty-routing-key", "short", "--webhook-url", "x"]
    assert setup_blocks.main(argv) == 2
    err = capsys.readouterr().err
    assert all(flag in err for flag in ("--slack-webhook-url", "--pagerduty-routing-key", "--webhook-url"))


def test_values_from_the_environment_are_checked_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # argparse checks `choices` only for flags; a PREFECT_ALERTS_* default goes around it.
    monkeypatch.setenv("PREFECT_ALERTS_PAGERDUTY_REGION", "mars")
    monkeypatch.setenv("PREFECT_ALERTS_PAGERDUTY_ROUTING_KEY", ROUTING_KEY)
    assert setup_blocks.main([]) == 2
    assert "--pagerduty-region must be one of: us, eu" in capsys.readouterr().err


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080/hook",
        "http://127.0.0.1:1/services/SECRETTOK",
        "http://[::1]:9000/x",
        "https://hooks.slack.com/services/T0/B0/abc",
    ],
)
def test_https_and_local_http_urls_are_accepted(url: str) -> None:
    plan = setup_blocks.plan_from_args(setup_blocks.build_parser().parse_args(["--slack-webhook-url", url]))
    assert plan.kinds() == ["slack"]
    assert "SECRETTOK" not in repr(plan) + str(plan)  # the plan holds secrets as SecretStr


def test_a_nonstandard_routing_key_needs_the_flag() -> None:
    parse = setup_blocks.build_parser().parse_args
    key = "A1b2C3d4E5f6G7h8i9J0"  # 20 characters
    with pytest.raises(setup_blocks.SetupError, match="exactly 32"):
        setup_blocks.plan_from_args(parse(["--pagerduty-routing-key", key]))
    plan = setup_blocks.plan_from_args(parse(["--pagerduty-routing-key", key, "--allow-nonstandard-key"]))
    assert plan.pagerduty_routing_key is not None and plan.pagerduty_routing_key.get_secret_value() == key


def test_nothing_to_save_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert setup_blocks.main([]) == 2
    assert "Nothing to save" in capsys.readouterr().err


def test_a_mistyped_flag_does_not_echo_its_value(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["--slack-webhok-url", "https://hooks.slack.com/services/XYZSECRET"],
        ["--slack-webhok-url=https://hooks.slack.com/services/XYZSECRET"],
        ["--allow-nonstandard-key=XYZSECRET"],
        ["--smtp-type", "XYZSECRET"],
    ):
        with pytest.raises(SystemExit) as exited:
            setup_blocks.main(argv)
        err = capsys.readouterr().err
        assert exited.value.code == 2
        assert "XYZSECRET" not in err and "<value hidden>" in err, err
    assert "--slack-webhok-url" in setup_blocks.hide_values("unrecognized arguments: --slack-webhok-url", [])


def test_help_says_http_is_for_localhost_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        setup_blocks.main(["--help"])
    assert "http:// is accepted only for localhost, 127.0.0.1 and ::1" in " ".join(
        capsys.readouterr().out.split()
    )


# ----------------------------------------------------------------------------------- no secret in any log

ACCEPTED = [
    "--slack-webhook-url", "http://127.0.0.1:1/services/SECRETTOK",
    "--discord-webhook-url", "http://127.0.0.1:1/api/webhooks/123/SECRETTOKd",
    "--webhook-url", "http://127.0.0.1:1/hook/SECRETTOK", "--webhook-secret-value", "Bearer SECRETTOK",
    "--pagerduty-routing-key", SECRET_KEY,
    "--smtp-server", "smtp.example.com", "--smtp-username", "u", "--smtp-password", "SECRETTOKpw",
    "--email-from", "a@example.com", "--email-to", "b@example.com",
]  # fmt: skip
REJECTED = [
    "--slack-webhook-url", "not-a-url-XYZSECRET",
    "--discord-webhook-url", "http://example.com/api/webhooks/1/XYZSECRET",
    "--pagerduty-routing-key", "XYZSECRET-short",
]  # fmt: skip


def apprise_saw_the_url(text: str) -> bool:
    # Newer apprise logs the whole URL ("Unsupported URL: not-a-url-XYZSECRET"); older ones mask its middle
    # ("http://n...T"). Either way the capture must have seen apprise's line about that URL.
    return "XYZSECRET" in text or re.search(r"Unsupported URL: \S*\.\.\.T\b", text) is not None


def test_the_log_capture_sees_apprise_leaking_a_url(every_log: pytest.LogCaptureFixture) -> None:
    # The control: the capture below would catch the leak the core SlackWebhook block makes.
    from prefect.blocks.notifications import SlackWebhook as CoreSlackWebhook

    CoreSlackWebhook(url="not-a-url-XYZSECRET")
    assert apprise_saw_the_url(every_log.text)


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("argv", [ACCEPTED, REJECTED], ids=["accepted", "rejected"])
def test_no_secret_in_output_or_any_log_in_process(
    every_log: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    name = unique_name("leak")
    code = setup_blocks.main(["--name", name, *argv])
    out = capsys.readouterr()
    assert code == (0 if argv is ACCEPTED else 2), out.err
    everything = out.out + out.err + every_log.text
    everything += "".join(str(record.args) + str(record.exc_info) for record in every_log.records)
    for secret in EVERY_SECRET:
        assert secret not in everything
    assert len(saved_blocks(name)) == (6 if argv is ACCEPTED else 0)


def test_the_subprocess_capture_sees_apprise_leaking_a_url() -> None:
    # The control for the subprocess runs: the same DEBUG set-up shows apprise's leak.
    snippet = "from prefect.blocks.notifications import SlackWebhook; SlackWebhook(url='not-a-url-XYZSECRET')"
    done = subprocess.run(
        [sys.executable, "-c", f"import logging; logging.basicConfig(level=logging.DEBUG); {snippet}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert apprise_saw_the_url(done.stderr)


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("debug_logs", [False, True], ids=["as-a-user-runs-it", "every-logger-at-debug"])
@pytest.mark.parametrize("argv", [ACCEPTED, REJECTED], ids=["accepted", "rejected"])
def test_no_secret_in_output_as_a_subprocess(argv: list[str], debug_logs: bool) -> None:
    name = unique_name("leak")
    done = run_script("--name", name, *argv, debug_logs=debug_logs)
    assert done.returncode == (0 if argv is ACCEPTED else 2), done.stderr
    for secret in EVERY_SECRET:
        assert secret not in done.stdout + done.stderr
    if debug_logs and argv is ACCEPTED:
        assert "DEBUG" in done.stderr  # the logs were on, so their silence about the secret means something
    if argv is ACCEPTED:
        assert f"saved slack-incoming-webhook/{name}" in done.stdout
