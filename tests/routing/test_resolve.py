"""resolve_routing without a server: explicit objects, files, PREFECT_ALERTS_CONFIG, and the file cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prefect_alerts.routing import AlertRouting, RoutingError, clear_routing_cache, resolve_routing
from tests.routing.conftest import write


def bump(path: Path, text: str) -> None:
    """Rewrite a file so its signature surely changes (coarse file-system clocks: move mtime on too)."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_an_alert_routing_is_itself() -> None:
    routing = AlertRouting(default=["slack:x"])
    assert resolve_routing(routing) is routing
    assert AlertRouting.load(routing) is routing


def test_a_file_is_read_once_and_again_when_it_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "alerts.yaml", "default: [slack:a]\n")
    first = resolve_routing(str(path))
    assert first.default == ["slack:a"]
    assert resolve_routing(str(path)) is first  # cached
    assert resolve_routing(path) is not None
    bump(path, "default: [slack:b]\n")
    second = resolve_routing(str(path))
    assert second.default == ["slack:b"]
    assert resolve_routing(str(path)) is second
    clear_routing_cache()
    assert resolve_routing(str(path)) is not second


def test_a_relative_path_and_a_path_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "alerts.yml", "default: [slack:rel]\n")
    monkeypatch.chdir(tmp_path)
    assert resolve_routing("alerts.yml").default == ["slack:rel"]
    assert resolve_routing(Path("alerts.yml")).default == ["slack:rel"]


def test_a_changed_variable_re_reads_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTING_TEST_DEST", "slack:one")
    path = write(tmp_path, "alerts.yaml", "default: ['${ROUTING_TEST_DEST}']\n")
    assert resolve_routing(str(path)).default == ["slack:one"]
    monkeypatch.setenv("ROUTING_TEST_DEST", "slack:two")
    assert resolve_routing(str(path)).default == ["slack:two"]


def test_a_changed_team_file_re_reads_the_config(tmp_path: Path) -> None:
    team = write(tmp_path, "team.yaml", "default: [slack:team-a]\n")
    main = write(tmp_path, "alerts.yaml", "teams: [{name: t, match: {tags: t}, file: team.yaml}]\n")
    assert resolve_routing(str(main)).teams[0].team_default == ["slack:team-a"]
    bump(team, "default: [slack:team-bb]\n")
    assert resolve_routing(str(main)).teams[0].team_default == ["slack:team-bb"]


def test_a_deleted_file_is_an_error_not_a_stale_copy(tmp_path: Path) -> None:
    path = write(tmp_path, "alerts.yaml", "default: [slack:a]\n")
    resolve_routing(str(path))
    path.unlink()
    with pytest.raises(RoutingError, match="not found"):
        resolve_routing(str(path))


def test_an_invalid_change_is_reported_and_a_fix_is_picked_up(tmp_path: Path) -> None:
    path = write(tmp_path, "alerts.yaml", "default: [slack:a]\n")
    resolve_routing(str(path))
    bump(path, "default: [sms:a]\n")
    with pytest.raises(RoutingError, match="unknown channel kind 'sms'"):
        resolve_routing(str(path))
    bump(path, "default: [slack:fixed]\n")
    assert resolve_routing(str(path)).default == ["slack:fixed"]


@pytest.mark.parametrize("name", ["missing.yaml", "missing.yml", "missing.json", "conf/alerts", "./alerts"])
def test_a_missing_file_is_never_taken_for_a_block_name(name: str) -> None:
    with pytest.raises(RoutingError, match=f"routing file '{name}' not found"):
        resolve_routing(name)


def test_the_environment_variable_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "alerts.yaml", "default: [slack:from-env]\n")
    monkeypatch.setenv("PREFECT_ALERTS_CONFIG", str(path))
    assert resolve_routing(None).default == ["slack:from-env"]
    assert AlertRouting.load() is resolve_routing(None)
    # An explicit argument wins over the variable.
    other = write(tmp_path, "other.yaml", "default: [slack:explicit]\n")
    assert resolve_routing(str(other)).default == ["slack:explicit"]


def test_a_missing_file_in_the_environment_variable_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_ALERTS_CONFIG", str(tmp_path / "gone.yaml"))
    with pytest.raises(RoutingError) as raised:
        resolve_routing(None)
    message = str(raised.value)
    assert (
        "PREFECT_ALERTS_CONFIG" in message
        and "gone.yaml" in message
        and "unset PREFECT_ALERTS_CONFIG" in message
    )


def test_bad_arguments() -> None:
    with pytest.raises(RoutingError, match="routing= takes an AlertRouting"):
        resolve_routing(42)  # type: ignore[arg-type]
    with pytest.raises(RoutingError, match="routing= is empty"):
        resolve_routing("  ")
    with pytest.raises(RoutingError, match="is not a routing block name"):
        resolve_routing("alert-routing/")


def test_an_invalid_ttl_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_ALERTS_ROUTING_TTL", "soon")
    with pytest.raises(RoutingError, match="PREFECT_ALERTS_ROUTING_TTL='soon' is not a number of seconds"):
        resolve_routing("some-block")
