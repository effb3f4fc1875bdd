"""Durations as the config writes them: ``90s``, ``30m``, ``1h``, ``1d``, ``2h30m``, or plain seconds."""

from __future__ import annotations

import math
import re
from datetime import timedelta

__all__ = ["NEVER", "parse_duration"]

NEVER = ("never", "none", "off")
"""Words that turn an optional duration (``repeat_interval``) off."""

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_FORMS = "write 90s, 30m, 1h, 1d (or combined, e.g. 2h30m) or a number of seconds"


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """A :class:`~datetime.timedelta` from ``"90s"``, ``"30m"``, ``"1h"``, ``"1d"``, ``"2h30m"``, seconds.

        >>> parse_duration("1h30m")
        datetime.timedelta(seconds=5400)
        >>> parse_duration(120)
        datetime.timedelta(seconds=120)

    Raises:
        ValueError: the value is not a duration (the message shows the accepted forms), or is negative.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; {_FORMS}")
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            compact = text.replace(" ", "")
            parts = _PART.findall(compact)
            if not compact or "".join(number + unit for number, unit in parts) != compact:
                raise ValueError(f"{value!r} is not a duration; {_FORMS}") from None
            seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    else:
        raise ValueError(f"{value!r} is not a duration; {_FORMS}")
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        raise ValueError(f"{value!r} is not a duration (it must be a finite, non-negative time); {_FORMS}")
    return timedelta(seconds=seconds)
