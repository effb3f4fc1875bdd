"""Prediction distribution: do a model's outputs look like they usually do?

A model fed broken features rarely fails loudly: it keeps answering, with a shifted mean, a collapsed or
saturated spread, everything at 0.99, NaN, or one class for every row. Each rule here is one row of the result;
NaN and infinite predictions are always counted and reported, never dropped into a pass.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from prefect_alerts.alert import Severity
from prefect_alerts.channels.base import Channel
from prefect_alerts.checks.base import CheckResult, FailOn, finish_check
from prefect_alerts.checks.prediction_stats import (
    ROW_SUM_TOLERANCE,
    PredictionKind,
    prediction_statistics,
    read_predictions,
)
from prefect_alerts.text import all_of, count_of

__all__ = [
    "DEFAULT_PREDICTION_SEVERITIES",
    "ROW_SUM_TOLERANCE",
    "PredictionDistributionResult",
    "PredictionKind",
    "PredictionRule",
    "check_prediction_distribution",
]

DEFAULT_PREDICTION_SEVERITIES: dict[str, Severity] = {
    "non_finite_share": Severity.ERROR,
    "probability_range": Severity.ERROR,
    "row_sums": Severity.ERROR,
    "mean": Severity.WARNING,
    "std": Severity.WARNING,
    "high_confidence_share": Severity.WARNING,
    "class_share": Severity.WARNING,
}
"""The severity of each rule when it fails: broken outputs are errors, an unusual distribution a warning.
A rule that cannot be evaluated is an error; every prediction non-finite is critical."""


class PredictionRule(BaseModel):
    """One rule of the prediction check: what was observed against what was expected.

    Attributes:
        rule: ``non_finite_share``, ``mean``, ``std``, ``high_confidence_share``, ``probability_range``,
            ``row_sums`` or ``class_share``.
        observed: The observed value (a share, a mean, ...; None when it could not be computed).
        expected: The condition, in words (``"0.2 – 0.4"``, ``"<= 0.05"``).
        count: How many predictions broke it (NaN rows, high-confidence rows, values outside [0, 1], ...).
        passed: False when the rule failed or could not be evaluated.
        status: ``passed``, ``failed`` or ``error`` (no finite predictions to compute it on).
        severity: The rule's severity when it did not pass.
        reason: Why, in words.
    """

    rule: str
    observed: float | None = None
    expected: str = ""
    count: int | None = None
    passed: bool = True
    status: Literal["passed", "failed", "error"] = "passed"
    severity: Severity = Severity.SUCCESS
    reason: str = ""


class PredictionDistributionResult(CheckResult):
    """The verdict of :func:`check_prediction_distribution`.

    Attributes:
        kind: See :data:`PredictionKind`.
        n_predictions: Rows given (NaN rows included).
        n_finite: Rows with every value finite: what the statistics use.
        nan_count: Rows with a NaN (or None / NA).
        inf_count: Rows with an infinity and no NaN.
        mean: Mean of the finite predictions (for class probabilities: of each row's top probability).
        std: Sample standard deviation (ddof=1), same values as ``mean``.
        min: Smallest finite value (for class probabilities: of each row's top probability).
        max: Largest finite value (same).
        high_confidence_share: Share of finite rows whose confidence is at least ``high_confidence``.
        class_shares: Share of each predicted class among finite rows (labels, argmax, or p >= 0.5).
        checks: The rules evaluated, by name.
    """

    check: ClassVar[str] = "prediction_distribution"
    event: ClassVar[str] = "prediction_anomaly"

    kind: PredictionKind
    n_predictions: int
    n_finite: int
    nan_count: int = 0
    inf_count: int = 0
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    high_confidence_share: float | None = None
    class_shares: dict[str, float] = Field(default_factory=dict)
    checks: dict[str, PredictionRule] = Field(default_factory=dict)

    def table_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "rule": row.rule,
                "observed": row.observed,
                "expected": row.expected,
                "count": row.count,
                "passed": row.passed,
                "status": row.status,
                "reason": row.reason,
            }
            for row in self.checks.values()
        ]

    def alert_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "predictions": self.n_predictions,
            "non_finite": self.nan_count + self.inf_count,
        }
        for row in self.checks.values():
            if not row.passed and row.observed is not None:
                fields[row.rule] = float(f"{row.observed:.6g}")
        return fields


# ---- rules ---------------------------------------------------------------------------------------------
def _range(name: str, value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        low, high = (float(bound) for bound in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (low, high) pair of numbers, got {value!r}") from None
    if math.isnan(low) or math.isnan(high) or low > high:
        raise ValueError(f"{name} must be (low, high) with low <= high, got {value!r}")
    return low, high


def _share(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a share between 0 and 1, got {value!r}")
    return float(value)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _range_rule(
    rule: str, observed: float | None, bounds: tuple[float, float], why_missing: str
) -> PredictionRule:
    expected = f"{_fmt(bounds[0])} – {_fmt(bounds[1])}"
    if observed is None:
        return PredictionRule(rule=rule, expected=expected, passed=False, status="error", reason=why_missing)
    inside = bounds[0] <= observed <= bounds[1]
    return PredictionRule(
        rule=rule,
        observed=observed,
        expected=expected,
        passed=inside,
        status="passed" if inside else "failed",
        reason=f"{rule} {_fmt(observed)} is {'within' if inside else 'outside'} {expected}",
    )


def _share_rule(rule: str, count: int, total: int, limit: float, what: str) -> PredictionRule:
    expected = f"<= {limit:.2%}"
    if total == 0:
        return PredictionRule(
            rule=rule, expected=expected, passed=False, status="error", reason="no finite predictions"
        )
    share = count / total
    ok = share <= limit
    return PredictionRule(
        rule=rule,
        observed=share,
        expected=expected,
        count=count,
        passed=ok,
        status="passed" if ok else "failed",
        reason=f"{count:,} of {total:,} {what} ({share:.2%}; at most {limit:.2%} allowed)",
    )


def _count_rule(rule: str, count: int, total: int, what: str) -> PredictionRule:
    ok = count == 0
    return PredictionRule(
        rule=rule,
        observed=0.0 if total == 0 else count / total,
        expected="none",
        count=count,
        passed=ok,
        status="passed" if ok else "failed",
        reason=f"{count:,} of {total:,} {what}",
    )


@task(name="check-prediction-distribution", cache_policy=NO_CACHE)
def check_prediction_distribution(
    predictions: Any,
    expected_mean_range: tuple[float, float] | None = None,
    max_high_confidence_share: float | None = None,
    high_confidence: float = 0.9,
    expected_std_range: tuple[float, float] | None = None,
    probabilities: bool | None = None,
    max_nan_share: float | None = 0.0,
    max_class_share: float | None = None,
    labels: bool | None = None,
    check_name: str = "prediction_distribution",
    severities: Mapping[str, Severity | str] | None = None,
    destinations: Channel | str | Sequence[Channel | str] | None = None,
    routing: Any = None,
    alert: bool = True,
    fail_on: FailOn = None,
) -> PredictionDistributionResult:
    """Checks that a model's predictions are distributed as expected.

    **Input** (``kind`` in the result):

    - 1-D numbers (array, list, Series): ``scores``, or ``probabilities`` with ``probabilities=True`` (each
      the probability of the positive class).
    - 2-D (array or DataFrame, one column per class): ``class_probabilities``; the confidence of a row is its
      top probability, the predicted class its argmax (named by the DataFrame's columns). ``mean``, ``std``,
      ``min`` and ``max`` describe the top probabilities. A 2-D input with one column is read as 1-D.
    - 1-D strings, booleans, categoricals (or any values with ``labels=True``): ``labels``; only the
      non-finite and class-balance rules apply.

    **Rules** (each a row of ``result.checks``; only the ones asked for, plus the first):

    - ``non_finite_share``: rows with NaN, ±inf (or None/NA) at most ``max_nan_share`` of all rows
      (default 0: any NaN fails). The other rules use the finite rows only.
    - ``mean`` / ``std``: within ``expected_mean_range`` / ``expected_std_range`` (inclusive; sample
      standard deviation, ddof=1, as pandas' ``describe``).
    - ``high_confidence_share``: rows with confidence >= ``high_confidence`` at most
      ``max_high_confidence_share`` of the finite rows. Confidence: the top probability (2-D), ``max(p, 1 - p)``
      for 1-D probabilities (sure of either class), the score itself for 1-D scores.
    - ``probability_range``: for probabilities, no value outside [0, 1]; ``row_sums``: for class
      probabilities, no row summing further than ``ROW_SUM_TOLERANCE`` from 1.
    - ``class_share``: no predicted class above ``max_class_share`` of the finite rows (labels; argmax of
      class probabilities; ``p >= 0.5`` as class ``"1"`` for 1-D probabilities).

    A failed rule has the severity in ``severities`` (defaults: :data:`DEFAULT_PREDICTION_SEVERITIES`:
    broken outputs error, unusual distributions warning); a rule that cannot be evaluated (no finite rows,
    one row for ``std``) is an error; every prediction non-finite is critical. No predictions at all is
    status ``error``.

    Args:
        predictions: The model's outputs (see above).
        expected_mean_range: ``(low, high)`` for the mean, or None.
        max_high_confidence_share: Largest share of high-confidence rows, or None.
        high_confidence: The confidence from which a row counts as high-confidence (default 0.9).
        expected_std_range: ``(low, high)`` for the standard deviation, or None.
        probabilities: True when 1-D values are probabilities (checks [0, 1], confidence ``max(p, 1 - p)``);
            None: True for 2-D input, False for 1-D.
        max_nan_share: Largest share of non-finite rows (default 0: any fails; None: counted, never fails).
        max_class_share: Largest share of any predicted class, or None.
        labels: True to read 1-D values as class labels, False to insist on numbers; None decides by dtype.
        check_name: Names the artifact (``prediction-distribution-<name>``) and the alert.
        severities: Severity per rule name, over the defaults.
        destinations: Where the alert goes on failure: channel references (``\"slack:ops\"``) or channels; a direct
            route instead of the routing config.
        routing: An ``AlertRouting``, a routing file path or a routing block name; None: the routing
            resolution order (``PREFECT_ALERTS_CONFIG``, the ``alert-routing/default`` block, the console).
        alert: False to only return the result.
        fail_on: ``True`` to raise on failure, a severity (``"error"``) to raise from that level, None never.

    Returns:
        PredictionDistributionResult: ``passed``, ``status``, ``severity``, ``kind``, ``n_predictions``,
            ``n_finite``, ``nan_count``, ``inf_count``, ``mean``, ``std``, ``min``, ``max``,
            ``high_confidence_share``, ``class_shares``, ``checks`` and ``summary``.

    Raises:
        TypeError: predictions that are not an array-like (a scalar, a string, a dict), non-numeric class
            probability columns, ``labels=False`` with non-numeric values.
        ValueError: more than 2 dimensions; a range with low > high; a share outside [0, 1]; a rule that does
            not apply to the input (a mean range for labels, class balance for plain scores, ...).
        CheckFailedError: the check failed and ``fail_on`` asks to stop.

    Example:
        ```python
        import numpy as np
        from prefect import flow
        from prefect_alerts.checks.predictions import check_prediction_distribution


        @flow
        def score_batch():
            scores = np.random.default_rng(0).beta(2, 5, size=10_000)  # churn probabilities
            result = check_prediction_distribution(
                scores,
                probabilities=True,
                expected_mean_range=(0.2, 0.4),
                max_high_confidence_share=0.5,
                check_name="churn-scores",
            )
            print(result.summary)


        score_batch()
        ```
    """
    shape, values, class_names = read_predictions(predictions, labels)
    mean_range = _range("expected_mean_range", expected_mean_range)
    std_range = _range("expected_std_range", expected_std_range)
    max_nan = _share("max_nan_share", max_nan_share)
    max_nan = 1.0 if max_nan is None else max_nan  # None: count and report them, never fail on them
    max_confident = _share("max_high_confidence_share", max_high_confidence_share)
    max_class = _share("max_class_share", max_class_share)
    if not (isinstance(high_confidence, numbers.Real) and math.isfinite(high_confidence)):
        raise ValueError(f"high_confidence must be a finite number, got {high_confidence!r}")
    unknown_rules = sorted(set(severities or {}) - set(DEFAULT_PREDICTION_SEVERITIES))
    if unknown_rules:
        raise ValueError(
            f"severities has unknown rule(s) {', '.join(unknown_rules)}; "
            f"rules are {', '.join(DEFAULT_PREDICTION_SEVERITIES)}"
        )
    levels = {**DEFAULT_PREDICTION_SEVERITIES, **{k: Severity(v) for k, v in (severities or {}).items()}}

    kind: PredictionKind
    if shape == "labels":
        kind = "labels"
        asked = [
            name
            for name, value in (
                ("expected_mean_range", mean_range),
                ("expected_std_range", std_range),
                ("max_high_confidence_share", max_confident),
            )
            if value is not None
        ]
        if asked or probabilities:
            raise ValueError(
                f"{', '.join(asked) or 'probabilities=True'} does not apply to class labels; "
                "use max_class_share and max_nan_share (or pass numeric predictions)"
            )
    elif shape == "matrix":
        if probabilities is False:
            raise ValueError("a 2-D input is read as class probabilities: probabilities=False does not apply")
        kind = "class_probabilities"
    else:
        kind = "probabilities" if probabilities else "scores"
    if max_class is not None and kind == "scores":
        raise ValueError("max_class_share needs labels or probabilities (probabilities=True, or a 2-D input)")
    if kind in ("probabilities", "class_probabilities") and not 0 <= high_confidence <= 1:
        raise ValueError(f"high_confidence is a probability here: between 0 and 1, got {high_confidence!r}")

    stats = prediction_statistics(kind, values, class_names, high_confidence)
    total, finite = stats["n_predictions"], stats["n_finite"]
    rules: dict[str, PredictionRule] = {}
    non_finite = total - finite
    if total == 0:
        rules["non_finite_share"] = PredictionRule(
            rule="non_finite_share",
            expected=f"<= {max_nan:.2%}",
            passed=False,
            status="error",
            reason="no predictions",
        )
    else:
        rules["non_finite_share"] = _share_rule(
            "non_finite_share",
            non_finite,
            total,
            max_nan,
            "rows are missing" if kind == "labels" else "rows are NaN or infinite",
        )
    no_rows = "no finite predictions" if finite == 0 else ""
    if mean_range is not None:
        rules["mean"] = _range_rule("mean", stats["mean"], mean_range, no_rows)
    if std_range is not None:
        rules["std"] = _range_rule(
            "std", stats["std"], std_range, no_rows or "needs at least 2 finite predictions"
        )
    if max_confident is not None:
        rules["high_confidence_share"] = _share_rule(
            "high_confidence_share",
            stats["high_confidence_count"],
            finite,
            max_confident,
            f"rows have confidence >= {high_confidence:g}",
        )
    if kind in ("probabilities", "class_probabilities"):
        rules["probability_range"] = _count_rule(
            "probability_range", stats["outside_unit"], stats["n_values"], "finite values are outside [0, 1]"
        )
    if kind == "class_probabilities":
        rules["row_sums"] = _count_rule(
            "row_sums", stats["bad_row_sums"], finite, f"rows do not sum to 1 (± {ROW_SUM_TOLERANCE:g})"
        )
    if max_class is not None:
        counts = stats["class_counts"]
        top = max(counts, key=counts.__getitem__) if counts else None
        rules["class_share"] = _share_rule(
            "class_share", counts.get(top, 0), finite, max_class, f"rows are class {top!r}"
        )

    for row in rules.values():
        if not row.passed:
            row.severity = Severity.ERROR if row.status == "error" else levels.get(row.rule, Severity.WARNING)
    failing = [row for row in rules.values() if not row.passed]
    severities_hit = [row.severity for row in failing]
    if total > 0 and finite == 0:
        severities_hit.append(Severity.CRITICAL)  # the model produced nothing usable
    if any(row.status == "failed" for row in failing):
        status = "failed"
    elif failing:
        status = "error"
    else:
        status = "passed"

    result = PredictionDistributionResult(
        check_name=check_name,
        passed=not failing,
        status=status,
        severity=max(severities_hit) if severities_hit else Severity.SUCCESS,
        summary=_summary(check_name, kind, total, rules, stats),
        thresholds={
            "expected_mean_range": mean_range,
            "expected_std_range": std_range,
            "max_high_confidence_share": max_confident,
            "high_confidence": high_confidence,
            "max_nan_share": max_nan,
            "max_class_share": max_class,
            "row_sum_tolerance": ROW_SUM_TOLERANCE if kind == "class_probabilities" else None,
        },
        sample_sizes={"predictions": total, "finite": finite},
        kind=kind,
        checks=rules,
        **{
            key: stats[key]
            for key in (
                "n_predictions",
                "n_finite",
                "nan_count",
                "inf_count",
                "mean",
                "std",
                "min",
                "max",
                "high_confidence_share",
                "class_shares",
            )
        },
    )
    return finish_check(result, destinations=destinations, routing=routing, alert=alert, fail_on=fail_on)  # type: ignore[return-value]


def _summary(
    check_name: str, kind: str, total: int, rules: dict[str, PredictionRule], stats: dict[str, Any]
) -> str:
    if total == 0:
        return f"{check_name}: no predictions to check"
    head = f"{check_name}: {total:,} {kind.replace('_', ' ')}"
    failing = [row for row in rules.values() if not row.passed]
    if failing:
        return f"{head}; {count_of(len(failing), len(rules), 'rule')} failed: " + "; ".join(
            row.reason for row in failing[:4]
        )
    details = [f"mean {_fmt(stats['mean'])}"] if stats["mean"] is not None else []
    if stats["high_confidence_share"] is not None and "high_confidence_share" in rules:
        details.append(f"high-confidence share {stats['high_confidence_share']:.1%}")
    return f"{head}; {all_of(len(rules), 'rule')} passed" + (f" ({', '.join(details)})" if details else "")
