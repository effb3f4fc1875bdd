"""``prefect-alerts status``: the aggregator's heartbeat read from the real test server, the local store."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts.cli import EXIT_FAILED, EXIT_USAGE, main
from prefect_alerts.dispatch import DispatchState
from prefect_alerts.status import HEARTBEAT_EVENT, last_heartbeat, system_status

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DispatchState:
    url = f"sqlite:///{tmp_path}/status.db"
    monkeypatch.setenv("PREFECT_ALERTS_DATABASE_URL", url)
    return DispatchState.default(url)


def _emit_heartbeat(marker: str) -> datetime:
    from prefect.events import emit_event
    from prefect.events.worker import EventsWorker

    emit_event(
        event=HEARTBEAT_EVENT,
        resource={"prefect.resource.id": "prefect-alerts.aggregator"},
        payload={"marker": marker, "swept": 3},
    )
    EventsWorker.drain_all()
    return datetime.now(timezone.utc)


def _wait_for_heartbeat(marker: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        beat = last_heartbeat()
        if beat is not None and beat.payload.get("marker") == marker:
            return
        time.sleep(0.5)
    raise AssertionError(f"the heartbeat {marker} never reached the server")


def test_no_heartbeat_is_a_problem_that_says_how_to_fix_it(state: DispatchState) -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=timezone.utc)  # nothing from this test session is that old
    status = system_status(long_ago, state=state)
    assert status.heartbeat is None and not status.healthy
    text = status.render()
    assert text.startswith("PROBLEM aggregator: no heartbeat in the last 7 days")
    assert "aggregator_flow.serve(" in text


def test_a_fresh_heartbeat_is_healthy_and_a_stale_one_is_not(
    state: DispatchState, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = uuid.uuid4().hex
    _emit_heartbeat(marker)
    _wait_for_heartbeat(marker)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok      aggregator: last heartbeat ")
    assert main(["status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["healthy"] is True and data["heartbeat"]["payload"]["marker"] == marker

    later = datetime.now(timezone.utc) + timedelta(minutes=20)
    stale = system_status(later, state=state)
    assert not stale.healthy
    assert "older than 15m: is its deployment paused" in stale.render()
    assert system_status(later, max_age=timedelta(hours=1), state=state).healthy


def test_dead_letters_make_it_unhealthy(
    state: DispatchState, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect_alerts import Alert, send_alert
    from prefect_alerts.channels import SlackChannel

    marker = uuid.uuid4().hex
    _emit_heartbeat(marker)
    _wait_for_heartbeat(marker)
    # Slack's "this webhook is gone" (404 no_service): the delivery is dead at once.
    httpserver.expect_request("/gone", method="POST").respond_with_data("no_service", status=404)
    send_alert(Alert(title="x"), destinations=[SlackChannel(url=httpserver.url_for("/gone"))], state=state)
    assert state.outbox.counts().get("dead") == 1
    assert main(["status"]) == EXIT_FAILED
    assert "PROBLEM outbox: 1 dead letter; see prefect-alerts outbox --dead" in capsys.readouterr().out


def test_a_bad_max_age_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--max-age", "soon"]) == EXIT_USAGE
    assert "--max-age" in capsys.readouterr().err


ROUTING = """
fallback: console
routes:
  - name: pages
    match: {severity: ">=error", tags: [prod]}
    destinations: [slack:status-ops, console]
default: [console]
"""


def test_status_shows_the_routing_file_its_routes_and_the_store(
    state: DispatchState, tmp_path: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect_slack import SlackWebhook

    SlackWebhook(url=httpserver.url_for("/status-ops")).save("status-ops", overwrite=True)
    routing = tmp_path / "alerts.yaml"
    routing.write_text(ROUTING)
    main(["status", "--routing", str(routing)])
    out = capsys.readouterr().out
    assert f"ok      routing: file {routing.resolve()}\n" in out
    assert "          route pages: severity >=error, tags prod -> slack:status-ops, console\n" in out
    assert "          route default: alerts no route matched -> console\n" in out
    assert "          fallback -> console\n" in out
    assert f"info    store: SQLite file {tmp_path}/status.db ($PREFECT_ALERTS_DATABASE_URL)" in out
    assert "PROBLEM destination" not in out

    main(["status", "--routing", str(routing), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["routing"]["source"] == {"kind": "file", "location": str(routing.resolve()), "detail": None}
    assert data["routing"]["destinations"] == ["slack:status-ops", "console"]
    assert [route["name"] for route in data["routing"]["routes"]] == ["pages", "default"]
    assert data["store"]["path"] == f"{tmp_path}/status.db" and data["store"]["backend"] == "sqlite"
    assert "outbox" in data and "heartbeat" in data


def test_a_destination_without_its_block_is_a_problem(
    state: DispatchState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    routing = tmp_path / "alerts.yaml"
    routing.write_text(ROUTING.replace("status-ops", "status-missing"))
    assert main(["status", "--routing", str(routing)]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "PROBLEM destination routes[0] (pages): slack:status-missing: no saved" in out
    assert main(["status", "--routing", str(tmp_path / "nope.yaml")]) == EXIT_USAGE
    assert "nope.yaml' not found" in capsys.readouterr().err


def test_status_names_a_routing_block_and_says_when_it_is_the_console_only(
    state: DispatchState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect_alerts.routing import AlertRouting, clear_routing_cache

    AlertRouting.model_validate({"default": ["console"]}).save_block("status-test")
    by_block = system_status(state=state, routing="status-test").routing
    assert by_block is not None and str(by_block.source) == "block alert-routing/status-test"

    monkeypatch.delenv("PREFECT_ALERTS_CONFIG", raising=False)
    clear_routing_cache()
    console = system_status(state=state).routing
    assert console is not None and console.source.kind == "console"
    assert "no block alert-routing/default on the Prefect server" in str(console.source)
    assert "warning routing: console only (" in system_status(state=state).render()

    routing = tmp_path / "alerts.yaml"
    routing.write_text(ROUTING)
    monkeypatch.setenv("PREFECT_ALERTS_CONFIG", str(routing))
    by_env = system_status(state=state, check_routing=True).routing
    assert by_env is not None
    assert str(by_env.source) == f"file {routing.resolve()} (from $PREFECT_ALERTS_CONFIG)"


def test_the_store_location_never_shows_a_password() -> None:
    from prefect_alerts.status import store_location

    location = store_location("postgresql+psycopg://ana:s3cret-pw@db.internal:5432/alerts")
    assert location.url == "postgresql+psycopg://ana:***@db.internal:5432/alerts"
    assert location.path is None and "s3cret-pw" not in str(location) + location.model_dump_json()


def test_without_prefect_api_url_it_says_so_and_starts_no_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from prefect_alerts.cli import main

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings({PREFECT_API_URL: None}):
        assert main(["status"]) == 1
    out = capsys.readouterr().out
    assert "(PREFECT_API_URL is not set: point it at the server the aggregator reports to)" in out
    assert "Traceback" not in out
