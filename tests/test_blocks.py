"""Our blocks: Prefect's block conventions, save and load on a real server, secrets masked, clear errors."""

from __future__ import annotations

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import ValidationError

from prefect_alerts.blocks import (
    AlertEmailDestination,
    AlertWebhook,
    BlockNotFoundError,
    PagerDutyEventsV2,
    load_block,
)

OUR_BLOCKS = [AlertEmailDestination, PagerDutyEventsV2, AlertWebhook]


@pytest.mark.parametrize("block", OUR_BLOCKS)
class TestBlockConventions(BlockStandardTestSuite):
    """Prefect's own block test suite (description, docs URL, field descriptions, code example)."""

    @pytest.fixture
    def block(self, request: pytest.FixtureRequest) -> type[Block]:  # type: ignore[override]
        return request.node.callspec.params["block"]

    def test_has_a_valid_image(self, block: type[Block]) -> None:  # type: ignore[override]
        pytest.skip("logos are fetched from the internet, which this suite does not reach")


def test_slugs_are_the_documented_ones() -> None:
    assert [cls.get_block_type_slug() for cls in OUR_BLOCKS] == [
        "alert-email-destination",
        "pagerduty-events-v2",
        "alert-webhook",
    ]


def test_entry_point_registers_the_blocks_module() -> None:
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group="prefect.collections")}
    assert found.get("prefect_alerts") == "prefect_alerts.blocks"


@pytest.mark.usefixtures("prefect_server")
def test_each_block_saves_and_loads_with_secrets_masked() -> None:
    AlertEmailDestination(
        credentials_block="smtp", email_from="alerts@example.com", email_to=["oncall@example.com"]
    ).save("team-email", overwrite=True)
    PagerDutyEventsV2(routing_key="R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12", region="eu").save("pd", overwrite=True)
    AlertWebhook(url="https://hooks.example/in/TOKEN123456", secret_header_value="Bearer s3cr3t-value").save(
        "hook", overwrite=True
    )

    email = AlertEmailDestination.load("team-email")
    assert email.email_to == ["oncall@example.com"] and email.subject_prefix == "[prefect-alerts]"
    pagerduty = PagerDutyEventsV2.load("pd")
    assert pagerduty.routing_key.get_secret_value() == "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12"
    assert pagerduty.region == "eu"
    webhook = AlertWebhook.load("hook")
    assert webhook.url.get_secret_value() == "https://hooks.example/in/TOKEN123456"
    shown = repr(pagerduty) + str(pagerduty) + repr(webhook) + str(webhook)
    assert "R0UT1NGKEY" not in shown and "TOKEN123456" not in shown and "s3cr3t-value" not in shown
    # Loading through the base class by slug works too (what `prefect block inspect` does).
    assert isinstance(Block.load("pagerduty-events-v2/pd"), PagerDutyEventsV2)


@pytest.mark.usefixtures("prefect_server")
def test_load_block_of_a_missing_name_names_type_name_and_fix() -> None:
    with pytest.raises(BlockNotFoundError) as info:
        load_block(
            "nope", [PagerDutyEventsV2], how_to_create="`PagerDutyEventsV2(routing_key=...).save('{name}')`"
        )
    message = str(info.value)
    assert "'nope'" in message and "'pagerduty-events-v2'" in message
    assert "PagerDutyEventsV2(routing_key=...).save('nope')" in message
    assert "prefect-alerts setup-blocks" in message


def test_load_block_rejects_a_slug_of_the_wrong_type() -> None:
    with pytest.raises(ValueError, match="expected one of: pagerduty-events-v2"):
        load_block("slack-webhook/ops", [PagerDutyEventsV2], how_to_create="")


def test_email_destination_validates_the_sender() -> None:
    with pytest.raises(ValidationError, match="one email address"):
        AlertEmailDestination(credentials_block="smtp", email_from="alerts\r\nBcc: x@y", email_to=["a@b.c"])
    with pytest.raises(ValidationError):
        AlertEmailDestination(credentials_block="smtp", email_from="a@b.c", email_to=[])
    with pytest.raises(ValidationError, match="one per list item"):
        AlertEmailDestination(credentials_block="smtp", email_from="a@b.c", email_to=["a@b.c, c@d.e"])
    with pytest.raises(ValidationError, match="one email address"):
        AlertEmailDestination(
            credentials_block="smtp", email_from="a@b.c", email_to=["a@b.c"], cc=["x\nBcc: y@z"]
        )
