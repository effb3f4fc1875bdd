"""The CLI over the pipeline: routing, dry runs, the outbox, silences and config checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts.cli import EXIT_DELIVERED, EXIT_FAILED, EXIT_RETRY, EXIT_USAGE, main

ROUTING = """
defaults: {cooldown: 30m}
routes:
  - name: pages
    match: {severity: ">=error"}
    destinations: [console]
default: [console]
"""


@pytest.fixture(autouse=True)
def fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_ALERTS_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.delenv("PREFECT_ALERTS_CONFIG", raising=False)


def test_send_with_a_routing_file_then_the_repeat_is_suppressed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    routing = tmp_path / "alerts.yaml"
    routing.write_text(ROUTING)
    argv = ["send", "Disk full", "-s", "error", "--routing", str(routing)]
    assert main(argv) == EXIT_DELIVERED
    assert "console: delivered" in capsys.readouterr().out
    assert main([*argv, "--json"]) == EXIT_DELIVERED
    printed = json.loads(capsys.readouterr().out)
    assert printed[0]["status"] == "suppressed" and printed[0]["reason"].startswith("cooldown until")
    assert printed[0]["route"] == "pages"


def test_dry_run_explains_and_sends_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    routing = tmp_path / "alerts.yaml"
    routing.write_text(ROUTING)
    assert main(["send", "Disk full", "-s", "critical", "--routing", str(routing), "--dry-run"]) == 0
    out = capsys.readouterr()
    assert "-> console (route 'pages'; cooldown 30m, repeat 4h" in out.out
    assert "dry run: nothing was sent" in out.out
    assert "Disk full" not in out.err  # the console channel did not print it


def test_bad_severity_names_the_allowed_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["send", "x", "-s", "fatal"]) == EXIT_USAGE
    assert "info, success, warning, error, critical" in capsys.readouterr().err


def test_bad_routing_file_is_a_usage_error_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    routing = tmp_path / "bad.yaml"
    routing.write_text("routes:\n  - destinations: [console]\n    cooldown: 30 minutes\n")
    assert main(["send", "x", "--routing", str(routing)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "routes[0].cooldown" in err and "30 minutes" in err
    assert main(["config", "check", str(routing)]) == EXIT_USAGE


def test_config_check_prints_the_routes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    routing = tmp_path / "alerts.yaml"
    routing.write_text(ROUTING)
    assert main(["config", "check", str(routing)]) == 0
    out = capsys.readouterr().out
    assert "1. pages: severity >=error\n       -> console\n       cooldown 30m, repeat 4h" in out
    assert out.rstrip().endswith("config OK")


def test_queued_then_flushed_and_listed(httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    from prefect_alerts import Alert, send_alert
    from prefect_alerts.channels import SlackChannel

    httpserver.expect_ordered_request("/hook").respond_with_data("busy", status=503)
    send_alert(
        Alert(title="Queued one", severity="error"),
        destinations=[SlackChannel(url=httpserver.url_for("/hook"))],
        budget=0.1,
    )
    assert main(["outbox", "--pending"]) == 0
    out = capsys.readouterr().out
    assert "1 pending" in out and "Queued one" in out and "Slack is unavailable: 503" in out
    assert main(["flush"]) == 0  # not due yet: backoff of about 30 s
    assert "0 delivered" in capsys.readouterr().out
    assert EXIT_RETRY != EXIT_FAILED  # the exit codes stay distinct


def test_silence_add_list_expire(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["silence", "add", "--match", "flow=etl-*", "--match", "severity=>=warning", "--duration", "2h"]
    assert main([*argv, "--author", "ana", "--comment", "db migration"]) == 0
    added = capsys.readouterr().out
    assert added.startswith("added s-1: silenced by s-1 until")
    assert main(["silence", "list"]) == 0
    listed = capsys.readouterr().out
    assert "s-1" in listed and "flow=etl-*" in listed and "ana: db migration" in listed
    assert main(["send", "x", "-s", "error"]) in (EXIT_DELIVERED,)
    capsys.readouterr()
    assert main(["silence", "expire", "s-1"]) == 0
    assert main(["silence", "list"]) == 0
    assert "no active silences" in capsys.readouterr().out
    assert (
        main(["silence", "add", "--match", "team=x", "--duration", "1h", "--author", "a", "--comment", "c"])
        == EXIT_USAGE
    )
    assert "unknown silence matcher 'team'" in capsys.readouterr().err
