"""The drift result: per-column findings, schema changes, and the dataset verdict with its artifact and alert."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from prefect_alerts.alert import Severity
from prefect_alerts.checks.base import CheckResult, SeverityLevels
from prefect_alerts.checks.drift.columns import ColumnType
from prefect_alerts.text import plural

__all__ = [
    "DEFAULT_DRIFT_SEVERITY",
    "ColumnDrift",
    "ColumnStatus",
    "DriftResult",
    "SchemaChange",
    "SideCounts",
]

ColumnStatus = Literal["ok", "drifted", "error", "skipped"]

DEFAULT_DRIFT_SEVERITY = SeverityLevels(warning=0.0, error=0.5, critical=0.9)
"""Severity of a failed drift check, by drifted share: critical from 90% of the columns, error from 50%,
warning below (a dataset drift below 50% happens only with a ``drift_share`` under 0.5). A failure that comes
from column errors or schema changes is at least ``error``."""

TOP_DRIFTED_IN_ALERT = 5


class SideCounts(BaseModel):
    """A count on each side (reference, current)."""

    model_config = ConfigDict(frozen=True)

    reference: int = 0
    current: int = 0


class ColumnDrift(BaseModel):
    """One column's drift finding.

    Attributes:
        column: The column name (as text).
        column_type: ``numerical``, ``categorical``, ``datetime`` or ``unsupported``.
        method: The method used (``ks``, ``chisquare``, ``z``, ``wasserstein``, ``psi``, ``jensenshannon``), or
            None when none could run.
        stattest_kind: ``test`` (score is a p-value, small means drift) or ``distance`` (large means drift).
        score: The p-value for tests, the distance for distances; None when nothing was computed (never NaN).
        threshold: The threshold the score was compared with.
        drifted: True when the score crossed the threshold.
        status: ``ok``, ``drifted``, ``error`` (could not be compared: no values, schema change, ...) or
            ``skipped`` (not compared by choice: datetime or unsupported columns).
        reason: Why, in words: the comparison behind the verdict, or what went wrong.
        reference_size / current_size: Values used on each side, after dropping NaN/inf.
        nan_dropped / inf_dropped: Missing and infinite values dropped on each side.
        statistic: The test statistic (KS D, chi-square, z) when there is one.
        p_value_method: For KS, ``exact`` or ``asymptotic``.
        binning: For PSI/Jensen-Shannon: ``quantile``, ``evidently`` (Sturges) or ``per-value``.
        bins: How many bins the binned score used.
        distinct_values: Distinct values over both sides (what the automatic choice looked at).
        key: True for a column named in ``key_columns`` (its drift fails the check on its own).
        column_severity: Set when this column fails the check on its own, whatever the dataset rule says:
            a drifted key column, a score far past its threshold, a missing share that moved (see
            ``prefect_alerts.checks.drift.verdict``); None otherwise.
        missing_share: Share of missing values on each side (reference, current), None with no rows.
        missing_share_changed: True when the missing share moved by ``missing_share_change`` or more.
    """

    column: str
    column_type: ColumnType
    method: str | None = None
    stattest_kind: Literal["test", "distance"] | None = None
    score: float | None = None
    threshold: float | None = None
    drifted: bool = False
    status: ColumnStatus
    reason: str | None = None
    reference_size: int = 0
    current_size: int = 0
    nan_dropped: SideCounts = Field(default_factory=SideCounts)
    inf_dropped: SideCounts = Field(default_factory=SideCounts)
    statistic: float | None = None
    p_value_method: Literal["exact", "asymptotic"] | None = None
    binning: str | None = None
    bins: int | None = None
    distinct_values: int | None = None
    key: bool = False
    column_severity: Severity | None = None
    missing_share: tuple[float, float] | None = None
    missing_share_changed: bool = False

    def strength(self) -> float:
        """How far past its threshold the score is (> 1 when drifted), to rank drifted columns."""
        if self.score is None or self.threshold is None:
            return 0.0
        if self.stattest_kind == "test":
            return self.threshold / max(self.score, 1e-300)
        return self.score / self.threshold if self.threshold > 0 else float("inf")


class SchemaChange(BaseModel):
    """A column missing on one side, or whose dtype changed.

    ``compatible`` changes (int64 to float64, a column that became all-null) are reported and the column is
    still compared; incompatible ones (missing, float to text, ...) make the column an ``error``.
    """

    column: str
    change: Literal["missing_in_current", "missing_in_reference", "dtype_changed"]
    reference_dtype: str | None = None
    current_dtype: str | None = None
    compatible: bool = False

    def describe(self) -> str:
        if self.change == "missing_in_current":
            return f"{self.column}: missing in current (reference dtype {self.reference_dtype})"
        if self.change == "missing_in_reference":
            return f"{self.column}: not in reference (current dtype {self.current_dtype})"
        kind = "compatible" if self.compatible else "incompatible"
        return f"{self.column}: dtype {self.reference_dtype} -> {self.current_dtype} ({kind})"


class DriftResult(CheckResult):
    """What ``detect_drift`` found.

    ``passed`` is ``not dataset_drift``, and also False when some column could not be compared (status
    ``error``, schema changes included) unless ``column_errors="report"``.

    Attributes:
        dataset_drift: True when drifted_share >= drift_share.
        drifted_share: Drifted columns over the columns compared (status ``ok`` or ``drifted``).
        drift_share: The share of drifted columns that is dataset drift (inclusive).
        columns: Per-column findings, by column name.
        schema_changes: Columns missing on either side or with a changed dtype.
        number_of_columns / number_of_compared_columns / number_of_drifted_columns: Counts behind the share.
        key_columns: The columns whose drift fails the check on its own (``key_columns=``).
        flagged_columns: Compared columns that failed the check on their own (``column_severity`` set).
    """

    check: ClassVar[str] = "drift"
    event: ClassVar[str] = "drift_detected"

    dataset_drift: bool
    drifted_share: float
    drift_share: float
    columns: dict[str, ColumnDrift] = Field(default_factory=dict)
    schema_changes: list[SchemaChange] = Field(default_factory=list)
    number_of_columns: int = 0
    number_of_compared_columns: int = 0
    number_of_drifted_columns: int = 0
    key_columns: list[str] = Field(default_factory=list)
    flagged_columns: list[str] = Field(default_factory=list)

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the drifted columns, most drifted first."""
        drifted = [column for column in self.columns.values() if column.status == "drifted"]
        return [column.column for column in sorted(drifted, key=lambda c: c.strength(), reverse=True)]

    @property
    def error_columns(self) -> list[str]:
        return [name for name, column in self.columns.items() if column.status == "error"]

    # ---- artifact and alert --------------------------------------------------------------------
    def table_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "column": column.column,
                "type": column.column_type,
                "method": column.method,
                "score": column.score,
                "threshold": column.threshold,
                "drifted": column.drifted,
                "status": column.status,
                "reason": column.reason,
                "reference_size": column.reference_size,
                "current_size": column.current_size,
            }
            for column in self.columns.values()
        ]

    def alert_fields(self) -> dict[str, Any]:
        top = [self.columns[name] for name in self.drifted_columns[:TOP_DRIFTED_IN_ALERT]]
        fields: dict[str, Any] = {
            "drifted_share": round(self.drifted_share, 4),
            "drift_share": self.drift_share,
            "drifted_columns": f"{self.number_of_drifted_columns} of {self.number_of_compared_columns}",
            **({"flagged_columns": ", ".join(self.flagged_columns)} if self.flagged_columns else {}),
            "top_drifted": ", ".join(f"{c.column} ({c.method} {c.score:.4g})" for c in top) or "none",
        }
        if self.error_columns:
            fields["error_columns"] = len(self.error_columns)
        if self.schema_changes:
            fields["schema_changes"] = len(self.schema_changes)
        return {**fields, **self.sample_sizes}

    def alert_title(self) -> str:
        if not self.dataset_drift and not self.flagged_columns and self.error_columns:
            # The summary then starts with the columns it could not compare: the title says the same.
            columns = plural(len(self.error_columns), "column")
            return f"Drift check incomplete, {columns} could not be compared: {self.check_name}"
        return super().alert_title()

    def alert_message(self) -> str:
        lines = [self.summary]
        for name in self.drifted_columns[:10]:
            lines.append(f"• {name}: {self.columns[name].reason}")
        for name in self.flagged_columns:
            if self.columns[name].status != "drifted":
                lines.append(f"• {name}: {self.columns[name].reason}")
        if len(self.drifted_columns) > 10:
            lines.append(f"… and {len(self.drifted_columns) - 10} more drifted (see the artifact)")
        errors = self.error_columns
        for name in errors[:5]:
            lines.append(f"• {name}: error: {self.columns[name].reason}")
        if len(errors) > 5:
            lines.append(f"… and {len(errors) - 5} more columns with errors")
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [super().markdown()]
        if self.drifted_columns:
            lines += [
                "",
                "**Drifted columns:** " + ", ".join(f"`{name}`" for name in self.drifted_columns[:20]),
            ]
        if self.schema_changes:
            lines += ["", "**Schema changes:**"] + [
                f"- {change.describe()}" for change in self.schema_changes[:20]
            ]
        if self.error_columns:
            lines += [
                "",
                "**Columns not compared (error):** " + ", ".join(f"`{n}`" for n in self.error_columns[:20]),
            ]
        return "\n".join(lines)
