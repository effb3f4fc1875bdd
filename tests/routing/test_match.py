"""RouteMatch: severity rules, globs on event, tags, flow and deployment; every key must hold."""

from __future__ import annotations

import pytest

from prefect_alerts import Alert
from prefect_alerts.routing import RouteMatch


def alert(**values: object) -> Alert:
    return Alert(title="x", **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "matching", "not_matching"),
    [
        (">=warning", ["warning", "error", "critical"], ["info", "success"]),
        (">=error", ["error", "critical"], ["warning", "info"]),
        (">= info", ["info", "success", "critical"], []),
        ("error", ["error"], ["critical", "warning"]),
        ("ERROR", ["error"], ["critical"]),
        (["critical", "warning"], ["critical", "warning"], ["error", "info"]),
        (["info", ">=error"], ["info", "error", "critical"], ["success", "warning"]),
    ],
)
def test_severity_at_least_or_exactly(rule: object, matching: list[str], not_matching: list[str]) -> None:
    match = RouteMatch(severity=rule)  # type: ignore[arg-type]
    assert all(match.matches(alert(severity=s)) for s in matching)
    assert not any(match.matches(alert(severity=s)) for s in not_matching)


def test_a_single_severity_string_is_kept_as_written() -> None:
    assert RouteMatch(severity=" >=error ").severity == ">=error"
    assert RouteMatch(severity=["error"]).severity == ["error"]


def test_event_globs_are_case_sensitive_and_anchored() -> None:
    match = RouteMatch(event=["flow_*", "task_failed"])
    assert match.event == ["flow_*", "task_failed"]
    assert match.matches(alert(event="flow_failed")) and match.matches(alert(event="task_failed"))
    assert not match.matches(alert(event="task_failed_twice"))  # anchored at the end
    assert not match.matches(alert(event="my_flow_failed"))  # and at the start
    assert not RouteMatch(event="Flow_*").matches(alert(event="flow_failed"))  # case-sensitive
    assert RouteMatch(event="task_?ailed").matches(alert(event="task_failed"))
    assert RouteMatch(event="check_[ab]").matches(alert(event="check_a"))


def test_tags_need_one_matching_tag() -> None:
    match = RouteMatch(tags=["prod", "team-*"])
    assert match.matches(alert(tags=["etl", "prod"]))
    assert match.matches(alert(tags=["team-data"]))
    assert not match.matches(alert(tags=["production"]))
    assert not match.matches(alert(tags=[]))


def test_flow_glob_needs_a_flow_name() -> None:
    match = RouteMatch(flow="etl-*")
    assert match.flow == ["etl-*"]
    assert match.matches(alert(source={"flow_name": "etl-daily"}))
    assert not match.matches(alert(source={"flow_name": "ml-etl-daily"}))
    assert not match.matches(alert())


@pytest.mark.parametrize(
    ("glob", "flow", "deployment", "expected"),
    [
        ("*/nightly", "etl", "nightly", True),  # tried as etl/nightly
        ("*/nightly", "etl", "etl/nightly", True),
        ("etl/nightly", "etl", "nightly", True),
        ("etl/nightly", "other", "nightly", False),
        ("nightly", "etl", "nightly", True),  # the bare name
        ("nightly", "etl", "etl/nightly", True),  # the bare part of flow/deployment
        ("night*", None, "nightly", True),
        ("*/nightly", None, "nightly", False),  # no flow to build flow/deployment from
        ("*/nightly", "etl", None, False),
        ("hourly", "etl", "nightly", False),
    ],
)
def test_deployment_glob_tries_flow_slash_deployment_and_the_bare_name(
    glob: str, flow: str | None, deployment: str | None, expected: bool
) -> None:
    source = {"flow_name": flow, "deployment_name": deployment}
    assert RouteMatch(deployment=glob).matches(alert(source=source)) is expected


def test_every_key_given_must_match() -> None:
    match = RouteMatch(severity=">=error", event="flow_*", tags="prod", flow="etl-*", deployment="*/nightly")
    good = {
        "severity": "error",
        "event": "flow_failed",
        "tags": ["prod"],
        "source": {"flow_name": "etl-a", "deployment_name": "nightly"},
    }
    assert match.matches(alert(**good))
    for key, bad in [
        ("severity", "warning"),
        ("event", "task_failed"),
        ("tags", ["dev"]),
        ("source", {"flow_name": "ml", "deployment_name": "nightly"}),
        ("source", {"flow_name": "etl-a", "deployment_name": "hourly"}),
    ]:
        assert not match.matches(alert(**{**good, key: bad})), key


def test_an_empty_match_matches_everything() -> None:
    match = RouteMatch()
    assert match.is_empty() and match.describe() == "every alert"
    assert match.matches(alert()) and match.matches(alert(severity="critical", tags=["x"]))


def test_describe_and_equality() -> None:
    match = RouteMatch(severity=">=error", event=["flow_*", "task_failed"], tags="prod")
    assert match.describe() == "severity >=error, event flow_*|task_failed, tags prod"
    assert match == RouteMatch.model_validate(
        {"severity": ">=error", "event": ["flow_*", "task_failed"], "tags": ["prod"]}
    )
    assert match != RouteMatch(severity=">=error")
