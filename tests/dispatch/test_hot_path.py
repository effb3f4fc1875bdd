"""The dispatch hot path's shortcuts keep the results of the slow path they replace.

One JSON encoding per send, ids made without a UUID object, datetimes turned into SQLite's text by isoformat,
each silence parsed once, the pipeline's step groups worked out once: each test checks the shortcut gives what
the original gave, on a real store (SQLite here, PostgreSQL under ``make test-postgres``).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from prefect_alerts import Alert
from prefect_alerts.alert import Source
from prefect_alerts.dispatch import Dispatch, DispatchState, Notification, Pipeline
from prefect_alerts.dispatch.dedupe import DedupeStage
from prefect_alerts.dispatch.outbox import OutboxStage
from prefect_alerts.dispatch.route import RouteStage
from prefect_alerts.dispatch.silence import SilenceStage
from prefect_alerts.dispatch.stage import new_id, process_token
from prefect_alerts.routing import AlertRouting, RouteTarget
from prefect_alerts.silences import add_silence, expire_silence
from prefect_alerts.store.outbox import NewDelivery
from prefect_alerts.store.prepared import json_text, sqlite_datetime_text
from tests.dispatch.conftest import FakeClock

SQLALCHEMY_SQLITE_DATETIME = DateTime(timezone=True)._cached_bind_processor(sqlite.dialect())


@given(
    st.datetimes(
        min_value=datetime(1, 1, 1),
        max_value=datetime(9999, 12, 31, 23, 59, 59, 999999),
        timezones=st.one_of(st.none(), st.just(timezone.utc), st.timezones()),
    )
)
def test_sqlite_datetime_text_is_the_text_sqlalchemy_writes(value: datetime) -> None:
    assert sqlite_datetime_text(value) == SQLALCHEMY_SQLITE_DATETIME(value)


def test_sqlite_datetime_text_on_whole_seconds_and_dates() -> None:
    whole = datetime(2026, 12, 6, 14, 5, tzinfo=timezone.utc)
    assert sqlite_datetime_text(whole) == "2026-12-06 14:05:00.000000" == SQLALCHEMY_SQLITE_DATETIME(whole)
    assert sqlite_datetime_text(whole.date()) == SQLALCHEMY_SQLITE_DATETIME(whole.date())


JSON_SAFE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), children, max_size=4)
    ),
    max_leaves=20,
)


@given(JSON_SAFE)
def test_json_text_reads_back_as_json_dumps_does(value: object) -> None:
    # Integers past 64 bits and integer keys included: orjson refuses the first and json.dumps is used.
    assert json.loads(json_text(value)) == json.loads(json.dumps(value))


def test_new_ids_are_unique_uuid7_hex_in_time_order() -> None:
    ids = [new_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.hex == value and parsed.version == 7 and parsed.variant == uuid.RFC_4122
    # The first 48 bits are the time in milliseconds: ids of a later millisecond sort after earlier ones.
    millis = [int(value[:12], 16) for value in ids]
    assert millis == sorted(millis)
    assert abs(millis[-1] - time.time_ns() // 1_000_000) < 5_000
    before = new_id()
    time.sleep(0.002)
    assert before < new_id()


def _target(destination: str, route: str = "pages") -> RouteTarget:
    return RouteTarget(
        destination=destination,
        route=route,
        cooldown=timedelta(hours=1),
        repeat_interval=timedelta(hours=4),
        send_resolved=True,
        mentions=["@ana"] if destination.startswith("slack") else [],
    )


def _alert() -> Alert:
    return Alert(
        title="Load failed <!here>",
        severity="critical",
        event="flow_failed",
        source=Source(flow_name="etl", deployment_name="nightly"),
        fields={"rows": 2**70, "share": float("nan"), "took": timedelta(seconds=125)},
    )


def test_one_send_writes_each_destination_with_the_alert_as_to_record_gives_it(
    state: DispatchState, clock: FakeClock
) -> None:
    alert = _alert()
    reminder = alert.model_copy(update={"fields": {"still firing": "3 more times", **alert.fields}})
    dispatch = Dispatch(alert=alert, routing=AlertRouting(), state=state, clock=clock)
    dispatch.notifications = [
        Notification(target=_target("slack:oncall"), destination="slack:oncall", alert=alert),
        Notification(target=_target("webhook:etl", "etl"), destination="webhook:etl", alert=alert),
        Notification(target=_target("email:team"), destination="email:team", alert=reminder),
    ]
    OutboxStage().run(dispatch)

    entries = {entry.destination: entry for entry in state.outbox.entries()}
    assert sorted(entries) == ["email:team", "slack:oncall", "webhook:etl"]
    for notification in dispatch.notifications:
        entry = entries[notification.destination]
        assert entry.id == notification.outbox_id
        assert entry.alert == notification.alert.to_record()
        assert entry.alert_id == dispatch.alert_id and entry.dedup_key == alert.dedup_key
        assert entry.route == notification.target.route
        assert entry.status == "delivering" and entry.attempts == 0 and entry.lease_owner == process_token()
        assert entry.next_attempt_at == entry.created_at == entry.updated_at == clock()
        assert entry.lease_until == clock() + timedelta(seconds=dispatch.budget + 120)
    assert entries["slack:oncall"].mentions == ["@ana"] and entries["webhook:etl"].mentions is None
    assert "still firing" in Alert.from_record(entries["email:team"].alert).fields
    assert "still firing" not in Alert.from_record(entries["slack:oncall"].alert).fields
    assert Alert.from_record(entries["slack:oncall"].alert).fields["took"] == timedelta(seconds=125)


def test_add_and_add_many_write_the_same_entry(state: DispatchState, clock: FakeClock) -> None:
    now = clock()
    record = _alert().to_record()
    common = {
        "alert_id": "send-1",
        "dedup_key": "key",
        "alert": record,
        "max_attempts": 5,
        "expires_at": now + timedelta(days=1),
        "now": now,
        "lease_owner": "host:1:abc",
        "lease_until": now + timedelta(minutes=2),
    }
    state.outbox.add(
        entry_id="one",
        destination="slack:oncall",
        reference="slack:oncall",
        channel_spec=None,
        mentions=["@ana"],
        route="pages",
        **common,
    )
    state.outbox.add_many(
        [NewDelivery("two", "slack:oncall", "slack:oncall", None, ["@ana"], "pages")], **common
    )
    state.outbox.add_many([], **common)  # nothing to write: no statement, no error
    one, two = state.outbox.get("one"), state.outbox.get("two")
    assert one is not None and two is not None
    assert one.model_dump(exclude={"id"}) == two.model_dump(exclude={"id"})
    assert len(state.outbox.entries()) == 2


def test_new_delivery_repr_hides_the_channel_settings() -> None:
    delivery = NewDelivery(
        "e1", "slack", None, {"url": "https://hooks.slack.com/services/T/B/secret"}, None, None
    )
    assert "secret" not in repr(delivery) and "secret" not in str(delivery)


def test_a_silence_expired_or_added_applies_at_once_to_the_same_stage(
    state: DispatchState, clock: FakeClock
) -> None:
    stage = SilenceStage()  # one stage, as the default pipeline keeps one for every send

    def silenced() -> str | None:
        dispatch = Dispatch(alert=_alert(), routing=AlertRouting(), state=state, clock=clock)
        dispatch.notifications = [
            Notification(target=_target("slack:oncall"), destination="slack:oncall", alert=dispatch.alert)
        ]
        stage.run(dispatch)
        outcome = dispatch.notifications[0].outcome
        return None if outcome is None else outcome.reason

    first = add_silence({"flow": "etl"}, "1h", "ana", "migration", now=clock(), state=state)
    assert (silenced() or "").startswith(f"silenced by {first.id} ")
    assert (silenced() or "").startswith(f"silenced by {first.id} ")  # the parsed silence, reused
    expire_silence(first.id, now=clock(), state=state)
    assert silenced() is None
    second = add_silence({"deployment": "nightly"}, "1h", "bo", "backfill", now=clock(), state=state)
    assert (silenced() or "").startswith(f"silenced by {second.id} ")
    clock.advance(hours=2)  # past its end: the cached row no longer applies
    assert silenced() is None


class Recorder:
    """A batched step that notes the alerts it saw (it writes nothing)."""

    name = "recorder"
    batched = True

    def __init__(self) -> None:
        self.seen: list[str] = []

    def run(self, dispatch: Dispatch) -> None:
        self.seen.append(dispatch.alert.title)


def test_the_pipeline_groups_batched_steps_and_sees_a_changed_list_of_steps(
    state: DispatchState, clock: FakeClock
) -> None:
    routing = AlertRouting.model_validate({"default": ["console"]})
    pipeline = Pipeline([RouteStage(), SilenceStage(), DedupeStage(), OutboxStage()])
    assert [[stage.name for stage in group] for group, _ in pipeline._groups()] == [
        ["route"],
        ["silence"],
        ["dedupe", "outbox"],
    ]
    pipeline.run(Dispatch(alert=_alert(), routing=routing, state=state, clock=clock))
    assert [entry.destination for entry in state.outbox.entries()] == ["console"]

    recorder = Recorder()
    pipeline.stages.insert(2, recorder)
    assert [[stage.name for stage in group] for group, _ in pipeline._groups()] == [
        ["route"],
        ["silence"],
        ["recorder", "dedupe", "outbox"],
    ]
    pipeline.run(Dispatch(alert=_alert(), routing=routing, state=state, clock=clock))
    assert recorder.seen == ["Load failed <!here>"]


@pytest.mark.parametrize("destinations", [1, 2, 3])
def test_claims_and_entries_agree_for_every_destination_count(
    state: DispatchState, clock: FakeClock, destinations: int
) -> None:
    routing = AlertRouting.direct([f"webhook:hook-{index}" for index in range(destinations)])
    pipeline = Pipeline([RouteStage(), SilenceStage(), DedupeStage(), OutboxStage()])
    alert = _alert()
    pipeline.run(Dispatch(alert=alert, routing=routing, state=state, clock=clock))
    clock.advance(minutes=1)
    repeat = pipeline.run(Dispatch(alert=alert, routing=routing, state=state, clock=clock))
    entries = state.outbox.entries()
    assert sorted(entry.destination for entry in entries) == [
        f"webhook:hook-{i}" for i in range(destinations)
    ]
    assert len({entry.alert_id for entry in entries}) == 1
    assert [outcome.status for outcome in repeat.outcomes] == ["suppressed"] * destinations
    for index in range(destinations):
        logged = state.log.get(alert.dedup_key, f"webhook:hook-{index}")
        assert logged is not None and logged.claim_id == entries[0].alert_id and logged.suppressed == 1


@pytest.mark.sqlite_only
def test_a_new_sqlite_store_has_1_kib_pages_and_checkpoints_every_16_mib_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from prefect_alerts.store import get_engine
    from prefect_alerts.store.prepared import _connection

    engine = get_engine(f"sqlite:///{tmp_path}/wal.db")
    with engine.connect() as connection:  # the pool's connections
        driver = connection.connection.dbapi_connection
        assert driver.execute("PRAGMA page_size").fetchone()[0] == 1024
        assert driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 16 * 1024
        assert driver.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert driver.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL, as before
    hot_path = _connection(engine)  # the prepared statements' per-thread connection
    assert hot_path.cursor().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 16 * 1024


@pytest.mark.sqlite_only
def test_an_existing_4_kib_store_keeps_its_pages_and_checkpoints_every_16_mib(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from prefect_alerts.store import get_engine

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)  # a store made before 1 KiB pages: SQLite's default size, in WAL mode
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE earlier (x INTEGER)")
    old.close()
    assert sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0] == 4096
    engine = get_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        driver = connection.connection.dbapi_connection
        assert driver.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 4096  # 16 MiB of 4 KiB pages
        assert driver.execute("SELECT count(*) FROM prefect_alerts_outbox").fetchone()[0] == 0  # schema added


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_new_ids_differ_in_a_forked_child_and_after_a_user_seeds_random() -> None:
    import random

    random.seed(42)  # a user's seed in every worker must not make their ids repeat
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its next ids, to the parent
        os.write(write, "".join(new_id() for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    ours = {new_id()[12:] for _ in range(50)}  # the random part (the time part may be equal)
    text = b""
    while chunk := os.read(read, 4096):
        text += chunk
    os.close(read)
    os.waitpid(child, 0)
    theirs = {text[i : i + 32].decode()[12:] for i in range(0, len(text), 32)}
    assert len(theirs) == 50 and not ours & theirs


@pytest.mark.sqlite_only
def test_the_readme_s_conversion_gives_an_old_store_1_kib_pages_and_keeps_its_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import re
    import sqlite3
    from pathlib import Path

    from prefect_alerts.store import get_engine

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (script,) = re.findall(r"""sqlite3 "\$PREFECT_HOME/prefect_alerts.db" '([^']+)'""", readme)
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE earlier (x INTEGER)")
    old.executemany("INSERT INTO earlier VALUES (?)", [(i,) for i in range(500)])
    old.commit()
    old.close()
    converting = sqlite3.connect(path, isolation_level=None)
    for statement in script.split(";"):
        if statement.strip():
            converting.execute(statement)
    converting.close()
    engine = get_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        driver = connection.connection.dbapi_connection
        assert driver.execute("PRAGMA page_size").fetchone()[0] == 1024
        assert driver.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 16 * 1024
        assert driver.execute("SELECT count(*) FROM earlier").fetchone()[0] == 500
