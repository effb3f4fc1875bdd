"""Outbox retention: settled entries past their keep time go; what a later step needs stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts import Alert, send_alert
from prefect_alerts.channels import SlackChannel
from prefect_alerts.dispatch import DispatchState, firing_alerts, prune_outbox
from prefect_alerts.routing import AlertRouting, RoutingError
from tests.dispatch.conftest import FakeClock


def _alert(key: str, **changes) -> Alert:
    values = {"title": f"Load {key} failed", "severity": "error", "event": "flow_failed", "dedup_key": key}
    values.update(changes)
    return Alert(**values)


def _group_keys(state: DispatchState) -> set[str]:
    from sqlalchemy import select

    from prefect_alerts.store.schema import storm_members

    with state.engine.connect() as connection:
        return {row.group_key for row in connection.execute(select(storm_members.c.group_key))}


def _statuses(state: DispatchState) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for entry in state.outbox.entries():
        found.setdefault(entry.dedup_key, []).append(entry.status)
    return found


def test_old_settled_entries_go_and_what_a_resolve_or_a_destination_needs_stays(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    httpserver.expect_request("/ok").respond_with_data("ok")
    httpserver.expect_request("/gone").respond_with_data("no_service", status=404)
    ok = SlackChannel(url=httpserver.url_for("/ok"), name="slack:ok")
    gone = SlackChannel(url=httpserver.url_for("/gone"), name="slack:gone")
    routing = AlertRouting.model_validate({"defaults": {"keep_delivered": "7d", "keep_dead": "30d"}})

    def send(alert: Alert, destination: SlackChannel) -> str:
        result = send_alert(alert, routing=routing, destinations=[destination], state=state, clock=clock)
        return result.outcomes[0].status

    assert send(_alert("still-firing"), ok) == "delivered"  # never resolved: its resolve needs the entry
    assert send(_alert("healed"), ok) == "delivered"
    clock.advance(minutes=1)
    assert send(_alert("healed").resolved(), ok) == "delivered"
    assert send(_alert("dead-1"), gone) == "dead"
    clock.advance(days=1)
    assert send(_alert("dead-2"), gone) == "dead"
    clock.advance(days=7)
    assert send(_alert("fresh"), ok) == "delivered"

    assert prune_outbox(routing, now=clock(), state=state) == 2  # healed's firing and resolved entries
    assert _statuses(state) == {
        "fresh": ["delivered"],
        "dead-2": ["dead"],
        "dead-1": ["dead"],
        "still-firing": ["delivered"],
    }
    # The firing alert can still be resolved from what the outbox kept.
    assert [alert.dedup_key for alert in firing_alerts(state=state)] == ["still-firing", "fresh"]
    assert prune_outbox(routing, now=clock(), state=state) == 0  # nothing more is old enough

    clock.advance(days=30)
    # dead-1 is past 30 days; dead-2 too, but it is the newest entry of slack:gone, so it stays.
    assert prune_outbox(routing, now=clock(), state=state) == 1
    assert _statuses(state) == {"fresh": ["delivered"], "dead-2": ["dead"], "still-firing": ["delivered"]}
    assert send(_alert("still-firing").resolved(), ok) == "delivered"
    assert len([request for request, _ in httpserver.log if request.path == "/ok"]) == 5


def test_never_keeps_every_entry_and_pending_ones_are_never_deleted(
    state: DispatchState, clock: FakeClock, black_hole_url: str
) -> None:
    routing = AlertRouting.model_validate({"defaults": {"keep_delivered": "never", "keep_dead": "never"}})
    assert routing.defaults.keep_delivered is None and routing.defaults.keep_dead is None
    hole = SlackChannel(url=black_hole_url, name="slack:hole")
    for index in range(3):
        result = send_alert(
            _alert(f"k{index}"), routing=routing, destinations=[hole], state=state, clock=clock, budget=0.2
        )
        assert result.outcomes[0].status == "queued"
    clock.advance(days=400)
    assert prune_outbox(routing, now=clock(), state=state) == 0
    keeping = AlertRouting.model_validate({"defaults": {"keep_delivered": "1d", "keep_dead": "1d"}})
    assert prune_outbox(keeping, now=clock(), state=state) == 0  # queued entries are not settled
    assert len(state.outbox.entries()) == 3


def test_a_large_backlog_goes_in_batches_and_a_call_stops_at_its_cap(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    httpserver.expect_request("/ok").respond_with_data("ok")
    ok = SlackChannel(url=httpserver.url_for("/ok"), name="slack:ok")
    for index in range(25):  # a minute apart: slower than a storm (10 alerts in 5 minutes) would fold
        assert (
            send_alert(_alert(f"k{index}"), destinations=[ok], state=state, clock=clock).outcomes[0].status
            == "delivered"
        )
        send_alert(_alert(f"k{index}").resolved(), destinations=[ok], state=state, clock=clock)
        clock.advance(minutes=1)
    clock.advance(days=8)
    before = clock() - timedelta(days=7)
    # 50 entries, the newest kept: 49 to delete, 10 a transaction, at most 30 this call.
    assert state.outbox.prune(delivered_before=before, dead_before=None, batch_size=10, max_rows=30) == 30
    assert state.outbox.prune(delivered_before=before, dead_before=None, batch_size=10, max_rows=30) == 19
    assert len(state.outbox.entries()) == 1


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("keep_delivered", "0s", "keep_delivered must be longer than 0s"),
        ("keep_dead", "-1d", "keep_dead"),
        ("keep_delivered", "a week", "keep_delivered"),
    ],
)
def test_bad_keep_times_are_named(field: str, value: str, expected: str) -> None:
    with pytest.raises(RoutingError) as caught:
        AlertRouting.model_validate({"defaults": {field: value}})
    assert expected in str(caught.value)


def test_the_described_routing_says_what_the_outbox_keeps() -> None:
    text = AlertRouting.model_validate({"defaults": {"keep_dead": "never"}}).describe()
    assert (
        "kept: delivered outbox entries 7d, dead letters never, alert history and resolved keys 30d" in text
    )


def test_old_history_goes_but_a_key_still_firing_keeps_its_own(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    from prefect_alerts.dispatch import prune_history

    httpserver.expect_request("/ok").respond_with_data("ok")
    ok = SlackChannel(url=httpserver.url_for("/ok"), name="slack:ok")
    routing = AlertRouting.model_validate({"defaults": {"keep_history": "30d"}})

    def send(alert: Alert) -> str:
        return (
            send_alert(alert, routing=routing, destinations=[ok], state=state, clock=clock).outcomes[0].status
        )

    assert send(_alert("healed")) == "delivered"
    assert send(_alert("healed").resolved()) == "delivered"
    assert send(_alert("still-firing")) == "delivered"
    clock.advance(days=31)
    assert send(_alert("recent")) == "delivered"

    assert prune_history(routing, now=clock(), state=state) == 2  # healed's firing and resolved sends
    assert sorted(entry.dedup_key for entry in state.history.recent(limit=100)) == ["recent", "still-firing"]
    # The firing key still resolves from what was kept, and sends nothing twice.
    assert send(_alert("still-firing").resolved()) == "delivered"
    assert send(_alert("still-firing").resolved()) == "suppressed"
    never = AlertRouting.model_validate({"defaults": {"keep_history": "never"}})
    clock.advance(days=365)
    assert prune_history(never, now=clock(), state=state) == 0
    # still-firing's three sends (firing, resolved, the suppressed second resolve) go; "recent" fires still.
    assert prune_history(routing, now=clock(), state=state) == 3
    assert [entry.dedup_key for entry in state.history.recent(limit=100)] == ["recent"]


def test_what_resolved_alerts_left_goes_but_a_key_still_firing_keeps_its_row_and_incident(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    from prefect_alerts.alert import Source
    from prefect_alerts.dispatch import prune_resolved

    httpserver.expect_request("/ok").respond_with_data("ok")
    ok = SlackChannel(url=httpserver.url_for("/ok"), name="slack:ok")
    routing = AlertRouting.model_validate({"defaults": {"keep_history": "30d"}})

    def send(alert: Alert) -> str:
        return (
            send_alert(alert, routing=routing, destinations=[ok], state=state, clock=clock).outcomes[0].status
        )

    def run_alert(key: str, run: str) -> Alert:
        return _alert(key, source=Source(flow_name="etl", flow_run_id=run))

    assert send(run_alert("healed", "run-1")) == "delivered"
    clock.advance(minutes=5)
    assert send(run_alert("healed", "run-1").resolved()) == "delivered"
    assert send(run_alert("still-firing", "run-2")) == "delivered"
    clock.advance(days=31)
    assert send(_alert("recent-resolve")) == "delivered"
    assert send(_alert("recent-resolve").resolved()) == "delivered"
    incident_runs = {"run-1", "run-2"}
    assert {run for run in incident_runs if state.incidents.openers(run, "slack:")} == incident_runs

    # healed's resolved row, its run's incident and its storm-counter member go; the recent resolve and the
    # firing key (row, incident, member) stay.
    assert (
        len(state.storms.members(next(iter(_group_keys(state))), clock() - timedelta(days=90))) == 3
    )  # the three firing sends
    assert prune_resolved(routing, now=clock(), state=state) == 3
    assert state.storms.last_member("healed") is None
    assert state.storms.last_member("still-firing") is not None
    assert state.log.get("healed", "slack:ok") is None
    assert state.log.get("recent-resolve", "slack:ok") is not None
    assert state.log.get("still-firing", "slack:ok").last_status == "firing"
    assert not state.incidents.openers("run-1", "slack:")
    assert state.incidents.openers("run-2", "slack:")
    # With its row gone, healed firing again is news (sent once), and the firing key still resolves once.
    assert send(run_alert("healed", "run-3")) == "delivered"
    assert send(run_alert("healed", "run-3")) == "suppressed"
    assert send(run_alert("still-firing", "run-2").resolved()) == "delivered"
    assert send(run_alert("still-firing", "run-2").resolved()) == "suppressed"
    never = AlertRouting.model_validate({"defaults": {"keep_history": "never"}})
    clock.advance(days=365)
    assert prune_resolved(never, now=clock(), state=state) == 0


def test_resolved_rows_go_in_batches_and_a_call_stops_at_its_cap(
    state: DispatchState, clock: FakeClock
) -> None:
    for index in range(7):
        won, _ = state.log.claim_firing(
            dedup_key=f"key-{index}",
            destination="console",
            claim_id=f"claim-{index}",
            now=clock(),
            cooldown=timedelta(hours=1),
            repeat_interval=None,
            route="r",
            flow_name="etl",
            deployment_name=None,
        )
        assert won
        assert state.log.claim_resolved(
            dedup_key=f"key-{index}", destination="console", claim_id=f"resolve-{index}", now=clock()
        )[0]
    clock.advance(days=2)
    assert state.log.prune_resolved(clock(), batch_size=2, max_rows=5) == 5
    assert state.log.prune_resolved(clock(), batch_size=2, max_rows=5) == 2
    assert state.log.prune_resolved(clock(), batch_size=2) == 0


def test_a_resolved_row_stays_while_a_route_s_cooldown_still_reads_it(
    httpserver: HTTPServer, state: DispatchState, clock: FakeClock
) -> None:
    from prefect_alerts.dispatch import prune_resolved

    httpserver.expect_request("/ok").respond_with_data("ok")
    routing = AlertRouting.model_validate(
        {
            "defaults": {"keep_history": "30d"},
            "routes": [
                {
                    "name": "slow",
                    "match": {"event": "flow_failed"},
                    "destinations": ["console"],
                    "cooldown": "60d",
                }
            ],
        }
    )
    assert (
        send_alert(_alert("flappy"), routing=routing, state=state, clock=clock).outcomes[0].status
        == "delivered"
    )
    resolve = send_alert(_alert("flappy").resolved(), routing=routing, state=state, clock=clock)
    assert resolve.outcomes[0].status == "delivered"
    clock.advance(days=40)
    assert prune_resolved(routing, now=clock(), state=state) == 1  # its storm member; the 60d cooldown
    assert state.log.get("flappy", "console") is not None  # still reads the resolved row
    again = send_alert(_alert("flappy"), routing=routing, state=state, clock=clock).outcomes[0]
    assert again.status == "suppressed" and "cooldown until" in (again.reason or "")


def test_storm_members_of_an_open_storm_stay_and_a_closed_storm_goes_with_its_members(
    state: DispatchState, clock: FakeClock
) -> None:
    from prefect_alerts.store.sla import SlaStore
    from prefect_alerts.store.storms import StormMember, StormRecord

    storms = state.storms
    start = clock()

    def member(key: str, storm_id: str | None) -> StormMember:
        return StormMember(
            alert_id=f"alert-{key}",
            dedup_key=key,
            storm_id=storm_id,
            created_at=start,
            severity_rank=3,
            event="flow_failed",
            title=f"{key} failed",
        )

    for storm_id in ("storm-open", "storm-closed"):
        storms.open_storm(
            StormRecord(
                id=storm_id,
                group_key=f"group-{storm_id}",
                route="r",
                labels={"flow": "etl"},
                since=start,
                started_at=start,
                destinations=[{"destination": "console", "reference": "console"}],
                window=timedelta(minutes=5),
            )
        )
        for index in range(3):
            storms.add_member(f"group-{storm_id}", member(f"{storm_id}-{index}", storm_id))
    storms.add_member("group-alone", member("sent-alone", None))
    assert storms.close("storm-closed", start + timedelta(hours=1))
    sla = SlaStore(state.engine)
    assert sla.opened("v1", rule_key="r1", subject="flow:etl", alert={"title": "late"}, now=start)
    assert sla.opened("v2", rule_key="r1", subject="flow:ml", alert={"title": "late"}, now=start)
    assert sla.close("v1", start + timedelta(hours=1))

    assert storms.prune(start) == 0  # nothing is older than the start
    later = start + timedelta(days=2)
    # The closed storm's 3 members, the lone member, then the closed storm itself; the open storm keeps all.
    assert storms.prune(later) == 5
    assert storms.get_storm("storm-closed") is None and storms.get_storm("storm-open") is not None
    assert len(storms.members("group-storm-open", start)) == 3
    assert sla.prune(later) == 1 and [violation.key for violation in sla.open()] == ["v2"]
    # A closed violation's subject opens a new row next time.
    assert sla.opened("v1", rule_key="r1", subject="flow:etl", alert={"title": "late again"}, now=later)
