"""Every config error: it is a RoutingError that names the field (or key) and says how to fix it."""

from __future__ import annotations

import pytest

from prefect_alerts.routing import AlertRouting, RoutingError

CASES: list[tuple[dict[str, object], list[str]]] = [
    (
        {"rotues": []},
        [
            "unknown key 'rotues' at the top level",
            "did you mean 'routes'?",
            "allowed keys: defaults, fallback, routes, default, teams",
        ],
    ),
    (
        {"routes": [{"destination": ["console"]}]},
        [
            "unknown key 'destination' in routes[0]",
            "did you mean 'destinations'?",
            "continue",
            "routes[0]: 'destinations' is required",
        ],
    ),
    (
        {"routes": [{"match": {"tag": "x"}, "destinations": ["console"]}]},
        [
            "unknown key 'tag' in routes[0].match",
            "did you mean 'tags'?",
            "allowed keys: severity, event, tags, flow, deployment",
        ],
    ),
    (
        {"defaults": {"cooldwn": "1h"}},
        ["unknown key 'cooldwn' in defaults", "did you mean 'cooldown'?", "max_attempts"],
    ),
    (
        {"routes": [{"destinations": ["console"], "cooldown": "30 minutes"}]},
        ["routes[0].cooldown: '30 minutes' is not a duration; write 90s, 30m, 1h, 1d"],
    ),
    (
        {"routes": [{"destinations": ["console"], "cooldown": "-5m"}]},
        ["routes[0].cooldown: '-5m' is not a duration"],
    ),
    (
        {"routes": [{"destinations": ["console"], "repeat_interval": "often"}]},
        ["routes[0].repeat_interval: 'often' is not a duration"],
    ),
    (
        {
            "routes": [
                {"destinations": ["console"]},
                {"match": {"severity": "urgent"}, "destinations": ["console"]},
            ]
        },
        [
            "routes[1].match.severity: 'urgent' is not a severity; write one of info, success, warning, error, critical",
            "'>=warning'",
        ],
    ),
    (
        {"routes": [{"match": {"severity": [">=error", "=>warning"]}, "destinations": ["console"]}]},
        ["routes[0].match.severity: '=>warning' is not a severity"],
    ),
    (
        {"routes": [{"match": {"severity": 3}, "destinations": ["console"]}]},
        ["routes[0].match.severity: expected a severity rule"],
    ),
    (
        {"routes": [{"match": {"tags": []}, "destinations": ["console"]}]},
        ["routes[0].match.tags: an empty list matches nothing; leave the key out"],
    ),
    (
        {"routes": [{"match": {"flow": [""]}, "destinations": ["console"]}]},
        ["routes[0].match.flow: each item must be a non-empty glob"],
    ),
    (
        {"routes": [{"match": {"event": {"a": 1}}, "destinations": ["console"]}]},
        ["routes[0].match.event: expected a glob or a list of globs"],
    ),
    (
        {"routes": [{"match": "prod", "destinations": ["console"]}]},
        ["routes[0].match: expected a mapping with keys severity, event, tags, flow, deployment"],
    ),
    (
        {"routes": [{"destinations": ["sms:x"]}]},
        [
            "routes[0].destinations: unknown channel kind 'sms'",
            "use one of: slack, email, pagerduty, discord, webhook, console",
        ],
    ),
    (
        {"routes": [{"destinations": ["console", "slack:"]}]},
        ["routes[0].destinations: item 1: 'slack:' names no block; write 'slack:BLOCK_NAME'"],
    ),
    (
        {"routes": [{"destinations": ["slack:foo/bar"]}]},
        [
            "'foo' is not a block type slack loads",
            "'slack:slack-webhook/NAME'",
            "'slack:slack-incoming-webhook/NAME'",
        ],
    ),
    (
        {"routes": [{"destinations": ["email:slack-webhook/x"]}]},
        ["'slack-webhook' is not a block type email loads"],
    ),
    ({"routes": [{"destinations": []}]}, ["routes[0].destinations: needs at least one destination"]),
    ({"routes": [{"name": "x"}]}, ["routes[0]: 'destinations' is required: a list of references"]),
    ({"routes": [{"destinations": 3}]}, ["routes[0].destinations: expected a list of destinations"]),
    ({"routes": [{"destinations": [""]}]}, ["routes[0].destinations: a destination is empty"]),
    (
        {"routes": [{"destinations": [7]}]},
        ["routes[0].destinations: a destination is a reference such as 'slack:oncall'"],
    ),
    (
        {"routes": [{"name": "", "destinations": ["console"]}]},
        ["routes[0].name: a route name is non-empty text"],
    ),
    (
        {"routes": [{"destinations": ["console"], "mentions": [""]}]},
        ["routes[0].mentions: each mention is one line of text"],
    ),
    (
        {"routes": [{"destinations": ["console"], "mentions": "a\nb"}]},
        ["routes[0].mentions: each mention is one line of text"],
    ),
    (
        {"routes": [{"destinations": ["console"], "continue": "perhaps"}]},
        ["routes[0].continue: 'perhaps' is not true or false"],
    ),
    (
        {"routes": [{"destinations": ["console"], "send_resolved": "maybe"}]},
        ["routes[0].send_resolved: 'maybe' is not true or false"],
    ),
    ({"routes": {"name": "x"}}, ["routes: expected a list"]),
    (
        {"defaults": {"send_resolved": "maybe"}},
        ["defaults.send_resolved: 'maybe' is not true or false; write true or false"],
    ),
    ({"defaults": {"max_attempts": 0}}, ["defaults.max_attempts: 0 is too small"]),
    ({"defaults": {"max_attempts": "many"}}, ["defaults.max_attempts: 'many' is not a whole number"]),
    ({"defaults": {"max_age": 0}}, ["defaults.max_age: max_age must be longer than 0s"]),
    ({"defaults": {"budget": "fast"}}, ["defaults.budget: 'fast' is not a duration"]),
    (
        {"defaults": {"repeat_interval": "sometimes"}},
        ["defaults.repeat_interval: 'sometimes' is not a duration"],
    ),
    ({"defaults": "1h"}, ["defaults: expected a mapping with keys cooldown, repeat_interval"]),
    ({"fallback": ["console", "slack:x"]}, ["fallback: fallback is one destination"]),
    ({"fallback": "bogus:x"}, ["fallback: unknown channel kind 'bogus'"]),
    ({"default": "sms:x"}, ["default: unknown channel kind 'sms'"]),
    ({"default": {"a": 1}}, ["default: expected a list of destinations"]),
]


@pytest.mark.parametrize(("config", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_config_errors_name_the_field_and_the_fix(config: dict[str, object], expected: list[str]) -> None:
    with pytest.raises(RoutingError) as raised:
        AlertRouting.model_validate(config)
    message = str(raised.value)
    assert message.startswith("invalid routing config (AlertRouting.model_validate): ")
    for part in expected:
        assert part in message, (part, message)


def test_several_problems_are_listed_together() -> None:
    with pytest.raises(RoutingError) as raised:
        AlertRouting.model_validate({"defaults": {"cooldown": "x", "budget": "y"}})
    message = str(raised.value)
    assert "2 problems" in message
    assert "\n  - defaults.cooldown: 'x'" in message and "\n  - defaults.budget: 'y'" in message


def test_a_url_as_a_destination_is_refused_without_showing_its_secret() -> None:
    url = "https://hooks.slack.com/services/T000/B000/Zq9SECRETsecret"
    with pytest.raises(RoutingError) as raised:
        AlertRouting.model_validate({"routes": [{"destinations": [url]}]})
    message = str(raised.value)
    assert "Zq9SECRETsecret" not in message and "T000" not in message
    assert "https://hooks.slack.com/..." in message
    assert "prefect-alerts setup-blocks" in message and "'slack:NAME'" in message


def test_a_config_that_is_not_a_mapping() -> None:
    with pytest.raises(
        RoutingError, match="a routing config is a mapping with keys defaults, fallback, routes"
    ):
        AlertRouting.model_validate([{"default": ["console"]}])


def test_a_channel_object_cannot_be_saved_as_config() -> None:
    from prefect_alerts.channels import ConsoleChannel

    with pytest.raises(RoutingError) as raised:
        AlertRouting(default=[ConsoleChannel()]).to_config()
    assert "default[0]: the Channel object 'console:console' cannot be saved" in str(raised.value)
    assert "use a reference to a saved block" in str(raised.value)


def test_routing_errors_are_value_errors() -> None:
    assert issubclass(RoutingError, ValueError)
