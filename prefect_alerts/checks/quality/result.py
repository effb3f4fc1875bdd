"""What ``check_data_quality`` returns: one :class:`RuleResult` per rule inside a :class:`DataQualityResult`.

The per-rule numbers follow Great Expectations' result format, so users who know it read them the same way.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from prefect_alerts.alert import Severity
from prefect_alerts.channels.text import format_value
from prefect_alerts.checks.base import CheckResult
from prefect_alerts.checks.quality.rules import ColumnLabel, RuleKind

__all__ = ["DataQualityResult", "RuleResult", "RuleStatus"]

RuleStatus = Literal["passed", "failed", "error"]
"""``error``: the rule could not be evaluated on this frame (a missing column, incomparable types)."""

ALERT_EXAMPLES = 3
"""Offending values shown per failed rule in an alert message (all 20 stay in the result and artifact)."""


class RuleResult(BaseModel):
    """One rule's verdict, in Great Expectations' terms.

    Attributes:
        rule: The kind of rule (``not_null``, ``completeness``, ``in_set``, ``in_range``, ``regex``, ``dtype``,
            ``columns_present``, ``no_unexpected_columns``, ``unique_rows``, ``unique_key``).
        column: The column a per-column rule is about, else None; ``columns`` lists every column involved.
        passed: True when the rule held (``status == "passed"``).
        status: ``passed``, ``failed``, or ``error`` when it could not be evaluated (see ``reason``).
        observed_value: What was measured and compared with ``threshold``: the share of non-missing values
            that passed (value and uniqueness rules, compared with ``mostly``), the null share
            (completeness), the share of non-null rows (not_null), the dtype (dtype), the number of expected
            columns found / of columns in the frame (schema rules).
        element_count: Rows (cells for whole-frame completeness; columns for schema rules).
        missing_count: Values left out of the check because they are missing (None, NaN, NaT, pd.NA). Zero
            for the null rules themselves (there the nulls are what is counted) and for ``unique_rows``.
        missing_percent: ``missing_count`` over ``element_count``, 0-100.
        unexpected_count: Values (rows) that broke the rule; every member of a duplicated group counts.
        unexpected_percent: ``unexpected_count`` over the NON-missing count, 0-100, as GE reports it
            (2 bad of 7 non-null in 8 rows is 28.57%). 0.0 when nothing was left to check (GE: None).
        unexpected_percent_total: ``unexpected_count`` over ``element_count``, 0-100.
        partial_unexpected_list: Up to 20 offending values in row order, JSON-safe, text cut to 100 characters
            (rows as ``{column: value}`` for multi-column rules; column names for schema rules).
        partial_unexpected_index_list: The index labels of those rows.
        threshold: The limit the rule used: ``mostly``, ``max_null_share``, the expected dtype, or None.
        severity: The level this rule alerts at when it fails.
        reason: Why it failed or could not be evaluated (None when passed).
        message: One line a person reads.
    """

    rule: RuleKind
    column: ColumnLabel | None = None
    columns: list[ColumnLabel] = Field(default_factory=list)
    passed: bool
    status: RuleStatus
    observed_value: Any = None
    element_count: int = 0
    missing_count: int = 0
    missing_percent: float = 0.0
    unexpected_count: int = 0
    unexpected_percent: float = 0.0
    unexpected_percent_total: float = 0.0
    partial_unexpected_list: list[Any] = Field(default_factory=list)
    partial_unexpected_index_list: list[Any] = Field(default_factory=list)
    threshold: Any = None
    severity: Severity = Severity.ERROR
    reason: str | None = None
    message: str = ""

    @property
    def label(self) -> str:
        """``in_set(country)``."""
        return f"{self.rule}({', '.join(str(column) for column in self.columns) or '*'})"


def _example(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return f"{value:.6g}"  # 109.250296, not 109.25029586888061: read at a glance; the list keeps the exact value
    return str(value)


def _examples_text(values: list[Any], limit: int) -> str:
    shown = ", ".join(_example(value) for value in values[:limit])
    return shown + (", …" if len(values) > limit else "")


def _rule_examples(rule: RuleResult, limit: int) -> str:
    """A few offending values; for nulls (every example None) the index labels of the rows instead."""
    values, labels = rule.partial_unexpected_list, rule.partial_unexpected_index_list
    if values and labels and all(value is None for value in values):
        # "None, None, None" says nothing: where the nulls are does.
        return f"null at index {_examples_text(labels, limit)}"
    return _examples_text(values, limit)


def _markdown_text(text: str) -> str:
    # Data values end up in a markdown table: keep them from becoming markup (links, HTML, cells).
    for char in "\\`*_[]<>|#":
        text = text.replace(char, "\\" + char)
    return " ".join(text.splitlines())


def _worst_key(rule: RuleResult) -> tuple[int, int, float]:
    # Most severe first; an unevaluable rule before a plain failure of the same level; then the larger share.
    return (rule.severity.rank, rule.status == "error", rule.unexpected_percent)


class DataQualityResult(CheckResult):
    """The verdict of :func:`~prefect_alerts.checks.check_data_quality`.

    ``passed`` is True when every rule passed; ``severity`` is the most severe level among the failed rules;
    ``rules`` has one :class:`RuleResult` per rule in the order they were given.
    """

    check: ClassVar[str] = "data_quality"
    event: ClassVar[str] = "data_quality_failed"

    rules: list[RuleResult] = Field(default_factory=list)
    row_count: int = 0
    column_count: int = 0

    @property
    def failed_rules(self) -> list[RuleResult]:
        """The rules that failed or could not be evaluated, in order."""
        return [rule for rule in self.rules if not rule.passed]

    @property
    def worst_rule(self) -> RuleResult | None:
        """The failed rule to read first: highest severity, then the largest unexpected share."""
        failed = self.failed_rules
        return max(failed, key=_worst_key) if failed else None

    def table_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "rule": rule.rule,
                "column": ", ".join(str(column) for column in rule.columns) or "*",
                "status": rule.status,
                "passed": rule.passed,
                "severity": rule.severity.value,
                "observed": rule.observed_value
                if not isinstance(rule.observed_value, list)
                else str(rule.observed_value),
                "threshold": rule.threshold if not isinstance(rule.threshold, list) else str(rule.threshold),
                "unexpected_count": rule.unexpected_count,
                "unexpected_percent": round(rule.unexpected_percent, 4),
                "missing_count": rule.missing_count,
                "examples": _rule_examples(rule, 5),
                "message": rule.message,
            }
            for rule in self.rules
        ]

    def alert_fields(self) -> dict[str, Any]:
        worst = self.worst_rule
        fields: dict[str, Any] = {
            "rows": self.row_count,
            "columns": self.column_count,
            "rules_failed": len(self.failed_rules),
            "rules_total": len(self.rules),
        }
        if worst is not None:
            fields["worst_rule"] = worst.label
            fields["worst_unexpected_percent"] = round(worst.unexpected_percent, 4)
        return fields

    def alert_message(self) -> str:
        """The summary, then one line per failed rule (worst first) with a few offending values."""
        lines = [self.summary]
        failed = sorted(self.failed_rules, key=_worst_key, reverse=True)
        for rule in failed[:10]:
            line = f"• [{rule.severity.value}] {rule.message}"
            if rule.partial_unexpected_list and rule.rule not in ("columns_present", "no_unexpected_columns"):
                line += f" — e.g. {_rule_examples(rule, ALERT_EXAMPLES)}"
            lines.append(line)
        if len(failed) > 10:
            lines.append(f"… and {len(failed) - 10} more failed rules (see the artifact)")
        return "\n".join(lines)

    def markdown(self) -> str:
        """Verdict and summary, then the failed rules (at most 20) with their numbers."""
        lines = [super().markdown()]
        failed = sorted(self.failed_rules, key=_worst_key, reverse=True)
        if failed:
            lines += [
                "",
                "| rule | status | unexpected | % of non-missing | examples |",
                "|---|---|---|---|---|",
            ]
            for rule in failed[:20]:
                examples = _markdown_text(_rule_examples(rule, 3))
                lines.append(
                    f"| {_markdown_text(rule.label)} | {rule.status} ({rule.severity.value}) | {rule.unexpected_count:,} | "
                    f"{format_value(round(rule.unexpected_percent, 4))} | {examples} |"
                )
            if len(failed) > 20:
                lines.append(f"\n… and {len(failed) - 20} more failed rules in the table artifact.")
        return "\n".join(lines)
