"""The sweeper's checkpoint and claims, on SQLite and (under ``make test-postgres``) on PostgreSQL.

Two aggregators racing on one run must agree on which one acts: the claim is one ``INSERT ... ON CONFLICT DO
NOTHING``, exercised here from many threads at once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from prefect_alerts.store import get_engine
from prefect_alerts.store.sweeper import SweeperStore
from tests.store_fixtures import store_url as store_url  # the fixture, for pytest

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def sweeper(store_url: str) -> SweeperStore:
    return SweeperStore(get_engine(store_url))


def test_the_checkpoint_is_none_until_the_first_sweep_and_never_moves_backwards(
    sweeper: SweeperStore,
) -> None:
    assert sweeper.checkpoint("runs") is None
    sweeper.advance("runs", NOW, NOW)
    assert sweeper.checkpoint("runs") == NOW
    # A slower sweep that started earlier finishes late: it must not undo the newer checkpoint.
    sweeper.advance("runs", NOW - timedelta(minutes=5), NOW + timedelta(minutes=1))
    assert sweeper.checkpoint("runs") == NOW
    sweeper.advance("runs", NOW + timedelta(minutes=5), NOW + timedelta(minutes=5))
    assert sweeper.checkpoint("runs") == NOW + timedelta(minutes=5)
    assert sweeper.checkpoint("other") is None  # checkpoints are per name


def test_exactly_one_of_many_racing_claims_wins(sweeper: SweeperStore) -> None:
    def claim(worker: int) -> bool:
        return sweeper.claim("run", "run-1", now=NOW, decision="alerting", detail=f"worker {worker}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        won = list(pool.map(claim, range(16)))
    assert won.count(True) == 1
    claims = sweeper.claimed("run", {"run-1", "run-2"})
    assert set(claims) == {"run-1"}
    assert claims["run-1"].decision == "alerting"
    assert claims["run-1"].claimed_at == NOW
    # A different kind with the same key is a different claim.
    assert sweeper.claim("queued", "run-1", now=NOW, decision="reraising")


def test_a_claim_is_settled_released_or_taken_over_when_its_holder_died(sweeper: SweeperStore) -> None:
    assert sweeper.claim("run", "run-1", now=NOW, decision="alerting")
    # Its holder is still within its time: nobody takes it over.
    assert not sweeper.take_over("run", "run-1", now=NOW + timedelta(minutes=1), older_than=NOW)
    # The holder died mid-send: ten minutes later another sweep takes the claim, once.
    later = NOW + timedelta(minutes=11)
    assert sweeper.take_over("run", "run-1", now=later, older_than=later - timedelta(minutes=10))
    assert not sweeper.take_over("run", "run-1", now=later, older_than=later - timedelta(minutes=10))

    sweeper.settle("run", "run-1", decision="alerted", alert_id="a-1", detail="x" * 900)
    settled = sweeper.claimed("run", {"run-1"})["run-1"]
    assert (settled.decision, settled.alert_id, len(settled.detail or "")) == ("alerted", "a-1", 500)
    # A settled claim is never taken over, however old.
    assert not sweeper.take_over(
        "run", "run-1", now=later + timedelta(days=1), older_than=later + timedelta(hours=1)
    )

    sweeper.release("run", "run-1")
    assert sweeper.claimed("run", {"run-1"}) == {}
    assert sweeper.claim("run", "run-1", now=later, decision="alerting")  # the next sweep tries again


def test_prune_forgets_only_claims_older_than_the_cut(sweeper: SweeperStore) -> None:
    sweeper.claim("run", "old", now=NOW - timedelta(days=3), decision="alerted")
    sweeper.claim("run", "new", now=NOW, decision="alerted")
    assert sweeper.prune(NOW - timedelta(days=1)) == 1
    assert set(sweeper.claimed("run", {"old", "new"})) == {"new"}
    assert sweeper.claimed("run", set()) == {}
