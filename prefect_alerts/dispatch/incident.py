"""Step 4, incident: within one flow run, the first alert to a destination pages; later ones follow it.

A failed check (``data_quality_failed``, ``drift_detected``...) or a failed task, then the task's failure,
then the flow's failure: one incident, not three pages. Per flow run and destination
(:class:`~prefect_alerts.store.incidents.IncidentStore`, claimed atomically):

- the run's first alert there (a failed check, task or flow) is sent as usual and opens the incident (its
  dedup key is the incident's key);
- a later task or flow failure of the same run there is folded into the incident ("folded into incident ... opened by
  'Data quality check failed: orders'"), and instead:
  - PagerDuty gets an update under the incident's dedup key (no second incident) with the later alert's
    details, at the highest severity the run reached: a later, worse alert escalates the same incident;
  - Slack, email and the other channels get one follow-up when the flow itself fails (``flow_failed``,
    ``flow_timeout``, ``flow_crashed``) or when the later alert is worse than every earlier one: "Flow 'price-scrape' failed: KeyError (after: Data quality check failed: 12% nulls in
    price)". Other later alerts (the failed task after its failed check) are folded silently: the flow's
    follow-up tells the rest.
  - each follow-up (and update) also names what the routes' actions already did for the run ("Action: started
    run 'brave-fox' of retrain/nightly"), read from the outcome the action's claim recorded.
- a second failed check of the run is sent as usual (it is news of its own); slow runs, SLA breaches,
  return-value checks, cancellations and manual notices stay outside incidents;
- when the run's first alert was itself folded into a storm, later alerts fold without follow-ups: the storm's
  summary speaks for the run.

A resolve whose firing alert was folded here (it was never sent on its own) is suppressed with the reason, which
still closes its key (a recovery sends one for every key still firing); the incident's own key resolves where
the first alert went. Alerts with no flow run (a script, the CLI) pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from prefect_alerts.alert import Alert, Severity
from prefect_alerts.dispatch.dedupe import format_time
from prefect_alerts.dispatch.followups import FollowUp, add_follow_up
from prefect_alerts.dispatch.stage import Dispatch, Notification
from prefect_alerts.dispatch.storm_summary import STORM_EVENT, short_id
from prefect_alerts.store.incidents import IncidentClaim

__all__ = [
    "FLOW_OUTCOME_EVENTS",
    "FOLDED_EVENTS",
    "OUTSIDE_INCIDENTS",
    "IncidentStage",
    "actions_taken",
    "incident_follow_up",
]

FLOW_OUTCOME_EVENTS = frozenset({"flow_failed", "flow_timeout", "flow_crashed"})
"""A later alert with one of these events ends the run's story: chat and email get it as a follow-up."""

FOLDED_EVENTS = frozenset({"task_failed", *FLOW_OUTCOME_EVENTS})
"""What follows a failure in the same run and folds into its incident: the task's and the flow's failure."""

OUTSIDE_INCIDENTS = frozenset(
    {"flow_cancelled", "sla_violation", "task_slow", "result_check_failed", "notification", STORM_EVENT}
)
"""Alerts about something else than a failure chain (a slow run, a return value, a cancel, a manual notice):
they neither open an incident nor fold into one. Every other alert (failed checks and failures) opens one."""

PAGING_KINDS = frozenset({"pagerduty"})
"""Destinations that keep an incident open by dedup key: every later alert updates it."""

_BY_RANK = {severity.rank: severity for severity in Severity}

ACTION_PREFIX = "action:"
"""How an action's claims and outcomes name it: ``action:run_deployment:retrain/nightly``."""
_DEAD_LEAD = "the action failed: "


def _kind(notification: Notification) -> str:
    destination = notification.target.destination
    if isinstance(destination, str):
        return destination.split(":", 1)[0]
    return str(getattr(destination, "kind", ""))


def actions_taken(dispatch: Dispatch, flow_run_id: str) -> list[str]:
    """What the routes' actions did for this flow run so far, one line each ("Action: started run 'brave-fox'
    of retrain/nightly"): the alert that claimed each action for the run's incident recorded its outcome."""
    openers = dispatch.state.incidents.openers(flow_run_id, ACTION_PREFIX)
    outcomes = dispatch.state.history.outcomes_by_id(set(openers.values()))
    lines = []
    for action, alert_id in sorted(openers.items()):
        for outcome in outcomes.get(alert_id, []):
            if outcome.get("destination") != action:
                continue
            reason = str(outcome.get("reason") or "")
            if outcome.get("status") == "delivered":
                lines.append(f"Action: {reason}")
            elif outcome.get("status") == "dead":
                lines.append(
                    f"Action {action[len(ACTION_PREFIX) :]} failed: {reason.removeprefix(_DEAD_LEAD)}"
                )
    return lines


def incident_follow_up(
    alert: Alert, claim: IncidentClaim, *, paging: bool, actions: Sequence[str] = ()
) -> Alert:
    """The later ``alert`` as its incident's follow-up: under the incident's dedup key, naming what it follows.

    ``paging``: for PagerDuty, at the highest severity the run reached (an escalation of the same incident).
    ``actions``: what the routes' actions already did for the run (:func:`actions_taken`), one line each.
    """
    opener = claim.title
    severity = alert.severity
    if paging:
        severity = max(severity, _BY_RANK.get(claim.severity_rank, severity))
    lead = "\n".join(
        [
            f"Follow-up in the same flow run: this came after \u201c{opener}\u201d, sent at "
            f"{format_time(claim.opened_at, alert.timestamp)}; {claim.alerts} alerts from this run so far.",
            *actions,
        ]
    )
    return alert.model_copy(
        update={
            "title": f"{alert.title} (after: {opener})"[:500],
            "message": f"{lead}\n\n{alert.message}".strip(),
            "severity": severity,
            "dedup_key": claim.incident_key,
            "fields": {**alert.fields, "follows": opener, "alerts in this run": claim.alerts},
        }
    )


class IncidentStage:
    """Joins each pending firing notification to its flow run's incident; later alerts fold into it."""

    name: ClassVar[str] = "incident"
    batched: ClassVar[bool] = True
    """Writes only through prepared statements: shares the dispatch's store transaction."""

    def run(self, dispatch: Dispatch) -> None:
        alert = dispatch.alert
        if alert.event in OUTSIDE_INCIDENTS:
            return
        pending = dispatch.pending()
        if not pending:
            return
        if alert.is_resolved:
            self._resolved(dispatch, pending)
            return
        run_id = alert.source.flow_run_id
        if not run_id:
            return
        for notification in pending:
            claim = dispatch.state.incidents.join(
                flow_run_id=run_id,
                destination=notification.destination,
                alert_id=dispatch.alert_id,
                dedup_key=alert.dedup_key,
                title=alert.title,
                severity_rank=alert.severity.rank,
                now=dispatch.now,
                run_failed=alert.event in FOLDED_EVENTS,
                flow_name=alert.source.flow_name,
                deployment_name=alert.source.deployment_name,
            )
            # A second failed check in the run is news of its own: it joins the count but is sent.
            if not claim.opened_by_alert(dispatch.alert_id) and alert.event in FOLDED_EVENTS:
                self._fold(dispatch, notification, claim)

    def _fold(self, dispatch: Dispatch, notification: Notification, claim: IncidentClaim) -> None:
        alert = dispatch.alert
        where = f"folded into the incident of this run opened by \u201c{claim.title[:120]}\u201d"
        opener = dispatch.state.storms.last_member(claim.incident_key)
        if opener is not None and opener.alert_id == claim.opened_by and opener.storm_id is not None:
            reason = (
                f"{where}, itself folded into storm {short_id(opener.storm_id)}: the storm summary covers it"
            )
            dispatch.settle(notification, "folded", reason)
            return
        paging = _kind(notification) in PAGING_KINDS
        follow = paging or alert.event in FLOW_OUTCOME_EVENTS or claim.escalated
        if follow:
            # The follow-up says what was already done, so nobody has to find the separate action report.
            if "actions_taken" not in dispatch.extra:  # once per alert, not per destination
                dispatch.extra["actions_taken"] = actions_taken(dispatch, alert.source.flow_run_id or "")
            actions = dispatch.extra["actions_taken"]
            update = incident_follow_up(alert, claim, paging=paging, actions=actions)
            add_follow_up(dispatch, FollowUp(update, [(notification.target, notification.destination)]))
            then = "sent as an update of its incident" if paging else "sent as its follow-up"
        else:
            then = "the flow's outcome follows as one follow-up"
        dispatch.settle(notification, "folded", f"{where} ({then})")

    def _resolved(self, dispatch: Dispatch, pending: list[Notification]) -> None:
        # The last firing alert of this key: where it was folded, its resolve has nothing to close.
        firing = next(
            (
                entry
                for entry in dispatch.state.history.recent(dedup_key=dispatch.alert.dedup_key, limit=5)
                if entry.status == "firing"
            ),
            None,
        )
        if firing is None:
            return
        folded = {
            outcome["destination"]: outcome.get("reason") or "folded"
            for outcome in firing.outcomes
            if outcome.get("status") == "folded"
        }
        for notification in pending:
            reason = folded.get(notification.destination)
            if reason is not None and "incident" in reason:
                dispatch.settle(
                    notification,
                    "suppressed",
                    "its firing alert was never sent on its own (it was folded into its run's incident); "
                    "the incident's first alert resolves where it went",
                )
