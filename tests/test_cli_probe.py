"""``prefect-alerts test --route/--destination``: a labelled test alert through the real pipeline to real
local receivers (pytest-httpserver), with the exit codes of ``send``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts.cli import EXIT_DELIVERED, EXIT_FAILED, EXIT_RETRY, EXIT_USAGE, main
from tests.receivers import received_dict

pytestmark = pytest.mark.usefixtures("prefect_server")

SLACK_OK = "/services/T0PROBE/B0PROBE/ok"
SLACK_GONE = "/services/T0PROBE/B0PROBE/gone"
PAGERDUTY = "/v2/enqueue"
ROUTING_KEY = "probe0routing0key0not0real000000"

ROUTING = """
defaults: {cooldown: 1h}
routes:
  - name: pages
    match: {severity: ">=error"}
    destinations: [pagerduty:probe-pd, slack:probe-ok]
    mentions: ["<!here>"]
  - name: broken
    match: {event: "never"}
    destinations: [slack:probe-ok, slack:probe-gone]
default: [console]
"""


@pytest.fixture
def routing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer) -> Path:
    from prefect_slack import SlackWebhook

    from prefect_alerts.blocks import PagerDutyEventsV2
    from prefect_alerts.dispatch.destinations import clear_channel_cache

    monkeypatch.setenv("PREFECT_ALERTS_DATABASE_URL", f"sqlite:///{tmp_path}/probe.db")
    monkeypatch.delenv("PREFECT_ALERTS_CONFIG", raising=False)
    SlackWebhook(url=httpserver.url_for(SLACK_OK)).save("probe-ok", overwrite=True)
    SlackWebhook(url=httpserver.url_for(SLACK_GONE)).save("probe-gone", overwrite=True)
    PagerDutyEventsV2(routing_key=ROUTING_KEY, events_url=httpserver.url_for(PAGERDUTY)).save(
        "probe-pd", overwrite=True
    )
    clear_channel_cache()
    path = tmp_path / "alerts.yaml"
    path.write_text(ROUTING)
    return path


def _bodies(server: HTTPServer, path: str) -> list[dict]:
    return [received_dict(server, i) for i, (request, _) in enumerate(server.log) if request.path == path]


def test_a_route_test_reaches_every_destination_twice_and_closes_the_pagerduty_incident(
    routing_file: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    httpserver.expect_request(SLACK_OK, method="POST").respond_with_data("ok")
    httpserver.expect_request(PAGERDUTY, method="POST").respond_with_json({"status": "success"}, status=202)
    argv = ["test", "--route", "pages", "--routing", str(routing_file)]
    assert main(argv) == EXIT_DELIVERED
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "sent 'prefect-alerts test: route pages'",
        "pagerduty:probe-pd: delivered; the test incident was resolved",
        "slack:probe-ok: delivered",
    ]
    # A second run right away is not held back by the route's 1h cooldown: a fresh dedup key each time.
    assert main(argv) == EXIT_DELIVERED
    capsys.readouterr()

    slack = _bodies(httpserver, SLACK_OK)
    assert len(slack) == 2
    assert all("[INFO] prefect-alerts test: route pages: This is a test" in body["text"] for body in slack)
    assert all("<!here>" not in json.dumps(body) for body in slack)  # a test pings nobody
    events = _bodies(httpserver, PAGERDUTY)
    assert [event["event_action"] for event in events] == ["trigger", "resolve", "trigger", "resolve"]
    assert events[0]["dedup_key"] == events[1]["dedup_key"] != events[2]["dedup_key"]
    assert "prefect-alerts test: route pages" in events[0]["payload"]["summary"]
    assert ROUTING_KEY not in "\n".join(out)


def test_a_dead_destination_fails_the_test_and_says_why(
    routing_file: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    httpserver.expect_request(SLACK_OK, method="POST").respond_with_data("ok")
    httpserver.expect_request(SLACK_GONE, method="POST").respond_with_data("no_service", status=404)
    assert main(["test", "--route", "broken", "--routing", str(routing_file), "--json"]) == EXIT_FAILED
    printed = json.loads(capsys.readouterr().out)
    assert printed["title"] == "prefect-alerts test: route broken"
    outcomes = {item["destination"]: item for item in printed["outcomes"]}
    assert outcomes["slack:probe-ok"]["status"] == "delivered"
    assert outcomes["slack:probe-gone"]["status"] == "dead"
    assert "404" in outcomes["slack:probe-gone"]["reason"]
    assert SLACK_GONE not in json.dumps(printed)  # the webhook URL is the secret


def test_one_destination_and_a_queued_one(
    routing_file: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    httpserver.expect_oneshot_request(SLACK_OK, method="POST").respond_with_data("ok")
    assert main(["test", "--destination", "slack:probe-ok"]) == EXIT_DELIVERED
    assert capsys.readouterr().out.splitlines() == [
        "sent 'prefect-alerts test: destination slack:probe-ok'",
        "slack:probe-ok: delivered",
    ]
    httpserver.expect_request(SLACK_OK, method="POST").respond_with_data("busy", status=503)
    assert main(["test", "--destination", "slack:probe-ok"]) == EXIT_RETRY
    assert "slack:probe-ok: queued" in capsys.readouterr().out


def test_a_silence_that_holds_it_back_is_said(
    routing_file: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["silence", "add", "--match", "event=*", "--duration", "1h", "--author", "ana",
                 "--comment", "migration"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["test", "--destination", "slack:probe-ok"]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "slack:probe-ok: suppressed (silenced by s-" in out
    assert "(ana: migration)): NOT tested; a silence holds back every matching alert" in out
    assert not _bodies(httpserver, SLACK_OK)


def test_usage_errors_name_the_fix(routing_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "--route", "oncall", "--routing", str(routing_file)]) == EXIT_USAGE
    assert "no route named 'oncall'; the routes are: 'pages', 'broken', 'default'" in capsys.readouterr().err
    assert main(["test", "--destination", "slack:no-such-block"]) == EXIT_USAGE
    assert "no-such-block" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: exactly one of --route / --destination
        main(["test", "--route", "pages", "--destination", "console"])
    assert main(["test", "--route", "pages", "--routing", "missing.yaml"]) == EXIT_USAGE
    assert "routing file 'missing.yaml' not found" in capsys.readouterr().err
