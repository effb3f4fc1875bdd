"""Routing files: YAML and JSON, ${ENV_VAR} substitution, and the errors for unreadable files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prefect_alerts.routing import AlertRouting, RoutingError
from tests.routing.conftest import write


def test_variables_are_substituted_before_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONCALL", "pagerduty:oncall")
    monkeypatch.setenv("COOLDOWN", "90s")
    path = write(
        tmp_path,
        "alerts.yaml",
        "routes:\n  - destinations: [${ONCALL}, ${ ONCALL }]\n    cooldown: ${COOLDOWN}\n"
        "    mentions: ['costs $$5', '$HOME stays']\n",
    )
    [route] = AlertRouting.from_file(path).routes
    assert route.destinations == ["pagerduty:oncall"]
    assert route.cooldown.total_seconds() == 90
    assert route.mentions == ["costs $5", "$HOME stays"]  # $$ is a literal $; a bare $NAME is left alone


def test_json_files_substitute_variables_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEST", "email:team")
    path = write(tmp_path, "alerts.json", json.dumps({"default": ["${DEST}"], "fallback": "slack:costs-$$5"}))
    routing = AlertRouting.from_file(path)
    assert routing.default == ["email:team"] and routing.fallback == "slack:costs-$5"


def test_every_missing_variable_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "alerts.yaml", "fallback: ${NOT_SET_A}\ndefault: [console]\n# ${NOT_SET_B}\n")
    with pytest.raises(RoutingError) as raised:
        AlertRouting.from_file(path)
    message = str(raised.value)
    assert "environment variables NOT_SET_A (line 1), NOT_SET_B (line 3) are not set" in message
    assert str(path) in message and "export NOT_SET_A=" in message


def test_a_reference_that_is_not_a_variable_name(tmp_path: Path) -> None:
    path = write(tmp_path, "alerts.yaml", "default: ['${1BAD}']\n")
    with pytest.raises(
        RoutingError, match=r"'\$\{1BAD\}' on line 1 is not a variable reference; write \$\{NAME\}"
    ):
        AlertRouting.from_file(path)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("alerts.yaml", "routes:\n  - name: x\n   destinations: [console]\n", "is not valid YAML"),
        ("alerts.yaml", "default: [console]\ndefault: [slack:x]\n", "the key 'default' is given twice"),
        (
            "alerts.yaml",
            "routes:\n  - {destinations: [console], cooldown: 1h, cooldown: 2h}\n",
            "the key 'cooldown' is given twice",
        ),
        ("alerts.yaml", "", "is empty; write at least `default: [console]`"),
        ("alerts.yaml", "# only a comment\n", "is empty"),
        (
            "alerts.yaml",
            "- console\n",
            "must hold a mapping (keys such as defaults, routes, default), not a list",
        ),
        ("alerts.json", '{"default": ["console"],}', "is not valid JSON"),
        ("alerts.yaml", "rotues: []\n", "unknown key 'rotues' at the top level"),
    ],
)
def test_file_errors(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(RoutingError) as raised:
        AlertRouting.from_file(path)
    assert expected in str(raised.value)
    assert str(path) in str(raised.value)


def test_yaml_errors_say_where(tmp_path: Path) -> None:
    path = write(
        tmp_path, "alerts.yaml", "default: [console]\nroutes:\n  - name: x\n   destinations: [console]\n"
    )
    with pytest.raises(RoutingError, match=r"at line 4, column \d+"):
        AlertRouting.from_file(path)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RoutingError, match=r"routing file '.*nope.yaml' not found; check the path"):
        AlertRouting.from_file(tmp_path / "nope.yaml")


def test_yaml_off_means_never_and_numbers_are_seconds(tmp_path: Path) -> None:
    path = write(tmp_path, "alerts.yaml", "defaults: {repeat_interval: off, cooldown: 600, budget: 0.5}\n")
    defaults = AlertRouting.from_file(path).defaults
    assert defaults.repeat_interval is None
    assert defaults.cooldown.total_seconds() == 600 and defaults.budget.total_seconds() == 0.5
