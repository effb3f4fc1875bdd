"""Durations: every accepted form, round trips through format_duration, and the error for the rest."""

from __future__ import annotations

from datetime import timedelta

import pytest

from prefect_alerts.routing import RoutingError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("1h", 3600),
        ("1d", 86400),
        ("2h30m", 9000),
        ("1d 12h", 129600),
        ("1H", 3600),
        ("1w", 604800),
        ("500ms", 0.5),
        ("1.5h", 5400),
        ("120", 120),
        ("0", 0),
        (120, 120),
        (2.5, 2.5),
        (timedelta(minutes=5), 300),
    ],
)
def test_accepted_forms(value: object, seconds: float) -> None:
    assert parse_duration(value) == timedelta(seconds=seconds)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", ["30 minutes", "1 hour", "h", "", "1h-5m", "-5m", -3, float("nan"), True, [1]]
)
def test_errors_name_the_value_and_the_forms(value: object) -> None:
    with pytest.raises(RoutingError) as raised:
        parse_duration(value)  # type: ignore[arg-type]
    message = str(raised.value)
    assert repr(value) in message
    assert "write 90s, 30m, 1h, 1d" in message and "seconds" in message


def test_routing_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_duration("soon")


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(hours=1), "1h"),
        (timedelta(days=1, hours=2), "1d2h"),
        (timedelta(seconds=0.25), "0.25s"),
        (None, "never"),
    ],
)
def test_format_duration_is_short_and_reads_back(delta: timedelta | None, text: str) -> None:
    assert format_duration(delta) == text
    if delta is not None:
        assert parse_duration(text) == delta
