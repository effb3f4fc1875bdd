"""The team override layer: a team's routes (inline or from its own file) are tried first for its alerts."""

from __future__ import annotations

from pathlib import Path

import pytest

from prefect_alerts import Alert
from prefect_alerts.routing import AlertRouting, RoutingError
from tests.routing.conftest import write

GLOBAL = {
    "routes": [{"name": "pages", "match": {"severity": ">=error"}, "destinations": ["pagerduty:oncall"]}],
    "default": ["slack:ops"],
}


def routes_of(routing: AlertRouting, alert: Alert) -> list[tuple[str, str]]:
    return [(target.key, target.route) for target in routing.targets(alert)]


def data_alert(**values: object) -> Alert:
    return Alert(title="x", tags=["team-data"], **values)  # type: ignore[arg-type]


def test_a_team_route_is_tried_first_and_settles_the_alert() -> None:
    routing = AlertRouting.model_validate(
        {
            **GLOBAL,
            "teams": [
                {
                    "name": "data",
                    "match": {"tags": ["team-data"]},
                    "routes": [{"match": {"severity": ">=error"}, "destinations": ["slack:data-oncall"]}],
                }
            ],
        }
    )
    assert routes_of(routing, data_alert(severity="error")) == [("slack:data-oncall", "data/routes[0]")]
    # None of the team's routes match and it has no default: the global routes and default apply.
    assert routes_of(routing, data_alert(severity="info")) == [("slack:ops", "default")]
    # Alerts the team does not select never see its routes.
    assert routes_of(routing, Alert(title="x", severity="error")) == [("pagerduty:oncall", "pages")]


def test_a_team_default_applies_when_none_of_its_routes_match() -> None:
    routing = AlertRouting.model_validate(
        {
            **GLOBAL,
            "teams": [
                {
                    "name": "data",
                    "match": {"flow": "dq-*"},
                    "routes": [
                        {
                            "name": "dq-pages",
                            "match": {"severity": "critical"},
                            "destinations": ["pagerduty:data"],
                        }
                    ],
                    "default": ["email:data-team"],
                }
            ],
        }
    )
    dq = {"source": {"flow_name": "dq-orders"}}
    assert routes_of(routing, Alert(title="x", severity="critical", **dq)) == [("pagerduty:data", "dq-pages")]
    assert routes_of(routing, Alert(title="x", severity="error", **dq)) == [
        ("email:data-team", "data/default")
    ]


def test_a_team_route_with_continue_lets_the_global_routes_add_theirs() -> None:
    routing = AlertRouting.model_validate(
        {
            **GLOBAL,
            "teams": [
                {
                    "name": "data",
                    "match": {"tags": "team-data"},
                    "routes": [{"destinations": ["slack:data"], "continue": True}],
                }
            ],
        }
    )
    assert routes_of(routing, data_alert(severity="error")) == [
        ("slack:data", "data/routes[0]"),
        ("pagerduty:oncall", "pages"),
    ]
    # The team matched, so the global default is not added when no global route matches.
    assert routes_of(routing, data_alert(severity="info")) == [("slack:data", "data/routes[0]")]


def test_two_selected_teams_each_get_their_say() -> None:
    routing = AlertRouting.model_validate(
        {
            **GLOBAL,
            "teams": [
                {"name": "data", "match": {"tags": "team-data"}, "default": ["slack:data"]},
                {"name": "ml", "match": {"tags": "team-ml"}, "routes": [{"destinations": ["slack:ml"]}]},
            ],
        }
    )
    both = Alert(title="x", severity="error", tags=["team-data", "team-ml"])
    assert routes_of(routing, both) == [("slack:data", "data/default"), ("slack:ml", "ml/routes[0]")]


def test_team_routes_from_their_own_file_relative_to_the_main_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_PAGER", "pagerduty:data")
    write(
        tmp_path / "teams",
        "data.yaml",
        "routes:\n  - match: {severity: critical}\n    destinations: ['${DATA_PAGER}']\n    cooldown: 5m\n"
        "default: [email:data-team]\n",
    )
    main = write(
        tmp_path,
        "alerts.yaml",
        "default: [slack:ops]\nteams:\n  - name: data\n    match: {tags: [team-data]}\n    file: teams/data.yaml\n",
    )
    monkeypatch.chdir("/")  # relative to the file, not the working directory
    routing = AlertRouting.from_file(main)
    assert routing.teams[0].file == str((tmp_path / "teams" / "data.yaml").resolve())
    [page] = routing.targets(data_alert(severity="critical"))
    assert (page.key, page.route, page.cooldown.total_seconds()) == ("pagerduty:data", "data/routes[0]", 300)
    assert routes_of(routing, data_alert()) == [("email:data-team", "data/default")]
    assert "data: tags team-data (routes from" in routing.describe()
    # The team's own default wins over its file's.
    own = AlertRouting.model_validate(
        {
            "teams": [
                {
                    "name": "data",
                    "match": {"tags": "team-data"},
                    "file": str(tmp_path / "teams/data.yaml"),
                    "default": ["slack:d"],
                }
            ]
        }
    )
    assert routes_of(own, data_alert()) == [("slack:d", "data/default")]


def test_a_team_file_holds_only_routes_and_default(tmp_path: Path) -> None:
    write(tmp_path, "team.yaml", "routes: []\nfallback: slack:x\n")
    main = write(tmp_path, "alerts.yaml", "teams: [{name: t, match: {tags: x}, file: team.yaml}]\n")
    with pytest.raises(RoutingError) as raised:
        AlertRouting.from_file(main)
    message = str(raised.value)
    assert "teams[0]" in message and "team.yaml" in message
    assert "unknown key 'fallback' at the top level" in message and "allowed keys: routes, default" in message


def test_a_missing_team_file_names_it(tmp_path: Path) -> None:
    main = write(tmp_path, "alerts.yaml", "teams: [{name: t, match: {tags: x}, file: nope.yaml}]\n")
    with pytest.raises(RoutingError, match=r"teams\[0\]: routing file '.*nope.yaml' not found"):
        AlertRouting.from_file(main)


def test_an_invalid_team_route_names_its_path() -> None:
    with pytest.raises(RoutingError, match=r"teams\[0\]\.routes\[1\]\.cooldown: 'soon' is not a duration"):
        AlertRouting.model_validate(
            {
                "teams": [
                    {
                        "name": "t",
                        "match": {"tags": "x"},
                        "routes": [
                            {"destinations": ["console"]},
                            {"destinations": ["console"], "cooldown": "soon"},
                        ],
                    }
                ]
            }
        )


@pytest.mark.parametrize(
    ("team", "expected"),
    [
        ({"name": "t", "default": ["console"]}, r"teams\[0\]: 'match' is required"),
        (
            {"name": "t", "match": {}, "default": ["console"]},
            r"teams\[0\]\.match: a team needs a match that selects",
        ),
        ({"match": {"tags": "x"}, "default": ["console"]}, r"teams\[0\]: 'name' is required"),
        (
            {"name": " ", "match": {"tags": "x"}, "default": ["console"]},
            r"teams\[0\]\.name: a team name is non-empty",
        ),
        ({"name": "t", "match": {"tags": "x"}}, r"team 't' routes nothing; give routes, file or block"),
        (
            {"name": "t", "match": {"tags": "x"}, "routes": [], "block": "b"},
            r"team 't' gives routes and block; give only one",
        ),
        (
            {"name": "t", "match": {"tags": "x"}, "rutes": []},
            r"unknown key 'rutes' in teams\[0\] \(did you mean 'routes'\?\)",
        ),
    ],
)
def test_team_errors(team: dict[str, object], expected: str) -> None:
    with pytest.raises(RoutingError, match=expected):
        AlertRouting.model_validate({"teams": [team]})


def test_team_names_are_unique() -> None:
    team = {"name": "t", "match": {"tags": "x"}, "default": ["console"]}
    with pytest.raises(RoutingError, match="team names must be unique; 't' is given twice"):
        AlertRouting.model_validate({"teams": [team, team]})
