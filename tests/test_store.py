"""The SQLAlchemy Core store: history and results, default location, env URL, concurrent writers.

Every test but the SQLite-only ones also runs against PostgreSQL under ``make test-postgres``.
"""

from __future__ import annotations

import multiprocessing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import make_url

from prefect_alerts.store import CheckStore, database_url, get_engine, reset_engines
from tests.store_fixtures import postgres_url
from tests.store_fixtures import store_url as store_url  # the fixture, for pytest


@pytest.fixture
def store(store_url: str) -> CheckStore:
    return CheckStore(url=store_url)


def test_the_store_is_the_database_the_run_asked_for(store_url: str) -> None:
    # Guards the PostgreSQL run against silently testing SQLite.
    expected = "postgresql" if postgres_url() else "sqlite"
    assert make_url(store_url).get_backend_name() == expected
    assert get_engine(store_url).dialect.name == expected


def test_each_test_starts_from_an_empty_store(store: CheckStore) -> None:
    # Collected twice (the alias below): whichever runs second must not see the first one's row.
    assert store.recent_values("data_volume", "leftover", limit=10) == []
    store.record_value("data_volume", "leftover", 1)


test_each_test_starts_from_an_empty_store_again = test_each_test_starts_from_an_empty_store


def test_recent_values_are_the_last_n_oldest_first_per_check(store: CheckStore) -> None:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for day in range(20):
        store.record_value("data_volume", "orders", 100 + day, recorded_at=start + timedelta(days=day))
    store.record_value("data_volume", "other", 1)
    store.record_value("other_kind", "orders", 2)
    recent = store.recent_values("data_volume", "orders", limit=14)
    assert [point.value for point in recent] == [float(v) for v in range(106, 120)]
    assert recent[-1].recorded_at == start + timedelta(days=19)
    assert recent[-1].recorded_at.tzinfo is not None


def test_non_finite_values_are_refused(store: CheckStore) -> None:
    with pytest.raises(ValueError, match="finite"):
        store.record_value("data_volume", "orders", float("nan"))


def test_latest_result_and_passed_only(store: CheckStore) -> None:
    assert store.latest_result("model_performance", "churn") is None
    store.save_result("model_performance", "churn", True, {"metrics": {"auc": 0.91}})
    store.save_result("model_performance", "churn", False, {"metrics": {"auc": 0.70}})
    assert store.latest_result("model_performance", "churn").result == {"metrics": {"auc": 0.70}}
    assert store.latest_result("model_performance", "churn", passed_only=True).result == {
        "metrics": {"auc": 0.91}
    }


@pytest.mark.sqlite_only
def test_default_location_is_prefect_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_HOME, temporary_settings

    monkeypatch.delenv("PREFECT_ALERTS_DATABASE_URL", raising=False)
    with temporary_settings({PREFECT_HOME: str(tmp_path / "home")}):
        assert database_url() == f"sqlite:///{tmp_path / 'home' / 'prefect_alerts.db'}"
        CheckStore().record_value("data_volume", "x", 1)
    assert (tmp_path / "home" / "prefect_alerts.db").exists()


def test_env_url_wins(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_ALERTS_DATABASE_URL", store_url)
    reset_engines()
    assert database_url() == store_url
    CheckStore().record_value("data_volume", "x", 5)
    assert [point.value for point in CheckStore(url=store_url).recent_values("data_volume", "x")] == [5.0]


def _writer(url: str, worker: int) -> None:
    store = CheckStore(url=url)
    for i in range(50):
        store.record_value("data_volume", "shared", worker * 1000 + i)


def test_two_processes_write_at_once_without_locking_errors(store_url: str) -> None:
    CheckStore(url=store_url)  # create the schema first, as the first run would
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(store_url, worker)) for worker in (1, 2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
    assert [process.exitcode for process in workers] == [0, 0]
    values = CheckStore(url=store_url).recent_values("data_volume", "shared", limit=1000)
    assert sorted(point.value for point in values) == [float(w * 1000 + i) for w in (1, 2) for i in range(50)]


@pytest.mark.sqlite_only
def test_an_index_a_later_version_added_is_created_on_an_existing_store(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, inspect, text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    get_engine(url)
    reset_engines()
    old = create_engine(url)
    with old.begin() as connection:  # the store as an older version left it
        connection.execute(text("DROP INDEX ix_prefect_alerts_outbox_send"))
    assert "ix_prefect_alerts_outbox_send" not in {
        ix["name"] for ix in inspect(old).get_indexes("prefect_alerts_outbox")
    }
    old.dispose()

    engine = get_engine(url)
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("prefect_alerts_outbox")}
    assert {"ix_prefect_alerts_outbox_send", "ix_prefect_alerts_outbox_due"} <= indexes
