"""docs/configuration.md's "Defaults in one place" is what the code does: every row checked against the models
and the check tasks' signatures, so a default cannot change without the table (and CHANGELOG.md) changing."""

from __future__ import annotations

import inspect
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from prefect_alerts import checks
from prefect_alerts.routing import AlertRouting
from prefect_alerts.routing.durations import parse_duration

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def _section() -> str:
    text = DOC.read_text()
    return text.split("### Defaults in one place", 1)[1].split("\n### ", 1)[0]


def _rows(columns: int) -> list[list[str]]:
    rows = []
    for line in _section().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == columns and not set(cells[0]) <= {"-"}:
            rows.append([cell.strip("`") for cell in cells])
    return rows[1:] if rows else rows  # the header


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(getattr(value, "value", value))


def test_every_routing_default_in_the_table_is_the_models() -> None:
    routing = AlertRouting()
    documented = {
        row[0].split(" ")[0].strip("`"): row[1]
        for row in _rows(2)
        if not row[0].startswith(("watchdog", "slas", "daily report"))
    }
    assert len(documented) >= 12
    for setting, text in documented.items():
        section, _, name = setting.rpartition(".")
        owner = getattr(routing, section) if section else routing.defaults
        actual = getattr(owner, name)
        if isinstance(actual, timedelta):
            assert parse_duration(text) == actual, setting
        else:
            assert text == _plain(actual), setting


def test_the_watchdog_row_is_the_deploy_default() -> None:
    from prefect_alerts.monitoring.deploy import DEFAULT_EVERY
    from prefect_alerts.monitoring.watchdog import DEFAULT_MISSED

    (row,) = [row for row in _rows(2) if row[0].startswith("watchdog")]
    assert f"{DEFAULT_MISSED} runs" in row[1] and "--every 5m" in row[1]
    assert row[1].endswith(f"`{int((DEFAULT_EVERY * DEFAULT_MISSED).total_seconds() // 60)}m")


def test_the_daily_report_rows_are_the_flows_defaults() -> None:
    from prefect_alerts.monitoring.daily_report import daily_report_flow
    from prefect_alerts.monitoring.deploy import DAILY_REPORT_CRON
    from prefect_alerts.report import DEFAULT_LATE_AFTER

    rows = {
        row[0].split("`")[1] if "`" in row[0] else row[0]: row[1]
        for row in _rows(2)
        if row[0].startswith("daily")
    }
    parameters = inspect.signature(daily_report_flow.fn).parameters
    assert rows == {
        "prefect-alerts deploy": DAILY_REPORT_CRON,
        "window": parameters["window"].default,
        "timezone_name": parameters["timezone_name"].default,
        "late_after": "15s",
    }
    assert parse_duration(rows["late_after"]) == DEFAULT_LATE_AFTER


@pytest.mark.parametrize("row", _rows(3), ids=lambda row: f"{row[0]}.{row[1]}")
def test_every_check_default_in_the_table_is_the_signatures(row: list[str]) -> None:
    task, parameter, text = row
    function = getattr(getattr(checks, task), "fn", getattr(checks, task))
    default = inspect.signature(function).parameters[parameter].default
    assert default is not inspect.Parameter.empty, f"{task}({parameter}) has no default"
    assert text == _plain(default)


def test_the_severity_levels_the_text_gives_are_the_code() -> None:
    from prefect_alerts.checks.volume import DEFAULT_VOLUME_SEVERITY, DEFAULT_ZERO_MAD_SEVERITY

    assert (
        DEFAULT_VOLUME_SEVERITY.warning,
        DEFAULT_VOLUME_SEVERITY.error,
        DEFAULT_VOLUME_SEVERITY.critical,
    ) == (3, 5, 10)
    assert (
        DEFAULT_ZERO_MAD_SEVERITY.warning,
        DEFAULT_ZERO_MAD_SEVERITY.error,
        DEFAULT_ZERO_MAD_SEVERITY.critical,
    ) == (
        0.05,
        0.2,
        0.5,
    )
    assert "warning from 3, error from 5, critical from 10" in _section()
    assert "warning from 5%, error from 20%, critical from\n50%" in _section()


def test_success_reaches_only_routes_that_ask_for_it() -> None:
    from prefect_alerts import Alert

    routing = AlertRouting.model_validate(
        {
            "routes": [
                {"name": "pages", "match": {"severity": ">=warning"}, "destinations": ["console"]},
                {"name": "good-news", "match": {"severity": "success"}, "destinations": ["console"]},
            ],
            "default": [],
        }
    )
    matched = routing.targets(Alert(title="Backfill finished", severity="success"))
    assert [target.route for target in matched] == ["good-news"]
    assert "info < success < warning < error < critical" in _section()


def test_the_sla_defaults_in_the_table_are_the_rule_models() -> None:
    from prefect_alerts.routing.sla import SLA_CLASSES, SlaRule

    rows = [row for row in _rows(2) if row[0].startswith("slas[].")]
    assert len(rows) == 4
    for setting, text in rows:
        name = setting.split(" ")[0].strip("`").removeprefix("slas[].")
        kind = setting.split("(`")[1].rstrip("`)") if "(`" in setting else None
        model = SLA_CLASSES[kind] if kind else SlaRule
        default = model.model_fields[name].default
        if isinstance(default, timedelta):
            assert parse_duration(text) == default, setting
        else:
            assert text == _plain(default), setting
