"""The ``alert_storm`` summary: what a person reads instead of forty alerts at once.

It says how many alerts fired, over how long, on which route and group, which flows and how often, the first
distinct errors, links to the first runs, and how many were sent one by one before the storm was declared.
The closing summary (sent by the aggregator when the storm is over) is the same alert resolved, so PagerDuty
resolves the storm's incident and Slack shows it settled.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from prefect_alerts.alert import Alert, AlertStatus, Link, Severity
from prefect_alerts.dispatch.dedupe import format_duration, format_time
from prefect_alerts.routing.storm import StormSettings
from prefect_alerts.store.storms import StormMember
from prefect_alerts.text import plural

__all__ = ["STORM_EVENT", "member_of", "storm_dedup_key", "storm_summary"]

STORM_EVENT = "alert_storm"
"""The event of storm summaries; they are never folded themselves."""

SHOWN_FLOWS = 8
SHOWN_ERRORS = 5
SHOWN_LINKS = 5
ERROR_LENGTH = 300

_RANKED = sorted(Severity, key=lambda severity: severity.rank)


def storm_dedup_key(storm_id: str) -> str:
    """One key per storm: every update (and the close) of a storm lands on one PagerDuty incident."""
    return f"{STORM_EVENT}:{storm_id}"


def short_id(storm_id: str) -> str:
    return storm_id[:8]


def member_of(alert: Alert, alert_id: str, storm_id: str | None, now: datetime) -> StormMember:
    """What a storm remembers of one alert."""
    first_line = next((line.strip() for line in alert.message.splitlines() if line.strip()), "")
    if alert.error_type and not first_line.startswith(alert.error_type):
        error = f"{alert.error_type}: {first_line}" if first_line else alert.error_type
    else:
        error = first_line or alert.title
    return StormMember(
        alert_id=alert_id,
        dedup_key=alert.dedup_key,
        storm_id=storm_id,
        created_at=now,
        severity_rank=alert.severity.rank,
        event=alert.event,
        title=alert.title[:500],
        flow_name=alert.source.flow_name,
        flow_run_id=alert.source.flow_run_id,
        error=error[:ERROR_LENGTH],
        link=alert.links[0].url if alert.links else None,
    )


def _group_text(route: str, labels: dict[str, str]) -> str:
    shown = ", ".join(f"{key}={value or '(none)'}" for key, value in labels.items())
    # "direct" is the route of destinations=[...]: naming it would only puzzle the reader.
    where = "" if route == "direct" else f"route {route!r}"
    if shown:
        where = f"{where} ({shown})" if where else shown
    return where


def _flows(members: Sequence[StormMember]) -> tuple[int, str]:
    counts = Counter(member.flow_name or "(no flow)" for member in members)
    listed = [name if n == 1 else f"{name} ({n}x)" for name, n in counts.most_common(SHOWN_FLOWS)]
    if len(counts) > SHOWN_FLOWS:
        listed.append(f"and {plural(len(counts) - SHOWN_FLOWS, 'more flow')}")
    return len(counts), ", ".join(listed)


_NUMBERS = re.compile(r"\d+")


def _errors(members: Sequence[StormMember]) -> list[str]:
    # Errors that differ only in their numbers (row 17, port 5432, flow 3) are one error: show its first
    # example and how many alerts had one like it.
    shapes: dict[str, tuple[str, int]] = {}
    for member in members:
        error = member.error or member.title
        shape = _NUMBERS.sub("#", error)
        example, seen = shapes.get(shape, (error, 0))
        shapes[shape] = (example, seen + 1)
    shown = list(shapes.values())[:SHOWN_ERRORS]
    lines = [example if n == 1 else f"{example} ({n} alerts like it)" for example, n in shown]
    if len(shapes) > SHOWN_ERRORS:
        lines.append(f"and {plural(len(shapes) - SHOWN_ERRORS, 'other error')}")
    return lines


def _links(members: Sequence[StormMember]) -> list[Link]:
    links: list[Link] = []
    seen: set[str] = set()
    for member in members:
        if member.link and member.link not in seen:
            seen.add(member.link)
            label = f"Run of {member.flow_name}" if member.flow_name else member.title
            links.append(Link(label=label[:200], url=member.link))
        if len(links) == SHOWN_LINKS:
            break
    return links


def storm_summary(
    *,
    storm_id: str,
    route: str,
    labels: dict[str, str],
    members: Sequence[StormMember],
    count: int,
    since: datetime,
    now: datetime,
    settings: StormSettings,
    closing: bool = False,
    still_firing: int | None = None,
) -> Alert:
    """The summary alert of a storm (``closing=True``: the "storm over" one, resolved).

    ``count`` is the group's count from the store (the members read may be capped); ``members`` are the
    alerts counted since ``since``, oldest first.
    """
    folded = sum(1 for member in members if member.storm_id is not None)
    sent = max(len(members) - folded, 0)
    flow_count, flows = _flows(members)
    errors = _errors(members)
    rank = max((member.severity_rank for member in members), default=Severity.WARNING.rank)
    severity = next((s for s in reversed(_RANKED) if s.rank <= rank), Severity.WARNING)
    group = _group_text(route, labels)
    on_group = f" on {group}" if group else ""
    alerts = plural(count, "alert")
    lasted = format_duration(max(now - since, timedelta(seconds=1)))
    if closing:
        still = still_firing or 0
        title = f"Storm over: {alerts} in {plural(flow_count, 'flow')}, {still} still firing"
        lead = (
            f"The storm {short_id(storm_id)}{on_group} is over: no new alert for "
            f"{format_duration(settings.window)}. It lasted {lasted} (since {format_time(since, now)}); "
            f"{still} of its alerts {'is' if still == 1 else 'are'} still firing."
        )
    else:
        title = f"Alert storm: {alerts} in {lasted}{on_group}"
        lead = (
            f"More than {plural(settings.threshold, 'alert')} fired within {format_duration(settings.window)}"
            f"{on_group}: they are summarised here instead of sent one by one ({sent} sent before the storm, "
            f"{folded} folded into it). This summary is updated at most every "
            f"{format_duration(settings.group_interval)}; a closing summary follows when the storm is over."
        )
    lines = [lead, "", f"Flows: {flows}."]
    if errors:
        lines += ["", "First errors:", *(f"- {error}" for error in errors)]
    fields: dict[str, object] = {
        "alerts": count,
        "sent one by one": sent,
        "folded": folded,
        "flows": flow_count,
        "since": format_time(since, now),
        "storm": short_id(storm_id),
    }
    if closing and still_firing is not None:
        fields["still firing"] = still_firing
    events = Counter(member.event for member in members)
    fields["events"] = ", ".join(f"{event} {n}" for event, n in events.most_common(5))
    return Alert(
        title=title,
        message="\n".join(lines),
        severity=severity,
        event=STORM_EVENT,
        status=AlertStatus.RESOLVED if closing else AlertStatus.FIRING,
        fields=fields,
        tags=["alert_storm"],
        links=_links(members),
        dedup_key=storm_dedup_key(storm_id),
        timestamp=now,
    )
