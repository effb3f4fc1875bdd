"""A storm of real failing flows: 50 flows with ``with_alerts`` fail within a minute."""

from __future__ import annotations

import pytest
from prefect import flow
from pytest_httpserver import HTTPServer

from prefect_alerts.channels import SlackChannel
from prefect_alerts.dispatch import DispatchState
from prefect_alerts.dispatch.storm_summary import STORM_EVENT
from prefect_alerts.hooks import with_alerts
from tests.hooks.helpers import slack_posts, slack_text

pytestmark = pytest.mark.usefixtures("prefect_server")

FLOWS = 50
THRESHOLD = 10  # the default


def _failing_flow(index: int):  # type: ignore[no-untyped-def]
    def body() -> None:
        raise ConnectionError(f"warehouse refused the connection (flow {index})")

    return flow(name=f"storm-etl-{index:02d}", retries=0)(body)


def test_fifty_failing_flows_reach_slack_as_ten_alerts_and_one_storm_summary(
    httpserver: HTTPServer, fresh_store: str
) -> None:
    httpserver.expect_request("/storm", method="POST").respond_with_data("ok")
    slack = SlackChannel(url=httpserver.url_for("/storm"))
    for index in range(FLOWS):
        with_alerts(_failing_flow(index), destinations=[slack])(return_state=True)
    posts = [slack_text(post) for post in slack_posts(httpserver)]
    storm = [text for text in posts if "Alert storm" in text]
    individual = [text for text in posts if "Alert storm" not in text]
    assert len(individual) == THRESHOLD, [text[:120] for text in individual]
    assert len(storm) == 1, len(storm)
    assert "11 alerts" in storm[0] and "storm-etl-00" in storm[0]
    assert "warehouse refused the connection (flow 0) (11 alerts like it)" in storm[0]
    state = DispatchState.default(fresh_store)
    history = [row for row in state.history.recent(limit=200) if row.event != STORM_EVENT]
    assert len(history) == FLOWS
    assert {row.flow_name for row in history} == {f"storm-etl-{i:02d}" for i in range(FLOWS)}
    statuses = sorted(row.outcomes[0]["status"] for row in history)
    assert statuses == ["delivered"] * THRESHOLD + ["folded"] * (FLOWS - THRESHOLD)
