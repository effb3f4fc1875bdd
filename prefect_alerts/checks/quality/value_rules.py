"""Rules about the values of one column: completeness (nulls) and validity (set, range, regex, dtype)."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import numbers
import re
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import field_validator, model_validator

from prefect_alerts.alert import Severity
from prefect_alerts.checks.quality.rule_base import ColumnLabel, ColumnRuleBase, Mostly, Share

__all__ = ["DTYPE_FAMILIES", "Completeness", "Dtype", "InRange", "InSet", "NotNull", "Regex"]

DTYPE_FAMILIES: dict[str, str] = {
    "int": "int",
    "integer": "int",
    "float": "float",
    "numeric": "numeric",
    "number": "numeric",
    "bool": "bool",
    "boolean": "bool",
    "string": "string",
    "str": "string",
    "datetime": "datetime",
    "timedelta": "timedelta",
    "category": "category",
    "categorical": "category",
    "object": "object",
}
"""Dtype names that mean a family of dtypes (``"int"`` is int8..uint64 and Int64), by alias."""

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


class NotNull(ColumnRuleBase):
    """At least ``mostly`` of all rows are non-null (GE's ``expect_column_values_to_not_be_null``).

    >>> NotNull("email", mostly=0.99).label()
    'not_null(email)'
    """

    kind: Literal["not_null"] = "not_null"
    column: ColumnLabel
    mostly: Mostly = 1.0

    def __init__(
        self,
        column: ColumnLabel,
        *,
        mostly: float = 1.0,
        severity: Severity | str = Severity.ERROR,
        **data: Any,
    ) -> None:
        super().__init__(column=column, mostly=mostly, severity=severity, **data)


class Completeness(ColumnRuleBase):
    """The null share of a column (or of all cells when ``column`` is None) is at most ``max_null_share``.

    >>> Completeness("phone", 0.2).label(), Completeness(max_null_share=0.01).label()
    ('completeness(phone)', 'completeness(*)')
    """

    kind: Literal["completeness"] = "completeness"
    column: ColumnLabel | None = None
    max_null_share: Share = 0.0

    def __init__(
        self,
        column: ColumnLabel | None = None,
        max_null_share: float = 0.0,
        *,
        severity: Severity | str = Severity.ERROR,
        **data: Any,
    ) -> None:
        super().__init__(column=column, max_null_share=max_null_share, severity=severity, **data)


class InSet(ColumnRuleBase):
    """Non-missing values are members of ``values`` (GE's ``expect_column_values_to_be_in_set``).

    Membership is ``Series.isin``: Python equality, so ``1``, ``1.0`` and ``True`` are the same member.

        >>> InSet("country", ["DE", "FR"], mostly=0.99).label()
        'in_set(country)'
    """

    kind: Literal["in_set"] = "in_set"
    column: ColumnLabel
    values: list[Any]
    mostly: Mostly = 1.0

    def __init__(
        self,
        column: ColumnLabel,
        values: Iterable[Any],
        *,
        mostly: float = 1.0,
        severity: Severity | str = Severity.ERROR,
        **data: Any,
    ) -> None:
        super().__init__(column=column, values=values, mostly=mostly, severity=severity, **data)

    @field_validator("values", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise ValueError("values must be a list or set of allowed values, e.g. ['DE', 'FR']")
        return list(value)


Bound = Any
"""A number, a ``pd.Timestamp`` (from a datetime, date, np.datetime64 or ISO date string) or a ``pd.Timedelta``."""


def _bound_domain(bound: Bound) -> str:
    if isinstance(bound, pd.Timestamp):
        return "datetime"
    if isinstance(bound, pd.Timedelta):
        return "timedelta"
    return "number"


class InRange(ColumnRuleBase):
    """Non-missing values lie in ``[min_value, max_value]`` (GE's ``expect_column_values_to_be_between``).

    Bounds are inclusive unless ``strict_min``/``strict_max``; None leaves that side open. Numbers compare
    with numeric columns, bool columns as 0/1, and the numbers in an object column (text and bools there are
    unexpected, never parsed); datetimes (``datetime``, ``date``, ``np.datetime64`` or an ISO date string like
    ``"2024-01-31"``) compare with datetime columns; timedeltas with timedelta columns. ``inf`` is a value:
    outside any finite bound, inside an open side.

        >>> InRange("amount", 0, None, mostly=0.99).label()
        'in_range(amount)'
    """

    kind: Literal["in_range"] = "in_range"
    column: ColumnLabel
    min_value: Bound = None
    max_value: Bound = None
    strict_min: bool = False
    strict_max: bool = False
    mostly: Mostly = 1.0

    def __init__(
        self,
        column: ColumnLabel,
        min_value: Bound = None,
        max_value: Bound = None,
        *,
        strict_min: bool = False,
        strict_max: bool = False,
        mostly: float = 1.0,
        severity: Severity | str = Severity.ERROR,
        **data: Any,
    ) -> None:
        super().__init__(
            column=column,
            min_value=min_value,
            max_value=max_value,
            strict_min=strict_min,
            strict_max=strict_max,
            mostly=mostly,
            severity=severity,
            **data,
        )

    @field_validator("min_value", "max_value", mode="before")
    @classmethod
    def _bound(cls, value: Any) -> Bound:
        if value is None:
            return None
        if isinstance(value, (bool, np.bool_)):
            raise ValueError("a range bound must be a number, datetime or timedelta, not a bool")
        if isinstance(value, (dt.timedelta, np.timedelta64)):
            bound = pd.Timedelta(value)
        elif isinstance(value, (dt.datetime, dt.date, np.datetime64)) or (
            isinstance(value, str) and _ISO_DATE.match(value)
        ):
            try:
                bound = pd.Timestamp(value)
            except ValueError as exc:
                raise ValueError(f"range bound {value!r} is not a date: {exc}") from None
        elif isinstance(value, (numbers.Real, decimal.Decimal)):
            number = value.item() if isinstance(value, np.generic) else value
            bound = float(number) if isinstance(number, decimal.Decimal) else number
            if math.isnan(bound):
                raise ValueError("a range bound cannot be NaN (use None for an open side)")
            return bound
        else:
            raise ValueError(
                f"a range bound must be a number, datetime, timedelta or ISO date string, got {value!r}"
            )
        if pd.isna(bound):
            raise ValueError("a range bound cannot be NaT (use None for an open side)")
        return bound

    @model_validator(mode="after")
    def _consistent(self) -> InRange:
        low, high = self.min_value, self.max_value
        if low is None and high is None:
            raise ValueError(f"in_range({self.column}) needs min_value or max_value (or both)")
        if low is not None and high is not None:
            if _bound_domain(low) != _bound_domain(high):
                raise ValueError(f"in_range({self.column}) bounds differ in kind: {low!r} and {high!r}")
            try:
                inverted = low > high
            except TypeError as exc:  # tz-aware against naive timestamps
                raise ValueError(f"in_range({self.column}) bounds cannot be compared: {exc}") from None
            if inverted:
                raise ValueError(f"in_range({self.column}) has min_value {low!r} above max_value {high!r}")
        return self

    @property
    def domain(self) -> str:
        """``number``, ``datetime`` or ``timedelta``: what the bounds are, so what the values must be."""
        return _bound_domain(self.min_value if self.min_value is not None else self.max_value)


class Regex(ColumnRuleBase):
    """Non-missing values, as text, match ``pattern`` (Python ``re``).

    Like GE's ``expect_column_values_to_match_regex`` the match is a search anywhere in ``str(value)``
    (``re.search``): anchor with ``^...$`` or set ``full_match=True`` to require the whole value to match.

        >>> Regex("zip", r"\\d{5}", full_match=True).label()
        'regex(zip)'
    """

    kind: Literal["regex"] = "regex"
    column: ColumnLabel
    pattern: str
    full_match: bool = False
    mostly: Mostly = 1.0

    def __init__(
        self,
        column: ColumnLabel,
        pattern: str,
        *,
        full_match: bool = False,
        mostly: float = 1.0,
        severity: Severity | str = Severity.ERROR,
        **data: Any,
    ) -> None:
        super().__init__(
            column=column, pattern=pattern, full_match=full_match, mostly=mostly, severity=severity, **data
        )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return value


class Dtype(ColumnRuleBase):
    """The column has the expected dtype: a family or an exact pandas dtype name.

    Families (see :data:`DTYPE_FAMILIES`): ``int`` (int8..uint64 and nullable Int64), ``float``, ``numeric``
    (int or float, not bool), ``bool``, ``string`` (text dtypes, and object columns whose values are all
    ``str``: the same verdict on pandas 2 and 3), ``datetime``, ``timedelta``, ``category``, ``object``
    (exactly object: on pandas 3 a text column is ``str``, not object, so prefer ``string``). Anything else is
    an exact dtype (``"int64"``, ``"Int64"``, ``"float32"``, ``"datetime64[ns, UTC]"``). An object column is
    checked value by value for the families, and the values of the wrong type are the unexpected ones.

    An exact ``datetime64``/``timedelta64`` dtype is compared by kind and timezone, not unit: pandas 3 reads
    datetimes as ``datetime64[us]`` where pandas 2 gave ``datetime64[ns]``, and both hold the same
    timestamps. ``exact_unit=True`` compares the unit too. The timezone always counts (naive, ``UTC`` and
    ``Europe/Berlin`` differ).

        >>> Dtype("id", "int").label()
        'dtype(id)'
    """

    kind: Literal["dtype"] = "dtype"
    column: ColumnLabel
    dtype: str
    exact_unit: bool = False
    """Compare a datetime/timedelta dtype's unit too (``ns`` against ``us``); off by default."""

    def __init__(
        self, column: ColumnLabel, dtype: Any, *, severity: Severity | str = Severity.ERROR, **data: Any
    ) -> None:
        super().__init__(column=column, dtype=dtype, severity=severity, **data)

    @field_validator("dtype", mode="before")
    @classmethod
    def _known(cls, value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in DTYPE_FAMILIES:
            return DTYPE_FAMILIES[value.strip().lower()]
        try:
            return str(pd.api.types.pandas_dtype(value))
        except TypeError:
            raise ValueError(
                f"unknown dtype {value!r}: use a family ({', '.join(sorted(set(DTYPE_FAMILIES.values())))}) "
                "or a pandas dtype name such as 'int64'"
            ) from None

    @property
    def family(self) -> str | None:
        """The family this rule asks for, or None for an exact dtype."""
        return self.dtype if self.dtype in DTYPE_FAMILIES.values() else None
