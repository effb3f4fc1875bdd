"""Routing in a saved block, on a real Prefect server: save and load, the resolution order, the block TTL,
bare block names as destinations, check_destinations, team blocks, and use inside a running event loop."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite

from prefect_alerts import Alert
from prefect_alerts.blocks import AlertRoutingBlock
from prefect_alerts.routing import AlertRouting, RoutingError, clear_routing_cache, resolve_routing
from tests.routing.conftest import write

pytestmark = pytest.mark.usefixtures("prefect_server")


def unique(prefix: str) -> str:
    return f"rt-{prefix}-{uuid.uuid4().hex[:8]}"


def _delete(slug: str, name: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            document = client.read_block_document_by_name(name, block_type_slug=slug)
        except ObjectNotFound:
            return
        client.delete_block_document(document.id)


@pytest.fixture
def routing_blocks() -> Iterator[Callable[[str], str]]:
    """Names of alert-routing blocks to delete after the test (``default`` always is)."""
    names = ["default"]
    _delete("alert-routing", "default")
    yield lambda name: names.append(name) or name  # type: ignore[func-returns-value]
    for name in names:
        _delete("alert-routing", name)
    clear_routing_cache()


@pytest.fixture(scope="module")
def channel_blocks() -> Iterator[dict[str, str]]:
    """Saved channel blocks: one name used by one block type, one by both Slack types."""
    from prefect.blocks.notifications import SlackWebhook as CoreSlack
    from prefect_slack import SlackWebhook as PrefectSlack

    from prefect_alerts.blocks import PagerDutyEventsV2

    names = {"slack": unique("slack"), "pagerduty": unique("pd"), "both": unique("both")}
    CoreSlack(url="https://hooks.slack.com/services/T1/B1/x").save(names["slack"], overwrite=True)
    PagerDutyEventsV2(routing_key="R" * 32).save(names["pagerduty"], overwrite=True)
    CoreSlack(url="https://hooks.slack.com/services/T2/B2/x").save(names["both"], overwrite=True)
    PrefectSlack(url="https://hooks.slack.com/services/T3/B3/x").save(names["both"], overwrite=True)
    yield names
    _delete("slack-webhook", names["slack"])
    _delete("pagerduty-events-v2", names["pagerduty"])
    _delete("slack-webhook", names["both"])
    _delete("slack-incoming-webhook", names["both"])


def test_save_block_and_from_block_give_equal_objects(
    issue_file: Path, routing_blocks: Callable[[str], str]
) -> None:
    name = routing_blocks(unique("issue"))
    routing = AlertRouting.from_file(issue_file)
    routing.save_block(name)
    loaded = AlertRouting.from_block(name)
    assert loaded == routing
    assert resolve_routing(name) == routing == resolve_routing(f"alert-routing/{name}")
    assert loaded.routes[1].destinations == ["email:data-team"]  # stored substituted
    alert = Alert(
        title="x",
        severity="error",
        event="flow_failed",
        tags=["prod"],
        source={"flow_name": "etl-a", "deployment_name": "nightly"},
    )
    assert loaded.targets(alert) == routing.targets(alert)
    assert AlertRoutingBlock.load(name).config == routing.to_config()


def test_every_setting_survives_the_block(routing_blocks: Callable[[str], str]) -> None:
    name = routing_blocks(unique("everything"))
    routing = AlertRouting.model_validate(
        {
            "defaults": {
                "cooldown": "90s",
                "repeat_interval": "never",
                "send_resolved": False,
                "budget": "1.5s",
                "max_attempts": 3,
                "max_age": "2d",
            },
            "fallback": "console",
            "routes": [
                {
                    "match": {"severity": ["critical", "warning"], "tags": ["a", "b*"], "deployment": "x/*"},
                    "destinations": ["webhook:w", "discord:d"],
                    "repeat_interval": "never",
                    "send_resolved": True,
                },
                {
                    "name": "later",
                    "destinations": ["slack:slack-incoming-webhook/team"],
                    "repeat_interval": "2h",
                    "mentions": "<!here>",
                    "continue": True,
                },
            ],
            "default": [],
            "teams": [
                {
                    "name": "data",
                    "match": {"flow": "dq-*"},
                    "routes": [{"destinations": ["email:dq"]}],
                    "default": ["slack:dq"],
                }
            ],
        }
    )
    routing.save_block(name)
    loaded = AlertRouting.from_block(name)
    assert loaded == routing
    assert loaded.defaults.repeat_interval is None and loaded.routes[0].repeat_never
    assert not loaded.routes[1].repeat_never and loaded.default == []
    assert loaded.describe() == routing.describe()


def test_a_missing_block_says_how_to_create_it() -> None:
    name = unique("missing")
    with pytest.raises(RoutingError) as raised:
        AlertRouting.from_block(name)
    message = str(raised.value)
    assert f"no block named {name!r} of type 'alert-routing'" in message
    assert f"AlertRouting.from_file('alerts.yaml').save_block('{name}')" in message
    assert "prefect-alerts config push alerts.yaml" in message
    with pytest.raises(RoutingError, match="no block named"):
        resolve_routing(name)


def test_an_invalid_saved_config_names_the_block_and_field(routing_blocks: Callable[[str], str]) -> None:
    name = routing_blocks(unique("invalid"))
    AlertRoutingBlock(config={"routes": [{"destinations": ["console"], "cooldown": "later"}]}).save(
        name, overwrite=True
    )
    with pytest.raises(
        RoutingError, match=rf"\(block alert-routing/{name}\): routes\[0\]\.cooldown: 'later'"
    ):
        AlertRouting.from_block(name)


def test_resolution_order_block_then_console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, routing_blocks: Callable[[str], str]
) -> None:
    # Nothing configured: the console only.
    assert resolve_routing(None) == AlertRouting(default=["console"])
    clear_routing_cache()
    AlertRouting(default=["slack:from-block"]).save_block()  # alert-routing/default
    assert resolve_routing(None).default == ["slack:from-block"]
    assert AlertRouting.load() == AlertRouting.from_block() == resolve_routing(None)
    # The file named by the variable comes before the block.
    monkeypatch.setenv(
        "PREFECT_ALERTS_CONFIG", str(write(tmp_path, "alerts.yaml", "default: [slack:from-file]\n"))
    )
    assert resolve_routing(None).default == ["slack:from-file"]


def test_a_block_is_read_again_after_the_ttl(
    monkeypatch: pytest.MonkeyPatch, routing_blocks: Callable[[str], str]
) -> None:
    name = routing_blocks(unique("ttl"))
    AlertRouting(default=["slack:first"]).save_block(name)
    monkeypatch.setenv("PREFECT_ALERTS_ROUTING_TTL", "3600")
    first = resolve_routing(name)
    assert first.default == ["slack:first"]
    # Changed behind this process's back (another worker ran `config push`): the cached copy stands until the TTL.
    AlertRoutingBlock(config={"default": ["slack:second"]}).save(name, overwrite=True)
    assert resolve_routing(name) is first
    monkeypatch.setenv("PREFECT_ALERTS_ROUTING_TTL", "0")
    second = resolve_routing(name)
    assert second.default == ["slack:second"]
    assert resolve_routing(name) is second  # unchanged: the same object, not validated again
    # save_block in this process forgets the cached copy at once.
    monkeypatch.setenv("PREFECT_ALERTS_ROUTING_TTL", "3600")
    AlertRouting(default=["slack:third"]).save_block(name)
    assert resolve_routing(name).default == ["slack:third"]


def test_an_unreachable_server_keeps_the_copy_read_earlier(
    monkeypatch: pytest.MonkeyPatch, routing_blocks: Callable[[str], str], free_tcp_port: int
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    name = routing_blocks(unique("down"))
    AlertRouting(default=["slack:kept"]).save_block(name)
    kept = resolve_routing(name)
    monkeypatch.setenv("PREFECT_ALERTS_ROUTING_TTL", "0")
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{free_tcp_port}/api"}):
        assert resolve_routing(name) is kept
        with pytest.raises(RoutingError, match="could not read the routing block alert-routing/never-read"):
            resolve_routing("never-read")


def test_bare_names_become_full_references(channel_blocks: dict[str, str]) -> None:
    routing = AlertRouting.model_validate(
        {
            "routes": [{"destinations": [channel_blocks["slack"], channel_blocks["pagerduty"]]}],
            "fallback": channel_blocks["slack"],
        }
    )
    assert routing.routes[0].destinations == [
        f"slack:slack-webhook/{channel_blocks['slack']}",
        f"pagerduty:{channel_blocks['pagerduty']}",
    ]
    assert routing.fallback == f"slack:slack-webhook/{channel_blocks['slack']}"


def test_an_ambiguous_bare_name_lists_the_candidates(channel_blocks: dict[str, str]) -> None:
    both = channel_blocks["both"]
    with pytest.raises(RoutingError) as raised:
        AlertRouting.model_validate({"default": [both]})
    message = str(raised.value)
    assert f"destination {both!r} is ambiguous" in message
    assert f"slack:slack-incoming-webhook/{both}" in message and f"slack:slack-webhook/{both}" in message


def test_a_bare_name_no_block_has_names_the_setup_command() -> None:
    name = unique("nothing")
    with pytest.raises(RoutingError) as raised:
        AlertRouting.model_validate({"routes": [{"name": "r", "destinations": [name]}]})
    message = str(raised.value)
    assert f"routes[0].destinations: destination {name!r} has no kind and no saved block" in message
    assert f"prefect-alerts setup-blocks --name {name}" in message and f"'kind:{name}'" in message


def test_check_destinations_reports_missing_blocks(channel_blocks: dict[str, str]) -> None:
    slack, pagerduty = channel_blocks["slack"], channel_blocks["pagerduty"]
    routing = AlertRouting.model_validate(
        {
            "fallback": f"slack:{slack}",
            "routes": [
                {
                    "name": "pages",
                    "destinations": [f"pagerduty:{pagerduty}", "pagerduty:rt-absent", "console"],
                }
            ],
            "default": [f"slack:slack-incoming-webhook/{slack}"],  # that name exists only as slack-webhook
        }
    )
    problems = routing.check_destinations()
    assert len(problems) == 2, problems
    assert problems[0].startswith(
        "routes[0] (pages): pagerduty:rt-absent: no saved pagerduty-events-v2 block named 'rt-absent'"
    )
    assert "prefect-alerts setup-blocks --name rt-absent --pagerduty-routing-key KEY" in problems[0]
    assert problems[1].startswith(
        f"default: slack:slack-incoming-webhook/{slack}: no saved slack-incoming-webhook block"
    )
    assert AlertRouting(default=[f"slack:{slack}", "console"]).check_destinations() == []


def test_team_routes_from_a_block(routing_blocks: Callable[[str], str]) -> None:
    team_block = routing_blocks(unique("team"))
    AlertRouting(
        routes=[{"match": {"severity": "critical"}, "destinations": ["pagerduty:data"]}], default=[]
    ).save_block(team_block)
    routing = AlertRouting.model_validate(
        {
            "default": ["slack:ops"],
            "teams": [{"name": "data", "match": {"tags": "team-data"}, "block": team_block}],
        }
    )
    alert = Alert(title="x", severity="critical", tags=["team-data"])
    assert [(t.key, t.route) for t in routing.targets(alert)] == [("pagerduty:data", "data/routes[0]")]
    with pytest.raises(RoutingError, match=r"teams\[0\]: no block named 'rt-no-team'"):
        AlertRouting.model_validate({"teams": [{"name": "t", "match": {"tags": "x"}, "block": "rt-no-team"}]})


def test_blocks_and_bare_names_work_inside_a_running_event_loop(
    channel_blocks: dict[str, str], routing_blocks: Callable[[str], str]
) -> None:
    """What a sync hook on an async flow does: plain sync calls while the loop runs."""
    name = routing_blocks(unique("loop"))
    AlertRouting(default=["slack:in-loop"]).save_block(name)

    async def in_loop() -> tuple[AlertRouting, AlertRouting]:
        clear_routing_cache()
        return resolve_routing(name), AlertRouting.model_validate({"default": [channel_blocks["pagerduty"]]})

    by_name, bare = asyncio.run(in_loop())
    assert by_name.default == ["slack:in-loop"]
    assert bare.default == [f"pagerduty:{channel_blocks['pagerduty']}"]


def test_a_fresh_process_with_no_file_or_variable_reads_the_default_block(
    routing_blocks: Callable[[str], str],
) -> None:
    from prefect.settings import PREFECT_API_URL

    AlertRouting(routes=[{"name": "shared", "destinations": ["slack:shared"]}], default=[]).save_block()
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_ALERTS_CONFIG"}
    env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    code = (
        "from prefect_alerts import Alert\n"
        "from prefect_alerts.routing import resolve_routing\n"
        "print([(t.key, t.route) for t in resolve_routing(None).targets(Alert(title='x'))])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[('slack:shared', 'shared')]"


class TestAlertRoutingBlockConventions(BlockStandardTestSuite):
    @pytest.fixture
    def block(self) -> type[Block]:  # type: ignore[override]
        return AlertRoutingBlock

    def test_has_a_valid_image(self, block: type[Block]) -> None:  # type: ignore[override]
        pytest.skip("logos are fetched from the internet, which this suite does not reach")
