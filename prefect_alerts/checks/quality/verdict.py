"""Great Expectations-style numbers for one rule: the shared builders of :class:`RuleResult`.

Counting follows GE: value rules leave missing values out, ``unexpected_percent`` is over the non-missing
values, a rule with nothing left to check passes (an empty frame passes every value rule), and ``mostly``
passes when ``(considered - unexpected) / considered >= mostly`` (exactly equal passes).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from prefect_alerts.channels.text import format_value
from prefect_alerts.checks.quality.frame import (
    FrameView,
    ValueOutcome,
    examples_at,
)
from prefect_alerts.checks.quality.result import RuleResult
from prefect_alerts.checks.quality.rules import (
    QualityRule,
)
from prefect_alerts.text import all_of, count_of, plural

__all__ = ["base_fields", "error_result", "mostly_passed", "percent", "share_text", "value_result"]


def percent(part: int, whole: int) -> float:
    return part / whole * 100.0 if whole else 0.0


def mostly_passed(considered: int, unexpected: int, mostly: float) -> bool:
    # GE's rule, to the float: nothing to check passes; the success ratio must reach ``mostly``.
    if considered == 0:
        return True
    return (considered - unexpected) / considered >= mostly


def share_text(value: float) -> str:
    return f"{format_value(round(value, 4))}%"


def base_fields(rule: QualityRule, view: FrameView) -> dict[str, Any]:
    return {
        "rule": rule.kind,
        "column": rule.single_column(),
        "columns": rule.columns,
        "severity": rule.severity,
        "element_count": view.n_rows,
    }


def error_result(rule: QualityRule, view: FrameView, reason: str) -> RuleResult:
    threshold = getattr(rule, "mostly", getattr(rule, "max_null_share", getattr(rule, "dtype", None)))
    return RuleResult(
        **base_fields(rule, view),
        passed=False,
        status="error",
        threshold=threshold,
        reason=reason,
        message=f"{rule.label()}: {reason}",
    )


def value_result(
    rule: QualityRule,
    view: FrameView,
    series: pd.Series,
    outcome: ValueOutcome,
    mostly: float,
    problem: str,
    examples: tuple[list[Any], list[Any]] | None = None,
    noun: str = "non-missing value",
) -> RuleResult:
    """A GE-style result for a rule over the non-missing values of one column (or key, or rows)."""
    rows = len(series)
    considered = rows - outcome.missing_count
    unexpected = int(outcome.unexpected.sum())
    passed = mostly_passed(considered, unexpected, mostly)
    if examples is None:
        examples = examples_at(series, outcome.unexpected) if unexpected else ([], [])
    unexpected_percent = percent(unexpected, considered)
    label = rule.label()
    if considered == 0:
        message = f"{label}: {all_of(0, noun)} to check ({plural(rows, 'row')}); passes vacuously"
    elif unexpected == 0:
        message = f"{label}: {all_of(considered, noun)} pass" + ("es" if considered == 1 else "")
    else:
        allowed = "none allowed" if mostly >= 1 else f"allowed up to {share_text((1 - mostly) * 100)}"
        if unexpected == 1 and problem.startswith("are "):  # "1 of 3 values is not ...", not "are"
            problem = (
                "is "
                + problem.removeprefix("are ").removesuffix("values").rstrip()
                + (" value" if problem.endswith(" values") else "")
            )
        message = (
            f"{label}: {count_of(unexpected, considered, noun)} {problem} "
            f"({share_text(unexpected_percent)}; {allowed})"
        )
    return RuleResult(
        **base_fields(rule, view),
        passed=passed,
        status="passed" if passed else "failed",
        observed_value=(considered - unexpected) / considered if considered else 1.0,
        missing_count=outcome.missing_count,
        missing_percent=percent(outcome.missing_count, rows),
        unexpected_count=unexpected,
        unexpected_percent=unexpected_percent,
        unexpected_percent_total=percent(unexpected, rows),
        partial_unexpected_list=examples[0],
        partial_unexpected_index_list=examples[1],
        threshold=mostly,
        reason=None if passed else message.split(": ", 1)[1],
        message=message,
    )
