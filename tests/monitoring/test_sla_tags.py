"""``sla:`` tags parse into the same rules as the routing file's ``slas:``, and a bad one says how to write it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from prefect_alerts.monitoring.sla_tags import rule_from_tag
from prefect_alerts.sla import FrequencySla, LatenessSla, MaxFailuresSla, SuccessRateSla, TimeToCompletionSla


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("sla:time_to_completion=1h", TimeToCompletionSla(deployment="etl/nightly", duration="1h")),
        ("sla:lateness=10m@warning", LatenessSla(deployment="etl/nightly", within="10m", severity="warning")),
        ("sla:frequency=1d", FrequencySla(deployment="etl/nightly", stale_after="1d")),
        ("sla:max_failures=2", MaxFailuresSla(deployment="etl/nightly", max_failures=2)),
        ("sla:max_failures=2/12h", MaxFailuresSla(deployment="etl/nightly", max_failures=2, window="12h")),
        ("sla:success_rate=0.95/7d", SuccessRateSla(deployment="etl/nightly", min_success_rate=0.95)),
    ],
)
def test_each_form_is_the_rule_the_routing_file_would_give(tag: str, expected: object) -> None:
    rule = rule_from_tag(tag, flow_name="etl", deployment_name="nightly")
    assert rule == expected
    assert rule.key == expected.key  # type: ignore[attr-defined]  # the same open violations either way


def test_a_flow_tag_covers_every_run_of_the_flow() -> None:
    rule = rule_from_tag("sla:lateness=5m", flow_name="etl")
    assert rule.flow == ["etl"] and rule.deployment is None and rule.within == timedelta(minutes=5)
    assert rule.covers("etl", "nightly") and rule.covers("etl") and not rule.covers("etl-2")


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("sla:lateness=soon", "write it as sla:lateness=10m"),
        ("sla:success_rate=95/7d", "write 0.95 for 95%"),
        ("sla:uptime=99", "is not one of the forms sla:time_to_completion=1h"),
        ("sla:lateness", "is not one of the forms"),
        ("sla:lateness=10m@loud", "write it as sla:lateness=10m"),
    ],
)
def test_a_bad_tag_names_itself_and_the_form(tag: str, message: str) -> None:
    with pytest.raises(ValueError, match="SLA tag") as caught:
        rule_from_tag(tag, flow_name="etl", deployment_name="nightly")
    assert tag in str(caught.value) and message in str(caught.value)
