"""build_daily_report against a real Prefect server, over runs seeded with known states and times.

Each test seeds a window of its own, years in the past (the session's server holds every other test's runs,
all of them recent), so every number can be checked exactly.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from prefect_alerts.report import DailyReport, ReportError, build_daily_report
from tests.seed_runs import SeedRun, create_flow, insert_runs

pytestmark = pytest.mark.usefixtures("prefect_server")


def a_past_window() -> tuple[datetime, datetime]:
    """A day no other test uses: somewhere in 1990-2015, at 08:00 UTC."""
    day = datetime(1990, 1, 1, 8, tzinfo=timezone.utc) + timedelta(days=random.randrange(9000))
    return day, day + timedelta(days=1)


def test_every_number_of_a_seeded_day_is_exact() -> None:
    since, until = a_past_window()
    etl, train = (
        create_flow(f"report-etl-{uuid.uuid4().hex[:6]}"),
        create_flow(f"report-train-{uuid.uuid4().hex[:6]}"),
    )
    noon = since + timedelta(hours=4)
    finished = SeedRun.finished
    runs = [
        # etl: 6 completed (10, 20, 30, 40, 50 s and 10 min), 2 failed with one error told two ways, 1 timed out.
        *(
            finished(etl, "Completed", noon + timedelta(minutes=i), s)
            for i, s in enumerate([10, 20, 30, 40, 50, 600])
        ),
        finished(etl, "Failed", noon + timedelta(hours=1), 5, message="ValueError: 12 nulls in 'amount'"),
        finished(etl, "Failed", noon + timedelta(hours=2), 5, message="ValueError: 7 nulls in 'price'"),
        finished(
            etl, "TimedOut", noon + timedelta(hours=3), 3600, message="Flow run exceeded timeout of 3600 s"
        ),
        # train: 3 completed (one of them started 5 minutes late, one 10 s late: not late), 1 crashed, 1 cancelled.
        finished(train, "Completed", noon, 100, late=timedelta(minutes=5)),
        finished(train, "Completed", noon + timedelta(minutes=1), 200, late=timedelta(seconds=10)),
        finished(train, "Completed", noon + timedelta(minutes=2), 300),
        finished(
            train, "Crashed", noon + timedelta(hours=5), 50, message="Flow run infrastructure exited with 137"
        ),
        finished(train, "Cancelled", noon + timedelta(hours=6), 60),
        # The edges: ending exactly at `since` is in; exactly at `until`, or before `since`, is out.
        SeedRun(train, "Completed", since - timedelta(seconds=40), since - timedelta(seconds=30), since),
        SeedRun(train, "Completed", until - timedelta(seconds=40), until - timedelta(seconds=30), until),
        SeedRun(
            train,
            "Failed",
            since - timedelta(hours=1),
            since - timedelta(hours=1),
            since - timedelta(seconds=1),
        ),
        # Lateness by expected start: still Late at the end of the window (late), scheduled 5 s before the
        # end (not yet late), started late and still running (late), on time and running (not late), and a
        # run expected before the window that started late (another day's lateness).
        SeedRun(etl, "Late", until - timedelta(hours=1)),
        SeedRun(etl, "Scheduled", until - timedelta(seconds=5)),
        SeedRun(etl, "Running", until - timedelta(hours=2), until - timedelta(hours=1)),
        SeedRun(etl, "Running", until - timedelta(hours=2), until - timedelta(hours=2)),
        SeedRun(
            etl,
            "Completed",
            since - timedelta(hours=1),
            since + timedelta(hours=1),
            since + timedelta(hours=2),
        ),
    ]
    insert_runs(runs)

    report = build_daily_report(since, until)

    # 6 + 3 + 1 (at since) + 1 (expected before the window, ended in it) completed; 2 failed; 1 each other.
    assert (
        report.total_runs,
        report.completed,
        report.failed,
        report.timed_out,
        report.crashed,
        report.cancelled,
    ) == (
        16,
        11,
        2,
        1,
        1,
        1,
    )
    assert report.success_rate == pytest.approx(11 / 16)
    assert report.late == 3
    etl_row, train_row = report.flows  # etl has more problems, so it comes first
    assert (etl_row.total_runs, etl_row.completed, etl_row.failed, etl_row.timed_out, etl_row.late) == (
        10,
        7,
        2,
        1,
        2,
    )
    # Nearest rank over every run that started: 5, 5, 10, 20, 30, 40, 50, 600, 3600 and 3600 (the run that
    # started before the window lasted an hour).
    assert (etl_row.p50_seconds, etl_row.p95_seconds, etl_row.max_seconds) == (30.0, 3600.0, 3600.0)
    assert (
        train_row.total_runs,
        train_row.completed,
        train_row.crashed,
        train_row.cancelled,
        train_row.late,
    ) == (
        6,
        4,
        1,
        1,
        1,
    )
    assert train_row.success_rate == pytest.approx(4 / 6)
    (nulls, *others) = report.top_errors
    # One error told two ways; the example shown is the latest.
    assert nulls.count == 2 and nulls.message == "ValueError: 7 nulls in 'price'"
    assert sorted(error.count for error in others) == [1, 1]
    assert report.bucket == "hour" and len(report.buckets) == 24
    assert sum(bucket.completed for bucket in report.buckets) == 11
    assert report.buckets[4].completed == 6 + 3  # noon is since + 4h; each ends within minutes of it
    assert report.notes == []

    # Read two runs a page (ties, edges and both late queries crossing pages): the same numbers.
    paged = build_daily_report(since, until, page_size=2)
    assert paged.model_dump(exclude={"generated_at"}) == report.model_dump(exclude={"generated_at"})


def test_runs_ending_at_the_same_instant_across_pages_are_each_counted_once() -> None:
    since, until = a_past_window()
    flow = create_flow(f"report-ties-{uuid.uuid4().hex[:6]}")
    instant = since + timedelta(hours=3)
    insert_runs(SeedRun.finished(flow, "Completed", instant, 1.0) for _ in range(7))
    insert_runs(SeedRun.finished(flow, "Failed", instant - timedelta(minutes=1), 1.0) for _ in range(2))
    for page_size in (2, 3, 7, 200):
        report = build_daily_report(since, until, page_size=page_size)
        assert (report.total_runs, report.completed, report.failed) == (9, 7, 2), page_size


def test_a_window_with_no_runs_says_so() -> None:
    since, until = a_past_window()
    report = build_daily_report(since, until)
    assert (report.total_runs, report.success_rate, report.flows, report.late) == (0, None, [], 0)
    assert report.render_text().splitlines()[2] == "No flow run finished in this window"
    assert "No flow run finished in this window" in report.render_html()
    assert report.chart_png().startswith(b"\x89PNG")


def test_a_week_is_counted_per_day_and_a_reversed_window_is_an_error() -> None:
    since, _ = a_past_window()
    report = build_daily_report(since, since + timedelta(days=7))
    assert report.bucket == "day" and len(report.buckets) == 7
    with pytest.raises(ReportError, match="the window is empty"):
        build_daily_report(since, since)
    with pytest.raises(ReportError, match="unknown timezone 'Mars/Olympus'"):
        build_daily_report(since, since + timedelta(days=1), timezone_name="Mars/Olympus")


def test_an_unreachable_api_is_retried_then_a_report_error() -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    from tests.receivers import free_port

    since, until = a_past_window()
    slept: list[float] = []
    settings = {PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api", PREFECT_CLIENT_MAX_RETRIES: 0}
    with (
        temporary_settings(settings),
        get_client(sync_client=True) as client,
        pytest.raises(ReportError, match=r"the Prefect API could not be read .*is PREFECT_API_URL right"),
    ):
        build_daily_report(since, until, client=client, sleep=slept.append)
    assert slept == [1.0, 2.0, 4.0]


def test_the_report_survives_json() -> None:
    since, until = a_past_window()
    report = build_daily_report(since, until)
    assert DailyReport.model_validate_json(report.model_dump_json()) == report
