"""Input checks of :func:`~prefect_alerts.checks.check_data_volume`: the row count, the history, the settings.

Each raises a ``TypeError``/``ValueError`` that names the argument and what it should be.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["optional_bound", "row_count", "validate_settings", "validated_history"]


def row_count(df_or_count: Any) -> int:
    """The row count of a table (its ``len``) or of a whole-number count.

    >>> row_count([1, 2, 3]), row_count(7), row_count(7.0)
    (3, 7, 7)
    """
    # A bool is an int in Python but never a row count; a string has a len() but is no table.
    if isinstance(df_or_count, (bool, np.bool_, str, bytes)):
        raise TypeError(f"df_or_count must be a table or a row count, got {type(df_or_count).__name__}")
    if isinstance(df_or_count, numbers.Integral):
        count = int(df_or_count)
    elif isinstance(df_or_count, numbers.Real):
        value = float(df_or_count)
        if not math.isfinite(value):
            raise ValueError(f"the row count must be finite, got {value!r}")
        if not value.is_integer():
            raise ValueError(f"the row count must be a whole number, got {value!r}")
        count = int(value)
    elif hasattr(df_or_count, "__len__"):
        count = len(df_or_count)
    else:
        raise TypeError(
            "df_or_count must be a DataFrame (or anything with len()) or an int row count, "
            f"got {type(df_or_count).__name__}"
        )
    if count < 0:
        raise ValueError(f"the row count cannot be negative, got {count}")
    return count


def validated_history(history: Iterable[float]) -> list[float]:
    """Past row counts as floats, each a finite number >= 0 (the error names the position).

    >>> validated_history([100, 102.0])
    [100.0, 102.0]
    """
    if isinstance(history, (str, bytes, Mapping)) or not isinstance(history, Iterable):
        raise TypeError(
            f"history must be a list of past row counts (oldest first), got {type(history).__name__}"
        )
    values: list[float] = []
    for position, item in enumerate(history):
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Real):
            raise TypeError(f"history[{position}] must be a number, got {type(item).__name__}: {item!r}")
        value = float(item)
        if not math.isfinite(value):
            raise ValueError(f"history[{position}] must be finite, got {value!r}")
        if value < 0:
            raise ValueError(f"history[{position}] is a negative row count: {value!r}")
        values.append(value)
    return values


def optional_bound(name: str, value: Any) -> int | None:
    """``min_rows``/``max_rows``: None, or a whole number of rows >= 0.

    >>> optional_bound("min_rows", 10), optional_bound("min_rows", None)
    (10, None)
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number of rows or None, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} cannot be negative, got {value}")
    return int(value)


def validate_settings(window: int, min_history: int, z_threshold: float, min_relative_change: float) -> None:
    """Raise ``ValueError`` naming the setting when the history settings cannot work together.

    >>> validate_settings(14, 7, 3.0, 0.0)
    """
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 1:
        raise ValueError(f"window must be a whole number of runs >= 1, got {window!r}")
    if isinstance(min_history, bool) or not isinstance(min_history, numbers.Integral) or min_history < 1:
        raise ValueError(f"min_history must be a whole number of runs >= 1, got {min_history!r}")
    if min_history > window:
        raise ValueError(
            f"min_history ({min_history}) cannot exceed window ({window}): it could never be met"
        )
    if not (isinstance(z_threshold, numbers.Real) and math.isfinite(z_threshold) and z_threshold > 0):
        raise ValueError(f"z_threshold must be a finite number > 0, got {z_threshold!r}")
    if not (
        isinstance(min_relative_change, numbers.Real)
        and math.isfinite(min_relative_change)
        and min_relative_change >= 0
    ):
        raise ValueError(f"min_relative_change must be a finite number >= 0, got {min_relative_change!r}")
