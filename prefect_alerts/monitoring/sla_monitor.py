"""``sla_monitor_flow``: Prefect Cloud's SLAs on open-source Prefect, every few minutes.

Each run judges every rule of the routing's ``slas:`` list (:mod:`prefect_alerts.sla`), and those deployments
and flows state in ``sla:`` tags (:mod:`prefect_alerts.monitoring.sla_tags`), against the API at
``now`` and keeps one record per violation (:class:`~prefect_alerts.store.sla.SlaStore`):

- a new violation is announced once: an alert with event ``sla_violation`` (the rule, the observed value, the
  run link), routed like any other alert (routes, silences, dedupe, storms);
- a violation still open is reminded at most every ``defaults.repeat_interval`` (default 4h);
- a violation no longer seen is resolved ("back within the SLA"), on the destinations it reached;
- a rule that could not be judged (the API stayed down through the retries) leaves its violations as they
  were, and the run ends Failed after one ``sla_monitor_failed`` alert saying which rules and why.

Running it twice for the same ``now`` announces nothing twice.

Example:
    ```python
    from prefect_alerts.monitoring import sla_monitor_flow

    sla_monitor_flow.serve(name="prefect-alerts-sla-monitor", cron="*/5 * * * *")
    ```
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime, timezone
from typing import Literal

from prefect import flow
from pydantic import BaseModel, Field

from prefect_alerts.alert import Alert, Link, Severity, Source
from prefect_alerts.channels.base import redact, run_logger
from prefect_alerts.dispatch.models import DestinationOutcome
from prefect_alerts.dispatch.stage import DispatchState
from prefect_alerts.monitoring.sla_checks import SlaApi, Violation, judge_rule
from prefect_alerts.monitoring.sla_tags import rules_from_tags
from prefect_alerts.routing import AlertRouting
from prefect_alerts.routing.sla import SlaRule
from prefect_alerts.store.sla import SlaStore
from prefect_alerts.text import plural

__all__ = [
    "SlaMonitorError",
    "SlaMonitorResult",
    "SlaOutcome",
    "check_slas",
    "sla_monitor_flow",
    "violation_alert",
]

FLOW_NAME = "prefect-alerts-sla-monitor"
SLA_EVENT = "sla_violation"
TAGS_SUBJECT = "the sla: tags of deployments and flows"
"""How the result names the tags when they could not be read."""
FAILED_EVENT = "sla_monitor_failed"


class SlaMonitorError(RuntimeError):
    """Some SLA rules could not be judged (the message names each and why)."""


class SlaOutcome(BaseModel):
    """What the monitor did about one violation."""

    key: str
    rule: str
    subject: str
    status: Literal["opened", "open", "reminded", "resolved"]
    observed: str | None = None
    outcomes: list[DestinationOutcome] = Field(default_factory=list)

    def __str__(self) -> str:
        sent = "; ".join(str(outcome) for outcome in self.outcomes)
        return (
            f"{self.status}: {self.subject} ({self.rule}{', ' + self.observed if self.observed else ''})"
            + (f": {sent}" if sent else "")
        )


class SlaMonitorResult(BaseModel):
    """One run of the SLA monitor."""

    now: datetime
    rules: int = 0
    violations: list[SlaOutcome] = Field(default_factory=list, description="Every violation seen now.")
    resolved: list[SlaOutcome] = Field(default_factory=list)
    errors: dict[str, str] = Field(
        default_factory=dict, description="Rule (or sla: tag) -> why it could not be judged."
    )

    def __str__(self) -> str:
        if not self.rules and not self.errors:
            return (
                "no SLA rules: add an slas: list to the routing file (docs/configuration.md, 'slas') or an sla: "
                "tag to a deployment, e.g. sla:lateness=10m"
            )
        new = sum(1 for outcome in self.violations if outcome.status == "opened")
        lines = [
            f"{plural(self.rules, 'SLA rule')} judged at {self.now:%Y-%m-%d %H:%M} UTC: "
            f"{plural(len(self.violations), 'violation')} ({new} new), {len(self.resolved)} resolved, "
            f"{plural(len(self.errors), 'rule')} not judged"
        ]
        lines += [
            f"  {outcome}" for outcome in [*self.violations, *self.resolved] if outcome.status != "open"
        ]
        lines += [f"  NOT JUDGED {rule}: {error}" for rule, error in self.errors.items()]
        return "\n".join(lines)


def violation_alert(violation: Violation, now: datetime) -> Alert:
    """The ``sla_violation`` alert for ``violation``: one dedup key per rule and subject."""
    from prefect_alerts.hooks.context import run_url

    rule, run = violation.rule, violation.flow_run
    fields: dict[str, object] = {"sla": rule.title, "limit": rule.limit_text, "observed": violation.observed}
    links: list[Link] = []
    if run is not None:
        fields["flow run"] = run.name
        url = run_url(run)
        if url:
            links.append(Link(label="Flow run", url=url))
    return Alert(
        title=f"SLA missed: {violation.scope}: {violation.observed}",
        message=violation.detail,  # the rule itself is the "sla" field
        severity=rule.severity,
        event=SLA_EVENT,
        fields=fields,
        tags=["sla", *rule.tags],
        links=links,
        # No flow_run_id: the run's own later failure is news of its own (the sweeper and incidents key on it).
        source=Source(
            flow_name=violation.flow_name,
            deployment_name=violation.deployment_name,
            flow_run_name=run.name if run is not None else None,
        ),
        timestamp=now,
        dedup_key="sla-" + hashlib.sha256(violation.key.encode()).hexdigest()[:20],
    )


def check_slas(
    routing: AlertRouting,
    now: datetime,
    *,
    state: DispatchState,
    client: object | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SlaMonitorResult:
    """Judge every rule of ``routing.slas``, then those of deployments' and flows' ``sla:`` tags, at ``now``;
    announce, remind and resolve. Never raises for one rule (or one bad tag).

    Args:
        routing: The routing (its ``slas`` and where the alerts go).
        now: The time to judge by.
        state: The dispatch store (the violations live beside the notification log).
        client: A sync Prefect client (default: one opened here).
        sleep: How retries wait (tests pass a recorder).
    """
    from prefect.client.orchestration import get_client

    from prefect_alerts.dispatch import send_alert

    result = SlaMonitorResult(now=now, rules=len(routing.slas))
    store = SlaStore(state.engine)
    current: dict[str, Violation] = {}
    judged: set[str] = set()
    rules: list[SlaRule] = list(routing.slas)
    tags_read = False

    def judge(rule: SlaRule, api: SlaApi) -> None:
        try:
            found = judge_rule(rule, now, api)
        except Exception as exc:  # one rule's failure must not stop the others
            result.errors[rule.title] = redact(f"{type(exc).__name__}: {exc}")[:300]
            return
        judged.add(rule.key)
        current.update((violation.key, violation) for violation in found)

    with get_client(sync_client=True) if client is None else nullcontext(client) as opened:
        api = SlaApi(opened, sleep=sleep)
        for rule in routing.slas:
            judge(rule, api)
        try:
            tagged, bad_tags = rules_from_tags(api)
        except Exception as exc:  # the routing's own rules were judged; the tags' wait for the next run
            result.errors[TAGS_SUBJECT] = redact(f"{type(exc).__name__}: {exc}")[:300]
        else:
            tags_read = True
            result.errors.update(bad_tags)
            known = {rule.key for rule in rules}
            for rule in tagged:
                if rule.key not in known:
                    known.add(rule.key)
                    rules.append(rule)
                    judge(rule, api)
    result.rules = len(rules)

    open_rows = {row.key: row for row in store.open()}
    repeat = routing.defaults.repeat_interval
    for key, violation in current.items():
        alert = violation_alert(violation, now)
        outcome = SlaOutcome(
            key=key,
            rule=violation.rule.title,
            subject=violation.subject,
            status="open",
            observed=violation.observed,
        )
        row = open_rows.get(key)
        if row is None and store.opened(
            key, rule_key=violation.rule.key, subject=violation.subject, alert=alert.to_record(), now=now
        ):
            outcome.status = "opened"
        elif row is not None and repeat is not None and now - row.last_sent_at >= repeat:
            outcome.status = "reminded"
            store.sent(key, alert=alert.to_record(), now=now)
        if outcome.status != "open":
            outcome.outcomes = send_alert(alert, routing, state=state).outcomes
        result.violations.append(outcome)

    rule_keys = {rule.key for rule in rules}
    for key, row in open_rows.items():
        if key in current:
            continue
        if row.rule_key in rule_keys and row.rule_key not in judged:
            continue  # not judged this time: nothing known, nothing resolved
        if row.rule_key not in rule_keys and not tags_read:
            continue  # perhaps a tag's rule: unknown until the tags can be read again
        if not store.close(key, now):
            continue  # another run resolved it
        firing = Alert.from_record(row.alert)
        why = (
            "back within the SLA"
            if row.rule_key in rule_keys
            else "its SLA rule is no longer configured (not in the routing file, nor a deployment's sla: tag)"
        )
        resolved = firing.resolved(
            f"Resolved: {firing.source.flow_name or row.subject} is {why} "
            f"(open since {row.opened_at:%Y-%m-%d %H:%M} UTC).",
            title=firing.title.replace("SLA missed", "SLA met again", 1),
            timestamp=now,
        )
        try:
            sent = send_alert(resolved, routing, state=state)
        except Exception:
            store.reopen(key)
            raise
        result.resolved.append(
            SlaOutcome(
                key=key,
                rule=str(firing.fields.get("sla", row.rule_key)),
                subject=row.subject,
                status="resolved",
                outcomes=sent.outcomes,
            )
        )
    return result


@flow(name=FLOW_NAME, log_prints=False, validate_parameters=True)
def sla_monitor_flow(
    routing: str | AlertRouting | None = None, now: datetime | None = None
) -> SlaMonitorResult:
    """Judge the routing's SLA rules: announce new violations, remind open ones, resolve healed ones.

    Args:
        routing: A routing file path or a saved ``alert-routing`` block name (an ``AlertRouting`` from Python);
            None: ``$PREFECT_ALERTS_CONFIG``, else the ``alert-routing/default`` block, else the console only.
        now: The time to judge by (tests and backfills); default: now.

    Raises:
        SlaMonitorError: after alerting, when some rules could not be judged (the API stayed unavailable).

    Example:
        ```python
        from prefect_alerts.monitoring import sla_monitor_flow

        sla_monitor_flow("alerts.yaml")
        ```
    """
    from prefect_alerts.dispatch import send_alert
    from prefect_alerts.routing import resolve_routing

    logger = run_logger("prefect_alerts.monitoring")
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    resolved = resolve_routing(routing)  # type: ignore[arg-type]
    result = check_slas(resolved, now, state=DispatchState.default())
    for line in str(result).splitlines():
        logger.info("%s", line)
    if result.errors:
        details = "; ".join(f"{rule}: {error}" for rule, error in result.errors.items())
        send_alert(
            Alert(
                title=f"SLA monitor could not judge {plural(len(result.errors), 'rule')}",
                message=f"{details}\nTheir violations are neither announced nor resolved until the next run "
                "that reaches the Prefect API.",
                severity=Severity.ERROR,
                event=FAILED_EVENT,
                source=Source(flow_name=FLOW_NAME),
            ),
            resolved,
        )
        raise SlaMonitorError(f"SLA rules not judged: {details}")
    return result
