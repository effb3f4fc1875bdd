"""Durations as the config writes them: ``90s``, ``30m``, ``1h``, ``1d``, ``2h30m``, or plain seconds."""

from __future__ import annotations

import math
import re
from datetime import timedelta

from prefect_alerts.routing.errors import RoutingError

__all__ = ["DURATION_FORMS", "NEVER", "format_duration", "parse_duration"]

NEVER = ("never", "none", "off")
"""Words that turn an optional duration (``repeat_interval``) off."""

DURATION_FORMS = "write 90s, 30m, 1h, 1d (or combined, e.g. 2h30m) or a number of seconds"
"""The accepted forms, as every duration error message states them."""

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """A :class:`~datetime.timedelta` from ``"90s"``, ``"30m"``, ``"1h"``, ``"1d"``, ``"2h30m"`` or seconds.

        >>> parse_duration("1h30m")
        datetime.timedelta(seconds=5400)
        >>> parse_duration(120)
        datetime.timedelta(seconds=120)
        >>> parse_duration("120")
        datetime.timedelta(seconds=120)

    Units: ``ms``, ``s``, ``m``, ``h``, ``d``, ``w``; parts may be combined (``1d12h``); case and spaces are
    ignored. A number without a unit is seconds.

    Raises:
        RoutingError: the value is not a duration or is negative; the message shows the value and the forms.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):  # YAML's `yes`/`true`: never a duration
        raise RoutingError(f"{value!r} is not a duration; {DURATION_FORMS}")
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            parts = _PART.findall(text)
            if not text or "".join(number + unit for number, unit in parts) != text:
                raise RoutingError(f"{value!r} is not a duration; {DURATION_FORMS}") from None
            seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    else:
        raise RoutingError(f"{value!r} is not a duration; {DURATION_FORMS}")
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        raise RoutingError(
            f"{value!r} is not a duration (it must be finite and not negative); {DURATION_FORMS}"
        )
    return timedelta(seconds=seconds)


def format_duration(value: timedelta | None) -> str:
    """The shortest config form of a duration, which :func:`parse_duration` reads back: ``1h30m``, ``90s``.

    >>> format_duration(timedelta(minutes=90))
    '1h30m'
    >>> format_duration(None)
    'never'
    """
    if value is None:
        return "never"
    total = value.total_seconds()
    if total <= 0:  # a time already passed (a deadline, a wait) reads as none left
        return "0s"
    whole = int(total)
    fraction = round(total - whole, 6)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    if whole or fraction:
        seconds = whole + fraction
        parts.append(f"{seconds:g}s" if fraction else f"{whole}s")
    return "".join(parts)
