"""check_data_volume: fixed bounds, robust z against its own stored history, the store, alerts and artifacts."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from prefect import flow

from prefect_alerts import Severity
from prefect_alerts.checks.base import CheckFailedError
from prefect_alerts.checks.robust import MAD_TO_SIGMA, robust_z_score
from prefect_alerts.checks.volume import DataVolumeResult, check_data_volume
from prefect_alerts.store import CheckStore, database_url, reset_engines
from prefect_alerts.store.engine import DATABASE_URL_ENV
from tests.checks.helpers import RecordingChannel

STEADY = [
    10_000,
    10_120,
    9_950,
    10_030,
    9_880,
    10_210,
    9_990,
    10_060,
    9_940,
    10_100,
    10_010,
    9_970,
    10_150,
    9_900,
]


def volume(count: Any, **kwargs: Any) -> DataVolumeResult:
    """The check outside a flow, alerting nowhere unless asked."""
    kwargs.setdefault("alert", False)
    kwargs.setdefault("record", False)
    return check_data_volume.fn(count, **kwargs)


@pytest.fixture
def store(tmp_path: Path) -> CheckStore:
    return CheckStore(url=f"sqlite:///{tmp_path}/volume.db")


# ---- robust statistics against scipy --------------------------------------------------------------------
def test_mad_to_sigma_is_scipys_normal_scale() -> None:
    assert math.isclose(MAD_TO_SIGMA, 1 / scipy.stats.norm.ppf(0.75), rel_tol=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("size", [7, 14, 15])
def test_robust_z_matches_numpy_and_scipy(seed: int, size: int) -> None:
    rng = np.random.default_rng(seed)
    baseline = rng.normal(50_000, 2_000, size=size).round()
    value = float(rng.normal(50_000, 6_000))
    stats = robust_z_score(value, baseline)
    median = np.median(baseline)
    assert stats.median == pytest.approx(median, rel=1e-12)
    assert stats.mad == pytest.approx(scipy.stats.median_abs_deviation(baseline), rel=1e-9)
    sigma = scipy.stats.median_abs_deviation(baseline, scale="normal")
    assert stats.scale == pytest.approx(sigma, rel=1e-9)
    assert stats.z == pytest.approx((value - median) / sigma, rel=1e-9)


def test_result_reports_the_reference_statistics() -> None:
    history = STEADY
    result = volume(10_500, history=history)
    sigma = scipy.stats.median_abs_deviation(history, scale="normal")
    median = float(np.median(history))
    assert result.baseline_median == pytest.approx(median, rel=1e-12)
    assert result.mad == pytest.approx(scipy.stats.median_abs_deviation(history), rel=1e-9)
    assert result.robust_z == pytest.approx((10_500 - median) / sigma, rel=1e-9)
    low, high = result.expected_range
    assert low == pytest.approx(median - 3 * sigma, rel=1e-9)
    assert high == pytest.approx(median + 3 * sigma, rel=1e-9)
    assert result.history_size == 14 and result.history == [float(v) for v in history]
    assert result.sample_sizes == {"row_count": 10_500, "history_size": 14}


# ---- the verdicts ---------------------------------------------------------------------------------------
def test_a_normal_count_passes() -> None:
    result = volume(10_040, history=STEADY)
    assert result.passed and result.status == "passed" and result.severity == Severity.SUCCESS
    assert not result.anomaly and result.direction == "above"
    assert "normal (robust z = " in result.summary


def test_a_drop_is_an_anomaly_below() -> None:
    result = volume(9_000, history=STEADY)
    assert not result.passed and result.status == "failed" and result.anomaly
    assert result.direction == "below" and result.robust_z < -3
    assert "anomaly below the usual" in result.summary


def test_one_huge_outlier_in_history_does_not_mask_a_real_drop() -> None:
    history = [*STEADY[:13], 1_000_000]  # one day someone loaded the table a hundred times
    current = 9_000
    # What a mean/std z-score says: the outlier inflates the std so much that the drop looks normal.
    mean_std_z = (current - np.mean(history)) / np.std(history, ddof=1)
    assert abs(mean_std_z) < 1
    result = volume(current, history=history)
    assert result.anomaly and result.robust_z < -5
    assert result.baseline_median == pytest.approx(np.median(history))


def test_z_exactly_at_the_threshold_fires_and_just_below_does_not() -> None:
    z = robust_z_score(10_400, STEADY).z
    assert volume(10_400, history=STEADY, z_threshold=z).anomaly
    assert not volume(10_400, history=STEADY, z_threshold=math.nextafter(z, math.inf)).anomaly


def test_severity_grows_with_z() -> None:
    stats = robust_z_score(0, STEADY)
    sigma, median = stats.scale, stats.median
    cases = {3.5: Severity.WARNING, 6: Severity.ERROR, 12: Severity.CRITICAL}
    for z, expected in cases.items():
        count = round(median + z * sigma)
        assert volume(count, history=STEADY).severity == expected, z


def test_custom_severity_levels_and_a_lower_threshold_still_warn() -> None:
    count = round(robust_z_score(0, STEADY).median + 2.5 * robust_z_score(0, STEADY).scale)
    result = volume(count, history=STEADY, z_threshold=2, severity_levels={"error": 4})
    assert result.anomaly and result.severity == Severity.WARNING  # fires below every level: warning
    result = volume(count, history=STEADY, z_threshold=2, severity_levels={"error": 2.4})
    assert result.severity == Severity.ERROR


def test_an_empty_batch_against_a_busy_history_is_critical() -> None:
    result = volume(pd.DataFrame({"id": []}), history=STEADY)
    assert result.row_count == 0 and result.anomaly and result.severity == Severity.CRITICAL


def test_an_empty_batch_below_min_rows_is_critical_even_without_history() -> None:
    result = volume(0, min_rows=1, history=[])
    assert result.status == "failed" and result.severity == Severity.CRITICAL


# ---- MAD = 0 -------------------------------------------------------------------------------------------
def test_constant_history_and_the_same_count_passes_with_z_zero() -> None:
    result = volume(500, history=[500] * 10)
    assert result.passed and result.robust_z == 0 and result.mad == 0 and result.direction is None


def test_constant_history_judges_by_relative_change_and_keeps_the_raw_infinite_z() -> None:
    result = volume(600, history=[500] * 10)  # +20%: error by the default relative-change steps
    assert result.anomaly and result.robust_z == math.inf and result.direction == "above"
    assert result.severity == Severity.ERROR and "MAD = 0" in result.reason
    assert volume(499, history=[500] * 10).robust_z == -math.inf
    assert volume(499, history=[500] * 10).passed  # -0.2%: under the 5% default


def test_mad_zero_with_a_few_different_runs_still_uses_the_median() -> None:
    history = [500] * 8 + [480, 530, 2_000_000]
    assert robust_z_score(0, history).mad == 0
    assert volume(500, history=history).passed
    assert volume(520, history=history).passed  # +4% of the median: under the 5% default
    assert volume(530, history=history).anomaly


def test_min_relative_change_tolerates_small_changes() -> None:
    levels = {"warning": 0.001}
    assert volume(504, history=[500] * 10, min_relative_change=0.01, zero_mad_levels=levels).passed
    result = volume(505, history=[500] * 10, min_relative_change=0.01, zero_mad_levels=levels)
    assert result.anomaly  # exactly 1%: counts
    small = volume(9_000, history=STEADY, min_relative_change=0.2)
    assert small.passed and "ignored" in small.reason


# ---- not enough history --------------------------------------------------------------------------------
def test_too_little_history_says_so_instead_of_guessing() -> None:
    channel = RecordingChannel()
    result = volume(1, history=[10_000, 10_100, 9_900], destinations=channel, alert=True)
    assert result.status == "insufficient_history" and result.passed
    assert "not enough history (3 of 7)" in result.summary
    assert result.robust_z is None and result.baseline_median is None and result.expected_range is None
    assert result.severity == Severity.SUCCESS and channel.alerts == []


def test_too_little_history_still_fails_the_bounds() -> None:
    result = volume(5, min_rows=10, history=[10_000, 10_100, 9_900])
    assert result.status == "failed" and not result.passed and result.severity == Severity.ERROR
    assert "below min_rows 10" in result.summary and "not enough history (3 of 7)" in result.summary


def test_min_history_is_configurable_and_window_keeps_the_last_runs() -> None:
    history = [1.0] * 20 + STEADY  # only the last 14 count
    result = volume(10_000, history=history)
    assert result.history_size == 14 and result.baseline_median == float(np.median(STEADY))
    assert volume(10_000, history=STEADY[:3], min_history=3).status == "passed"
    assert volume(10_000, history=STEADY, window=5, min_history=5).history == [float(v) for v in STEADY[-5:]]


# ---- fixed bounds ---------------------------------------------------------------------------------------
def test_bounds_are_inclusive() -> None:
    assert volume(100, min_rows=100, max_rows=200).passed
    assert volume(200, min_rows=100, max_rows=200).passed
    below, above = volume(99, min_rows=100), volume(201, max_rows=200)
    assert below.bounds_violation == "below_min_rows" and not below.bounds_passed
    assert above.bounds_violation == "above_max_rows" and above.severity == Severity.ERROR
    assert "above max_rows 200" in above.summary


def test_bounds_and_anomaly_are_both_reported() -> None:
    result = volume(30_000, max_rows=20_000, history=STEADY, bounds_severity="warning")
    assert result.bounds_violation == "above_max_rows" and result.anomaly
    assert result.severity == Severity.CRITICAL  # the anomaly is worse than the warning-level bound
    rules = {row["rule"]: row for row in result.table_rows()}
    assert rules["max_rows"]["status"] == "failed" and rules["history_anomaly"]["status"] == "failed"


# ---- what is counted -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "count"),
    [
        (pd.DataFrame({"a": range(42)}), 42),
        (pd.Series(range(7)), 7),
        (np.zeros((13, 3)), 13),
        ([1, 2, 3], 3),
        (np.int64(250), 250),
        (250.0, 250),
        (0, 0),
    ],
    ids=["dataframe", "series", "ndarray", "list", "numpy-int", "whole-float", "zero"],
)
def test_counts_tables_and_numbers(given: Any, count: int) -> None:
    assert volume(given).row_count == count


# ---- bad input: each a clear error ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "error", "match"),
    [
        (-1, ValueError, "cannot be negative"),
        (float("nan"), ValueError, "must be finite"),
        (float("inf"), ValueError, "must be finite"),
        (12.5, ValueError, "whole number"),
        (True, TypeError, "table or a row count"),
        ("1000", TypeError, "table or a row count"),
        (None, TypeError, "DataFrame"),
        (object(), TypeError, "DataFrame"),
    ],
    ids=["negative", "nan", "inf", "fraction", "bool", "string", "none", "no-len"],
)
def test_a_bad_count_is_a_clear_error(given: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        volume(given)


@pytest.mark.parametrize(
    ("history", "error", "match"),
    [
        ([100, -5, 100], ValueError, r"history\[1\] is a negative"),
        ([100, float("nan")], ValueError, r"history\[1\] must be finite"),
        ([100, float("inf")], ValueError, r"history\[1\] must be finite"),
        ([100, "200"], TypeError, r"history\[1\] must be a number"),
        ([100, None], TypeError, r"history\[1\] must be a number"),
        ("100,200", TypeError, "list of past row counts"),
        (5, TypeError, "list of past row counts"),
    ],
    ids=["negative", "nan", "inf", "string-value", "none-value", "string", "scalar"],
)
def test_a_bad_history_is_a_clear_error(history: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        volume(100, history=history)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_rows": 10, "max_rows": 5}, "greater than max_rows"),
        ({"min_rows": -1}, "cannot be negative"),
        ({"max_rows": 1.5}, "whole number"),
        ({"min_history": 20}, "cannot exceed window"),
        ({"window": 0}, "window must be"),
        ({"min_history": 0}, "min_history must be"),
        ({"z_threshold": 0}, "z_threshold must be"),
        ({"z_threshold": float("nan")}, "z_threshold must be"),
        ({"min_relative_change": -0.1}, "min_relative_change must be"),
        ({"severity_levels": {"warning": 5, "error": 3}}, "must rise"),
        ({"bounds_severity": "loud"}, "loud"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_bad_settings_are_clear_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        volume(100, history=STEADY, **kwargs)


# ---- the store: history recorded per check_name, after the verdict ----------------------------------------
def test_history_builds_up_in_the_store_one_run_at_a_time(store: CheckStore) -> None:
    statuses = []
    for count in STEADY[:8]:
        result = volume(count, store=store, record=True, check_name="orders")
        statuses.append(result.status)
        assert result.recorded and result.history_source == "store"
    assert statuses == ["insufficient_history"] * 7 + ["passed"]
    assert (
        "not enough history (0 of 7)"
        in check_data_volume.fn(1, store=store, record=False, alert=False, check_name="fresh").summary
    )
    drop = volume(5_000, store=store, record=True, check_name="orders")
    assert drop.anomaly and drop.history == [float(v) for v in STEADY[:8]]  # itself not in its baseline
    assert [point.value for point in store.recent_values("data_volume", "orders", limit=100)] == [
        *map(float, STEADY[:8]),
        5_000.0,
    ]


def test_history_is_keyed_by_check_name(store: CheckStore) -> None:
    for count in STEADY[:7]:
        store.record_value("data_volume", "orders", count)
    assert volume(10_000, store=store, check_name="orders").status == "passed"
    assert volume(10_000, store=store, check_name="customers").status == "insufficient_history"


def test_the_window_reads_only_the_last_runs(store: CheckStore) -> None:
    for count in [1] * 30 + STEADY:
        store.record_value("data_volume", "orders", count)
    result = volume(10_000, store=store, check_name="orders")
    assert result.history == [float(v) for v in STEADY] and result.passed


def test_record_false_leaves_the_store_alone(store: CheckStore) -> None:
    volume(100, store=store, record=False, check_name="orders")
    assert store.recent_values("data_volume", "orders") == []


def test_given_history_is_the_baseline_and_the_count_is_still_recorded(store: CheckStore) -> None:
    for count in [5] * 14:
        store.record_value("data_volume", "orders", count)
    result = volume(10_000, history=STEADY, store=store, record=True, check_name="orders")
    assert result.passed and result.history_source == "argument"
    assert store.recent_values("data_volume", "orders", limit=1)[0].value == 10_000


def test_store_given_as_a_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/by-url.db"
    volume(123, store=url, record=True, check_name="orders")
    assert CheckStore(url=url).recent_values("data_volume", "orders")[0].value == 123


def test_an_unreadable_store_is_an_error_result_not_a_crash(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/folder/x.db"
    channel = RecordingChannel()
    result = volume(100, min_rows=1, store=url, record=True, destinations=channel, alert=True)
    assert result.status == "error" and not result.passed and result.severity == Severity.ERROR
    assert result.history_source == "unavailable" and "could not be read" in result.reason
    assert result.bounds_passed and not result.recorded
    assert channel.alerts[0].severity == Severity.ERROR


def test_default_store_is_sqlite_under_prefect_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    reset_engines()
    expected = Path(os.environ["PREFECT_HOME"]) / "prefect_alerts.db"
    assert database_url() == f"sqlite:///{expected}"
    volume(321, record=True, check_name="default-location-test")
    assert expected.exists()
    assert (
        CheckStore(url=f"sqlite:///{expected}")
        .recent_values("data_volume", "default-location-test")[-1]
        .value
        == 321
    )


def test_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    reset_engines()
    try:
        for count in STEADY[:7]:
            volume(count, record=True, check_name="env-orders")
        assert volume(10_000, check_name="env-orders").status == "passed"
    finally:
        monkeypatch.delenv(DATABASE_URL_ENV)
        reset_engines()
    assert len(CheckStore(url=url).recent_values("data_volume", "env-orders")) == 7
    assert database_url() != url


def test_two_threads_record_to_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/threads.db"
    errors: list[BaseException] = []

    def run(offset: int) -> None:
        try:
            for i in range(25):
                volume(offset + i, store=url, record=True, check_name="shared")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(offset,)) for offset in (0, 1_000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    values = [p.value for p in CheckStore(url=url).recent_values("data_volume", "shared", limit=1_000)]
    assert sorted(values) == sorted([*range(25), *range(1_000, 1_025)])


def test_two_processes_record_to_one_fresh_sqlite_file(tmp_path: Path) -> None:
    """All start on a file that does not exist yet: creating the tables races, then the writes do."""
    url = f"sqlite:///{tmp_path}/processes.db"
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from prefect_alerts.checks.volume import check_data_volume
        url, barrier, offset = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
        (barrier / f"ready-{offset}").touch()  # imported: wait for the other one, then go together
        deadline = time.time() + 60
        while len(list(barrier.glob("ready-*"))) < 2 and time.time() < deadline:
            time.sleep(0.001)
        for i in range(40):
            check_data_volume.fn(offset + i, store=url, check_name="shared", alert=False)
        """
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, url, str(tmp_path), str(offset)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for offset in (0, 1_000)
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr
        assert "database is locked" not in stderr
    values = [p.value for p in CheckStore(url=url).recent_values("data_volume", "shared", limit=1_000)]
    assert sorted(values) == sorted([*range(40), *range(1_000, 1_040)])


def test_workers_creating_the_store_at_once_do_not_fail(tmp_path: Path) -> None:
    """Separate engines on one fresh file (as separate processes have) race on CREATE TABLE; none may fail."""
    from sqlalchemy import create_engine, event

    from prefect_alerts.store import engine as store_engine

    engines = [create_engine(f"sqlite:///{tmp_path}/race.db") for _ in range(4)]
    for engine in engines:
        event.listen(engine, "connect", store_engine._sqlite_pragmas)
    barrier, errors = threading.Barrier(len(engines)), []

    def create(engine: Any) -> None:
        barrier.wait()
        try:
            store_engine._create_schema(engine)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert errors == []
    CheckStore(url=f"sqlite:///{tmp_path}/race.db").record_value("data_volume", "x", 1)


# ---- alerts, fail_on, artifacts ----------------------------------------------------------------------------
def test_an_anomaly_alerts_with_event_severity_and_fields() -> None:
    channel = RecordingChannel()
    result = volume(9_000, history=STEADY, check_name="orders", destinations=channel, alert=True)
    [sent] = channel.alerts
    assert sent.event == "data_volume_anomaly" and sent.severity == result.severity == Severity.CRITICAL
    assert sent.title == "Data volume check failed: orders"
    assert sent.fields["row_count"] == 9_000 and sent.fields["direction"] == "below"
    assert sent.fields["history_size"] == 14 and sent.fields["robust_z"] == pytest.approx(
        result.robust_z, abs=1e-3
    )
    assert sent.fields["expected_range"] == result.table_rows()[-1]["expected_range"]
    assert result.alert_results[0].ok


def test_a_pass_sends_nothing_and_alert_false_sends_nothing() -> None:
    channel = RecordingChannel()
    volume(10_000, history=STEADY, destinations=channel, alert=True)
    volume(1, history=STEADY, destinations=channel, alert=False)
    assert channel.alerts == []


def test_fail_on_raises_with_the_result() -> None:
    with pytest.raises(CheckFailedError) as raised:
        volume(9_000, history=STEADY, fail_on=True)
    assert isinstance(raised.value.result, DataVolumeResult) and raised.value.result.anomaly
    warning = round(robust_z_score(0, STEADY).median + 3.5 * robust_z_score(0, STEADY).scale)
    assert volume(warning, history=STEADY, fail_on="error").severity == Severity.WARNING  # not raised
    with pytest.raises(CheckFailedError):
        volume(warning, history=STEADY, fail_on="warning")


@pytest.mark.usefixtures("prefect_server")
def test_inside_a_flow_it_writes_artifacts_and_alerts_with_the_run(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    channel = RecordingChannel()
    url = f"sqlite:///{tmp_path}/flow.db"
    for count in STEADY:
        CheckStore(url=url).record_value("data_volume", "Orders EU", count)

    @flow(name="volume-flow")
    def pipeline() -> DataVolumeResult:
        return check_data_volume(2_000, check_name="Orders EU", store=url, destinations=channel)

    result = pipeline()
    assert result.anomaly and result.artifact_key == "data-volume-orders-eu"
    with get_client(sync_client=True) as client:
        table = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["data-volume-orders-eu"]))
        )
        summary = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["data-volume-orders-eu-summary"]))
        )
    assert table and table[0].type == "table" and "history_anomaly" in str(table[0].data)
    assert summary and summary[0].type == "markdown" and "Orders EU" in str(summary[0].data)
    alert = channel.alerts[0]
    assert alert.source.flow_name == "volume-flow" and alert.source.task_name == "check-data-volume"
    stored = CheckStore(url=url).recent_values("data_volume", "Orders EU", limit=1)[0]
    assert stored.value == 2_000 and stored.flow_run_id == alert.source.flow_run_id
